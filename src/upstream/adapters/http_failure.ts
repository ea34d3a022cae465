/**
 * The usual shapes of an upstream's error body, and the status rules every
 * OpenAI-style API shares, as a `FailureReason`. The Responses and Chat
 * adapters use it as it is; the Anthropic and Gemini adapters read their own
 * body shapes first and fall back on `reasonForStatus`.
 *
 * Bodies seen: `{error:{message,type,code,param}}` (OpenAI, DeepSeek, Groq,
 * xAI, OpenRouter, vLLM), `{error:"..."}` (Ollama, llama.cpp), `{message}`
 * (Mistral, Cerebras), `{detail}` (FastAPI servers), plain text (proxies).
 */
import {
  contextTooLong,
  type FailureReason,
  invalidRequest,
  type KeyOrigin,
  keyRejected,
  modelNotFound,
  quotaExhausted,
  rateLimited,
  saysContextTooLong,
  unavailable,
} from "../../errors/reasons.ts";
import type { HttpFailure } from "./types.ts";

/** What an error body says, whatever its shape. */
export interface ErrorFields {
  readonly message?: string;
  readonly type?: string;
  readonly code?: string;
  readonly param?: string;
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value : undefined;

/** `code` may be a number (`{"code": 400}`): kept as its string. */
const codeText = (value: unknown): string | undefined => typeof value === "number" ? String(value) : text(value);

/** Reads an error body of any of the usual shapes; a body that is not JSON keeps its first line (bounded). */
export const errorFields = (body: string): ErrorFields => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const line = body.trim().split("\n", 1)[0]?.slice(0, 300);
    return line ? { message: line } : {};
  }
  if (Array.isArray(json)) json = json[0];
  if (json === null || typeof json !== "object") return {};
  const root = json as Record<string, unknown>;
  const error = root.error;
  if (typeof error === "string") return { message: error };
  if (error !== null && typeof error === "object") {
    const e = error as Record<string, unknown>;
    return {
      message: text(e.message),
      type: text(e.type) ?? text(e.status),
      code: codeText(e.code),
      param: text(e.param),
    };
  }
  const detail = root.detail;
  if (typeof detail === "string") return { message: detail };
  if (Array.isArray(detail)) return { message: JSON.stringify(detail).slice(0, 500) };
  return { message: text(root.message), type: text(root.type), code: codeText(root.code), param: text(root.param) };
};

/** Error codes that mean the key (or its account) is the problem, not the request. */
const keyCodes = new Set([
  "invalid_api_key",
  "invalid_organization",
  "account_deactivated",
  "authentication_error",
  "permission_denied",
  "permission_error",
  "unauthorized",
]);

const quotaCodes = new Set(["insufficient_quota", "billing_hard_limit_reached", "billing_not_active"]);

/**
 * The reason for an HTTP error status and what its body says; `retryAfterMs` is the wait the
 * answer asked for (read by the caller from `retry-after-ms` / `Retry-After`).
 */
export const reasonForStatus = (
  provider: string,
  status: number,
  fields: ErrorFields,
  keyOrigin: KeyOrigin,
  retryAfterMs?: number,
): FailureReason => {
  const outcome = String(status);
  const { message, code, type, param } = fields;
  const said = {
    ...(message !== undefined ? { message } : {}),
    ...(type !== undefined ? { type } : {}),
    code: code ?? null,
    param: param ?? null,
  };
  const wait = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if ((code !== undefined && quotaCodes.has(code)) || (type !== undefined && quotaCodes.has(type)) || status === 402) {
    // A client's own key out of credit is the caller's problem: its status and the upstream's words.
    return keyOrigin === "client"
      ? invalidRequest({
        provider,
        outcome,
        ...said,
        status,
        message: message ?? "The provider key has no quota left.",
      })
      : quotaExhausted({ provider, outcome, ...said });
  }
  if (status === 401 || status === 403 || (code !== undefined && keyCodes.has(code))) {
    return keyRejected({ provider, outcome, status: status === 403 ? 403 : 401, keyOrigin });
  }
  if (status === 429) return rateLimited({ provider, outcome, ...said, ...wait });
  if (status >= 500 || status === 408 || status === 409 || status === 425) {
    return unavailable({ provider, outcome, status, ...said, ...wait });
  }
  if (saysContextTooLong(message, code)) {
    return contextTooLong({
      provider,
      outcome,
      ...said,
      message: message ?? "The prompt is longer than the model's context window.",
    });
  }
  if (status === 404 && (code === "model_not_found" || (message !== undefined && /model/i.test(message)))) {
    return modelNotFound({ provider, outcome, ...said, message: message ?? "The model does not exist." });
  }
  return invalidRequest({
    provider,
    outcome,
    ...said,
    status,
    message: message ?? `provider '${provider}' answered HTTP ${status}`,
  });
};

/** The wait an answer asked for, in ms: `retry-after-ms` (OpenAI, Azure), then `Retry-After` in seconds or as a date. */
export const retryAfterMs = (headers: Headers, now: number): number | undefined => {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && ms.trim() !== "") {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get("retry-after");
  if (after === null || after.trim() === "") return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

/** The failure of an OpenAI-style API (Responses, Chat Completions): status rules plus the usual body shapes. */
export const openAiStyleFailure = (
  answer: HttpFailure,
  context: { readonly provider: string; readonly keyOrigin: KeyOrigin; readonly now: number },
): FailureReason =>
  reasonForStatus(
    context.provider,
    answer.status,
    errorFields(answer.body),
    context.keyOrigin,
    retryAfterMs(answer.headers, context.now),
  );
