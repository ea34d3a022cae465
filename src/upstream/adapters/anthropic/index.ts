/**
 * The Anthropic Messages API adapter (`POST {base_url}/messages`, providers.md §1):
 * request.ts builds the wire request, answer.ts reads JSON and streamed answers,
 * failure.ts maps HTTP and in-stream errors to typed reasons.
 */
import type { Adapter } from "../types.ts";
import { AnthropicAnswer, type AnthropicAnswerContext, messageResponse } from "./answer.ts";
import { httpFailure } from "./failure.ts";
import { anthropicRequest } from "./request.ts";

export type { AnthropicAnswerContext } from "./answer.ts";

export const adapter: Adapter = {
  api: "anthropic",
  request: anthropicRequest,
  response: (json, context) => messageResponse(json, context as AnthropicAnswerContext),
  stream: (context) => new AnthropicAnswer(context as AnthropicAnswerContext),
  failure: httpFailure,
};
