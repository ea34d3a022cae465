/**
 * The Gemini API adapter (generativelanguage.googleapis.com/v1beta): `:generateContent` and
 * `:streamGenerateContent?alt=sse` (providers.md §2). The provider's `base_url` ends in `/v1beta`; `Upstream`
 * adds the `x-goog-api-key` header.
 *
 * - request.ts: the canonical request as a `GenerateContentRequest` (schema.ts rewrites tool schemas into the
 *   subset Gemini accepts, model.ts picks the path and the thinking settings);
 * - answer.ts: SSE chunks and JSON answers as canonical events and responses;
 * - signatures.ts: how thought signatures reach the client and come back;
 * - failure.ts: Google's errors as typed reasons.
 */
import type { Adapter } from "../types.ts";
import { geminiResponse, GeminiStream } from "./answer.ts";
import { geminiFailure } from "./failure.ts";
import { geminiRequest } from "./request.ts";

export type { GeminiAnswerContext } from "./answer.ts";
export { bareCallId, signatureOfCallId } from "./signatures.ts";

export const adapter: Adapter = {
  api: "gemini",
  request: (canonical, attempt) => geminiRequest(canonical, attempt),
  response: geminiResponse,
  stream: (context) => new GeminiStream(context),
  failure: geminiFailure,
};
