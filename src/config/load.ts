/**
 * Where the configuration comes from, and how it becomes a `GatewayConfig`.
 *
 * Sources, first match wins: `--config PATH`, env `GATEWAY_CONFIG` (a path),
 * env `GATEWAY_CONFIG_JSON` (the JSON itself), else the embedded default.
 * The file is decoded strictly: an unknown key anywhere is a problem, named
 * with the key it most likely meant. `"env.NAME"` secrets are resolved here,
 * once, at start-up; every problem is collected and reported by path so an
 * operator fixes them in one go.
 */
import * as Redacted from "effect/Redacted";
import * as Schema from "effect/Schema";
import type { AdapterTarget, Api, WireOptions } from "./provider_api.ts";
import { type AuthStyle, defaultAuth, implementedApis, presets } from "./presets.ts";
import { describeIssue } from "./problems.ts";
import { GatewayConfigFile } from "./schema.ts";

export interface ProviderKeyConfig {
  /** Stable, non-secret name for logs and metrics (`openai#0` when not given). */
  readonly id: string;
  /** Unwrapped once, where `Upstream` builds the provider's request headers. */
  readonly value: Redacted.Redacted<string>;
  readonly weight: number;
}

export interface RetryConfig {
  readonly maxRetries: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface TimeoutConfig {
  readonly connectMs: number;
  readonly firstByteMs: number;
  readonly idleMs: number;
  readonly totalMs: number;
}

export interface ProviderConfig {
  readonly name: string;
  /** The upstream API this provider speaks (its adapter). */
  readonly api: Api;
  /** How its key is sent. */
  readonly auth: AuthStyle;
  /** What its adapter needs to know of it (built once: the hot path reads it per attempt). */
  readonly target: AdapterTarget;
  /** Without a trailing slash. */
  readonly baseUrl: string;
  readonly keys: ReadonlyArray<ProviderKeyConfig>;
  /** Extra headers for every call (their values may be secrets, so they are redacted too). */
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>;
  readonly models: ReadonlyArray<string>;
  readonly retry: RetryConfig;
  readonly timeouts: TimeoutConfig;
  readonly keyCooldownMs: number;
}

export interface VirtualKeyConfig {
  readonly id: string;
  /** Only its digest is kept once the key registry is built. */
  readonly value: Redacted.Redacted<string>;
  readonly models: ReadonlyArray<string>;
  readonly active: boolean;
  readonly expiresAt?: string;
  readonly rateLimit?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number };
  readonly budget?: { readonly maxUsd: number; readonly period: "1d" | "1w" | "1M" | "total" };
}

export interface PriceConfig {
  readonly inputPerMtok: number;
  readonly cachedInputPerMtok?: number;
  readonly cacheWritePerMtok?: number;
  readonly outputPerMtok: number;
}

export type StoreConfig =
  | { readonly kind: "kv"; readonly path: string }
  | { readonly kind: "redis"; readonly url: Redacted.Redacted<string>; readonly prefix?: string }
  | { readonly kind: "memory" };

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** A configured model alias: the model it names and the request settings it implies. */
export interface ModelAliasConfig {
  readonly model: string;
  readonly reasoning?: { readonly effort?: string; readonly summary?: string };
  readonly serviceTier?: string;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly defaultProvider: string;
  readonly virtualKeys: ReadonlyArray<VirtualKeyConfig>;
  readonly allowProviderKeys: boolean;
  readonly maxBodyBytes: number;
  /** A request body must arrive whole within this long, else 408: a trickling body holds a connection. */
  readonly bodyTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly pricing: Readonly<Record<string, PriceConfig>>;
  /** Absent when the file names none: the embedded default (a local Deno KV file) applies. */
  readonly store?: StoreConfig;
  readonly adminKey?: Redacted.Redacted<string>;
  readonly metricsKey?: Redacted.Redacted<string>;
  readonly logLevel: LogLevel;
  readonly logContent: boolean;
  readonly shutdownGraceMs: number;
  /** `model_aliases`: names a client sends, by the exact name (a `Map`: names come from clients). */
  readonly modelAliases: ReadonlyMap<string, ModelAliasConfig>;
  /** Cursor requests: reasoning mirrored into content as `<think>` blocks, or not. */
  readonly reasoningDisplay: "none" | "think_tags";
  /** Cursor requests: encrypted reasoning carried through the content in an HTML comment, or not. */
  readonly reasoningCarry: "none" | "comment";
  /** Cursor requests: a final upstream failure (5xx, 429) answered as a 400 Cursor shows. */
  readonly cursorVisibleErrors: boolean;
  /** Cursor requests: "context too long" before output as the empty answer Cursor compacts on, or the error. */
  readonly cursorContextOverflow: "compact" | "error";
}

export const defaults = {
  host: "127.0.0.1",
  port: 8080,
  maxBodyBytes: 16 * 1024 * 1024,
  bodyTimeoutMs: 30_000,
  keepaliveMs: 15_000,
  keyCooldownMs: 60_000,
  shutdownGraceMs: 30_000,
  kvPath: "./data/gateway.kv",
  retry: { maxRetries: 2, initialBackoffMs: 250, maxBackoffMs: 4_000 },
  timeouts: { connectMs: 10_000, firstByteMs: 60_000, idleMs: 120_000, totalMs: 900_000 },
} as const;

/** Start-up failed: the message lists every problem, and never a secret's value. */
export class ConfigError extends Error {
  constructor(readonly problems: ReadonlyArray<string>) {
    super(`invalid gateway configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** What the process was started with; injectable so tests need not touch the real environment. */
export interface ConfigSources {
  /** `--config PATH`: wins over `GATEWAY_CONFIG` and `GATEWAY_CONFIG_JSON`. */
  readonly configPath?: string;
  readonly env: (name: string) => string | undefined;
  readonly readTextFile: (path: string) => string;
}

/** Command-line flags that win over the file and over env `HOST`/`PORT`. */
export interface ConfigOverrides {
  readonly host?: string;
  readonly port?: number;
}

export const denoSources = (configPath?: string): ConfigSources => ({
  ...(configPath !== undefined ? { configPath } : {}),
  env: (name) => Deno.env.get(name),
  readTextFile: (path) => Deno.readTextFileSync(path),
});

/**
 * The configuration used when none is given: OpenAI (keyed from the environment when it can
 * be, else served with the client's own key), plus every preset whose API this build speaks
 * and whose usual key variable is set.
 */
export const embeddedDefault = (env: (name: string) => string | undefined): unknown => {
  const providers: Record<string, unknown> = {
    openai: { keys: env("OPENAI_API_KEY") ? [{ value: "env.OPENAI_API_KEY" }] : [] },
  };
  for (const [name, preset] of presets) {
    if (name === "openai" || preset.keyEnv === undefined || preset.baseUrl === undefined) continue;
    if (!implementedApis.has(preset.api) || !env(preset.keyEnv)) continue;
    providers[name] = { keys: [{ value: `env.${preset.keyEnv}` }] };
  }
  return { providers, default_provider: "openai", allow_provider_keys: true };
};

/** The environment keys the embedded default found (names only), for the start-up line. */
export const embeddedKeysFound = (env: (name: string) => string | undefined): ReadonlyArray<string> =>
  [...presets.values()].flatMap((preset) =>
    preset.keyEnv !== undefined && implementedApis.has(preset.api) && env(preset.keyEnv) ? [preset.keyEnv] : []
  );

/** Reads the raw configuration from the first source that has one. */
export const readRawConfig = (sources: ConfigSources): { readonly origin: string; readonly raw: unknown } => {
  const path = sources.configPath ?? (sources.env("GATEWAY_CONFIG") || undefined);
  if (path !== undefined) {
    let text: string;
    try {
      text = sources.readTextFile(path);
    } catch (cause) {
      throw new ConfigError([`cannot read config file ${path}: ${(cause as Error).message}`]);
    }
    return { origin: path, raw: parseJson(text, path) };
  }
  const inline = sources.env("GATEWAY_CONFIG_JSON");
  if (inline !== undefined) return { origin: "GATEWAY_CONFIG_JSON", raw: parseJson(inline, "GATEWAY_CONFIG_JSON") };
  return { origin: "embedded default", raw: embeddedDefault(sources.env) };
};

const parseJson = (text: string, origin: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError([`${origin} is not valid JSON: ${(cause as Error).message}`]);
  }
};

/**
 * Validates and resolves a raw configuration. Throws `ConfigError` listing
 * every problem by path (an unknown key with the key it most likely meant);
 * `env.NAME` secrets that are missing are named, their values never printed.
 * `overrides` (the command line) win over env `HOST`/`PORT`, which win over the file.
 */
export const resolveConfig = (
  raw: unknown,
  env: (name: string) => string | undefined,
  overrides: ConfigOverrides = {},
): GatewayConfig => {
  const decoded = Schema.decodeUnknownExit(GatewayConfigFile)(raw, { errors: "all", onExcessProperty: "error" });
  if (decoded._tag === "Failure") {
    const error = decoded.cause.reasons.find((r) => r._tag === "Fail");
    if (error && error._tag === "Fail") throw new ConfigError(describeIssue((error.error as Schema.SchemaError).issue));
    throw new ConfigError(["configuration could not be decoded"]);
  }
  const file = decoded.value;
  const problems: string[] = [];

  /** A secret's value, read from the environment for `env.NAME`: redacted from here to the one place that uses it. */
  const secret = (value: string, path: string): Redacted.Redacted<string> => {
    if (!value.startsWith("env.")) return Redacted.make(value);
    const name = value.slice(4);
    const found = env(name);
    if (found === undefined || found === "") {
      problems.push(`${path}: environment variable ${name} is not set`);
      return Redacted.make("");
    }
    return Redacted.make(found);
  };

  const providers: Record<string, ProviderConfig> = {};
  for (const [name, p] of Object.entries(file.providers)) {
    if (name.includes("/")) problems.push(`providers.${name}: a provider name cannot contain "/"`);
    const keys = (p.keys ?? []).map((k, i) => ({
      id: k.id ?? `${name}#${i}`,
      value: secret(k.value, `providers.${name}.keys[${i}].value`),
      weight: k.weight ?? 1,
    }));
    const headers: Record<string, Redacted.Redacted<string>> = {};
    for (const [header, value] of Object.entries(p.headers ?? {})) {
      headers[header] = secret(value, `providers.${name}.headers.${header}`);
    }
    const presetName = p.preset ?? name;
    const preset = presets.get(presetName);
    if (p.preset !== undefined && preset === undefined) {
      problems.push(`providers.${name}.preset: unknown preset "${p.preset}"; known: ${[...presets.keys()].join(", ")}`);
    }
    const api: Api = p.api ?? preset?.api ?? "responses";
    if (!implementedApis.has(api)) {
      problems.push(`providers.${name}.api: the "${api}" API is not available in this version of the gateway`);
    }
    const baseUrl = p.base_url ?? preset?.baseUrl;
    if (baseUrl === undefined) {
      problems.push(
        preset
          ? `providers.${name}.base_url: required for the "${presetName}" preset (each deployment has its own)`
          : `providers.${name}.base_url: required (no preset is named "${name}")`,
      );
    }
    const auth = p.auth ?? preset?.auth ?? defaultAuth(api);
    const wire: WireOptions = {
      ...preset?.wire,
      ...(p.max_tokens_field !== undefined ? { maxTokensField: p.max_tokens_field } : {}),
      ...(p.reasoning_effort !== undefined ? { reasoningEffort: p.reasoning_effort } : {}),
      ...(p.prompt_caching !== undefined ? { promptCaching: p.prompt_caching } : {}),
      ...(p.default_max_tokens !== undefined ? { defaultMaxTokens: p.default_max_tokens } : {}),
    };
    providers[name] = {
      name,
      api,
      auth,
      target: { provider: name, api, options: wire },
      baseUrl: (baseUrl ?? "").replace(/\/+$/, ""),
      keys,
      headers,
      models: p.models ?? [],
      retry: {
        maxRetries: p.retry?.max_retries ?? defaults.retry.maxRetries,
        initialBackoffMs: p.retry?.initial_backoff_ms ?? defaults.retry.initialBackoffMs,
        maxBackoffMs: p.retry?.max_backoff_ms ?? defaults.retry.maxBackoffMs,
      },
      timeouts: {
        connectMs: p.timeouts?.connect_ms ?? defaults.timeouts.connectMs,
        firstByteMs: p.timeouts?.first_byte_ms ?? defaults.timeouts.firstByteMs,
        idleMs: p.timeouts?.idle_ms ?? defaults.timeouts.idleMs,
        totalMs: p.timeouts?.total_ms ?? defaults.timeouts.totalMs,
      },
      keyCooldownMs: p.key_cooldown_ms ?? file.key_cooldown_ms ?? defaults.keyCooldownMs,
    };
  }
  const providerNames = Object.keys(providers);
  if (providerNames.length === 0) problems.push("providers: at least one provider is required");
  const defaultProvider = file.default_provider ?? providerNames[0] ?? "";
  if (file.default_provider !== undefined && !(file.default_provider in providers)) {
    problems.push(`default_provider: "${file.default_provider}" is not a configured provider`);
  }

  const seenIds = new Set<string>();
  const virtualKeys = (file.virtual_keys ?? []).map((vk, i): VirtualKeyConfig => {
    const path = `virtual_keys[${i}]`;
    if (seenIds.has(vk.id)) problems.push(`${path}.id: duplicate id "${vk.id}"`);
    seenIds.add(vk.id);
    const value = secret(vk.value, `${path}.value`);
    const plain = Redacted.value(value);
    if (plain !== "" && !plain.startsWith("sk-bf-")) {
      problems.push(`${path}.value: a virtual key must start with "sk-bf-"`);
    }
    if (vk.expires_at !== undefined && Number.isNaN(Date.parse(vk.expires_at))) {
      problems.push(`${path}.expires_at: not a date-time`);
    }
    return {
      id: vk.id,
      value,
      models: vk.models ?? ["*"],
      active: vk.active ?? true,
      ...(vk.expires_at !== undefined ? { expiresAt: vk.expires_at } : {}),
      ...(vk.rate_limit
        ? {
          rateLimit: {
            ...(vk.rate_limit.requests_per_minute !== undefined
              ? { requestsPerMinute: vk.rate_limit.requests_per_minute }
              : {}),
            ...(vk.rate_limit.tokens_per_minute !== undefined
              ? { tokensPerMinute: vk.rate_limit.tokens_per_minute }
              : {}),
          },
        }
        : {}),
      ...(vk.budget ? { budget: { maxUsd: vk.budget.max_usd, period: vk.budget.period } } : {}),
    };
  });

  const pricing: Record<string, PriceConfig> = {};
  for (const [model, price] of Object.entries(file.pricing ?? {})) {
    pricing[model] = {
      inputPerMtok: price.input_per_mtok,
      ...(price.cached_input_per_mtok !== undefined ? { cachedInputPerMtok: price.cached_input_per_mtok } : {}),
      ...(price.cache_write_per_mtok !== undefined ? { cacheWritePerMtok: price.cache_write_per_mtok } : {}),
      outputPerMtok: price.output_per_mtok,
    };
  }

  let store: StoreConfig | undefined;
  if (file.store?.kind === "kv") store = { kind: "kv", path: file.store.path ?? defaults.kvPath };
  else if (file.store?.kind === "redis") {
    const { prefix } = file.store;
    store = { kind: "redis", url: secret(file.store.url, "store.url"), ...(prefix !== undefined ? { prefix } : {}) };
  } else if (file.store?.kind === "memory") store = { kind: "memory" };

  const adminKey = file.admin_key !== undefined ? secret(file.admin_key, "admin_key") : undefined;
  const metricsKey = file.metrics_key !== undefined ? secret(file.metrics_key, "metrics_key") : undefined;

  const portFromEnv = env("PORT");
  let port = file.port ?? defaults.port;
  if (portFromEnv !== undefined && portFromEnv !== "") {
    const parsed = Number(portFromEnv);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
      problems.push(`PORT: "${portFromEnv}" is not a port number`);
    } else port = parsed;
  }
  if (port > 65535) problems.push(`port: ${port} is not a port number`);
  if (overrides.port !== undefined) port = overrides.port;

  const modelAliases = new Map<string, ModelAliasConfig>();
  for (const [name, alias] of Object.entries(file.model_aliases ?? {})) {
    modelAliases.set(name, {
      model: alias.model,
      ...(alias.reasoning !== undefined ? { reasoning: alias.reasoning } : {}),
      ...(alias.service_tier !== undefined ? { serviceTier: alias.service_tier } : {}),
    });
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: overrides.host || env("HOST") || (file.host ?? defaults.host),
    port,
    providers,
    defaultProvider,
    virtualKeys,
    allowProviderKeys: file.allow_provider_keys ?? false,
    maxBodyBytes: file.max_body_bytes ?? defaults.maxBodyBytes,
    bodyTimeoutMs: file.body_timeout_ms ?? defaults.bodyTimeoutMs,
    keepaliveMs: file.keepalive_ms ?? defaults.keepaliveMs,
    pricing,
    ...(store ? { store } : {}),
    ...(adminKey !== undefined ? { adminKey } : {}),
    ...(metricsKey !== undefined ? { metricsKey } : {}),
    logLevel: file.log_level ?? "info",
    logContent: file.log_content ?? false,
    shutdownGraceMs: file.shutdown_grace_ms ?? defaults.shutdownGraceMs,
    modelAliases,
    reasoningDisplay: file.reasoning_display ?? "none",
    reasoningCarry: file.reasoning_carry ?? "none",
    cursorVisibleErrors: file.cursor_visible_errors ?? false,
    cursorContextOverflow: file.cursor_context_overflow ?? "compact",
  };
};

/** Reads and resolves the configuration the process was started with. */
export const loadConfig = (
  sources: ConfigSources = denoSources(),
  overrides: ConfigOverrides = {},
): { readonly origin: string; readonly config: GatewayConfig } => {
  const { origin, raw } = readRawConfig(sources);
  return { origin, config: resolveConfig(raw, sources.env, overrides) };
};
