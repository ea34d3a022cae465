/**
 * Stage 5, encode (non-streamed): a Responses `response` into one `chat.completion`.
 *
 * Output items map as follows: `message` text parts are concatenated into `content` (their
 * url citations into `annotations`, indexes shifted into the joined text), the texts of
 * successive message items separated by a blank line (`MESSAGE_SEPARATOR`), `refusal` parts
 * into `refusal`; `function_call` and `custom_tool_call` items become `tool_calls` in output
 * order, with the Responses `call_id` as `id`; `reasoning` items become `reasoning` (text) and
 * `reasoning_details`. Every other item type is skipped.
 */
import type { ChatCompletion, ChatToolCall, ReasoningDetail, UrlCitation } from "../protocol/chat.ts";
import type { ResponsesResponse } from "../protocol/responses.ts";
import { type EncodeContext, extraFields } from "./context.ts";
import { unwrapCustomInput } from "../protocol/custom_tools.ts";
import { finishReason } from "./finish_reason.ts";
import {
  addUrlCitations,
  contentParts,
  encryptedDetail,
  MESSAGE_SEPARATOR,
  REASONING_SEPARATOR,
  reasoningDetail,
  reasoningTexts,
  stringOf,
} from "./items.ts";
import { chatUsage, estimatedUsage, usageIsMissing } from "./usage.ts";
import { carryComment, THINK_CLOSE, THINK_OPEN } from "../protocol/cursor_content.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";

type Message = ChatCompletion["choices"][number]["message"];

/** Characters of an answer's text, refusals, reasoning and tool-call arguments, for the usage estimate. */
const answerCharacters = (response: ResponsesResponse): number => {
  let length = 0;
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (item === null || typeof item !== "object") continue;
    if (item.type === "message") {
      for (const part of contentParts(item)) {
        const text = part.text ?? part.refusal;
        if (typeof text === "string") length += text.length;
      }
    } else if (item.type === "reasoning") {
      for (const { text } of reasoningTexts(item)) length += text.length;
    } else {
      const args = item.arguments ?? item.input;
      if (typeof args === "string") length += args.length;
    }
  }
  return length;
};

/**
 * The usage an answer is settled and reported with: the upstream's, or when it reports none (or
 * zeros) an estimate from what was sent and received (issue 14, point 5), which budgets charge.
 */
export const answerUsage = (
  response: ResponsesResponse,
  context: EncodeContext,
): { readonly usage: ResponsesUsage | undefined; readonly estimated: boolean } => {
  const usage = response.usage ?? undefined;
  if (!usageIsMissing(usage)) return { usage, estimated: false };
  return { usage: estimatedUsage(context.promptChars?.() ?? 0, answerCharacters(response)), estimated: true };
};

export const encodeCompletion = (response: ResponsesResponse, context: EncodeContext): ChatCompletion => {
  const cursor = context.cursor !== undefined;
  /** Encrypted reasoning carried through Cursor in the content (`cursor_content.ts`). */
  let carried = "";
  let text = "";
  let sawText = false;
  let refusal: string | null = null;
  const annotations: UrlCitation[] = [];
  const toolCalls: ChatToolCall[] = [];
  let reasoning = "";
  const details: ReasoningDetail[] = [];

  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (item === null || typeof item !== "object") continue;
    switch (item.type) {
      case "message": {
        const before = text.length;
        for (const part of contentParts(item)) {
          const refused = part.type === "refusal" && typeof part.refusal === "string";
          if (refused) refusal = (refusal ?? "") + part.refusal;
          // Cursor renders no `refusal`: there, the refusal is content too (issue 14, point 7).
          const written = part.type === "output_text" ? part.text : refused && cursor ? part.refusal : undefined;
          if (typeof written === "string") {
            if (before > 0 && text.length === before && written !== "") text += MESSAGE_SEPARATOR;
            if (!refused) addUrlCitations(part, text.length, annotations);
            text += written;
            sawText = true;
          }
        }
        break;
      }
      case "function_call": {
        const name = stringOf(item.name) ?? "";
        const args = stringOf(item.arguments) ?? "";
        toolCalls.push({
          id: stringOf(item.call_id) ?? stringOf(item.id) ?? "",
          type: "function",
          function: { name, arguments: context.customTools?.has(name) ? unwrapCustomInput(args) : args },
        });
        break;
      }
      case "custom_tool_call":
        // Cursor crashes on `type:"custom"` tool calls; a function call with the raw input works.
        toolCalls.push({
          id: stringOf(item.call_id) ?? stringOf(item.id) ?? "",
          type: "function",
          function: { name: stringOf(item.name) ?? "", arguments: stringOf(item.input) ?? "" },
        });
        break;
      case "reasoning": {
        const id = stringOf(item.id);
        for (const { kind, text: part } of reasoningTexts(item)) {
          reasoning += reasoning === "" ? part : REASONING_SEPARATOR + part;
          details.push(reasoningDetail(kind, part, details.length, id));
        }
        if (typeof item.encrypted_content === "string" && item.encrypted_content !== "") {
          details.push(encryptedDetail(item.encrypted_content, details.length, id));
          if (context.cursor?.carryReasoning) carried += carryComment(item.encrypted_content);
        }
        break;
      }
    }
  }

  // For Cursor, what the stream writes into the content before the answer: the reasoning as a
  // `<think>` block (`think_tags`), then the carried reasoning; citations move past them.
  const thinking = context.cursor?.thinkTags && reasoning !== "" ? `${THINK_OPEN}${reasoning}${THINK_CLOSE}` : "";
  const prefix = thinking + carried;
  if (prefix !== "") {
    for (const { url_citation } of annotations) {
      url_citation.start_index += prefix.length;
      url_citation.end_index += prefix.length;
    }
    text = prefix + text;
    sawText = true;
  }

  const message: Message = {
    role: "assistant",
    // OpenAI answers `content: null` next to tool calls or a refusal; "" only for an empty text answer.
    content: sawText || (toolCalls.length === 0 && refusal === null) ? text : null,
    refusal,
    annotations,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning !== "") {
    message.reasoning = reasoning;
    // DeepSeek's name too, for Cursor (issue 14, point 8).
    if (cursor) message.reasoning_content = reasoning;
  }
  if (details.length > 0) message.reasoning_details = details;

  const { usage, estimated } = answerUsage(response, context);
  const completion: ChatCompletion = {
    id: context.id,
    object: "chat.completion",
    created: context.created,
    model: context.model,
    choices: [{ index: 0, message, finish_reason: finishReason(response, toolCalls.length > 0), logprobs: null }],
    usage: chatUsage(usage, context.price),
    extra_fields: extraFields(context, "responses", stringOf(response.model), undefined, { usageEstimated: estimated }),
  };
  if (typeof response.service_tier === "string") completion.service_tier = response.service_tier;
  return completion;
};
