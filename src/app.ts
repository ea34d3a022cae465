/**
 * Composition root: every stage's layer, built once into one `ManagedRuntime`,
 * exposed as a Web-standard fetch handler.
 */
import * as Cause from "effect/Cause";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import * as ManagedRuntime from "effect/ManagedRuntime";
import * as Option from "effect/Option";
import { dashboardRoutes } from "./admin/dashboard.ts";
import { adminGuard } from "./admin/guard.ts";
import { adminRoutes } from "./admin/keys.ts";
import * as Auth from "./auth/Auth.ts";
import { defaultPrices } from "./auth/pricing.ts";
import * as KeyRegistry from "./auth/KeyRegistry.ts";
import * as UsageStore from "./auth/UsageStore.ts";
import type { GatewayConfig } from "./config/load.ts";
import * as Settings from "./config/Settings.ts";
import { makeHandler } from "./http/handler.ts";
import * as Decoder from "./decode/Decoder.ts";
import * as Encoder from "./encode/Encoder.ts";
import { Inflight } from "./observability/inflight.ts";
import { ModelNames } from "./observability/metrics.ts";
import { MinuteStats } from "./observability/minute_stats.ts";
import { noteErrorAnswer, RecentRequests } from "./observability/recent_requests.ts";
import { metricsPath, metricsRoute } from "./http/metrics_route.ts";
import * as Telemetry from "./observability/Telemetry.ts";
import * as Tracing from "./observability/tracing_setup.ts";
import * as Router from "./routing/Router.ts";
import { traceUpstream } from "./upstream/traced.ts";
import * as Upstream from "./upstream/Upstream.ts";
import { uiRoutes } from "./ui/route.ts";

export interface Gateway {
  readonly fetch: (request: Request) => Promise<Response>;
  /** Releases the runtime's resources (store connections, exporters), once detached settlements are done. */
  readonly dispose: () => Promise<void>;
  /** SSE streams open right now. */
  readonly openStreams: () => number;
  /**
   * Graceful shutdown, once the listener is closed: open streams may finish for
   * up to `graceMs`, the rest end with an error frame; resolves when every
   * finished request's usage is recorded. A second call ends the streams at once.
   */
  readonly shutdown: (graceMs: number) => Promise<void>;
}

export interface GatewayOptions {
  /** Replaces the upstream HTTP layer (tests inject failures here). */
  readonly upstream?: Layer.Layer<Upstream.Upstream>;
  /**
   * Replaces the telemetry (tests capture log lines here); by default one at the config's level
   * on the process's stdout sink (`log_sink.ts`), which main.ts and serve.ts drain before exiting.
   */
  readonly telemetry?: Telemetry.TelemetryShape;
  /** Where tracing reads the `OTEL_*` variables (default: the process environment). */
  readonly env?: Tracing.Env;
  /**
   * Replaces effect's `Clock` for every stage: rate-limit windows, budget periods, key expiry,
   * the admin API and routing's backoff all read it (tests pin the wall time here).
   */
  readonly clock?: Clock.Clock;
}

/** The gateway could not start: the store, or the tracing exporter, failed to come up. */
export class StartError extends Data.TaggedError("StartError")<{
  /** What failed, by its tag (`StoreError`, ...): main.ts words its one line from it. */
  readonly cause: UsageStore.StoreError;
}> {
  override get message(): string {
    return this.cause.message;
  }
}

/**
 * Every stage's layer, composed once: the settings, telemetry and the clock at the bottom; the
 * usage store and key registry that auth and the admin API share; the five stage services
 * (`Auth`, `Decoder`, `Router` over `Upstream`, `Encoder`) on top. `tracing` is the setup
 * `makeGateway` computed once.
 */
export const layerFor = (
  config: GatewayConfig,
  options: GatewayOptions = {},
  tracing: Tracing.TracingSetup = Tracing.tracingSetup(options.env ?? Tracing.processEnv()),
  /** `tracing.ts`, loaded by `makeGateway` only when tracing is on. */
  exporter?: typeof import("./observability/tracing.ts"),
) => {
  const telemetry = options.telemetry ?? Telemetry.make(config.logLevel);
  const upstream = options.upstream ?? Upstream.layer;
  const base = Layer.mergeAll(
    Settings.layer(config),
    Layer.succeed(Telemetry.Telemetry, telemetry),
    options.clock ? Layer.succeed(Clock.Clock, options.clock) : Layer.empty,
  );
  const stores = KeyRegistry.layer.pipe(Layer.provideMerge(UsageStore.layer));
  const stages = Layer.mergeAll(
    Auth.layer,
    Decoder.layer,
    Router.layer.pipe(Layer.provide(tracing.enabled ? traceUpstream(upstream) : upstream)),
    Encoder.layer,
  ).pipe(Layer.provideMerge(stores), Layer.provideMerge(base));
  return tracing.enabled && exporter
    ? Layer.merge(stages, exporter.layer(options.env ?? Tracing.processEnv(), tracing))
    : stages;
};

export const makeGateway = async (config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> => {
  const tracing = Tracing.tracingSetup(options.env ?? Tracing.processEnv());
  // effect's OTLP exporter and HTTP client are loaded only when tracing is on.
  const exporter = tracing.enabled ? await import("./observability/tracing.ts") : undefined;
  const runtime = ManagedRuntime.make(layerFor(config, options, tracing, exporter));
  // Building the layers here, so that a store that cannot open fails start-up with its own error.
  const built = await Effect.runPromiseExit(runtime.contextEffect);
  if (Exit.isFailure(built)) {
    await runtime.dispose();
    const failure = Cause.findErrorOption(built.cause);
    if (Option.isSome(failure)) throw new StartError({ cause: failure.value });
    throw Cause.squash(built.cause);
  }
  const telemetry = Context.get(built.value, Telemetry.Telemetry);
  const inflight = new Inflight();
  telemetry.metrics?.gauge("gateway_open_streams", "SSE streams open right now.", () => inflight.openStreams);
  // Only the models the config names become metric labels; a client's invented name is `other`.
  telemetry.metrics?.labelModels(ModelNames.fromConfig(config, Object.keys(defaultPrices)));
  if (tracing.enabled) {
    // The host only: an endpoint URL may carry credentials.
    telemetry.log("info", "exporting traces over OTLP", {
      host: URL.parse(tracing.endpoint)?.host,
      protocol: tracing.protocol,
    });
  } else if (tracing.reason) telemetry.log("warn", tracing.reason);
  // The dashboard's request table and per-minute stats, fed by every finished request; only kept
  // when there is an admin key to read them with.
  const clock = Context.get(built.value, Clock.Clock);
  const now = () => clock.currentTimeMillisUnsafe();
  const dashboard = config.adminKey !== undefined
    ? { adminKey: config.adminKey, recent: new RecentRequests({ now }), stats: new MinuteStats({ now }) }
    : undefined;
  const handler = makeHandler({
    config,
    runtime,
    telemetry: dashboard
      ? Telemetry.recording(telemetry, [
        (trace) => dashboard.recent.record(trace),
        (trace) => dashboard.stats.record(trace),
      ])
      : telemetry,
    inflight,
    ...(exporter ? { tracing: exporter.makeRequestTracing() } : {}),
    extraRoutes: [
      [metricsPath, metricsRoute(config.metricsKey, telemetry)],
      ...uiRoutes(dashboard !== undefined),
      ...(dashboard
        ? [
          ...adminRoutes({ adminKey: dashboard.adminKey }),
          ...dashboardRoutes({
            guard: adminGuard(dashboard.adminKey),
            recent: dashboard.recent,
            stats: dashboard.stats,
            openStreams: () => inflight.openStreams,
            logContent: config.logContent,
          }),
        ]
        : []),
    ],
  });
  return {
    // The table shows the message a failed request was answered with, read from the answer.
    fetch: dashboard
      ? (request) =>
        handler(request).then((response) => {
          noteErrorAnswer(dashboard.recent, response);
          return response;
        })
      : handler,
    dispose: async () => {
      await inflight.settled();
      await runtime.dispose();
    },
    openStreams: () => inflight.openStreams,
    shutdown: (graceMs) => inflight.shutdown(graceMs),
  };
};
