/** `GET /v1/models`: the configured models as `provider/model` ids (Cursor verifies keys with it). */
import type { GatewayConfig } from "../config/load.ts";

export const modelList = (config: GatewayConfig) => ({
  object: "list" as const,
  data: Object.values(config.providers).flatMap((provider) =>
    provider.models.map((model) => ({
      id: `${provider.name}/${model}`,
      object: "model" as const,
      created: 0,
      owned_by: provider.name,
    }))
  ),
});
