/**
 * The gateway as a Web-standard handler: `(Request) => Promise<Response>`.
 *
 * Routes are a small table; every request gets a request id and a trace, runs
 * on the one `ManagedRuntime` built at start-up, and every failure goes through
 * `toResponse`.
 */
import * as Effect from "effect/Effect";
import type * as ManagedRuntime from "effect/ManagedRuntime";
import type { Auth } from "../auth/Auth.ts";
import type { Decoder } from "../decode/Decoder.ts";
import type { Encoder } from "../encode/Encoder.ts";
import type { Settings } from "../config/Settings.ts";
import type { GatewayConfig } from "../config/load.ts";
import { clientClosed, methodNotAllowed, notFound } from "../errors/GatewayError.ts";
import { asGatewayError, toResponse } from "../errors/response.ts";
import type { Inflight } from "../observability/inflight.ts";
import type { Telemetry, TelemetryShape } from "../observability/Telemetry.ts";
import type { RequestTracing } from "../observability/tracing_setup.ts";
import type { Router } from "../routing/Router.ts";
import { chatCompletions } from "./chat_completions.ts";
import { modelsRoute } from "./models.ts";
import type { Route } from "../core/route.ts";
import { newTrace, type RequestTrace } from "../core/trace.ts";

/** What the routes run with: the settings, the five stage services and telemetry. */
export type GatewayServices = Settings | Auth | Decoder | Router | Encoder | Telemetry;

/** `R` is whatever services feature routes need beyond the core ones. */
export interface HandlerOptions<R = never> {
  readonly config: GatewayConfig;
  /** Its error is the layers' own (a store that failed to open): `makeGateway` has already built them. */
  readonly runtime: ManagedRuntime.ManagedRuntime<R | GatewayServices, unknown>;
  readonly telemetry: TelemetryShape;
  /** Routes added by features (admin API, metrics), keyed by path. */
  readonly extraRoutes?: ReadonlyArray<readonly [string, Route<R | GatewayServices>]>;
  /** Open streams and detached work: the open-streams gauge and graceful shutdown read it. */
  readonly inflight?: Inflight;
  /** Request spans; absent when tracing is off, so it costs nothing then. */
  readonly tracing?: RequestTracing;
}

const requestIdOf = (request: Request): string => {
  const given = request.headers.get("x-request-id");
  // Echo a caller's id only when it is a sane token, so it cannot inject into logs.
  return given && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID();
};

export const makeHandler = <R = never>(
  options: HandlerOptions<R>,
): (request: Request) => Promise<Response> => {
  const { runtime, telemetry, inflight, tracing } = options;

  /**
   * Reports a finished request. Never throws: a telemetry or tracing failure (an injected sink, a
   * span exporter) must not turn a served request into a 500, nor skip closing its stream.
   */
  const report = (trace: RequestTrace) => {
    try {
      telemetry.requestFinished(trace);
    } catch (error) {
      reportFailed(trace, error);
    }
    try {
      tracing?.end(trace);
    } catch (error) {
      reportFailed(trace, error);
    }
  };
  const reportFailed = (trace: RequestTrace, error: unknown) => {
    try {
      telemetry.log("error", "request could not be reported", {
        request_id: trace.requestId,
        error: String((error as Error)?.name),
      });
    } catch {
      // The telemetry is what failed; nothing else can tell.
    }
  };
  /** Streams already reported closed: the gauge and shutdown count each stream out exactly once. */
  const closedStreams = new WeakSet<RequestTrace>();

  const hooks = {
    runDetached: (effect: Effect.Effect<void>) => {
      runtime.runFork(inflight ? inflight.detached(effect) : effect);
    },
    streamFinished: (trace: RequestTrace) => {
      if (closedStreams.has(trace)) return;
      closedStreams.add(trace);
      try {
        trace.latencyMs = performance.now() - trace.startedAt;
        report(trace);
      } finally {
        inflight?.streamClosed();
      }
    },
    ...(tracing ? { stage: tracing.stage } : {}),
    ...(inflight ? { shutdown: inflight.shutdownSignal } : {}),
  };

  const completions: Route<R | GatewayServices> = {
    methods: { POST: (request, trace) => chatCompletions(request, trace, hooks) },
  };
  /** The model list at `base`, and one model by id below it (`/v1/models/openai/gpt-5`). */
  const models = (base: string): Route<R | GatewayServices> => {
    const answer = modelsRoute(base);
    return {
      prefix: true,
      methods: { GET: (request) => answer(request, new URL(request.url).pathname.replace(/\/+$/, "")) },
    };
  };
  const routes = new Map<string, Route<R | GatewayServices>>([
    ["/cursor/v1/chat/completions", completions],
    ["/cursor/chat/completions", completions],
    ["/v1/chat/completions", completions],
    ["/chat/completions", completions],
    ["/cursor/v1/models", models("/cursor/v1/models")],
    ["/v1/models", models("/v1/models")],
    ["/health", { methods: { GET: () => Effect.succeed(Response.json({ status: "ok" })) } }],
    ...(options.extraRoutes ?? []),
  ]);
  const prefixRoutes = [...routes].filter(([, route]) => route.prefix);
  const findRoute = (path: string): Route<R | GatewayServices> | undefined =>
    routes.get(path) ?? prefixRoutes.find(([prefix]) => path.startsWith(`${prefix}/`))?.[1];

  return async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname.replace(/\/+$/, "") || "/";
    const trace = newTrace(requestIdOf(request), path);
    const route = findRoute(path);
    // The method is the client's: `toString` or `constructor` must not find `Object`'s own function.
    const own = route && Object.hasOwn(route.methods, request.method) ? route.methods[request.method] : undefined;
    const handler = own ?? (request.method === "HEAD" ? route?.methods.GET : undefined);
    let response: Response;
    if (!route) {
      response = toResponse(notFound(`No route for ${request.method} ${path}.`));
    } else if (!handler) {
      response = toResponse(methodNotAllowed(request.method, path, Object.keys(route.methods)));
    } else {
      if (route.prefix && routes.get(path) !== route) {
        trace.routePattern = prefixRoutes.find(([, candidate]) => candidate === route)?.[0];
      }
      const run = handler(request, trace);
      // The request's signal interrupts its fiber: a client that goes away stops the upstream
      // call, a backoff sleep, everything the request was doing.
      response = await runtime.runPromise(
        (tracing && path !== "/health" ? tracing.request(trace, request)(run) : run).pipe(
          Effect.catch((error) =>
            Effect.sync(() => {
              trace.errorType = error.type;
              return toResponse(error);
            })
          ),
        ),
        { signal: request.signal },
      ).catch((defect) => {
        if (request.signal.aborted) {
          // Interrupted because the client left: nobody reads this answer, but the trace records it (499).
          trace.errorType = "client_cancelled";
          return toResponse(clientClosed());
        }
        try {
          telemetry.log("error", "unexpected failure", {
            request_id: trace.requestId,
            error: String((defect as Error)?.name),
          });
        } catch {
          // The answer below matters more than the log line.
        }
        return toResponse(asGatewayError(defect));
      });
    }
    response.headers.set("x-request-id", trace.requestId);
    if (response.headers.get("content-type")?.startsWith("text/event-stream") !== true) {
      trace.status = response.status;
      trace.latencyMs = performance.now() - trace.startedAt;
      if (route && path !== "/health") report(trace);
    } else inflight?.streamOpened();
    return response;
  };
};
