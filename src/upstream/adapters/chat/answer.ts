/**
 * A whole (non-streamed) Chat Completions answer in canonical form, or the failure it reports.
 *
 * The answer's `message` is fed to the stream translator as a single delta, so both paths read
 * the same fields (reasoning variants, Magistral content parts, tool calls, custom tools,
 * finish reasons, usage). A body may arrive as text: OpenRouter pads a JSON answer with
 * leading whitespace while it waits (recorded), which `JSON.parse` skips.
 */
import { type FailureReason, malformedAnswer } from "../../../errors/reasons.ts";
import type { ResponsesEvent, ResponsesResponse } from "../../../protocol/responses.ts";
import { isFailureEvent } from "../types.ts";
import { inBandReason } from "./failure.ts";
import { ChatStreamTranslator } from "./stream.ts";
import { type ChatAnswerContext, firstChoice, inBandError, isObj, type Obj } from "./wire.ts";

const malformed = (context: ChatAnswerContext, detail: string): FailureReason =>
  malformedAnswer({ provider: context.provider, outcome: "200", detail });

/** Tool calls of a whole message numbered by position: without an index or id, calls would be read as one. */
const indexedCalls = (calls: unknown): unknown =>
  Array.isArray(calls) ? calls.map((call, index) => isObj(call) ? { ...call, index } : call) : calls;

export const chatResponse = (json: unknown, context: ChatAnswerContext): ResponsesResponse | FailureReason => {
  let root = json;
  if (typeof root === "string") {
    try {
      root = JSON.parse(root);
    } catch {
      return malformed(context, "sent an answer that is not JSON");
    }
  }
  if (!isObj(root)) return malformed(context, "sent an answer that is not a JSON object");
  const error = inBandError(root);
  if (error !== undefined) return inBandReason(error, context.provider, context.keyOrigin, false);
  const choice = firstChoice(root.choices);
  if (choice === undefined) return malformed(context, "sent an answer without a choice");
  const message: Obj = isObj(choice.message) ? choice.message : {};
  const chunk: Obj = {
    id: root.id,
    created: root.created,
    model: root.model,
    choices: [{
      index: 0,
      delta: Array.isArray(message.tool_calls) ? { ...message, tool_calls: indexedCalls(message.tool_calls) } : message,
      finish_reason: choice.finish_reason,
    }],
    usage: root.usage,
    x_groq: root.x_groq,
    timings: root.timings,
  };
  const translator = new ChatStreamTranslator(context);
  const events: ResponsesEvent[] = [];
  translator.chunk(chunk, events);
  translator.complete(events);
  const last = events.at(-1);
  if (last === undefined) return malformed(context, "sent an answer that could not be read");
  if (isFailureEvent(last)) return last.reason;
  return last.response as ResponsesResponse;
};
