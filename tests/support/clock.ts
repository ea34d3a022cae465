/**
 * effect's `Clock` with the wall time pinned by the test: every stage reads it (rate-limit
 * windows, budget periods, key expiry, the admin API), while sleeps and monotonic time stay
 * real, so a gateway serving real HTTP keeps working.
 */
import { Clock, Effect } from "effect";

export const pinnedClock = (now: () => number): Clock.Clock => {
  const real = Clock.Clock.defaultValue();
  return {
    currentTimeMillisUnsafe: () => now(),
    currentTimeMillis: Effect.sync(() => now()),
    currentTimeNanosUnsafe: () => BigInt(now()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => real.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: real.monotonicTimeNanos,
    sleep: (duration) => real.sleep(duration),
  };
};
