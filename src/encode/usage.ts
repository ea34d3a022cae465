/**
 * Responses `usage` into Chat Completions `usage`, for the JSON answer and the
 * final usage chunk of a stream.
 */
import type { ChatUsage, Cost } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";

const count = (value: unknown): number => typeof value === "number" && Number.isFinite(value) ? value : 0;

/**
 * Always a full usage object: an upstream that reports none (or `null`, or all zeros, as some
 * 2025 gpt-4o answers do) gives zeros, never an absent field, because Cursor reads
 * `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`.
 * Cache writes (`input_tokens_details.cache_write_tokens`, from Anthropic's cache creation or
 * OpenRouter) are reported under both names clients read (chat.ts `PromptTokensDetails`), zero
 * when there were none, as OpenAI itself reports a zero `cached_tokens`.
 * `cost` is added when the served model has a price.
 */
export const chatUsage = (
  usage: ResponsesUsage | null | undefined,
  price?: (usage: ResponsesUsage) => Cost | undefined,
): ChatUsage => {
  const prompt = count(usage?.input_tokens);
  const completion = count(usage?.output_tokens);
  const details = usage?.input_tokens_details as
    | { readonly cached_tokens?: unknown; readonly cache_write_tokens?: unknown }
    | null
    | undefined;
  const cached = count(details?.cached_tokens);
  const written = count(details?.cache_write_tokens);
  const result: ChatUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof usage?.total_tokens === "number" ? usage.total_tokens : prompt + completion,
    prompt_tokens_details: {
      cached_tokens: cached,
      cache_write_tokens: written,
      cached_read_tokens: cached,
      cached_write_tokens: written,
    },
    completion_tokens_details: { reasoning_tokens: count(usage?.output_tokens_details?.reasoning_tokens) },
  };
  if (usage && price) {
    const cost = price(usage);
    if (cost) result.cost = cost;
  }
  return result;
};
