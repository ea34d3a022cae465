/**
 * The attempt plan: the primary, then each fallback in order, each with its
 * provider's retry budget; and what to do after a failed attempt.
 *
 * Plain data in, a decision out, so every rule is a unit test:
 * - `transient` (network, timeout, 5xx): retry with backoff while the
 *   candidate's `max_retries` last, then fall back;
 * - `rate_limit` (429): rotate to a ready key of the provider not tried yet,
 *   else retry with backoff (honouring `Retry-After`), then fall back;
 * - `key` (401/403, quota): rotate to a ready key not tried yet, else fall back;
 * - `final` (the caller's fault) and `cancelled`: stop at once.
 * Rotations cost no retry: they are bounded by the provider's keys. When the
 * plan runs out, the request fails with the primary's error, naming how many
 * attempts were made (Bifrost answers the primary's error too).
 */
import type { ProviderConfig } from "../config/load.ts";
import type { GatewayError } from "../errors/GatewayError.ts";
import { backoffMs } from "./backoff.ts";
import { type AttemptFailure, exhaustedError } from "./classify.ts";
import type { ModelRef } from "./model_ref.ts";

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
  private primaryError: GatewayError | undefined;

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
    if (this.index === 0) this.primaryError = failure.error;
    if (failure.kind === "final" || failure.kind === "cancelled") return { next: "stop", error: failure.error };
    if ((failure.kind === "key" || failure.kind === "rate_limit") && keyId !== undefined) {
      let failed = this.failedKeys.get(candidate.provider.name);
      if (!failed) this.failedKeys.set(candidate.provider.name, failed = new Set());
      failed.add(keyId);
      if (readyKeyOutside(failed)) return { next: "rotate", delayMs: 0 };
    }
    if (failure.kind !== "key" && this.retries < candidate.provider.retry.maxRetries) {
      const delayMs = backoffMs(candidate.provider.retry, this.retries, random, failure.retryAfterMs);
      this.retries++;
      return { next: "retry", delayMs };
    }
    this.index++;
    this.retries = 0;
    if (this.index < this.candidates.length) return { next: "fallback", delayMs: 0 };
    return { next: "stop", error: exhaustedError(this.primaryError ?? failure.error, this.attempts) };
  }
}
