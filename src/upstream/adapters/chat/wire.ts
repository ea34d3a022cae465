/**
 * What the Chat Completions request builder and both answer readers share: the adapter's own
 * wire knobs, JSON readers, `finish_reason` and `usage` in canonical form, and the reasoning
 * payload a reasoning item carries back to the provider that made it.
 *
 * Sources: ../shared/docs/providers.md §3 (vendor differences), the recordings in
 * shared/recordings/chat-providers/ (studied, not copied).
 */
import type { FailureReason } from "../../../errors/reasons.ts";
import { isJsonObject, type ResponsesUsage } from "../../../protocol/responses.ts";
import type { AnswerContext, WireOptions } from "../types.ts";

/**
 * Knobs of this adapter that `WireOptions` does not name yet (see the report): read from
 * `target.options` when a preset or the config sets them, absent otherwise.
 */
export interface ChatWireOptions extends WireOptions {
  /**
   * Top-level body fields this provider rejects, removed after the body is built. Mistral
   * answers 422 `extra_forbidden` for `user` and for `stream_options` (providers.md §3.2;
   * mistralai/platform-docs-public#7, avante.nvim#2347); Cerebras is said to reject
   * `parallel_tool_calls` [unconf].
   */
  readonly omitFields?: ReadonlyArray<string>;
  /**
   * Send each assistant turn's `reasoning_content` back (sealed by this adapter for the same
   * provider; `""` when there is none). Off by default (brief: DeepSeek's R1-era reasoner
   * rejected it in input), but DeepSeek V3.2/V4 in thinking mode with tools answer 400 "The
   * `reasoning_content` in the thinking mode must be passed back to the API" without it
   * (providers.md §3.2 [DS-th], §4.9; anomalyco/opencode#24722), as Moonshot's Kimi thinking
   * models do: their presets should turn it on.
   */
  readonly replayReasoningContent?: boolean;
}

/**
 * What the answer readers may know of the request besides `AnswerContext` (see the report): the
 * names of its `custom` tools, so a call of one is answered as a `custom_tool_call` carrying the
 * raw input. Without it the call stays a `function_call`, and encode unwraps `{"input": ...}`
 * itself through `EncodeContext.customTools`.
 */
export interface ChatAnswerContext extends AnswerContext {
  readonly customTools?: ReadonlySet<string>;
}

export type Obj = Record<string, unknown>;

export const isObj: (value: unknown) => value is Obj = isJsonObject;

export const str = (value: unknown): string | undefined => typeof value === "string" ? value : undefined;

/** A non-empty string, else `undefined`: most providers send `""` or `null` for "nothing in this delta". */
export const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

const count = (value: unknown): number => typeof value === "number" && Number.isFinite(value) ? value : 0;

// ===== finish_reason =====

/** What a `finish_reason` means for the canonical answer. */
export type Finish =
  | { readonly kind: "completed" }
  | { readonly kind: "incomplete"; readonly reason: "max_output_tokens" | "content_filter" }
  | { readonly kind: "failed"; readonly message: string };

export const COMPLETED: Finish = { kind: "completed" };
const LENGTH: Finish = { kind: "incomplete", reason: "max_output_tokens" };
const FILTERED: Finish = { kind: "incomplete", reason: "content_filter" };

/**
 * `finish_reason` in every spelling seen: OpenAI's stop/length/tool_calls/content_filter and the
 * legacy `function_call`; `eos` (vLLM, llama.cpp older builds), `end_turn`/`stop_sequence`/
 * `tool_use`/`max_tokens` (Anthropic models behind OpenRouter and proxies), `model_length`
 * (Mistral: the context filled up), `error` (OpenRouter, Mistral [unconf]) and DeepSeek's
 * `insufficient_system_resource` (the answer was cut by the provider: providers.md §3.2).
 * Unknown values complete: the answer was delivered, and encode derives `tool_calls` from items.
 */
export const finishOf = (reason: string): Finish => {
  switch (reason) {
    case "length":
    case "max_tokens":
    case "max_output_tokens":
    case "model_length":
      return LENGTH;
    case "content_filter":
    case "safety":
    case "sensitive":
      return FILTERED;
    case "error":
      return { kind: "failed", message: "The provider ended the answer with finish_reason 'error'." };
    case "insufficient_system_resource":
      return { kind: "failed", message: "The provider cut the answer short: insufficient system resources." };
    default:
      return COMPLETED;
  }
};

// ===== usage =====

/** `ResponsesUsage` plus the cache-write count the encoder will be taught to emit (brief). */
export interface CanonicalUsage extends ResponsesUsage {
  readonly input_tokens_details: { readonly cached_tokens: number; readonly cache_write_tokens?: number };
}

/**
 * A chunk's or answer's usage in canonical form, or `undefined` when it has none. Read from
 * `usage`, else Groq's `x_groq.usage` (providers.md §3.2 [GQ-fx]), else llama.cpp's `timings`
 * (which it sends instead of usage unless asked: `prompt_n` new + `cache_n` reused prompt
 * tokens, `predicted_n` generated).
 *
 * - cached prompt tokens: `prompt_tokens_details.cached_tokens`, DeepSeek's
 *   `prompt_cache_hit_tokens`, Moonshot's top-level `cached_tokens`; the largest wins, since a
 *   provider that reports both sends 0 in the one it does not fill;
 * - cache writes: OpenRouter's `prompt_tokens_details.cache_write_tokens`;
 * - reasoning: `completion_tokens_details.reasoning_tokens`. xAI counts reasoning tokens
 *   outside `completion_tokens` (recorded: 291 prompt + 26 completion + 196 reasoning = 513
 *   total), so when the total says so they are added to the output count.
 */
export const usageOf = (root: Obj): CanonicalUsage | undefined => {
  let raw = root.usage;
  if (!isObj(raw)) {
    const groq = root.x_groq;
    raw = isObj(groq) ? groq.usage : undefined;
  }
  if (!isObj(raw)) return isObj(root.timings) ? timingsUsage(root.timings) : undefined;
  const prompt = count(raw.prompt_tokens);
  const completion = count(raw.completion_tokens);
  const promptDetails = isObj(raw.prompt_tokens_details) ? raw.prompt_tokens_details : undefined;
  const completionDetails = isObj(raw.completion_tokens_details) ? raw.completion_tokens_details : undefined;
  const cached = Math.max(
    count(promptDetails?.cached_tokens),
    count(raw.prompt_cache_hit_tokens),
    count(raw.cached_tokens),
  );
  const cacheWrite = count(promptDetails?.cache_write_tokens);
  const reasoning = count(completionDetails?.reasoning_tokens);
  const total = typeof raw.total_tokens === "number" ? raw.total_tokens : prompt + completion;
  const output = reasoning > 0 && total !== prompt + completion && total === prompt + completion + reasoning
    ? completion + reasoning
    : completion;
  return {
    input_tokens: prompt,
    input_tokens_details: cacheWrite > 0 ? { cached_tokens: cached, cache_write_tokens: cacheWrite } : {
      cached_tokens: cached,
    },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: total,
  };
};

const timingsUsage = (timings: Obj): CanonicalUsage | undefined => {
  if (typeof timings.prompt_n !== "number" && typeof timings.predicted_n !== "number") return undefined;
  const cached = count(timings.cache_n);
  const input = count(timings.prompt_n) + cached;
  const output = count(timings.predicted_n);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
};

// ===== Choices =====

/**
 * The choice the gateway answers with: index 0 (n>1 answers carry others, which are ignored).
 * A choice without an `index` counts as 0 when it is the only one (some servers leave it out).
 */
export const firstChoice = (choices: unknown): Obj | undefined => {
  if (!Array.isArray(choices)) return undefined;
  for (let i = 0; i < choices.length; i++) {
    const choice = choices[i];
    if (isObj(choice) && (choice.index === 0 || (choice.index === undefined && choices.length === 1))) return choice;
  }
  return undefined;
};

// ===== In-band errors =====

/**
 * The error a 200 answer or a stream chunk carries, if any: `{"error":{...}}` (OpenRouter, Groq,
 * llama.cpp: providers.md §3.1, §3.2), `{"error":"..."}` (Ollama), or vLLM's top-level
 * `{"object":"error","message",...}` (block/goose#8031).
 */
export const inBandError = (root: Obj): Obj | undefined => {
  const error = root.error;
  if (isObj(error)) return error;
  if (typeof error === "string" && error !== "") return { message: error };
  if (root.object === "error") return root;
  return undefined;
};

/** Whether a value is a failure reason rather than an answer (both are plain objects). */
export const isReason = (value: unknown): value is FailureReason =>
  isObj(value) && typeof value._tag === "string" && typeof value.provider === "string";

// ===== Reasoning carried back =====

/**
 * What a chat reasoning item seals in its `encrypted_content` (`sealReasoning("chat", ...)`):
 * - `reasoning_details`: OpenRouter's, when they hold something only the provider can use (an
 *   Anthropic `signature`, `reasoning.encrypted` data), which OpenRouter wants back unmodified on
 *   the next tool turn (providers.md §3.2 [OR-r]);
 * - `reasoning_content`: the text of a provider that sent it in that field (DeepSeek, Kimi,
 *   Qwen, llama.cpp, xAI, Z.ai), for `replayReasoningContent`.
 * `provider` names the configured provider that made it: the data goes back to that provider
 * only (Mistral answers 422 for a reasoning field it did not emit, §3.1).
 */
export interface ChatReasoningPayload {
  readonly provider: string;
  readonly reasoning_details?: ReadonlyArray<Obj>;
  readonly reasoning_content?: string;
}

export const isChatReasoningPayload = (payload: unknown): payload is ChatReasoningPayload =>
  isObj(payload) && typeof payload.provider === "string" &&
  (payload.reasoning_details === undefined || Array.isArray(payload.reasoning_details)) &&
  (payload.reasoning_content === undefined || typeof payload.reasoning_content === "string");
