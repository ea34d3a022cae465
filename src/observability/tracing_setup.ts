/**
 * Whether tracing is on, read from the standard `OTEL_*` variables, and the types the request
 * path names. Kept apart from `tracing.ts`, which loads effect's OTLP exporter and HTTP client:
 * `app.ts` imports that module only when tracing is on, so a gateway without tracing never
 * loads them (issue 17: nothing loaded at start that may never be used).
 */
import type * as Effect from "effect/Effect";
import type { RequestTrace } from "../core/trace.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** Wraps an effect in a span, or leaves it as it is. */
export type SpanHook = (
  name: string,
  trace: RequestTrace,
) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>;

export interface RequestTracing {
  /** Runs a request's effect under its server span; the span stays open until `end` (streams outlive the effect). */
  readonly request: (
    trace: RequestTrace,
    request: Request,
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>;
  /** A child span of the request's span, for one stage; works from detached fibers too. */
  readonly stage: SpanHook;
  /** Ends the request's span with what the trace learned (status, model, tokens, attempts). */
  readonly end: (trace: RequestTrace) => void;
}

/** The process environment, or nothing when reading it is not permitted. */
export const processEnv = (): Env => {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
};

const exporterList = (value: string | undefined) =>
  (value ?? "otlp").split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "");

export type TracingSetup =
  | { readonly enabled: false; readonly reason?: string }
  | { readonly enabled: true; readonly endpoint: string; readonly protocol: "http/protobuf" | "http/json" };

/** Whether (and where) to export spans, from the standard `OTEL_*` variables. */
export const tracingSetup = (env: Env): TracingSetup => {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return { enabled: false };
  if (!exporterList(env.OTEL_TRACES_EXPORTER).includes("otlp")) return { enabled: false };
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return { enabled: false };
  if (!/^https?:$/.test(URL.parse(endpoint)?.protocol ?? "")) {
    // Not echoed: an endpoint may carry credentials.
    return { enabled: false, reason: "the OTLP endpoint is not an http(s) URL; tracing is off" };
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf")
    .trim().toLowerCase();
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    return {
      enabled: false,
      reason:
        `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported (use http/protobuf or http/json); tracing is off`,
    };
  }
  return { enabled: true, endpoint, protocol };
};

/** The host only: a base URL could carry credentials in its user-info or query. */
export const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
};
