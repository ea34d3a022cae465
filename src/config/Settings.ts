/** The resolved configuration as a service, so stages read it from context rather than globals. */
import { Context, Layer } from "effect";
import type { GatewayConfig } from "./load.ts";

export class Settings extends Context.Service<Settings, GatewayConfig>()("gateway/Settings") {}

export const layer = (config: GatewayConfig) => Layer.succeed(Settings, config);
