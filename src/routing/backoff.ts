/**
 * How long to wait before retrying the same candidate.
 *
 * Exponential with jitter, `min(initial * 2^n, max) * [0.8, 1.2)` capped at
 * `max` (Bifrost's formula, with the cap applied last so a retry never waits
 * longer than configured). When the upstream says how long to wait (its
 * adapter reads `retry-after-ms`, `Retry-After` or the API's own field into the
 * failure reason), that wait is used instead, still capped at `max`.
 */
import type { RetryConfig } from "../config/load.ts";

/**
 * The wait before retry number `retry` (0 for the first retry).
 * `random` is a number in [0, 1) that picks the jitter.
 *
 * @example
 * ```ts
 * backoffMs({ maxRetries: 2, initialBackoffMs: 250, maxBackoffMs: 4000 }, 1, 0.5); // 500
 * ```
 */
export const backoffMs = (policy: RetryConfig, retry: number, random: number, retryAfter?: number): number => {
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxBackoffMs);
  const base = Math.min(policy.initialBackoffMs * 2 ** retry, policy.maxBackoffMs);
  return Math.min(Math.round(base * (0.8 + 0.4 * random)), policy.maxBackoffMs);
};
