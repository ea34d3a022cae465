/**
 * One request's walk through the attempt plan: the plan, the attempt in flight, the keys to
 * avoid, the canonical body until a stream commits, and the cancel that a committed stream's
 * fail-over needs once no request fiber is there to interrupt. Routing's policy (`Router.ts`)
 * acts on it.
 */
import type * as Redacted from "effect/Redacted";
import type { AttemptInfo } from "../core/model.ts";
import type { RequestTrace } from "../core/trace.ts";
import type { KeyOrigin } from "../errors/reasons.ts";
import type { ResponsesRequest, ResponsesResponse } from "../protocol/responses.ts";
import type { Adapter, AnswerContext } from "../upstream/adapters/types.ts";
import { AttemptPlan, type Candidate } from "./attempt_plan.ts";
import type { AttemptFailure } from "./classify.ts";
import type { RouteRequest } from "./Router.ts";
import type { Watchdog } from "./watchdog.ts";

export interface Attempt {
  readonly candidate: Candidate;
  /** The candidate's API: makes its wire request and reads its answers. */
  readonly adapter: Adapter;
  /** What the adapter needs to know of this attempt's answer. */
  readonly answer: AnswerContext;
  readonly info: AttemptInfo;
  /** The configured key used (none for a client's own key, or a provider without keys). */
  readonly keyId: string | undefined;
  /** The key sent upstream: the configured key's value or the client's own. */
  readonly apiKey: Redacted.Redacted<string> | undefined;
  readonly keyOrigin: KeyOrigin;
  readonly controller: AbortController;
  readonly watchdog: Watchdog;
  readonly startedAt: number;
  /** Whether the trace already has this attempt's record. */
  recorded: boolean;
}

export interface Answered extends Attempt {
  readonly response: Response;
  /** The parsed answer of a non-streamed attempt. */
  readonly json?: ResponsesResponse;
}

/** How an attempt's exchange with the upstream ended. */
export type Exchange =
  | { readonly answered: Answered; readonly failure?: undefined }
  | { readonly answered?: undefined; readonly failure: AttemptFailure };

export const noKeys: ReadonlySet<string> = new Set();

/**
 * One request's walk through the plan. It keeps what it needs of the `RouteRequest` rather than
 * the request itself, so that the body can be let go once a stream is committed.
 */
export class RouteRun {
  readonly plan: AttemptPlan;
  readonly stream: boolean;
  readonly providerKey: RouteRequest["providerKey"];
  readonly customTools: ReadonlySet<string> | undefined;
  readonly trace: RequestTrace;
  cancelled = false;
  active: Attempt | undefined;
  /** `cancel`, bound once: the listener each attempt's exchange registers on its interruption signal. */
  readonly onInterrupt = () => this.cancel();
  /** Keys the next pick must avoid (set for a rotation). */
  exclude = noKeys;
  /** The canonical body, until no attempt can follow (see `commit`). */
  private canonical: ResponsesRequest | undefined;
  /**
   * Aborted by `cancel`: interrupts a fail-over that runs after a stream's headers went out (a
   * backoff sleep, the next attempt), which no request fiber is there to interrupt any more.
   */
  readonly detached = new AbortController();

  constructor(request: RouteRequest, candidates: ReadonlyArray<Candidate>) {
    this.plan = new AttemptPlan(candidates);
    this.stream = request.stream;
    this.providerKey = request.providerKey;
    this.customTools = request.customTools;
    this.trace = request.trace;
    this.canonical = request.body;
  }

  /** The canonical body, for the next attempt's adapter. */
  body(): ResponsesRequest {
    if (this.canonical === undefined) throw new Error("RouteRun.body after commit");
    return this.canonical;
  }

  /**
   * A stream's output is committed: no attempt can follow, so the body (~8 KB for a Cursor
   * Agent request, and the decoded items besides) is let go rather than held for the rest of
   * a stream that may stay open for minutes.
   */
  commit(): void {
    this.canonical = undefined;
  }

  /** Pushes the attempt's record to the trace, once. */
  record(attempt: Attempt, outcome: string, next?: string): void {
    if (attempt.recorded) return;
    attempt.recorded = true;
    const ms = performance.now() - attempt.startedAt;
    const trace = this.trace;
    trace.attempts.push({
      provider: attempt.candidate.ref.provider,
      model: attempt.candidate.ref.model,
      outcome,
      ...(next !== undefined ? { next } : {}),
      ms,
    });
    trace.upstreamMs = (trace.upstreamMs ?? 0) + ms;
  }

  /**
   * The client went away: abort the attempt in flight and any detached fail-over. Reached by
   * interruption of the request's fiber while it waits on an attempt (see `answer`), or by a
   * committed stream's `cancel`.
   */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const active = this.active;
    if (active) {
      this.record(active, "cancelled");
      active.watchdog.stop();
      active.controller.abort();
    }
    this.detached.abort();
  }

  dispose(): void {
    this.active?.watchdog.stop();
  }
}
