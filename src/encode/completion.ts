/**
 * Stage 5, encode (non-streamed): a Responses `response` into a `chat.completion`.
 * PLACEHOLDER: being replaced by the full encoder.
 */
import type { ChatCompletion } from "../protocol/chat.ts";
import type { ResponsesResponse } from "../protocol/responses.ts";
import { type EncodeContext, extraFields } from "./context.ts";

export const encodeCompletion = (response: ResponsesResponse, context: EncodeContext): ChatCompletion => {
  let text = "";
  for (const item of response.output ?? []) {
    if (item.type === "message") {
      for (const part of (item.content as Array<{ type: string; text?: string }>)) text += part.text ?? "";
    }
  }
  const usage = response.usage ?? {};
  return {
    id: context.id,
    object: "chat.completion",
    created: context.created,
    model: context.model,
    choices: [{
      index: 0,
      message: { role: "assistant", content: text, refusal: null, annotations: [] },
      finish_reason: "stop",
      logprobs: null,
    }],
    usage: {
      prompt_tokens: usage.input_tokens ?? 0,
      completion_tokens: usage.output_tokens ?? 0,
      total_tokens: usage.total_tokens ?? 0,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
    extra_fields: extraFields(context, "responses", response.model),
  };
};
