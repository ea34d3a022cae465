/**
 * How long to wait before retrying the same candidate.
 *
 * Exponential with jitter, `min(initial * 2^n, max) * [0.8, 1.2)` capped at
 * `max` (Bifrost's formula, with the cap applied last so a retry never waits
 * longer than configured). When the upstream says how long to wait
 * (`retry-after-ms`, as OpenAI and Azure send it, or `Retry-After` in seconds
 * or as an HTTP date), that wait is used instead, still capped at `max`.
 */
import type { RetryConfig } from "../config/load.ts";

/**
 * The wait the upstream asked for, in ms, or `undefined` when it named none.
 *
 * @example
 * ```ts
 * retryAfterMs(new Headers({ "retry-after": "2" }), Date.now()); // 2000
 * ```
 */
export const retryAfterMs = (headers: Headers, now: number): number | undefined => {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && ms.trim() !== "") {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get("retry-after");
  if (after === null || after.trim() === "") return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

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
