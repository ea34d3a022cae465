/**
 * The Chat Completions adapter: OpenAI-compatible upstreams (DeepSeek, Groq, Mistral,
 * OpenRouter, Together, Fireworks, xAI, Cerebras, vLLM, Ollama, llama.cpp, LM Studio) reached
 * at `POST {base_url}/chat/completions`.
 *
 * - request.ts: the canonical Responses request as a Chat body;
 * - stream.ts: a streamed answer as Responses events (and the reader behind answer.ts);
 * - answer.ts: a JSON answer as a Responses response;
 * - failure.ts: HTTP and in-band errors as typed reasons;
 * - wire.ts: what they share (finish reasons, usage, the adapter's own knobs).
 */
import type { Adapter } from "../types.ts";
import { chatResponse } from "./answer.ts";
import { chatFailure } from "./failure.ts";
import { chatRequest } from "./request.ts";
import { ChatStreamTranslator } from "./stream.ts";

export const adapter: Adapter = {
  api: "chat",
  request: chatRequest,
  response: chatResponse,
  stream: (context) => new ChatStreamTranslator(context),
  failure: chatFailure,
};
