/**
 * The answer that stands for "the prompt does not fit" on Cursor requests (issue 14, point 4).
 *
 * Cursor compacts a conversation when an answer reports a huge `prompt_tokens`, but it wraps a
 * provider's error before its agent loop can classify it as a context overflow, so a 400 ends the
 * session instead (cursor.md §2.4; codex-lb answers the same way). An empty answer cut for
 * `length`, whose usage reports 1,000,000 prompt tokens, makes Cursor compact and go on. It is
 * marked `extra_fields.context_overflow`, and charges nothing.
 *
 * @example
 * ```ts
 * encoder.push(contextOverflowEvent()); // role chunk, finish "length", usage (1,000,000 prompt tokens), [DONE]
 * ```
 */
import type { ResponsesEvent, ResponsesResponse } from "../protocol/responses.ts";

/** What the usage of the answer reports: more than any model's context, so Cursor compacts. */
export const OVERFLOW_PROMPT_TOKENS = 1_000_000;

/** The upstream-shaped answer: incomplete, nothing written, the huge prompt. */
export const contextOverflowResponse = (): ResponsesResponse => ({
  object: "response",
  status: "incomplete",
  incomplete_details: { reason: "max_output_tokens" },
  output: [],
  usage: { input_tokens: OVERFLOW_PROMPT_TOKENS, output_tokens: 0, total_tokens: OVERFLOW_PROMPT_TOKENS },
});

/** The same answer as the terminal event of a stream; `context_overflow` marks it for the encoder. */
export const contextOverflowEvent = (): ResponsesEvent => ({
  type: "response.incomplete",
  response: contextOverflowResponse(),
  context_overflow: true,
});

export const isContextOverflowEvent = (event: ResponsesEvent): boolean =>
  event.type === "response.incomplete" && event.context_overflow === true;
