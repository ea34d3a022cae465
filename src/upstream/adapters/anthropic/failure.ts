/**
 * Anthropic's failures as typed reasons (providers.md §1.9). The error body is
 * `{"type":"error","error":{"type","message"},"request_id"}`, over HTTP and as an
 * `event: error` inside a 200 stream; `error.type` names the failure as the status does:
 *
 * | status | `error.type` | reason |
 * |---|---|---|
 * | 529 | `overloaded_error` | Overloaded (retried) |
 * | 429 | `rate_limit_error` | RateLimited, `retry-after` honoured |
 * | 429 | spend cap (`details.error_code: enforced_spend_limit_reached`, no `retry-after`) | QuotaExhausted (never retried on this key) |
 * | 402 | `billing_error` | QuotaExhausted |
 * | 401 / 403 | `authentication_error` / `permission_error` | KeyRejected |
 * | 400 | `invalid_request_error` | InvalidRequest with its message; `prompt is too long` → ContextTooLong |
 * | 404 | `not_found_error` naming a model | ModelNotFound |
 * | 413 | `request_too_large` | InvalidRequest 413 |
 * | 500 / 504 | `api_error` / `timeout_error` | Unavailable |
 */
import {
  type FailureReason,
  invalidRequest,
  type KeyOrigin,
  keyRejected,
  overloaded,
  quotaExhausted,
} from "../../../errors/reasons.ts";
import { type ErrorFields, errorFields, reasonForStatus, retryAfterMs } from "../http_failure.ts";
import type { AnswerContext, HttpFailure } from "../types.ts";

/** The status an `error.type` stands for, when it arrives without one (in a stream, in a 200 body). */
const STATUS_FOR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

const SPEND_LIMIT = "enforced_spend_limit_reached";

/** `details.error_code` of the spend-cap 429 (the shared reader keeps only message, type, code and param). */
const detailCode = (body: string): string | undefined => {
  if (!body.includes(SPEND_LIMIT)) return undefined;
  try {
    const root = JSON.parse(body) as {
      error?: { details?: { error_code?: unknown } };
      details?: { error_code?: unknown };
    };
    const code = root.error?.details?.error_code ?? root.details?.error_code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
};

interface Context {
  readonly provider: string;
  readonly keyOrigin: KeyOrigin;
}

/** The reason for a status and the body's fields; `inStream` marks a failure reported inside a 200 stream. */
const reasonFor = (
  status: number,
  fields: ErrorFields,
  context: Context,
  wait: number | undefined,
  outcome: string,
  spendCap: boolean,
  inStream: boolean,
): FailureReason => {
  const { provider, keyOrigin } = context;
  const message = fields.message;
  if (status === 529 || fields.type === "overloaded_error") {
    return overloaded({
      provider,
      outcome,
      ...(message ? { message } : {}),
      type: "overloaded_error",
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
  if (spendCap) {
    // A tier spend cap: waiting does not help this key (providers.md §1.9).
    const said = { ...(fields.type ? { type: fields.type } : {}), code: SPEND_LIMIT, param: null };
    return keyOrigin === "client"
      ? invalidRequest({ provider, outcome, ...said, status: 429, message: message ?? "The spend limit is reached." })
      : quotaExhausted({ provider, outcome, ...(message ? { message } : {}), ...said });
  }
  if (inStream && (status === 401 || status === 403)) {
    return keyRejected({ provider, outcome, status, keyOrigin, inStream: true });
  }
  const reason = reasonForStatus(provider, status, fields, keyOrigin, wait);
  return reason.outcome === outcome ? reason : { ...reason, outcome };
};

/** A non-2xx answer. */
export const httpFailure = (answer: HttpFailure, context: AnswerContext): FailureReason => {
  const fields = errorFields(answer.body);
  const spendCap = answer.status === 429 && answer.headers.get("retry-after") === null &&
    detailCode(answer.body) === SPEND_LIMIT;
  return reasonFor(
    answer.status,
    fields,
    context,
    retryAfterMs(answer.headers, context.now),
    String(answer.status),
    spendCap,
    false,
  );
};

/**
 * The `error` object of an `event: error` (or of a 200 JSON body of `type: "error"`):
 * `{type, message}`. Its status comes from its type; an unknown type is a server error.
 */
export const errorObjectFailure = (error: unknown, context: Context, inStream: boolean): FailureReason => {
  const object = error !== null && typeof error === "object" ? error as Record<string, unknown> : {};
  const type = typeof object.type === "string" ? object.type : undefined;
  const message = typeof object.message === "string" && object.message !== "" ? object.message : undefined;
  const status = (type !== undefined ? STATUS_FOR_TYPE[type] : undefined) ?? 500;
  const details = object.details as { error_code?: unknown } | undefined;
  return reasonFor(
    status,
    { ...(message ? { message } : {}), ...(type ? { type } : {}) },
    context,
    undefined,
    inStream ? "stream_error" : String(status),
    details?.error_code === SPEND_LIMIT,
    inStream,
  );
};
