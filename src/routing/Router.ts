/**
 * Stage 3, routing: which provider, model and key serve a request, and what
 * happens when an attempt fails.
 *
 * The attempt plan (`attempt_plan.ts`) walks the primary, then each fallback,
 * each with its provider's retry budget; `classify.ts` says whether a failure
 * is retried, rotated, fallen back from or final; `key_pool.ts` picks keys by
 * weight and cools down the ones the upstream rejected; `watchdog.ts` bounds
 * each attempt in time. Policy runs in Effect (the backoff sleeps read the
 * `Clock`, so `TestClock` drives them); the per-event path of a stream
 * (`routed_stream.ts`) is plain async code.
 *
 * A JSON answer may fail over until it is complete. A stream answers with its
 * status and headers once an attempt's upstream answered 200, and may still
 * fail over invisibly until its first output; after that it never switches.
 */
import { Clock, Context, Effect, Layer, Random } from "effect";
import type { GatewayConfig } from "../config/load.ts";
import { GatewayError } from "../errors/GatewayError.ts";
import type { ResponsesEvent, ResponsesRequest, ResponsesResponse } from "../protocol/responses.ts";
import { Upstream } from "../upstream/Upstream.ts";
import type { ModelRef } from "./model_ref.ts";
import type { RequestTrace } from "../http/RequestTrace.ts";
import { AttemptPlan, type Candidate } from "./attempt_plan.ts";
import {
  type AttemptFailure,
  brokenAttempt,
  cancelledError,
  failureFromHttp,
  failureFromStreamEvent,
  type KeyOrigin,
  streamBrokenError,
} from "./classify.ts";
import { KeyPool } from "./key_pool.ts";
import { routedStream } from "./routed_stream.ts";
import { Watchdog } from "./watchdog.ts";

/** Which attempt is (or was) serving the request. */
export interface AttemptInfo {
  readonly ref: ModelRef;
  /** 0 for the primary, n for `fallbacks[n-1]`. */
  readonly fallbackIndex: number;
  /** Upstream attempts made so far for this request, this one included. */
  readonly attempts: number;
}

export interface RouteRequest {
  /** The primary, then the fallbacks, in order. */
  readonly candidates: ReadonlyArray<ModelRef>;
  /** The canonical body; routing sets `model` and `stream` per attempt. */
  readonly body: ResponsesRequest;
  readonly stream: boolean;
  /** A client-supplied key for one provider (from `allow_provider_keys`). */
  readonly providerKey?: { readonly provider: string; readonly value: string };
  /** Aborted when the client goes away: stops the upstream call and every retry. */
  readonly signal: AbortSignal;
  readonly trace: RequestTrace;
}

export interface CompletionResult {
  readonly response: ResponsesResponse;
  readonly attempt: AttemptInfo;
}

/** An upstream event stream that already answered 200; its events are pulled one at a time. */
export interface EventStream {
  /** The attempt whose events are flowing now. */
  readonly attempt: () => AttemptInfo;
  /** The next event, `undefined` at the end; rejects with a `GatewayError` when the stream fails. */
  readonly next: () => Promise<ResponsesEvent | undefined>;
  /**
   * Whether `next()` would answer from events already read, without waiting on the upstream:
   * the writer encodes those into the same downstream chunk (one write per upstream read).
   */
  readonly ready?: () => boolean;
  /** Aborts the upstream request; safe to call more than once. */
  readonly cancel: () => void;
}

export interface RouterShape {
  readonly complete: (request: RouteRequest) => Effect.Effect<CompletionResult, GatewayError>;
  readonly stream: (request: RouteRequest) => Effect.Effect<EventStream, GatewayError>;
}

export class Router extends Context.Service<Router, RouterShape>()("gateway/Router") {}

// ===== One request's walk through the plan =====

interface Attempt {
  readonly candidate: Candidate;
  readonly info: AttemptInfo;
  /** The configured key used (none for a client's own key, or a provider without keys). */
  readonly keyId: string | undefined;
  readonly keyOrigin: KeyOrigin;
  readonly controller: AbortController;
  readonly watchdog: Watchdog;
  readonly startedAt: number;
  /** Whether the trace already has this attempt's record. */
  recorded: boolean;
}

interface Answered extends Attempt {
  readonly response: Response;
  /** The parsed answer of a non-streamed attempt. */
  readonly json?: ResponsesResponse;
}

const noKeys: ReadonlySet<string> = new Set();

class RouteRun {
  readonly plan: AttemptPlan;
  cancelled = false;
  active: Attempt | undefined;
  /** Keys the next pick must avoid (set for a rotation). */
  exclude = noKeys;
  private readonly bodies = new Map<string, string>();
  private readonly wakers = new Set<() => void>();
  private readonly onAbort = () => this.cancel();

  constructor(readonly request: RouteRequest, candidates: ReadonlyArray<Candidate>) {
    this.plan = new AttemptPlan(candidates);
    if (request.signal.aborted) this.cancelled = true;
    else request.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  /** The serialised body for `model`, built once per distinct model. */
  body(model: string): string {
    let body = this.bodies.get(model);
    if (body === undefined) {
      body = JSON.stringify({ ...this.request.body, model, stream: this.request.stream });
      this.bodies.set(model, body);
    }
    return body;
  }

  /** Pushes the attempt's record to the trace, once. */
  record(attempt: Attempt, outcome: string, next?: string): void {
    if (attempt.recorded) return;
    attempt.recorded = true;
    const ms = performance.now() - attempt.startedAt;
    const trace = this.request.trace;
    trace.attempts.push({
      provider: attempt.candidate.ref.provider,
      model: attempt.candidate.ref.model,
      outcome,
      ...(next !== undefined ? { next } : {}),
      ms,
    });
    trace.upstreamMs = (trace.upstreamMs ?? 0) + ms;
  }

  /** The client went away: abort the attempt in flight and wake any backoff sleep. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const active = this.active;
    if (active) {
      this.record(active, "cancelled");
      active.watchdog.stop();
      active.controller.abort();
    }
    for (const wake of this.wakers) wake();
  }

  /** Fails with the cancellation as soon as the client goes away (raced against backoff sleeps). */
  whenCancelled(): Effect.Effect<never, GatewayError> {
    return Effect.callback<never, GatewayError>((resume) => {
      if (this.cancelled) return resume(Effect.fail(cancelledError()));
      const wake = () => resume(Effect.fail(cancelledError()));
      this.wakers.add(wake);
      return Effect.sync(() => {
        this.wakers.delete(wake);
      });
    });
  }

  dispose(): void {
    this.request.signal.removeEventListener("abort", this.onAbort);
    this.active?.watchdog.stop();
  }
}

// ===== Service =====

export const make = Effect.gen(function* () {
  const upstream = yield* Upstream;
  return (config: GatewayConfig): RouterShape => {
    const pools = new Map(Object.values(config.providers).map((p) => [p.name, new KeyPool(p.keys)]));

    const candidatesOf = (refs: ReadonlyArray<ModelRef>): Candidate[] =>
      refs.flatMap((ref, fallbackIndex) => {
        const provider = config.providers[ref.provider];
        return provider ? [{ ref, provider, fallbackIndex }] : [];
      });

    /** One attempt: send it, and for a non-streamed one read the whole answer. Fails with the classified failure. */
    const attemptOnce = (run: RouteRun, candidate: Candidate) =>
      Effect.gen(function* () {
        const provider = candidate.provider;
        const now = yield* Clock.currentTimeMillis;
        const random = yield* Random.next;
        const clientKey = run.request.providerKey?.provider === provider.name
          ? run.request.providerKey.value
          : undefined;
        const key = clientKey === undefined ? pools.get(provider.name)?.pick(now, run.exclude, random) : undefined;
        run.exclude = noKeys;
        const controller = new AbortController();
        const attempt: Attempt = {
          candidate,
          info: { ref: candidate.ref, fallbackIndex: candidate.fallbackIndex, attempts: run.plan.begin() },
          keyId: key?.id,
          keyOrigin: clientKey === undefined ? "gateway" : "client",
          controller,
          watchdog: new Watchdog(provider.timeouts, run.request.stream, () => controller.abort()),
          startedAt: performance.now(),
          recorded: false,
        };
        run.active = attempt;
        const broken = (cause: unknown): AttemptFailure => {
          const bound = attempt.watchdog.fired;
          return brokenAttempt(
            provider.name,
            run.cancelled,
            bound ? { bound, ms: attempt.watchdog.limitOf(bound) } : undefined,
            cause,
          );
        };

        const posted = yield* Effect.result(
          upstream.post({
            provider,
            apiKey: clientKey ?? key?.value,
            body: run.body(candidate.ref.model),
            signal: controller.signal,
          }),
        );
        if (posted._tag === "Failure") return yield* Effect.fail(broken(posted.failure));
        const response = posted.success;
        attempt.watchdog.headersReceived();
        if (!response.ok) {
          const failure = yield* Effect.promise(() => failureFromHttp(provider.name, response, attempt.keyOrigin, now));
          return yield* Effect.fail(run.cancelled ? broken(undefined) : failure);
        }
        if (run.request.stream) {
          if (response.body === null) {
            return yield* Effect.fail<AttemptFailure>({
              kind: "transient",
              error: streamBrokenError(provider.name, "answered 200 with no body"),
              outcome: "stream_error",
            });
          }
          return Object.assign(attempt, { response }) satisfies Answered;
        }
        const json = yield* Effect.tryPromise({ try: () => response.json() as Promise<unknown>, catch: broken });
        attempt.watchdog.stop();
        if (json === null || typeof json !== "object" || Array.isArray(json)) {
          return yield* Effect.fail<AttemptFailure>({
            kind: "transient",
            error: streamBrokenError(provider.name, "answered 200 with a body that is not a JSON object"),
            outcome: "invalid_body",
          });
        }
        // A 200 whose response says `status: "failed"` is a failure like `response.failed` in a stream.
        if ((json as ResponsesResponse).status === "failed") {
          return yield* Effect.fail(
            failureFromStreamEvent(provider.name, { type: "response.failed", response: json as ResponsesResponse }),
          );
        }
        return Object.assign(attempt, { response, json: json as ResponsesResponse }) satisfies Answered;
      });

    /** After a failed attempt: cool its key down, record it, then retry, rotate or fall back (after the backoff), or stop. */
    const afterFailure = (run: RouteRun, attempt: Attempt, reported: AttemptFailure) =>
      Effect.gen(function* () {
        attempt.watchdog.stop();
        attempt.controller.abort();
        const failure: AttemptFailure = run.cancelled
          ? { kind: "cancelled", error: cancelledError(), outcome: "cancelled" }
          : reported;
        const provider = attempt.candidate.provider;
        const pool = pools.get(provider.name);
        const now = yield* Clock.currentTimeMillis;
        if (pool && attempt.keyId !== undefined) {
          if (failure.kind === "key") pool.coolDown(attempt.keyId, now + provider.keyCooldownMs);
          else if (failure.kind === "rate_limit" && failure.retryAfterMs) {
            pool.coolDown(attempt.keyId, now + Math.min(failure.retryAfterMs, provider.keyCooldownMs));
          }
        }
        const random = yield* Random.next;
        const step = run.plan.decide(
          failure,
          attempt.keyId,
          (exclude) => pool?.hasReadyKey(now, exclude) ?? false,
          random,
        );
        run.record(attempt, failure.outcome, step.next === "stop" ? undefined : step.next);
        if (step.next === "stop") return yield* Effect.fail(step.error);
        if (step.next === "rotate") run.exclude = run.plan.failed(provider.name);
        if (step.delayMs > 0) yield* Effect.raceFirst(Effect.sleep(step.delayMs), run.whenCancelled());
      });

    /** Attempts until one answers 200 (and, for JSON, delivers its answer), or the plan stops. */
    const answer = (run: RouteRun): Effect.Effect<Answered, GatewayError> =>
      Effect.gen(function* () {
        for (;;) {
          if (run.cancelled) return yield* Effect.fail(cancelledError());
          const candidate = run.plan.current;
          if (candidate === undefined) {
            return yield* Effect.fail(
              new GatewayError({
                status: 502,
                type: "upstream_error",
                message: "No configured provider can serve the request.",
                code: null,
                param: null,
              }),
            );
          }
          const result = yield* Effect.result(attemptOnce(run, candidate));
          if (result._tag === "Success") return result.success;
          yield* afterFailure(run, run.active!, result.failure);
        }
      });

    return {
      complete: (request) =>
        Effect.suspend(() => {
          const run = new RouteRun(request, candidatesOf(request.candidates));
          return answer(run).pipe(
            Effect.map((answered) => {
              run.record(answered, "ok");
              return { response: answered.json!, attempt: answered.info };
            }),
            Effect.ensuring(Effect.sync(() => run.dispose())),
          );
        }),
      stream: (request) =>
        Effect.gen(function* () {
          const run = new RouteRun(request, candidatesOf(request.candidates));
          // Fail-overs after the headers went out run with this request's services (its Clock included).
          const runPromise = Effect.runPromiseWith(yield* Effect.context<never>());
          const first = yield* answer(run).pipe(Effect.tapError(() => Effect.sync(() => run.dispose())));
          return routedStream({
            first,
            failover: (failure, failed) => runPromise(Effect.andThen(afterFailure(run, failed, failure), answer(run))),
            committed: (attempt) => run.record(attempt, "ok"),
            isCancelled: () => run.cancelled,
            cancel: () => run.cancel(),
            ended: () => run.dispose(),
          });
        }),
    };
  };
});

export const layer = (config: GatewayConfig) => Layer.effect(Router, Effect.map(make, (build) => build(config)));
