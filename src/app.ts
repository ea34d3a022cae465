/**
 * Composition root: every stage's layer, built once into one `ManagedRuntime`,
 * exposed as a Web-standard fetch handler.
 */
import { Effect, Layer, ManagedRuntime } from "effect";
import { adminRoutes } from "./admin/keys.ts";
import * as Auth from "./auth/Auth.ts";
import * as KeyRegistry from "./auth/KeyRegistry.ts";
import * as UsageStore from "./auth/UsageStore.ts";
import type { GatewayConfig } from "./config/load.ts";
import * as Settings from "./config/Settings.ts";
import { type GatewayServices, makeHandler } from "./http/handler.ts";
import * as Telemetry from "./observability/Telemetry.ts";
import * as Router from "./routing/Router.ts";
import * as Upstream from "./upstream/Upstream.ts";

export interface Gateway {
  readonly fetch: (request: Request) => Promise<Response>;
  /** Releases the runtime's resources (store connections, exporters). */
  readonly dispose: () => Promise<void>;
}

export interface GatewayOptions {
  /** Replaces the upstream HTTP layer (tests inject failures here). */
  readonly upstream?: Layer.Layer<Upstream.Upstream>;
  /** Replaces the log sink (tests capture log lines here). */
  readonly telemetry?: Telemetry.TelemetryShape;
  /** ms since the epoch for rate-limit windows and budget periods (tests pin it). */
  readonly clock?: () => number;
}

export const layerFor = (config: GatewayConfig, options: GatewayOptions = {}) => {
  const telemetry = options.telemetry ?? Telemetry.make(config.logLevel);
  return Layer.mergeAll(
    Settings.layer(config),
    // Auth and the admin API share the key registry and the usage store (built once).
    Auth.layer(config, options.clock ? { clock: options.clock } : {}).pipe(
      Layer.provideMerge(KeyRegistry.layer(config)),
      Layer.provideMerge(UsageStore.layer(config.store)),
      Layer.provide(Layer.succeed(Telemetry.Telemetry, telemetry)),
    ),
    Router.layer(config).pipe(Layer.provide(options.upstream ?? Upstream.layer)),
    Layer.succeed(Telemetry.Telemetry, telemetry),
  );
};

export const makeGateway = async (config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> => {
  const runtime = ManagedRuntime.make(layerFor(config, options) as Layer.Layer<
    GatewayServices | KeyRegistry.KeyRegistry | UsageStore.UsageStore,
    never
  >);
  const telemetry = await runtime.runPromise(Effect.service(Telemetry.Telemetry));
  return {
    fetch: makeHandler({
      config,
      runtime,
      telemetry,
      extraRoutes: config.adminKey !== undefined
        ? adminRoutes({ adminKey: config.adminKey, ...(options.clock ? { clock: options.clock } : {}) })
        : [],
    }),
    dispose: () => runtime.dispose(),
  };
};
