/**
 * Why an upstream attempt failed, as data: one tagged union every adapter maps
 * its provider's failures into, and the only thing routing reads to decide
 * what happens next. Modelled on effect's `AiError` reasons and
 * `HttpClientError`: the reason says what happened; `response.ts` alone says
 * which status and envelope the client gets when it ends the request.
 *
 * | reason           | retried | another key | fallback | client status (when final) |
 * |------------------|---------|-------------|----------|----------------------------|
 * | RateLimited      | yes     | yes         | yes      | 429 (+ Retry-After)         |
 * | QuotaExhausted   | no      | yes         | yes      | 502                         |
 * | Overloaded       | yes     | no          | yes      | 502 (529/503 upstream)      |
 * | Unavailable      | yes     | no          | yes      | 502                         |
 * | Timeout          | yes     | no          | yes      | 504                         |
 * | Unreachable      | yes     | no          | yes      | 502                         |
 * | MalformedAnswer  | yes     | no          | yes      | 502                         |
 * | KeyRejected      | no      | yes         | yes      | 502 (gateway key) / 401-403 (client key, final) |
 * | InvalidRequest   | no      | no          | no       | the upstream's 4xx, its message |
 * | ContextTooLong   | no      | no          | no       | 400 `context_length_exceeded` |
 * | ContentFiltered  | no      | no          | no       | 400 `content_filter`         |
 * | ModelNotFound    | no      | no          | yes      | 404 `model_not_found`        |
 * | Cancelled        | no      | no          | no       | 499 (nobody reads it)        |
 *
 * Messages are the provider's own only where the caller's request is at fault
 * (`InvalidRequest`, `ContextTooLong`, `ContentFiltered`): those never carry a
 * key. Every other reason is worded by the gateway from ids and names.
 */

/** Which key made the call: one of the provider's configured keys, or the client's own (`allow_provider_keys`). */
export type KeyOrigin = "gateway" | "client";

interface Base {
  /** The provider's configured name (`openai`, `deepseek`, ...). */
  readonly provider: string;
  /** For the trace: an HTTP status, `network`, `timeout`, `stream_error` or `cancelled`. */
  readonly outcome: string;
}

/** What the upstream said of the failure, where it is safe to show the caller (never for key errors). */
interface Said {
  readonly message?: string;
  /** The upstream's error `type` (`rate_limit_error`, `server_error`, ...). */
  readonly type?: string;
  readonly code?: string | null;
  readonly param?: string | null;
}

/** 429 or an in-stream rate-limit error: wait (`retryAfterMs` when the upstream said) or use another key. */
export interface RateLimited extends Base, Said {
  readonly _tag: "RateLimited";
  readonly retryAfterMs?: number;
}

/** The account behind the key has no credit left (OpenAI's 429 `insufficient_quota`, 402s). */
export interface QuotaExhausted extends Base, Said {
  readonly _tag: "QuotaExhausted";
}

/** The provider says it is overloaded (Anthropic 529 `overloaded_error`, Gemini 503 `UNAVAILABLE`). */
export interface Overloaded extends Base, Said {
  readonly _tag: "Overloaded";
  readonly retryAfterMs?: number;
}

/** A 5xx (or 408/409/425) answer, or an in-stream server error. */
export interface Unavailable extends Base, Said {
  readonly _tag: "Unavailable";
  readonly status?: number;
  readonly retryAfterMs?: number;
}

/** A watchdog bound fired (`connect`, `first_byte`, `idle`, `total`). */
export interface Timeout extends Base {
  readonly _tag: "Timeout";
  readonly bound: string;
  readonly ms: number;
}

/** No HTTP answer at all: refused, reset, DNS, TLS. `detail` is an error code, never a URL. */
export interface Unreachable extends Base {
  readonly _tag: "Unreachable";
  readonly detail: string;
}

/** A 200 whose body or stream could not be read as the API's format, or that closed before its end. */
export interface MalformedAnswer extends Base {
  readonly _tag: "MalformedAnswer";
  /** Completes "Provider 'x' ..." (`sent a malformed stream event`). */
  readonly detail: string;
}

/** 401/403 or a key error code. The upstream's message may echo the key, so it is never kept. */
export interface KeyRejected extends Base {
  readonly _tag: "KeyRejected";
  readonly status: number;
  readonly keyOrigin: KeyOrigin;
  /** Whether the rejection came inside a 200 stream. */
  readonly inStream?: boolean;
}

/** The caller's fault: the upstream's 4xx with its own message, type, param and code. */
export interface InvalidRequest extends Base, Said {
  readonly _tag: "InvalidRequest";
  readonly status: number;
  readonly message: string;
}

/** The prompt does not fit the model's context window: final, never retried nor fallen back from. */
export interface ContextTooLong extends Base, Said {
  readonly _tag: "ContextTooLong";
  readonly message: string;
}

/** The provider refused the prompt for its content (a blocked prompt, a safety filter). */
export interface ContentFiltered extends Base, Said {
  readonly _tag: "ContentFiltered";
  readonly message: string;
}

/** The provider does not know the model: another candidate may. */
export interface ModelNotFound extends Base, Said {
  readonly _tag: "ModelNotFound";
  readonly model?: string;
  readonly message: string;
}

/** The client went away. */
export interface Cancelled extends Base {
  readonly _tag: "Cancelled";
}

export type FailureReason =
  | RateLimited
  | QuotaExhausted
  | Overloaded
  | Unavailable
  | Timeout
  | Unreachable
  | MalformedAnswer
  | KeyRejected
  | InvalidRequest
  | ContextTooLong
  | ContentFiltered
  | ModelNotFound
  | Cancelled;

export type FailureTag = FailureReason["_tag"];

type Fields<T extends FailureReason> = Omit<T, "_tag">;

// ===== Constructors =====

export const rateLimited = (fields: Fields<RateLimited>): RateLimited => ({ _tag: "RateLimited", ...fields });
export const quotaExhausted = (fields: Fields<QuotaExhausted>): QuotaExhausted => ({
  _tag: "QuotaExhausted",
  ...fields,
});
export const overloaded = (fields: Fields<Overloaded>): Overloaded => ({ _tag: "Overloaded", ...fields });
export const unavailable = (fields: Fields<Unavailable>): Unavailable => ({ _tag: "Unavailable", ...fields });
export const timeout = (fields: Fields<Timeout>): Timeout => ({ _tag: "Timeout", ...fields });
export const unreachable = (fields: Fields<Unreachable>): Unreachable => ({ _tag: "Unreachable", ...fields });
export const malformedAnswer = (fields: Fields<MalformedAnswer>): MalformedAnswer => ({
  _tag: "MalformedAnswer",
  ...fields,
});
export const keyRejected = (fields: Fields<KeyRejected>): KeyRejected => ({ _tag: "KeyRejected", ...fields });
export const invalidRequest = (fields: Fields<InvalidRequest>): InvalidRequest => ({
  _tag: "InvalidRequest",
  ...fields,
});
export const contextTooLong = (fields: Fields<ContextTooLong>): ContextTooLong => ({
  _tag: "ContextTooLong",
  ...fields,
});
export const contentFiltered = (fields: Fields<ContentFiltered>): ContentFiltered => ({
  _tag: "ContentFiltered",
  ...fields,
});
export const modelNotFound = (fields: Fields<ModelNotFound>): ModelNotFound => ({ _tag: "ModelNotFound", ...fields });
export const cancelled = (provider = ""): Cancelled => ({ _tag: "Cancelled", provider, outcome: "cancelled" });

// ===== What routing may do =====

/** Whether the same candidate may be tried again (after a backoff). */
export const isRetryable = (reason: FailureReason): boolean => {
  switch (reason._tag) {
    case "RateLimited":
    case "Overloaded":
    case "Unavailable":
    case "Timeout":
    case "Unreachable":
    case "MalformedAnswer":
      return true;
    default:
      return false;
  }
};

/** Whether another of the provider's keys may serve the same candidate at once. */
export const wantsAnotherKey = (reason: FailureReason): boolean =>
  (reason._tag === "KeyRejected" && reason.keyOrigin === "gateway") || reason._tag === "QuotaExhausted" ||
  reason._tag === "RateLimited";

/** Whether the next fallback candidate may be tried once this one is exhausted. */
export const allowsFallback = (reason: FailureReason): boolean => {
  switch (reason._tag) {
    case "InvalidRequest":
    case "ContextTooLong":
    case "ContentFiltered":
    case "Cancelled":
      return false;
    case "KeyRejected":
      // A client's own key failing is the caller's problem, and no other provider may take their key.
      return reason.keyOrigin === "gateway";
    default:
      return true;
  }
};

/** Phrases providers use for a prompt over the context window (OpenAI, Anthropic, Gemini, vLLM, Ollama, Mistral...). */
const contextPatterns = [
  /context[_ ]length[_ ]exceeded/i,
  /maximum context length/i,
  /prompt is too long/i,
  /context window/i,
  /input (?:is )?too long/i,
  /exceeds the (?:maximum )?(?:number of )?(?:input )?tokens/i,
  /input token count .* exceeds/i,
  /too many (?:input )?tokens/i,
  /reduce the length of the messages/i,
];

/** Whether an upstream's error message or code says the prompt is over the context window. */
export const saysContextTooLong = (message: string | undefined, code?: string | null): boolean =>
  code === "context_length_exceeded" || code === "model_context_window_exceeded" ||
  (message !== undefined && contextPatterns.some((pattern) => pattern.test(message)));
