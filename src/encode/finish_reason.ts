/**
 * The Chat `finish_reason` of a finished Responses answer.
 */
import type { FinishReason } from "../protocol/chat.ts";
import type { ResponsesResponse } from "../protocol/responses.ts";

/**
 * An answer cut short (`status: "incomplete"`, or the `response.incomplete` event) is `length`
 * for `max_output_tokens` and `content_filter` for the filter, even when it holds tool calls:
 * their arguments may be cut too, and the client must not run them as if complete. Any other
 * incomplete reason is `length`. A complete answer is `tool_calls` when a tool was called, else `stop`.
 */
export const finishReason = (
  response: ResponsesResponse | undefined,
  calledTools: boolean,
  incomplete = response?.status === "incomplete",
): FinishReason => {
  if (incomplete) return response?.incomplete_details?.reason === "content_filter" ? "content_filter" : "length";
  return calledTools ? "tool_calls" : "stop";
};
