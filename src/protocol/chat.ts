/**
 * Chat Completions, the shape the gateway answers in (`chat.completion` and
 * `chat.completion.chunk`), plus the gateway's `extra_fields` and `usage.cost`.
 */

export interface Cost {
  readonly input_tokens_cost: number;
  readonly output_tokens_cost: number;
  readonly reasoning_tokens_cost: number;
  readonly total_cost: number;
}

/**
 * Cache reads and writes of the prompt. `cached_tokens` is OpenAI's read count, which Cursor
 * reads; `cache_write_tokens` the writes as the openai SDK types them and the Vercel AI SDK
 * reads them (OpenRouter's spelling); `cached_read_tokens`/`cached_write_tokens` the same two
 * counts as Bifrost's usage names them, for clients written against it.
 */
export interface PromptTokensDetails {
  cached_tokens: number;
  cache_write_tokens: number;
  cached_read_tokens: number;
  cached_write_tokens: number;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: PromptTokensDetails;
  completion_tokens_details: { reasoning_tokens: number };
  cost?: Cost;
}

export interface ExtraFields {
  request_type: "responses" | "responses_stream";
  provider: string;
  model_requested: string;
  model_deployment: string;
  latency: number;
  fallback_index: number;
  attempts: number;
  chunk_index?: number;
  /** The upstream reported no usage: `usage` is the gateway's estimate (issue 14, point 5). */
  usage_estimated?: boolean;
  /** The prompt did not fit the model's context: an empty answer stands for the failure (issue 14, point 4). */
  context_overflow?: boolean;
}

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ReasoningDetail {
  type: "reasoning.summary" | "reasoning.text" | "reasoning.encrypted";
  id?: string;
  index: number;
  summary?: string;
  text?: string;
  data?: string;
  format?: string;
}

export interface UrlCitation {
  type: "url_citation";
  url_citation: { start_index: number; end_index: number; title: string; url: string };
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** One tool-call piece of a streamed delta: the first carries id, type and name; later ones only arguments. */
export interface ChatToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

export interface ChatDelta {
  role?: "assistant";
  content?: string | null;
  refusal?: string | null;
  reasoning?: string;
  /** DeepSeek's name for `reasoning`, sent beside it to Cursor (issue 14, point 8). */
  reasoning_content?: string;
  reasoning_details?: ReasoningDetail[];
  tool_calls?: ChatToolCallDelta[];
  annotations?: UrlCitation[];
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{ index: number; delta: ChatDelta; logprobs: null; finish_reason: FinishReason | null }>;
  usage?: ChatUsage;
  extra_fields: ExtraFields;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      refusal: string | null;
      tool_calls?: ChatToolCall[];
      annotations: UrlCitation[];
      reasoning?: string;
      reasoning_content?: string;
      reasoning_details?: ReasoningDetail[];
    };
    finish_reason: FinishReason;
    logprobs: null;
  }>;
  usage: ChatUsage;
  service_tier?: string;
  extra_fields: ExtraFields;
}
