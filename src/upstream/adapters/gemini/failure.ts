/**
 * Gemini's errors as typed reasons (providers.md §2.7, ai.google.dev/gemini-api/docs/troubleshooting).
 *
 * The body is Google's `{"error": {"code", "message", "status", "details": [...]}}`, sometimes wrapped in a
 * JSON array (the non-SSE stream shape), and the same object may arrive as a chunk of a 200 SSE stream.
 *
 * | what Gemini says                                                        | reason                              |
 * |-------------------------------------------------------------------------|-------------------------------------|
 * | `ErrorInfo.reason` `API_KEY_INVALID` & co. (Gemini answers a bad key with 400 `INVALID_ARGUMENT`), "API key not valid" | KeyRejected 401 |
 * | `UNAUTHENTICATED` / 401, `PERMISSION_DENIED` / 403                      | KeyRejected (401 / 403)             |
 * | `RESOURCE_EXHAUSTED` / 429                                              | RateLimited, `retryAfterMs` from `google.rpc.RetryInfo.retryDelay` ("21s"), else `Retry-After` |
 * | … whose `QuotaFailure` names a per-day quota                            | QuotaExhausted (waiting seconds will not help; another key may) |
 * | `FAILED_PRECONDITION` (no free tier in the region, billing off)         | QuotaExhausted (a client's key: InvalidRequest) |
 * | `UNAVAILABLE` / 503                                                     | Overloaded                          |
 * | `INTERNAL` / 500, `DEADLINE_EXCEEDED` / 504, other 5xx                   | Unavailable                         |
 * | `NOT_FOUND` / 404 naming a model                                        | ModelNotFound                       |
 * | `INVALID_ARGUMENT` / 400 "The input token count (N) exceeds the maximum number of tokens allowed (M)" | ContextTooLong |
 * | other `INVALID_ARGUMENT` / 4xx                                          | InvalidRequest with Gemini's message, `code` its status |
 * | a body that is not Google's                                             | the shared status rules (http_failure.ts) |
 */
import {
  contextTooLong,
  type FailureReason,
  invalidRequest,
  type KeyOrigin,
  keyRejected,
  modelNotFound,
  overloaded,
  quotaExhausted,
  rateLimited,
  saysContextTooLong,
  unavailable,
} from "../../../errors/reasons.ts";
import { errorFields, reasonForStatus, retryAfterMs } from "../http_failure.ts";
import type { AnswerContext, HttpFailure } from "../types.ts";
import { isJsonObject as isObject } from "../../../protocol/responses.ts";

/** Google's error object. */
export interface GoogleError {
  readonly code?: number;
  readonly message?: string;
  readonly status?: string;
  readonly details?: ReadonlyArray<unknown>;
}

/** The `error` object of a parsed body (or of its first element, when Google wrapped it in an array). */
export const googleErrorOf = (json: unknown): GoogleError | undefined => {
  const root = Array.isArray(json) ? json[0] : json;
  if (!isObject(root) || !isObject(root.error)) return undefined;
  const error = root.error;
  return {
    code: typeof error.code === "number" ? error.code : undefined,
    message: typeof error.message === "string" && error.message.trim() !== "" ? error.message : undefined,
    status: typeof error.status === "string" ? error.status : undefined,
    details: Array.isArray(error.details) ? error.details : undefined,
  };
};

/** The HTTP status Google pairs with each canonical status, for an error that came without its `code`. */
const HTTP_STATUS: ReadonlyMap<string, number> = new Map([
  ["INVALID_ARGUMENT", 400],
  ["FAILED_PRECONDITION", 400],
  ["OUT_OF_RANGE", 400],
  ["UNAUTHENTICATED", 401],
  ["PERMISSION_DENIED", 403],
  ["NOT_FOUND", 404],
  ["ABORTED", 409],
  ["ALREADY_EXISTS", 409],
  ["RESOURCE_EXHAUSTED", 429],
  ["CANCELLED", 499],
  ["INTERNAL", 500],
  ["UNKNOWN", 500],
  ["DATA_LOSS", 500],
  ["UNIMPLEMENTED", 501],
  ["UNAVAILABLE", 503],
  ["DEADLINE_EXCEEDED", 504],
]);

/** The error's HTTP status: its `code`, else the one its `status` stands for, else 500. */
export const statusOf = (error: GoogleError): number =>
  error.code !== undefined && error.code >= 100 && error.code < 600
    ? error.code
    : HTTP_STATUS.get(error.status ?? "") ?? 500;

/** `ErrorInfo.reason` values that mean the key itself is bad. */
const KEY_REASONS: ReadonlySet<string> = new Set([
  "API_KEY_INVALID",
  "API_KEY_EXPIRED",
  "API_KEY_SERVICE_BLOCKED",
  "API_KEY_HTTP_REFERRER_BLOCKED",
  "API_KEY_IP_ADDRESS_BLOCKED",
  "API_KEY_ANDROID_APP_BLOCKED",
  "API_KEY_IOS_APP_BLOCKED",
  "ACCESS_TOKEN_EXPIRED",
  "ACCESS_TOKEN_TYPE_UNSUPPORTED",
  "CREDENTIALS_MISSING",
]);

const detailsOf = (error: GoogleError, type: string): Record<string, unknown>[] =>
  (error.details ?? []).filter((detail): detail is Record<string, unknown> =>
    isObject(detail) && typeof detail["@type"] === "string" && detail["@type"].endsWith(type)
  );

/** `google.rpc.RetryInfo.retryDelay` ("21s", "0.5s") in ms. */
const retryDelayMs = (error: GoogleError): number | undefined => {
  for (const info of detailsOf(error, "google.rpc.RetryInfo")) {
    const delay = info.retryDelay;
    const match = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay.trim()) : null;
    if (match !== null) return Math.round(Number(match[1]) * 1000);
  }
  return undefined;
};

/** Whether a 429 is a per-day quota (`GenerateRequestsPerDayPerProjectPerModel-FreeTier`): no use retrying today. */
const perDayQuota = (error: GoogleError): boolean =>
  detailsOf(error, "google.rpc.QuotaFailure").some((failure) =>
    Array.isArray(failure.violations) &&
    failure.violations.some((violation) => isObject(violation) && /PerDay/i.test(String(violation.quotaId ?? "")))
  );

const keyError = (error: GoogleError): boolean =>
  detailsOf(error, "google.rpc.ErrorInfo").some((info) =>
    typeof info.reason === "string" && KEY_REASONS.has(info.reason)
  ) ||
  (error.message !== undefined && /API key (?:not valid|expired|is invalid)/i.test(error.message));

/**
 * The reason for one Google error: `status` is the HTTP status (or the error's own `code` inside a stream),
 * `wait` what the headers asked for.
 */
export const googleFailure = (
  error: GoogleError,
  status: number,
  context: Pick<AnswerContext, "provider" | "keyOrigin">,
  outcome: string,
  wait: number | undefined,
  inStream = false,
): FailureReason => {
  const { provider, keyOrigin } = context;
  const message = error.message;
  const google = error.status;
  const text = message !== undefined ? { message } : {};
  const stream = inStream ? { inStream: true } : {};

  if (keyError(error) || google === "UNAUTHENTICATED" || status === 401) {
    return keyRejected({ provider, outcome, status: 401, keyOrigin, ...stream });
  }
  if (google === "PERMISSION_DENIED" || status === 403) {
    return keyRejected({ provider, outcome, status: 403, keyOrigin, ...stream });
  }
  if (google === "RESOURCE_EXHAUSTED" || status === 429) {
    if (perDayQuota(error)) return quota(provider, outcome, keyOrigin, 429, message, google);
    const retryAfterMs = retryDelayMs(error) ?? wait;
    return rateLimited({ provider, outcome, ...text, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  if (google === "FAILED_PRECONDITION") return quota(provider, outcome, keyOrigin, 400, message, google);
  if (google === "UNAVAILABLE" || status === 503) {
    return overloaded({ provider, outcome, ...text, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (status >= 500 || google === "INTERNAL" || google === "DEADLINE_EXCEEDED" || google === "ABORTED") {
    return unavailable({ provider, outcome, status, ...text, code: google ?? null, param: null });
  }
  if ((google === "NOT_FOUND" || status === 404) && message !== undefined && /model/i.test(message)) {
    return modelNotFound({ provider, outcome, message });
  }
  if (saysContextTooLong(message)) return contextTooLong({ provider, outcome, message: message! });
  return invalidRequest({
    provider,
    outcome,
    status: status >= 400 && status < 500 ? status : 400,
    message: message ?? `provider '${provider}' answered ${google ?? `HTTP ${status}`}`,
    type: "invalid_request_error",
    code: google ?? null,
    param: null,
  });
};

/** Out of credit for the gateway's key (another key may serve); the caller's problem for a client's own key. */
const quota = (
  provider: string,
  outcome: string,
  keyOrigin: KeyOrigin,
  status: number,
  message: string | undefined,
  code: string | undefined,
): FailureReason =>
  keyOrigin === "client"
    ? invalidRequest({
      provider,
      outcome,
      status,
      message: message ?? "quota exceeded",
      type: "insufficient_quota",
      code: code ?? null,
      param: null,
    })
    : quotaExhausted({ provider, outcome, ...(message ? { message } : {}), ...(code ? { code } : {}) });

/** A non-2xx answer. */
export const geminiFailure = (answer: HttpFailure, context: AnswerContext): FailureReason => {
  const wait = retryAfterMs(answer.headers, context.now);
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    json = undefined;
  }
  const error = googleErrorOf(json);
  if (error === undefined) {
    return reasonForStatus(context.provider, answer.status, errorFields(answer.body), context.keyOrigin, wait);
  }
  return googleFailure(error, answer.status, context, String(answer.status), wait);
};
