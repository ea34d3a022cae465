/**
 * Stage 3, routing: which provider, model and key serve a request, and what
 * happens when one fails.
 *
 * Fallback happens only while nothing has reached the client: for a JSON
 * answer, until the answer is written; for a stream, until its headers go out.
 */
import { Context, Effect, Layer } from "effect";
import type { GatewayConfig, ProviderConfig } from "../config/load.ts";
import { GatewayError } from "../errors/GatewayError.ts";
import type { ResponsesEvent, ResponsesRequest, ResponsesResponse } from "../protocol/responses.ts";
import { Upstream } from "../upstream/Upstream.ts";
import { type EventReader, MalformedEventError, readEvents } from "../upstream/sse_events.ts";
import type { ModelRef } from "./model_ref.ts";
import type { RequestTrace } from "../http/RequestTrace.ts";
import { isTransientStatus, transportError, upstreamHttpError } from "./classify.ts";

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
  /** Aborts the upstream request; safe to call more than once. */
  readonly cancel: () => void;
}

export interface RouterShape {
  readonly complete: (request: RouteRequest) => Effect.Effect<CompletionResult, GatewayError>;
  readonly stream: (request: RouteRequest) => Effect.Effect<EventStream, GatewayError>;
}

export class Router extends Context.Service<Router, RouterShape>()("gateway/Router") {}

// ===== Service =====

const pickKey = (provider: ProviderConfig, request: RouteRequest): string | undefined => {
  if (request.providerKey?.provider === provider.name) return request.providerKey.value;
  const keys = provider.keys.filter((k) => k.weight > 0);
  if (keys.length === 0) return undefined;
  const total = keys.reduce((sum, k) => sum + k.weight, 0);
  let roll = Math.random() * total;
  for (const key of keys) {
    roll -= key.weight;
    if (roll < 0) return key.value;
  }
  return keys[keys.length - 1].value;
};

export const make = Effect.gen(function* () {
  const upstream = yield* Upstream;
  return (config: GatewayConfig): RouterShape => {
    /** Tries candidates in order until one answers 2xx; final errors stop the walk. */
    const firstAnswer = (request: RouteRequest) =>
      Effect.gen(function* () {
        let firstError: GatewayError | undefined;
        let attempts = 0;
        for (let index = 0; index < request.candidates.length; index++) {
          const ref = request.candidates[index];
          const provider = config.providers[ref.provider];
          if (!provider) continue;
          const body = JSON.stringify({ ...request.body, model: ref.model, stream: request.stream });
          attempts++;
          const started = performance.now();
          const result = yield* Effect.result(
            upstream.post({ provider, apiKey: pickKey(provider, request), body, signal: request.signal }),
          );
          if (result._tag === "Failure") {
            request.trace.attempts.push({
              provider: ref.provider,
              model: ref.model,
              outcome: "network",
              ms: performance.now() - started,
            });
            if (request.signal.aborted) return yield* Effect.fail(transportError(result.failure));
            firstError ??= transportError(result.failure);
            continue;
          }
          const response = result.success;
          request.trace.attempts.push({
            provider: ref.provider,
            model: ref.model,
            outcome: String(response.status),
            ms: performance.now() - started,
          });
          if (response.ok) return { response, attempt: { ref, fallbackIndex: index, attempts } };
          const error = yield* Effect.promise(() => upstreamHttpError(ref.provider, response));
          if (!isTransientStatus(response.status)) return yield* Effect.fail(error);
          firstError ??= error;
        }
        return yield* Effect.fail(
          firstError ??
            new GatewayError({
              status: 502,
              type: "upstream_error",
              message: "No provider could serve the request.",
              code: null,
              param: null,
            }),
        );
      });

    return {
      complete: (request) =>
        Effect.gen(function* () {
          const { response, attempt } = yield* firstAnswer(request);
          const json = yield* Effect.tryPromise({
            try: () => response.json() as Promise<ResponsesResponse>,
            catch: () =>
              new GatewayError({
                status: 502,
                type: "upstream_error",
                message: "Upstream sent an invalid JSON body.",
                code: null,
                param: null,
              }),
          });
          return { response: json, attempt };
        }),
      stream: (request) =>
        Effect.gen(function* () {
          const { response, attempt } = yield* firstAnswer(request);
          const reader: EventReader = readEvents(response.body!);
          return {
            attempt: () => attempt,
            next: () =>
              reader.next().catch((cause) => {
                throw new GatewayError({
                  status: 502,
                  type: "upstream_error",
                  message: cause instanceof MalformedEventError ? cause.message : "Upstream stream was interrupted.",
                  code: "upstream_stream_error",
                  param: null,
                });
              }),
            cancel: () => reader.cancel(),
          };
        }),
    };
  };
});

export const layer = (config: GatewayConfig) => Layer.effect(Router, Effect.map(make, (build) => build(config)));
