/**
 * Chat Completions failures as typed reasons: `openAiStyleFailure`'s rules (body shapes,
 * status table, `Retry-After`), plus what these providers word differently.
 *
 * - Context overflow: the shared patterns (`saysContextTooLong`) cover OpenAI, DeepSeek, vLLM,
 *   Groq, Mistral, OpenRouter, Fireworks and Gemini's endpoint. The texts below are the others
 *   (each with where it was seen), and they win even over a 5xx, since llama.cpp has answered
 *   its context error with HTTP 500 (ggml-org/llama.cpp#15780) and LM Studio with a 200
 *   (lmstudio-ai/lmstudio-bug-tracker#2322).
 * - Groq's 413 `rate_limit_exceeded` ("Request too large ... tokens per minute") is a request
 *   this key's tier can never serve: another key or candidate may, waiting will not.
 * - Mistral's 422 puts the validation detail in an object `message`: kept as its JSON.
 */
import {
  contextTooLong,
  type FailureReason,
  type KeyOrigin,
  quotaExhausted,
  saysContextTooLong,
} from "../../../errors/reasons.ts";
import { type ErrorFields, errorFields, reasonForStatus, retryAfterMs } from "../http_failure.ts";
import type { HttpFailure } from "../types.ts";
import { isObj, type Obj } from "./wire.ts";

/** Context-overflow texts of chat providers that the shared patterns do not match. */
export const chatContextPatterns: ReadonlyArray<RegExp> = [
  // llama.cpp: "the request exceeds the available context size. try increasing ..." and
  // "request (25837 tokens) exceeds the available context size (25088 tokens), try increasing it"
  /exceeds the available context size/i,
  // llama.cpp (server_error, 500): "Context size has been exceeded."
  /context size has been exceeded/i,
  // xAI: "This model's maximum prompt length is 131072 but the request contains 136973 tokens." (cline/cline#3120)
  /maximum prompt length is/i,
  // LM Studio: "Trying to keep the first 15857 tokens when context the overflows. However, the model is
  // loaded with context length of only 7866 tokens" (lmstudio-bug-tracker#237, #546); "Reached context
  // length of 4096 tokens with model ... that does not currently support mid-generation context overflow" (#1251)
  /when context the overflows/i,
  /reached context length of \d+ tokens/i,
  // Ollama / LM Studio: "input exceeds context length", "Input length 6491 exceeds context length 1500"
  /exceeds (?:the )?context length/i,
  // Together / TGI: "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096."
  /`?inputs`? tokens \+ `?max_new_tokens`? must be <=/i,
];

/** Error types or codes that name a context overflow (llama.cpp's `exceed_context_size_error`). */
const contextTypes = new Set(["exceed_context_size_error", "context_length_exceeded", "model_context_window_exceeded"]);

export const saysChatContextTooLong = (fields: ErrorFields): boolean =>
  saysContextTooLong(fields.message, fields.code) ||
  (fields.type !== undefined && contextTypes.has(fields.type)) ||
  (fields.message !== undefined && chatContextPatterns.some((pattern) => pattern.test(fields.message!)));

/**
 * The reason for an error of `status` saying `fields`. Shared by HTTP failures, 200 answers that
 * are errors, and in-stream errors (which pass the status their `code` names, or one inferred).
 */
export const chatReason = (
  provider: string,
  status: number,
  fields: ErrorFields,
  keyOrigin: KeyOrigin,
  retryAfter?: number,
): FailureReason => {
  const keyOrQuota = status === 401 || status === 402 || status === 403 || status === 429;
  if (!keyOrQuota && saysChatContextTooLong(fields)) {
    return contextTooLong({
      provider,
      outcome: String(status),
      message: fields.message ?? "The prompt is longer than the model's context window.",
    });
  }
  if (status === 413 && fields.code === "rate_limit_exceeded" && keyOrigin === "gateway") {
    return quotaExhausted({
      provider,
      outcome: "413",
      ...(fields.message ? { message: fields.message } : {}),
      code: fields.code,
    });
  }
  return reasonForStatus(provider, status, fields, keyOrigin, retryAfter);
};

/** `errorFields`, plus Mistral's object-valued `message` kept as bounded JSON. */
export const chatErrorFields = (body: string): ErrorFields => {
  const fields = errorFields(body);
  if (fields.message !== undefined) return fields;
  try {
    const json = JSON.parse(body) as unknown;
    if (isObj(json)) {
      const message = isObj(json.error) ? json.error.message : json.message;
      if (message !== undefined && message !== null && typeof message === "object") {
        return { ...fields, message: JSON.stringify(message).slice(0, 500) };
      }
    }
  } catch {
    // Not JSON: errorFields already kept its first line.
  }
  return fields;
};

/** A non-2xx answer of a Chat Completions provider. */
export const chatFailure = (
  answer: HttpFailure,
  context: { readonly provider: string; readonly keyOrigin: KeyOrigin; readonly now: number },
): FailureReason =>
  chatReason(
    context.provider,
    answer.status,
    chatErrorFields(answer.body),
    context.keyOrigin,
    retryAfterMs(answer.headers, context.now),
  );

const fieldText = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value : undefined;

/** Status codes that error codes and types of in-band errors stand for, when no numeric code says. */
const statusForName = (name: string | undefined): number | undefined => {
  switch (name) {
    case "rate_limit_exceeded":
    case "rate_limit_error":
    case "tokens":
      return 429;
    case "insufficient_quota":
      return 402;
    case "invalid_api_key":
    case "authentication_error":
    case "unauthorized":
      return 401;
    case "permission_denied":
    case "permission_error":
      return 403;
    case "invalid_request_error":
    case "context_length_exceeded":
    case "exceed_context_size_error":
    case "BadRequestError":
      return 400;
    case "model_not_found":
    case "not_found_error":
      return 404;
    default:
      return undefined;
  }
};

/**
 * An error carried inside a 200 answer or stream (`inBandError`): its `code` is the status when
 * it is numeric (OpenRouter `{"code":400}`, llama.cpp, vLLM), else the status its code or type
 * names, else 500 (an unknown in-stream error is the provider's: retried, then fallen back from).
 * The outcome is `stream_error`; a key rejection says it came in the stream.
 */
export const inBandReason = (error: Obj, provider: string, keyOrigin: KeyOrigin, inStream: boolean): FailureReason => {
  const code = typeof error.code === "number" ? String(error.code) : fieldText(error.code);
  const fields: ErrorFields = {
    message: fieldText(error.message) ??
      (error.message !== undefined && error.message !== null ? JSON.stringify(error.message).slice(0, 500) : undefined),
    type: fieldText(error.type),
    code,
    param: fieldText(error.param),
  };
  const numeric = typeof error.code === "number"
    ? error.code
    : code !== undefined && /^\d{3}$/.test(code)
    ? Number(code)
    : undefined;
  const status = numeric !== undefined && numeric >= 400 && numeric < 600
    ? numeric
    : statusForName(code) ?? statusForName(fields.type) ?? (saysChatContextTooLong(fields) ? 400 : 500);
  const reason = chatReason(provider, status, fields, keyOrigin);
  if (!inStream) return reason;
  return reason._tag === "KeyRejected"
    ? { ...reason, outcome: "stream_error", inStream: true }
    : { ...reason, outcome: "stream_error" };
};
