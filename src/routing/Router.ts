/**
 * Stage 3, routing: which provider, model and key serve a request, and what
 * happens when an attempt fails.
 *
 * This module is the policy: which key an attempt takes, how an attempt's
 * exchange ends, what follows a failure. One request's state (its plan, the
 * attempt in flight, the body until a stream commits) is a `RouteRun`
 * (`route_run.ts`). The attempt plan (`attempt_plan.ts`) walks the primary, then each fallback,
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
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Random from "effect/Random";
import * as Redacted from "effect/Redacted";
import { Settings } from "../config/Settings.ts";
import { type GatewayError, noProvider, providerKeyMismatch } from "../errors/GatewayError.ts";
import { cancelled, type KeyOrigin } from "../errors/reasons.ts";
import { errorForReason } from "../errors/upstream.ts";
import type { ResponsesEvent, ResponsesRequest, ResponsesResponse } from "../protocol/responses.ts";
import { adapterFor } from "../upstream/adapters/index.ts";
import { Upstream, type UpstreamCall } from "../upstream/Upstream.ts";
import { wholeBytesOf } from "../upstream/undici_send.ts";
import type { AttemptInfo, ModelRef } from "../core/model.ts";

export type { AttemptInfo };
import type { RequestTrace } from "../core/trace.ts";
import type { Candidate } from "./attempt_plan.ts";
import { type AttemptFailure, brokenAttempt, failureFromHttp, streamBroken } from "./classify.ts";
import { KeyPool } from "./key_pool.ts";
import { type Answered, type Attempt, type Exchange, noKeys, RouteRun } from "./route_run.ts";
import { routedStream } from "./routed_stream.ts";
import { Watchdog } from "./watchdog.ts";

const utf8 = new TextDecoder();

export interface RouteRequest {
  /** The primary, then the fallbacks, in order. */
  readonly candidates: ReadonlyArray<ModelRef>;
  /** The canonical body; routing sets `model` and `stream` per attempt. */
  readonly body: ResponsesRequest;
  readonly stream: boolean;
  /** The request's custom tools by name (adapters of APIs without them hand the raw input back). */
  readonly customTools?: ReadonlySet<string>;
  /** A client-supplied key for one provider (from `allow_provider_keys`). */
  readonly providerKey?: { readonly provider: string; readonly value: Redacted.Redacted<string> };
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
  /** Configured provider keys cooling down at `now` (read-only, for the dashboard); absent on test routers. */
  readonly coolingKeys?: (now: number) => ReadonlyArray<{ provider: string; keyId: string; until: number }>;
}

export class Router extends Context.Service<Router, RouterShape>()("gateway/Router") {}

// ===== Service =====

export const make = Effect.gen(function* () {
  const upstream = yield* Upstream;
  const config = yield* Settings;
  return ((): RouterShape => {
    const pools = new Map(Object.values(config.providers).map((p) => [p.name, new KeyPool(p.keys)]));

    /**
     * The configured candidates of a request. A client's own provider key is the key of its
     * provider only: a candidate on another provider is skipped, because serving it would spend
     * the gateway's key on a caller who brought their own (with `allow_provider_keys`, any
     * non-`sk-bf-` Bearer, so anyone).
     */
    const candidatesOf = (request: RouteRequest): Candidate[] =>
      request.candidates.flatMap((ref, fallbackIndex) => {
        const provider = config.providers[ref.provider];
        if (!provider) return [];
        if (request.providerKey && provider.name !== request.providerKey.provider) return [];
        return [{ ref, provider, fallbackIndex }];
      });

    /** Why a request has no candidate to try: nothing configured, or nothing on its provider key's provider. */
    const noCandidateError = (run: RouteRun): GatewayError =>
      run.providerKey ? providerKeyMismatch(run.providerKey.provider) : noProvider();

    /** Starts an attempt on `candidate`: picks its key and arms its watchdog. */
    const begin = (run: RouteRun, candidate: Candidate, now: number, random: number): Attempt => {
      const provider = candidate.provider;
      // A request with a client's key never gets a gateway key instead: not on a retry, not on a
      // rotation, and not on another provider (which `candidatesOf` already left out, and which
      // must not get the client's key either).
      const clientKey = run.providerKey?.provider === provider.name ? run.providerKey.value : undefined;
      const key = run.providerKey === undefined ? pools.get(provider.name)?.pick(now, run.exclude, random) : undefined;
      run.exclude = noKeys;
      const controller = new AbortController();
      const keyOrigin: KeyOrigin = clientKey === undefined ? "gateway" : "client";
      const attempt: Attempt = {
        candidate,
        adapter: adapterFor(provider.api),
        answer: {
          provider: provider.name,
          model: candidate.ref.model,
          keyOrigin,
          now,
          ...(run.customTools !== undefined && run.customTools.size > 0 ? { customTools: run.customTools } : {}),
        },
        info: { ref: candidate.ref, fallbackIndex: candidate.fallbackIndex, attempts: run.plan.begin() },
        keyId: key?.id,
        apiKey: clientKey ?? key?.value,
        keyOrigin,
        controller,
        watchdog: new Watchdog(provider.timeouts, run.stream, () => controller.abort()),
        startedAt: performance.now(),
        recorded: false,
      };
      run.active = attempt;
      return attempt;
    };

    /**
     * One attempt's I/O as plain async code: send it, and for a non-streamed one read the whole
     * answer. Never rejects: a failure comes back classified. Awaiting the upstream here rather
     * than in the fiber costs one fiber suspension per attempt instead of one per await.
     */
    const exchange = async (
      run: RouteRun,
      attempt: Attempt,
      post: (call: UpstreamCall) => Promise<Response>,
    ): Promise<Exchange> => {
      const provider = attempt.candidate.provider;
      const broken = (cause: unknown): Exchange => {
        const bound = attempt.watchdog.fired;
        return {
          failure: brokenAttempt(
            provider.name,
            run.cancelled,
            bound ? { bound, ms: attempt.watchdog.limitOf(bound) } : undefined,
            cause,
          ),
        };
      };
      const { adapter } = attempt;
      let response: Response;
      try {
        const wire = adapter.request(
          run.body(),
          { model: attempt.candidate.ref.model, stream: run.stream },
          provider.target,
        );
        response = await post({
          provider,
          apiKey: attempt.apiKey,
          path: wire.path,
          body: wire.body,
          ...(wire.headers !== undefined ? { headers: wire.headers } : {}),
          signal: attempt.controller.signal,
          readWhole: !run.stream,
        });
      } catch (cause) {
        return broken(cause);
      }
      attempt.watchdog.headersReceived();
      if (!response.ok) {
        const failure = await failureFromHttp(adapter, attempt.answer, response);
        return run.cancelled ? broken(undefined) : { failure };
      }
      if (run.stream) {
        if (response.body === null) return { failure: streamBroken(provider.name, "answered 200 with no body") };
        return { answered: Object.assign(attempt, { response }) };
      }
      let json: unknown;
      try {
        const bytes = wholeBytesOf(response);
        json = bytes === undefined ? await response.json() : JSON.parse(utf8.decode(bytes));
      } catch (cause) {
        // The body arrived whole (`readWhole`) but is not JSON (a proxy's HTML page): not a drop.
        if (cause instanceof SyntaxError && !run.cancelled && attempt.watchdog.fired === undefined) {
          return { failure: streamBroken(provider.name, "answered 200 with a body that is not JSON", "invalid_body") };
        }
        return broken(cause);
      }
      attempt.watchdog.stop();
      const answer = adapter.response(json, attempt.answer);
      if ("_tag" in answer) return { failure: answer as AttemptFailure };
      return { answered: Object.assign(attempt, { response, json: answer }) };
    };

    /**
     * How attempts reach the upstream: straight through the service's promise form when it has
     * one, else through its effect (a wrapped service, such as the tracing one), run with this
     * request's services so that its spans nest under the request's.
     */
    const poster: Effect.Effect<(call: UpstreamCall) => Promise<Response>> = upstream.send
      ? Effect.succeed(upstream.send)
      : Effect.map(Effect.context<never>(), (context) => {
        const runPromise = Effect.runPromiseWith(context);
        return (call: UpstreamCall) => runPromise(upstream.post(call));
      });

    /** After a failed attempt: cool its key down, record it, then retry, rotate or fall back (after the backoff), or stop. */
    const afterFailure = Effect.fnUntraced(function* (run: RouteRun, attempt: Attempt, reported: AttemptFailure) {
      attempt.watchdog.stop();
      attempt.controller.abort();
      const failure: AttemptFailure = run.cancelled ? cancelled(attempt.candidate.provider.name) : reported;
      const provider = attempt.candidate.provider;
      const pool = pools.get(provider.name);
      const now = yield* Clock.currentTimeMillis;
      if (pool && attempt.keyId !== undefined) {
        if (failure._tag === "KeyRejected" || failure._tag === "QuotaExhausted") {
          pool.coolDown(attempt.keyId, now + provider.keyCooldownMs);
        } else if (failure._tag === "RateLimited" && failure.retryAfterMs) {
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
      // Interruptible: a client that goes away interrupts the request's fiber, sleep included.
      if (step.delayMs > 0) yield* Effect.sleep(step.delayMs);
    });

    /** Attempts until one answers 200 (and, for JSON, delivers its answer), or the plan stops. */
    const answer: (run: RouteRun) => Effect.Effect<Answered, GatewayError> = Effect.fnUntraced(
      function* (run: RouteRun) {
        // Read once per request: each service read is a step of the fiber.
        const clock = yield* Clock.Clock;
        const random = yield* Random.Random;
        const post = yield* poster;
        for (;;) {
          if (run.cancelled) return yield* Effect.fail(errorForReason(cancelled()));
          const candidate = run.plan.current;
          if (candidate === undefined) return yield* Effect.fail(noCandidateError(run));
          const now = clock.currentTimeMillisUnsafe();
          const attempt = begin(run, candidate, now, random.nextDoubleUnsafe());
          // The exchange takes the fiber's interruption as its signal: the client going away aborts it.
          const result = yield* Effect.promise((signal) => {
            signal.addEventListener("abort", run.onInterrupt, { once: true });
            return exchange(run, attempt, post).finally(() => signal.removeEventListener("abort", run.onInterrupt));
          });
          if (result.answered) return result.answered;
          yield* afterFailure(run, attempt, result.failure);
        }
      },
    );

    /** Attempts until one answers with an event stream, then routes its events (`routed_stream.ts`). */
    const openStream: (run: RouteRun) => Effect.Effect<EventStream, GatewayError> = Effect.fnUntraced(
      function* (run: RouteRun) {
        // Fail-overs after the headers went out run with this request's services (its Clock included).
        const runPromise = Effect.runPromiseWith(yield* Effect.context<never>());
        // On failure or interruption alike: no stream will take the run over.
        const first = yield* answer(run).pipe(Effect.onError(() => Effect.sync(() => run.dispose())));
        return routedStream({
          first,
          failover: (failure, failed) =>
            runPromise(Effect.andThen(afterFailure(run, failed, failure), answer(run)), {
              signal: run.detached.signal,
            }),
          committed: (attempt) => {
            run.record(attempt, "ok");
            run.commit();
          },
          isCancelled: () => run.cancelled,
          cancel: () => run.cancel(),
          ended: () => run.dispose(),
        });
      },
    );

    return {
      coolingKeys: (now) =>
        [...pools].flatMap(([provider, pool]) => pool.cooling(now).map((key) => ({ provider, ...key }))),
      complete: (request) =>
        Effect.suspend(() => {
          const run = new RouteRun(request, candidatesOf(request));
          return answer(run).pipe(
            Effect.map((answered) => {
              run.record(answered, "ok");
              return { response: answered.json!, attempt: answered.info };
            }),
            Effect.ensuring(Effect.sync(() => run.dispose())),
          );
        }),
      // The stream's callbacks outlive the request; they are made in `openStream`, whose scope
      // holds only the run, so that they do not keep the `RouteRequest` (and its body) alive.
      stream: (request) => Effect.suspend(() => openStream(new RouteRun(request, candidatesOf(request)))),
    };
  })();
});

export const layer = Layer.effect(Router, make);
