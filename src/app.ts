/**
 * Composition root: every stage's layer, built once into one `ManagedRuntime`,
 * exposed as a Web-standard fetch handler.
 */
import { Effect, Layer, ManagedRuntime } from "effect";
import { adminRoutes } from "./admin/keys.ts";
import * as Auth from "./auth/Auth.ts";
import { defaultPrices } from "./auth/pricing.ts";
import * as KeyRegistry from "./auth/KeyRegistry.ts";
import * as UsageStore from "./auth/UsageStore.ts";
import type { GatewayConfig } from "./config/load.ts";
import * as Settings from "./config/Settings.ts";
import { type GatewayServices, makeHandler } from "./http/handler.ts";
import { Inflight } from "./observability/inflight.ts";
import { ModelNames } from "./observability/metrics.ts";
import { metricsPath, metricsRoute } from "./http/metrics_route.ts";
import * as Telemetry from "./observability/Telemetry.ts";
import * as Tracing from "./observability/tracing.ts";
import * as Router from "./routing/Router.ts";
import { traceUpstream } from "./upstream/traced.ts";
import * as Upstream from "./upstream/Upstream.ts";

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
  /** Replaces the log sink (tests capture log lines here). */
  readonly telemetry?: Telemetry.TelemetryShape;
  /** Where tracing reads the `OTEL_*` variables (default: the process environment). */
  readonly env?: Tracing.Env;
  /** ms since the epoch for rate-limit windows and budget periods (tests pin it). */
  readonly clock?: () => number;
}

export const layerFor = (config: GatewayConfig, options: GatewayOptions = {}) => {
  const telemetry = options.telemetry ?? Telemetry.make(config.logLevel);
  const env = options.env ?? Tracing.processEnv();
  const tracing = Tracing.tracingSetup(env);
  const upstream = options.upstream ?? Upstream.layer;
  return Layer.mergeAll(
    Settings.layer(config),
    // Auth and the admin API share the key registry and the usage store (built once).
    Auth.layer(config, options.clock ? { clock: options.clock } : {}).pipe(
      Layer.provideMerge(KeyRegistry.layer(config)),
      Layer.provideMerge(UsageStore.layer(config.store)),
      Layer.provide(Layer.succeed(Telemetry.Telemetry, telemetry)),
    ),
    Router.layer(config).pipe(Layer.provide(tracing.enabled ? traceUpstream(upstream) : upstream)),
    Layer.succeed(Telemetry.Telemetry, telemetry),
    tracing.enabled ? Tracing.layer(env, tracing) : Layer.empty,
  );
};

export const makeGateway = async (config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> => {
  const runtime = ManagedRuntime.make(layerFor(config, options) as Layer.Layer<
    GatewayServices | KeyRegistry.KeyRegistry | UsageStore.UsageStore,
    never
  >);
  const telemetry = await runtime.runPromise(Effect.service(Telemetry.Telemetry));
  const inflight = new Inflight();
  telemetry.metrics?.gauge("gateway_open_streams", "SSE streams open right now.", () => inflight.openStreams);
  // Only the models the config names become metric labels; a client's invented name is `other`.
  telemetry.metrics?.labelModels(ModelNames.fromConfig(config, Object.keys(defaultPrices)));
  const tracing = Tracing.tracingSetup(options.env ?? Tracing.processEnv());
  if (tracing.enabled) {
    // The host only: an endpoint URL may carry credentials.
    telemetry.log("info", "exporting traces over OTLP", {
      host: URL.parse(tracing.endpoint)?.host,
      protocol: tracing.protocol,
    });
  } else if (tracing.reason) telemetry.log("warn", tracing.reason);
  return {
    fetch: makeHandler({
      config,
      runtime,
      telemetry,
      inflight,
      ...(tracing.enabled ? { tracing: Tracing.makeRequestTracing() } : {}),
      extraRoutes: [
        [metricsPath, metricsRoute(config.metricsKey, telemetry)],
        ...(config.adminKey !== undefined
          ? adminRoutes({ adminKey: config.adminKey, ...(options.clock ? { clock: options.clock } : {}) })
          : []),
      ],
    }),
    dispose: async () => {
      await inflight.settled();
      await runtime.dispose();
    },
    openStreams: () => inflight.openStreams,
    shutdown: (graceMs) => inflight.shutdown(graceMs),
  };
};
