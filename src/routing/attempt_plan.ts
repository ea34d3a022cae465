/**
 * The attempt plan: the primary, then each fallback in order, each with its
 * provider's retry budget; and what to do after a failed attempt.
 *
 * Plain data in, a decision out, so every rule is a unit test. What a failure
 * allows is its reason's to say (`errors/reasons.ts`):
 * - retryable reasons (overloaded, unavailable, timeout, unreachable, a broken
 *   stream, rate limited): retry with backoff while the candidate's
 *   `max_retries` last (honouring `Retry-After`), then fall back;
 * - reasons that want another key (rate limited, key rejected, quota
 *   exhausted): first rotate to a ready key of the provider not tried yet;
 * - the caller's fault (invalid request, context too long, content filtered),
 *   a client's own key rejected, and cancellation: stop at once.
 * Rotations cost no retry: they are bounded by the provider's keys. When the
 * plan runs out, the request fails with the primary's error, naming how many
 * attempts were made (Bifrost answers the primary's error too).
 */
import type { ProviderConfig } from "../config/load.ts";
import type { GatewayError } from "../errors/GatewayError.ts";
import { allowsFallback, isRetryable, wantsAnotherKey } from "../errors/reasons.ts";
import { errorForReason, exhaustedError } from "../errors/upstream.ts";
import { backoffMs } from "./backoff.ts";
import type { AttemptFailure } from "./classify.ts";
import type { ModelRef } from "../core/model.ts";

export interface Candidate {
  readonly ref: ModelRef;
  readonly provider: ProviderConfig;
  /** 0 for the primary, n for `fallbacks[n-1]`. */
  readonly fallbackIndex: number;
}

export type Step =
  | { readonly next: "retry" | "rotate" | "fallback"; readonly delayMs: number }
  | { readonly next: "stop"; readonly error: GatewayError };

const none: ReadonlySet<string> = new Set();

export class AttemptPlan {
  /** Upstream attempts started so far. */
  attempts = 0;
  private index = 0;
  private retries = 0;
  /** Keys that failed in this request, by provider: a rotation never picks them again. */
  private readonly failedKeys = new Map<string, Set<string>>();
  private primaryFailure: AttemptFailure | undefined;

  constructor(private readonly candidates: ReadonlyArray<Candidate>) {}

  /** The candidate the next attempt goes to; `undefined` when there is none at all. */
  get current(): Candidate | undefined {
    return this.candidates[this.index];
  }

  /** Counts an attempt on the current candidate. */
  begin(): number {
    return ++this.attempts;
  }

  /** The keys of `provider` that failed in this request. */
  failed(provider: string): ReadonlySet<string> {
    return this.failedKeys.get(provider) ?? none;
  }

  /**
   * Records a failed attempt on the current candidate and says what comes next.
   * `keyId` is the configured key the attempt used (none for a client's key);
   * `readyKeyOutside(exclude)` says whether the provider has a key outside
   * `exclude` that is not cooling down; `random` in [0, 1) picks the jitter.
   */
  decide(
    failure: AttemptFailure,
    keyId: string | undefined,
    readyKeyOutside: (exclude: ReadonlySet<string>) => boolean,
    random: number,
  ): Step {
    const candidate = this.candidates[this.index];
    if (this.index === 0) this.primaryFailure = failure;
    const retryable = isRetryable(failure);
    const fallback = allowsFallback(failure);
    const rotate = wantsAnotherKey(failure);
    if (!retryable && !fallback && !rotate) return { next: "stop", error: errorForReason(failure) };
    if (rotate && keyId !== undefined) {
      let failed = this.failedKeys.get(candidate.provider.name);
      if (!failed) this.failedKeys.set(candidate.provider.name, failed = new Set());
      failed.add(keyId);
      if (readyKeyOutside(failed)) return { next: "rotate", delayMs: 0 };
    }
    if (retryable && this.retries < candidate.provider.retry.maxRetries) {
      const retryAfter = "retryAfterMs" in failure ? failure.retryAfterMs : undefined;
      const delayMs = backoffMs(candidate.provider.retry, this.retries, random, retryAfter);
      this.retries++;
      return { next: "retry", delayMs };
    }
    if (!fallback) return { next: "stop", error: errorForReason(failure) };
    this.index++;
    this.retries = 0;
    if (this.index < this.candidates.length) return { next: "fallback", delayMs: 0 };
    return { next: "stop", error: exhaustedError(this.primaryFailure ?? failure, this.attempts) };
  }
}
