/**
 * The gateway's configuration, as one effect Schema.
 *
 * The same schema validates `gateway.json` at start-up and generates
 * `gateway.schema.json` for editors, so the two can never drift apart.
 * Fields are optional on the wire; `load.ts` fills in the defaults.
 */
import * as Schema from "effect/Schema";

const PositiveInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThan(0));
const NonNegativeInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0));
const NonNegativeNumber = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));

/** A secret: a literal value, or `"env.NAME"` read from the environment at start-up. */
const Secret = Schema.String.annotate({
  description: 'A secret value, or "env.NAME" to read it from the environment at start-up',
});

export const ProviderKey = Schema.Struct({
  id: Schema.optionalKey(Schema.String),
  value: Secret,
  weight: Schema.optionalKey(NonNegativeNumber),
});

export const RetryPolicy = Schema.Struct({
  max_retries: Schema.optionalKey(NonNegativeInt),
  initial_backoff_ms: Schema.optionalKey(NonNegativeInt),
  max_backoff_ms: Schema.optionalKey(NonNegativeInt),
});

export const Timeouts = Schema.Struct({
  connect_ms: Schema.optionalKey(PositiveInt),
  first_byte_ms: Schema.optionalKey(PositiveInt),
  idle_ms: Schema.optionalKey(PositiveInt),
  total_ms: Schema.optionalKey(PositiveInt),
});

export const Api = Schema.Literals(["responses", "chat", "anthropic", "gemini"]).annotate({
  description: "The upstream API: responses (OpenAI Responses), chat (Chat Completions), anthropic (Messages), gemini",
});

export const AuthStyle = Schema.Literals(["bearer", "api-key", "x-api-key", "x-goog-api-key", "none"]).annotate({
  description: "How the key is sent: Authorization: Bearer, api-key, x-api-key, x-goog-api-key, or no key",
});

export const Provider = Schema.Struct({
  /** Known presets (openai, anthropic, gemini, deepseek, groq, ...) fill in api, base_url and auth. */
  preset: Schema.optionalKey(Schema.String),
  api: Schema.optionalKey(Api),
  auth: Schema.optionalKey(AuthStyle),
  base_url: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^https?:\/\/[^\s]+$/))),
  keys: Schema.optionalKey(Schema.Array(ProviderKey)),
  headers: Schema.optionalKey(Schema.Record(Schema.String, Secret)),
  models: Schema.optionalKey(Schema.Array(Schema.String)),
  retry: Schema.optionalKey(RetryPolicy),
  timeouts: Schema.optionalKey(Timeouts),
  key_cooldown_ms: Schema.optionalKey(NonNegativeInt),
  /** chat: the field that carries the output limit (some OpenAI-hosted models want max_completion_tokens). */
  max_tokens_field: Schema.optionalKey(Schema.Literals(["max_tokens", "max_completion_tokens"])),
  /** chat: whether the provider takes reasoning_effort. */
  reasoning_effort: Schema.optionalKey(Schema.Union([Schema.Boolean, Schema.Array(Schema.String)])),
  /** anthropic: cache breakpoints placed by the gateway (auto, the default) or none (off). */
  prompt_caching: Schema.optionalKey(Schema.Literals(["auto", "off"])),
  /** anthropic: max_tokens sent when the client gives none (the API requires one). */
  default_max_tokens: Schema.optionalKey(PositiveInt),
});

export const RateLimit = Schema.Struct({
  requests_per_minute: Schema.optionalKey(PositiveInt),
  tokens_per_minute: Schema.optionalKey(PositiveInt),
});

export const BudgetPeriod = Schema.Literals(["1d", "1w", "1M", "total"]);

export const Budget = Schema.Struct({
  max_usd: NonNegativeNumber,
  period: BudgetPeriod,
});

export const VirtualKey = Schema.Struct({
  id: Schema.String.check(Schema.isMinLength(1)),
  value: Secret,
  models: Schema.optionalKey(Schema.Array(Schema.String)),
  active: Schema.optionalKey(Schema.Boolean),
  expires_at: Schema.optionalKey(Schema.String),
  rate_limit: Schema.optionalKey(RateLimit),
  budget: Schema.optionalKey(Budget),
});

/** USD per million tokens; cached input (cache reads) and cache writes bill at the input price when absent. */
export const Price = Schema.Struct({
  input_per_mtok: NonNegativeNumber,
  cached_input_per_mtok: Schema.optionalKey(NonNegativeNumber),
  cache_write_per_mtok: Schema.optionalKey(NonNegativeNumber),
  output_per_mtok: NonNegativeNumber,
});

export const Store = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("kv"), path: Schema.optionalKey(Schema.String) }),
  Schema.Struct({
    kind: Schema.Literal("redis"),
    url: Secret,
    /** Prefix of every Redis key the gateway writes, so several gateways can share one Redis. */
    prefix: Schema.optionalKey(Schema.String),
  }),
  Schema.Struct({ kind: Schema.Literal("memory") }),
]);

export const LogLevel = Schema.Literals(["debug", "info", "warn", "error", "silent"]);

/** What a model name the clients send stands for (issue 14: Cursor's `gpt-5-high` and the like). */
export const ModelAlias = Schema.Struct({
  model: Schema.String.check(Schema.isMinLength(1)).annotate({
    description: "The model it stands for, `provider/model` or a model of the default provider",
  }),
  reasoning: Schema.optionalKey(
    Schema.Struct({
      effort: Schema.optionalKey(Schema.String),
      summary: Schema.optionalKey(Schema.String),
    }).annotate({ description: "Reasoning settings applied unless the request gives its own" }),
  ),
  service_tier: Schema.optionalKey(
    Schema.String.annotate({ description: "service_tier applied unless the request gives its own" }),
  ),
});

export const GatewayConfigFile = Schema.Struct({
  $schema: Schema.optionalKey(Schema.String),
  host: Schema.optionalKey(Schema.String),
  port: Schema.optionalKey(NonNegativeInt),
  providers: Schema.Record(Schema.String, Provider),
  default_provider: Schema.optionalKey(Schema.String),
  virtual_keys: Schema.optionalKey(Schema.Array(VirtualKey)),
  allow_provider_keys: Schema.optionalKey(Schema.Boolean),
  max_body_bytes: Schema.optionalKey(PositiveInt),
  // At most 2^31-1: a longer `setTimeout` delay fires at once.
  body_timeout_ms: Schema.optionalKey(
    PositiveInt.check(Schema.isLessThanOrEqualTo(2_147_483_647)).annotate({
      description: "A request body must arrive whole within this many ms of its headers, else 408 (default 30000)",
    }),
  ),
  keepalive_ms: Schema.optionalKey(PositiveInt),
  key_cooldown_ms: Schema.optionalKey(NonNegativeInt),
  pricing: Schema.optionalKey(Schema.Record(Schema.String, Price)),
  store: Schema.optionalKey(Store),
  admin_key: Schema.optionalKey(Secret),
  metrics_key: Schema.optionalKey(Secret),
  log_level: Schema.optionalKey(LogLevel),
  log_content: Schema.optionalKey(Schema.Boolean),
  shutdown_grace_ms: Schema.optionalKey(NonNegativeInt),
  model_aliases: Schema.optionalKey(
    Schema.Record(Schema.String, ModelAlias).annotate({
      description: "Model names clients send, resolved before the provider's own names and Cursor's suffixes",
    }),
  ),
  reasoning_display: Schema.optionalKey(
    Schema.Literals(["none", "think_tags"]).annotate({
      description:
        "Cursor requests: think_tags mirrors reasoning into content as <think>...</think> (the only reasoning Cursor shows) and strips such blocks from replayed assistant turns (default none)",
    }),
  ),
  reasoning_carry: Schema.optionalKey(
    Schema.Literals(["none", "comment"]).annotate({
      description:
        "Cursor requests: comment carries encrypted reasoning in the assistant content inside an HTML comment Markdown hides, and restores it from replayed turns, so reasoning models keep their reasoning across a tool loop (default none)",
    }),
  ),
  cursor_visible_errors: Schema.optionalKey(
    Schema.Boolean.annotate({
      description:
        "Cursor requests: a final upstream failure (5xx, 429) is answered as HTTP 400 saying what happened, which Cursor shows instead of its generic notice (default false)",
    }),
  ),
  cursor_context_overflow: Schema.optionalKey(
    Schema.Literals(["compact", "error"]).annotate({
      description:
        'Cursor requests: "context too long" before output becomes an empty answer reporting 1,000,000 prompt tokens, so Cursor compacts the conversation (compact, the default), or stays the 400 (error)',
    }),
  ),
});

export type GatewayConfigFile = typeof GatewayConfigFile.Type;
