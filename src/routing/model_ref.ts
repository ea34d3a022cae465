/**
 * Model names as clients write them, resolved against the configured providers.
 *
 * `provider/model` selects a provider only when the prefix names a configured
 * one; otherwise the whole string is a model of the default provider, so
 * namespaced ids such as `meta-llama/Llama-3` survive (Bifrost does the same).
 */
import type { GatewayConfig } from "../config/load.ts";
import type { ModelRef } from "../core/model.ts";

export type { ModelRef };

export const resolveModel = (
  name: string,
  config: Pick<GatewayConfig, "providers" | "defaultProvider">,
  inheritedProvider: string = config.defaultProvider,
): ModelRef => {
  const slash = name.indexOf("/");
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    if (Object.hasOwn(config.providers, prefix)) {
      const model = name.slice(slash + 1);
      return { provider: prefix, model, label: `${prefix}/${model}` };
    }
  }
  return { provider: inheritedProvider, model: name, label: `${inheritedProvider}/${name}` };
};

/** The primary, then each fallback in order; a fallback without a prefix keeps the primary's provider. */
export const candidatesFor = (
  model: string,
  fallbacks: ReadonlyArray<string>,
  config: Pick<GatewayConfig, "providers" | "defaultProvider">,
): ReadonlyArray<ModelRef> => {
  const primary = resolveModel(model, config);
  return [primary, ...fallbacks.map((name) => resolveModel(name, config, primary.provider))];
};
