/**
 * What a configuration starts, in a few words: the providers and the API each
 * speaks, how many virtual keys, who may call (the auth mode), where usage is
 * stored and, on the embedded default, which key variables were found. The
 * start-up line and `--check` print it, so an operator sees at once a gateway
 * with no keys, or a key variable that was not exported.
 */
import * as Redacted from "effect/Redacted";
import { defaults, embeddedKeysFound, type GatewayConfig } from "./load.ts";

export type AuthMode = "virtual keys only" | "virtual keys and provider keys" | "provider keys only";

export interface Summary {
  /** Provider name → the API it speaks. */
  readonly providers: Readonly<Record<string, string>>;
  readonly virtual_keys: number;
  readonly auth: AuthMode;
  readonly store: string;
  /** Only on the embedded default: the key variables found (names, never values). */
  readonly env_keys?: ReadonlyArray<string>;
  /** Problems that do not stop start-up but make the gateway useless as configured. */
  readonly warnings: ReadonlyArray<string>;
}

/**
 * With `allow_provider_keys`, a client's own provider key is accepted; virtual keys still are
 * when the config has some or the admin API can make them.
 */
export const authMode = (config: GatewayConfig): AuthMode =>
  !config.allowProviderKeys
    ? "virtual keys only"
    : config.virtualKeys.length > 0 || config.adminKey !== undefined
    ? "virtual keys and provider keys"
    : "provider keys only";

/** The store by kind and place; a Redis URL by host only (it may carry a password). */
export const storeText = (config: GatewayConfig): string => {
  const store = config.store;
  if (store === undefined) return `kv ${defaults.kvPath} (default)`;
  if (store.kind === "kv") return `kv ${store.path}`;
  if (store.kind === "memory") return "memory (lost on restart)";
  const host = URL.parse(Redacted.value(store.url))?.host;
  return `redis ${host || "(unparsable URL)"}`;
};

export const summarize = (
  config: GatewayConfig,
  origin: string,
  env: (name: string) => string | undefined,
): Summary => {
  const auth = authMode(config);
  const warnings: string[] = [];
  if (auth === "virtual keys only" && config.virtualKeys.length === 0 && config.adminKey === undefined) {
    warnings.push(
      "no virtual keys, no admin_key and allow_provider_keys is off: every request will be refused (401)",
    );
  }
  const unkeyed = Object.values(config.providers).filter((p) => p.keys.length === 0 && p.auth !== "none");
  if (warnings.length === 0 && !config.allowProviderKeys && unkeyed.length > 0) {
    const names = unkeyed.map((p) => p.name).join(", ");
    warnings.push(`no keys for ${names} and allow_provider_keys is off: it is called without a key`);
  }
  return {
    providers: Object.fromEntries(Object.values(config.providers).map((p) => [p.name, p.api])),
    virtual_keys: config.virtualKeys.length,
    auth,
    store: storeText(config),
    ...(origin === "embedded default" ? { env_keys: embeddedKeysFound(env) } : {}),
    warnings,
  };
};

/** `providers openai (responses), anthropic (anthropic); 2 virtual keys; auth: ...; store: ...`. */
export const summaryText = (summary: Summary): string => {
  const providers = Object.entries(summary.providers).map(([name, api]) => `${name} (${api})`).join(", ");
  const keys = `${summary.virtual_keys} virtual key${summary.virtual_keys === 1 ? "" : "s"}`;
  const found = summary.env_keys === undefined
    ? ""
    : summary.env_keys.length > 0
    ? `; keys from the environment: ${summary.env_keys.join(", ")}`
    : "; no provider key in the environment (clients send their own)";
  return `providers ${providers}; ${keys}; auth: ${summary.auth}; store: ${summary.store}${found}`;
};
