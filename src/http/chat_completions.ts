/**
 * `POST .../chat/completions`: the five stages in order.
 *
 * auth (headers) -> decode (body) -> auth again (models, limits) -> routing
 * and upstream -> encode. Every failure is a `GatewayError`, answered by the
 * one mapping in `errors/response.ts`.
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Result from "effect/Result";
import { Auth } from "../auth/Auth.ts";
import { Settings } from "../config/Settings.ts";
import { Decoder } from "../decode/Decoder.ts";
import { Encoder } from "../encode/Encoder.ts";
import type { EncodeContext } from "../encode/context.ts";
import { answerUsage } from "../encode/completion.ts";
import { promptCharacters } from "../encode/usage.ts";
import { contextOverflowEvent, contextOverflowResponse } from "../encode/context_overflow.ts";
import { GatewayError } from "../errors/GatewayError.ts";
import { captureOutput } from "../observability/content.ts";
import type { SpanHook } from "../observability/tracing_setup.ts";
import type { ResponsesRequest, ResponsesUsage } from "../protocol/responses.ts";
import { applyModelHints, resolveModels } from "../routing/model_ref.ts";
import { type AttemptInfo, type EventStream, Router } from "../routing/Router.ts";
import { readJsonBody } from "./body.ts";
import { isCursorRequest, visibleError } from "./cursor.ts";
import type { RequestTrace } from "../core/trace.ts";
import { sseBody, type StreamEnd } from "./sse_body.ts";

const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

const attemptHeaders = (attempt: AttemptInfo): Record<string, string> => ({
  "x-gateway-provider": attempt.ref.provider,
  "x-gateway-model": attempt.ref.model,
  "x-gateway-attempts": String(attempt.attempts),
});

const newCompletionId = () => `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;

export interface PipelineHooks {
  /** Runs an effect detached from the request (settling a stream after its response was returned). */
  readonly runDetached: (effect: Effect.Effect<void>) => void;
  /** Called when a streamed request is over (the JSON path reports through the returned response). */
  readonly streamFinished: (trace: RequestTrace) => void;
  /** Wraps a stage in a child span of the request's span; absent when tracing is off. */
  readonly stage?: SpanHook;
  /** Aborted when the gateway shuts down and open streams must end now. */
  readonly shutdown?: AbortSignal;
}

/**
 * The usage estimate's prompt side (issue 14, point 5): a JSON answer counts it only if it needs
 * it; a stream counts it now, since holding the body for the stream's life would keep it from
 * being let go once the stream commits (routing/Router.ts `commit`). Made out here so that no
 * closure of the request's scope holds the body.
 */
const promptCharsOf = (body: ResponsesRequest, stream: boolean): () => number => {
  let chars = stream ? promptCharacters(body) : undefined;
  // Counted at most once: a JSON answer without usage asks for it twice (its encoding, then its settlement).
  return () => chars ??= promptCharacters(body);
};

/** The failure routing ends a request with when the prompt does not fit the model (`ContextTooLong`). */
const isContextTooLong = (error: GatewayError): boolean => error.code === "context_length_exceeded";

/** A stream of the one event that stands for a context overflow, as if `attempt` had answered it. */
const overflowStream = (attempt: AttemptInfo): EventStream => {
  let sent = false;
  return {
    attempt: () => attempt,
    next: () => Promise.resolve(sent ? undefined : (sent = true, contextOverflowEvent())),
    cancel: () => {},
  };
};

/**
 * A routed stream whose failure for the context before its first event (an upstream that
 * answered 200, then an error event) ends as the overflow answer instead of an error frame. Only
 * the first read is wrapped: after it, `next` is the stream's own, so events cost nothing more.
 */
const compactBeforeOutput = (events: EventStream, onOverflow: () => void): EventStream => {
  const wrapped: { -readonly [K in keyof EventStream]: EventStream[K] } = {
    attempt: events.attempt,
    cancel: events.cancel,
    ...(events.ready ? { ready: events.ready } : {}),
    next: async () => {
      try {
        const event = await events.next();
        wrapped.next = events.next;
        return event;
      } catch (error) {
        if (!(error instanceof GatewayError) || !isContextTooLong(error)) throw error;
        onOverflow();
        let sent = false;
        wrapped.next = () => Promise.resolve(sent ? undefined : (sent = true, contextOverflowEvent()));
        return wrapped.next();
      }
    },
  };
  return wrapped;
};

const unchanged = <A, E, R>(self: Effect.Effect<A, E, R>) => self;
/** Tracing off: every stage is left as it is, with nothing allocated. */
const noSpan: SpanHook = () => unchanged;

/**
 * The route. `Effect.fnUntraced` makes its generator function once, at load: an `Effect.gen(function* ...)`
 * per request made V8 build a fresh prototype and map for every request's generator, whose
 * registration made each young-generation GC slower and promoted the request's garbage (7-9 ms
 * scavenges every ~200 requests at c=1, against 0.2 ms; BENCHMARKS.md, issue 17).
 */
export const chatCompletions: (
  request: Request,
  trace: RequestTrace,
  hooks: PipelineHooks,
) => Effect.Effect<Response, GatewayError, Settings | Auth | Decoder | Router | Encoder> = Effect.fnUntraced(
  function* (request: Request, trace: RequestTrace, hooks: PipelineHooks) {
    // One read of the request's services instead of five steps of the fiber.
    const services = yield* Effect.context<Settings | Auth | Decoder | Router | Encoder>();
    const config = Context.get(services, Settings);
    const auth = Context.get(services, Auth);
    const decode = Context.get(services, Decoder);
    const router = Context.get(services, Router);
    const encode = Context.get(services, Encoder);
    const stage = hooks.stage ?? noSpan;

    const caller = yield* auth.authenticate(request.headers).pipe(stage("auth", trace));
    if (caller.virtualKeyId !== undefined) trace.virtualKeyId = caller.virtualKeyId;
    const raw = yield* readJsonBody(request, config.maxBodyBytes, config.bodyTimeoutMs).pipe(stage("read_body", trace));
    const cursor = isCursorRequest(trace.route, request.headers, raw);
    const thinkTags = cursor && config.reasoningDisplay === "think_tags";
    const decoded = decode.request(raw, cursor ? { cursor: { stripThink: thinkTags } } : {});
    if (Result.isFailure(decoded)) return yield* Effect.fail(decoded.failure);
    const { model, fallbacks, stream, body } = decoded.success;
    trace.modelRequested = model;
    trace.stream = stream;
    if (config.logContent) trace.content = { instructions: body.instructions, input: body.input };

    // Aliases everywhere; Cursor's suffixes (`gpt-5-high`) on its requests only. Keys and budgets judge the result.
    const { candidates, hints } = resolveModels(model, fallbacks, config, cursor);
    applyModelHints(body, hints);
    const grant = yield* auth.admit(caller, candidates).pipe(stage("admit", trace));
    const routeRequest = {
      candidates,
      body,
      stream,
      ...(grant.providerKey ? { providerKey: grant.providerKey } : {}),
      customTools: decoded.success.customTools,
      trace,
    };

    const promptChars = promptCharsOf(body, stream);

    let served: AttemptInfo | undefined;
    /** The answer stands for a context overflow (point 4): it costs and charges nothing. */
    let overflowed = false;
    // A stream may fail over before its first output, so the serving attempt is read live.
    let servingAttempt = (): AttemptInfo => served!;
    const context: EncodeContext = {
      id: newCompletionId(),
      created: Math.floor(Date.now() / 1000),
      model,
      attempt: () => servingAttempt(),
      startedAt: trace.startedAt,
      price: (usage) => served && !overflowed ? auth.price(served.ref, usage) : undefined,
      customTools: decoded.success.customTools,
      promptChars,
      ...(cursor ? { cursor: { thinkTags, carryReasoning: config.reasoningCarry === "comment" } } : {}),
    };
    const settle = (usage: ResponsesUsage | undefined) => {
      const cost = usage && served ? auth.price(served.ref, usage) : undefined;
      if (usage) trace.usage = usage;
      if (cost) trace.cost = cost;
      return grant.settle({
        ...(served ? { served: served.ref } : {}),
        ...(usage ? { usage } : {}),
        ...(cost ? { cost } : {}),
      }).pipe(stage("settle", trace));
    };
    const recordServed = (attempt: AttemptInfo) => {
      served = attempt;
      trace.provider = attempt.ref.provider;
      trace.model = attempt.ref.model;
    };

    // Cursor requests: a "context too long" before any output is the answer Cursor compacts on (point 4).
    const compact = cursor && config.cursorContextOverflow === "compact";
    /** The attempt that failed for the context, standing in for the one that served. */
    const overflowAttempt = (): AttemptInfo => {
      const last = trace.attempts[trace.attempts.length - 1];
      const index = Math.max(
        0,
        candidates.findIndex((ref) => ref.provider === last?.provider && ref.model === last?.model),
      );
      return { ref: candidates[index], fallbackIndex: index, attempts: trace.attempts.length };
    };
    /** What the client gets when routing gave up: on Cursor requests, with the switch, an error Cursor shows (point 6). */
    const failed = (error: GatewayError): GatewayError =>
      cursor && config.cursorVisibleErrors ? visibleError(error, trace.attempts) : error;

    if (!stream) {
      const routed = yield* router.complete(routeRequest).pipe(
        stage("route", trace),
        // A failure, or the client going away (which interrupts this fiber): the admitted request is settled.
        Effect.onError(() => settle(undefined)),
        Effect.result,
      );
      if (Result.isFailure(routed)) {
        if (!compact || !isContextTooLong(routed.failure)) return yield* Effect.fail(failed(routed.failure));
        const attempt = overflowAttempt();
        overflowed = true;
        recordServed(attempt);
        const overflow = encode.completion(contextOverflowResponse(), { ...context, contextOverflow: true });
        return Response.json(overflow, { headers: { ...grant.headers, ...attemptHeaders(attempt) } });
      }
      const result = routed.success;
      recordServed(result.attempt);
      if (trace.content) trace.content.output = result.response.output;
      const completion = encode.completion(result.response, context);
      // The upstream's usage, or the estimate the answer carries when it reported none: budgets charge it.
      yield* settle(answerUsage(result.response, context).usage);
      return Response.json(completion, { headers: { ...grant.headers, ...attemptHeaders(result.attempt) } });
    }

    const routed = yield* router.stream(routeRequest).pipe(
      stage("route", trace),
      Effect.onError(() => settle(undefined)),
      Effect.result,
    );
    let events: EventStream;
    if (Result.isFailure(routed)) {
      if (!compact || !isContextTooLong(routed.failure)) return yield* Effect.fail(failed(routed.failure));
      overflowed = true;
      events = overflowStream(overflowAttempt());
    } else {
      events = compact ? compactBeforeOutput(routed.success, () => (overflowed = true)) : routed.success;
    }
    recordServed(events.attempt());
    servingAttempt = () => (served = events.attempt());
    const encoder = encode.chunks(context);
    const sse = sseBody({
      events: trace.content ? captureOutput(events, trace.content) : events,
      encoder,
      ...(hooks.shutdown ? { shutdown: hooks.shutdown } : {}),
      keepaliveMs: config.keepaliveMs,
      onFirstOutput: () => {
        trace.firstTokenMs = performance.now() - trace.startedAt;
      },
      onEnd: (end: StreamEnd) => {
        recordServed(events.attempt());
        trace.status = 200;
        if (end !== "completed") {
          trace.errorType = end === "cancelled"
            ? "client_cancelled"
            : hooks.shutdown?.aborted
            ? "gateway_shutting_down"
            : "stream_error";
        }
        const usage = overflowed ? undefined : encoder.usage;
        hooks.runDetached(settle(usage).pipe(Effect.ensuring(Effect.sync(() => hooks.streamFinished(trace)))));
      },
    });
    return new Response(sse, {
      status: 200,
      headers: { ...sseHeaders, ...grant.headers, ...attemptHeaders(events.attempt()) },
    });
  },
);
