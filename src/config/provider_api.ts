/**
 * What a provider's configuration says about its wire format: which API it
 * speaks and the knobs its adapter reads. Defined with the configuration
 * (which fills them in from presets and the config file); the adapters in
 * `upstream/adapters/` read them.
 */

/** The upstream API families the gateway speaks. */
export type Api = "responses" | "chat" | "anthropic" | "gemini";

/** Knobs of one provider that change its wire format (filled from the preset, overridable in config). */
export interface WireOptions {
  /** chat: the field that carries `max_output_tokens` (`max_tokens` by default; OpenAI-hosted models want `max_completion_tokens`). */
  readonly maxTokensField?: "max_tokens" | "max_completion_tokens";
  /**
   * chat: whether the provider takes `reasoning_effort`: for every model (`true`), or only for
   * models whose name contains one of these (vendors accept it per model: Groq only for gpt-oss,
   * xAI only for grok-3-mini and a few others; the rest answer 400 "does not support parameter").
   */
  readonly reasoningEffort?: boolean | ReadonlyArray<string>;
  /** chat: top-level body fields the provider rejects (Mistral answers 422 for `user` and `stream_options`). */
  readonly omitFields?: ReadonlyArray<string>;
  /** chat: send each assistant turn's `reasoning_content` back (DeepSeek V3.2+ thinking with tools requires it). */
  readonly replayReasoningContent?: boolean;
  /** anthropic: cache breakpoints placed by the gateway (`auto`, the default) or none (`off`). */
  readonly promptCaching?: "auto" | "off";
  /** anthropic: `max_tokens` when the client sent none (the API requires it), by model name prefix. */
  readonly defaultMaxTokens?: number;
}

/** What an adapter knows of the provider it speaks to: never a key. */
export interface AdapterTarget {
  /** The provider's configured name (`openai`, `deepseek`, `claude`, ...). */
  readonly provider: string;
  readonly api: Api;
  readonly options: WireOptions;
}
