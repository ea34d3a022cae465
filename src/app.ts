/**
 * Composition root: every stage's layer, built once into one `ManagedRuntime`,
 * exposed as a Web-standard fetch handler.
 */
import { Effect, Layer, ManagedRuntime } from "effect";
import * as Auth from "./auth/Auth.ts";
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
}

export const layerFor = (config: GatewayConfig, options: GatewayOptions = {}) => {
  const telemetry = options.telemetry ?? Telemetry.make(config.logLevel);
  return Layer.mergeAll(
    Settings.layer(config),
    Auth.layer(config),
    Router.layer(config).pipe(Layer.provide(options.upstream ?? Upstream.layer)),
    Layer.succeed(Telemetry.Telemetry, telemetry),
  );
};

export const makeGateway = async (config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> => {
  const runtime = ManagedRuntime.make(layerFor(config, options) as Layer.Layer<GatewayServices, never>);
  const telemetry = await runtime.runPromise(Effect.service(Telemetry.Telemetry));
  return {
    fetch: makeHandler({ config, runtime, telemetry }),
    dispose: () => runtime.dispose(),
  };
};
