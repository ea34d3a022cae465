/** The resolved configuration as a service, so stages read it from context rather than globals. */
import * as Context from "effect/Context";
import * as Layer from "effect/Layer";
import type { GatewayConfig } from "./load.ts";

export class Settings extends Context.Service<Settings, GatewayConfig>()("gateway/Settings") {}

export const layer = (config: GatewayConfig) => Layer.succeed(Settings, config);
