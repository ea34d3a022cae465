/**
 * The per-attempt timeouts, as one timer that aborts the attempt.
 *
 * - `total_ms` bounds the whole attempt; on a non-streamed attempt it is the
 *   only bound, since a long reasoning answer arrives all at once.
 * - On a streamed attempt, `connect_ms` bounds the wait for the response
 *   headers (a streaming upstream answers them at once; the TCP connect is not
 *   timed on its own), `first_byte_ms` the wait for the first
 *   event (headers included), and `idle_ms` the silence between events, counted
 *   only while the gateway is waiting on the upstream, so a slow client reading
 *   at its own pace never times the upstream out.
 *
 * LiteLLM's `stream_timeout` is checked only once a chunk arrives, so a stream
 * that never sends one is never cut (litellm#19909); this timer fires on its
 * own. One deadline per attempt (`deadlines.ts`, a shared timer), re-armed
 * lazily: the per-event cost is two field writes and one `performance.now()`.
 */
import type { TimeoutConfig } from "../config/load.ts";
import { type Deadline, deadlines } from "../lib/deadlines.ts";

export type TimeoutBound = "connect_ms" | "first_byte_ms" | "idle_ms" | "total_ms";

export class Watchdog {
  /** The bound that fired, once one has. */
  fired: TimeoutBound | undefined;
  private readonly startedAt = performance.now();
  private phase: "headers" | "first_event" | "events";
  private waitingSince = -1;
  private deadline: Deadline | undefined;
  /** When (`performance.now()`) the armed check runs. */
  private dueAt = Infinity;
  private stopped = false;

  constructor(
    private readonly timeouts: TimeoutConfig,
    private readonly streamed: boolean,
    private readonly onFire: (bound: TimeoutBound) => void,
  ) {
    this.phase = streamed ? "headers" : "events";
    this.arm(streamed ? Math.min(timeouts.connectMs, timeouts.firstByteMs, timeouts.totalMs) : timeouts.totalMs);
  }

  /** The limit, in ms, of the bound that fired. */
  limitOf(bound: TimeoutBound): number {
    switch (bound) {
      case "connect_ms":
        return this.timeouts.connectMs;
      case "first_byte_ms":
        return this.timeouts.firstByteMs;
      case "idle_ms":
        return this.timeouts.idleMs;
      case "total_ms":
        return this.timeouts.totalMs;
    }
  }

  /** The upstream answered with headers. */
  headersReceived(): void {
    if (this.phase === "headers") this.phase = "first_event";
  }

  /** The gateway starts waiting for the upstream's next event. */
  waiting(): void {
    const now = performance.now();
    this.waitingSince = now;
    // Only right after the first event can the armed check be later than this wait's idle limit.
    if (this.phase === "events" && this.dueAt > now + this.timeouts.idleMs && !this.stopped) {
      if (this.deadline !== undefined) deadlines.cancel(this.deadline);
      this.arm(this.timeouts.idleMs);
    }
  }

  /** An event (or the end) arrived. */
  received(): void {
    this.waitingSince = -1;
    this.phase = "events";
  }

  stop(): void {
    this.stopped = true;
    if (this.deadline !== undefined) deadlines.cancel(this.deadline);
    this.deadline = undefined;
  }

  private arm(ms: number): void {
    const delay = Math.max(1, Math.ceil(ms));
    this.dueAt = performance.now() + delay;
    this.deadline = deadlines.at(this.dueAt, this.check);
  }

  private readonly check = (): void => {
    this.deadline = undefined;
    if (this.stopped) return;
    const now = performance.now();
    const elapsed = now - this.startedAt;
    const { connectMs, firstByteMs, idleMs, totalMs } = this.timeouts;
    if (elapsed >= totalMs) return this.fire("total_ms");
    let due = totalMs - elapsed;
    if (this.streamed) {
      if (this.phase === "headers") {
        if (elapsed >= connectMs) return this.fire("connect_ms");
        due = Math.min(due, connectMs - elapsed);
      }
      if (this.phase !== "events") {
        if (elapsed >= firstByteMs) return this.fire("first_byte_ms");
        due = Math.min(due, firstByteMs - elapsed);
      } else if (this.waitingSince >= 0) {
        const silent = now - this.waitingSince;
        if (silent >= idleMs) return this.fire("idle_ms");
        due = Math.min(due, idleMs - silent);
      } else {
        due = Math.min(due, idleMs);
      }
    }
    this.arm(due);
  };

  private fire(bound: TimeoutBound): void {
    this.fired = bound;
    this.stop();
    this.onFire(bound);
  }
}
