/**
 * Optional OpenTelemetry tracing: a server span per request, a child span per
 * stage (auth, decode, admit, route, encode, settle) and per upstream attempt,
 * exported over OTLP/HTTP by effect's own `OtlpTracer`.
 *
 * Off by default; on when the standard variables name an endpoint:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), with
 * `OTEL_TRACES_EXPORTER` unset or `otlp` and `OTEL_SDK_DISABLED` not `true`.
 * `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
 * `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `http/json`),
 * `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_BSP_SCHEDULE_DELAY` and
 * `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` apply as the specification says.
 *
 * When off, this module is not even loaded (`app.ts` imports it only when
 * `tracing_setup.ts` says tracing is on, so effect's OTLP exporter and HTTP
 * client stay out of memory), the handler gets no `RequestTracing` and the
 * stages' span hooks are the identity.
 */
import * as ConfigProvider from "effect/ConfigProvider";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as FetchHttpClient from "effect/http/FetchHttpClient";
import * as EffectHeaders from "effect/http/Headers";
import * as HttpTraceContext from "effect/http/HttpTraceContext";
import * as OtlpSerialization from "effect/observability/OtlpSerialization";
import * as OtlpTracer from "effect/observability/OtlpTracer";
import type * as Tracer from "effect/Tracer";
import type { RequestTrace } from "../core/trace.ts";
import type { Env, RequestTracing, SpanHook, TracingSetup } from "./tracing_setup.ts";

export * from "./tracing_setup.ts";

/** Provides effect's `Tracer` exporting to the OTLP endpoint; flushes what is buffered when the runtime is disposed. */
export const layer = (env: Env, setup: Extract<TracingSetup, { enabled: true }>) => {
  const otel: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (name.startsWith("OTEL_") && value) otel[name] = value;
  // effect enables the exporter only for an explicit `otlp` exporter and needs a service name;
  // the specification defaults both.
  otel.OTEL_TRACES_EXPORTER = "otlp";
  if (!otel.OTEL_SERVICE_NAME && !/(^|,)\s*service\.name\s*=/.test(otel.OTEL_RESOURCE_ATTRIBUTES ?? "")) {
    otel.OTEL_SERVICE_NAME = "cursor-gateway";
  }
  const serialization = setup.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf;
  return OtlpTracer.layerFromConfig().pipe(
    Layer.provide(Layer.mergeAll(FetchHttpClient.layer, serialization)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: otel }))),
  );
};

// ===== Request spans =====

interface Open {
  readonly span: Tracer.Span;
  /** `performance.now()` at the span's start; the end time is derived from it on the same clock. */
  readonly startedAt: number;
  readonly startNanos: bigint;
}

const noParent = { root: true } as const;

/** Probes and scrapes: frequent, uninteresting, and they would drown the traces. */
const untraced = new Set(["/health", "/metrics"]);

/** Spans for requests, kept beside their traces until the request is over. */
export const makeRequestTracing = (): RequestTracing => {
  const open = new WeakMap<RequestTrace, Open>();

  const request: RequestTracing["request"] = (trace, incoming) => (self) =>
    untraced.has(trace.route) ? self : Effect.flatMap(
      Effect.makeSpan(`${incoming.method} ${trace.routePattern ?? trace.route}`, {
        kind: "server",
        ...parentFrom(incoming.headers),
        attributes: {
          "http.request.method": incoming.method,
          "http.route": trace.routePattern ?? trace.route,
          "url.path": trace.route,
          "gateway.request_id": trace.requestId,
        },
      }),
      (span) => {
        const startNanos = span.status._tag === "Started" ? span.status.startTime : 0n;
        open.set(trace, { span, startedAt: performance.now(), startNanos });
        return Effect.withParentSpan(self, span);
      },
    );

  const stage: SpanHook = (name, trace) => (self) => {
    const parent = open.get(trace)?.span;
    return Effect.withSpan(self, `gateway.${name}`, {
      ...(parent ? { parent } : {}),
      captureStackTrace: false,
    });
  };

  const end = (trace: RequestTrace) => {
    const entry = open.get(trace);
    if (!entry) return;
    open.delete(trace);
    const { span } = entry;
    const set = (key: string, value: unknown) => value !== undefined && span.attribute(key, value);
    set("http.response.status_code", trace.status);
    set("gateway.virtual_key_id", trace.virtualKeyId);
    set("gateway.stream", trace.stream);
    set("gen_ai.request.model", trace.modelRequested);
    set("gen_ai.provider.name", trace.provider);
    set("gen_ai.response.model", trace.model);
    set("gen_ai.usage.input_tokens", trace.usage?.input_tokens);
    set("gen_ai.usage.output_tokens", trace.usage?.output_tokens);
    set("gateway.cost_usd", trace.cost?.total_cost);
    set("gateway.attempts", trace.attempts.length);
    set("gateway.time_to_first_token_ms", trace.firstTokenMs);
    set("error.type", trace.errorType);
    // The routing trail, as events on the request span (the attempts' own spans hold their timing).
    let at = entry.startNanos;
    for (const attempt of trace.attempts) {
      at += BigInt(Math.round(attempt.ms * 1e6));
      span.event("gateway.attempt", at, {
        "gen_ai.provider.name": attempt.provider,
        "gen_ai.request.model": attempt.model,
        "gateway.outcome": attempt.outcome,
        ...(attempt.next ? { "gateway.next": attempt.next } : {}),
      });
    }
    const failed = trace.status >= 500 ||
      (trace.stream && trace.errorType !== undefined && trace.errorType !== "client_cancelled");
    const endNanos = entry.startNanos + BigInt(Math.round((performance.now() - entry.startedAt) * 1e6));
    span.end(endNanos, failed ? Exit.fail(requestFailure(trace)) : Exit.void);
  };

  return { request, stage, end };
};

/** A caller's W3C `traceparent`, so the gateway's spans join the caller's trace. */
const parentFrom = (headers: Headers): { readonly parent: Tracer.AnySpan } | typeof noParent => {
  const traceparent = headers.get("traceparent");
  if (!traceparent) return noParent;
  const parent = HttpTraceContext.w3c(EffectHeaders.fromInput({ traceparent }));
  return Option.isSome(parent) ? { parent: parent.value } : noParent;
};

const requestFailure = (trace: RequestTrace) => {
  const error = new Error(`request ended with status ${trace.status}${trace.errorType ? ` (${trace.errorType})` : ""}`);
  error.name = trace.errorType ?? "server_error";
  return error;
};
