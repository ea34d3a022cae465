/**
 * What a Responses API failure event says, as a typed reason: an `error`
 * event (flat `{code,message}` as in the SDK types, or nested `{error:{...}}`
 * as OpenAI sends it), `response.failed`, or a 200 answer whose status is
 * `failed`. Wire knowledge of the Responses protocol, shared by its adapter and
 * by encode (which reads a failure event that carries no reason yet).
 */
import {
  contentFiltered,
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
} from "../errors/reasons.ts";
import type { ResponsesEvent } from "./responses.ts";

const quotaCodes = new Set(["insufficient_quota", "billing_hard_limit_reached"]);
const keyCodes = new Set([
  "invalid_api_key",
  "invalid_organization",
  "account_deactivated",
  "authentication_error",
  "permission_denied",
  "unauthorized",
]);
const callerCodes = new Set([
  "invalid_request_error",
  "invalid_prompt",
  "invalid_value",
  "unsupported_parameter",
  "unsupported_value",
  "invalid_image",
  "invalid_base64_image",
]);

const stringField = (source: Record<string, unknown> | undefined, name: string): string | undefined => {
  const value = source?.[name];
  return typeof value === "string" && value !== "" ? value : undefined;
};

/**
 * The reason carried by an `error` event (flat `{code,message}` as in the SDK types, or nested
 * `{error:{...}}` as OpenAI sends it) or by `response.failed`. By `code`, then `type`; an
 * unknown one is a server-side failure another attempt may not meet.
 */
export const reasonFromEvent = (
  provider: string,
  keyOrigin: KeyOrigin,
  event: ResponsesEvent,
  outcome = "stream_error",
): FailureReason => {
  const source =
    (event.type === "response.failed"
      ? (event.response as { error?: Record<string, unknown> } | undefined)?.error
      : (event.error !== null && typeof event.error === "object" ? event.error : event)) as
        | Record<string, unknown>
        | undefined;
  const code = stringField(source, "code") ?? null;
  const message = stringField(source, "message") ?? "The upstream reported an error during the stream.";
  // A flat `{type:"error", code, message}` event's `type` is the event's, not the error's: its code is
  // the kind (issue 14, point 9); a nested `error` object has a type of its own.
  const type = (source === event ? undefined : stringField(source, "type")) ?? code ?? "upstream_error";
  const param = stringField(source, "param") ?? null;
  const said = { provider, outcome, message, type, code, param };
  for (const value of [code, type]) {
    if (value === null) continue;
    if (value === "rate_limit_exceeded" || value === "rate_limit_error") return rateLimited(said);
    if (quotaCodes.has(value)) {
      return keyOrigin === "client" ? invalidRequest({ ...said, status: 429 }) : quotaExhausted(said);
    }
    if (keyCodes.has(value)) return keyRejected({ provider, outcome, status: 401, keyOrigin, inStream: true });
    if (value === "context_length_exceeded") return contextTooLong(said);
    if (value === "content_policy_violation" || value === "content_filter") return contentFiltered(said);
    if (value === "model_not_found") return modelNotFound(said);
    if (callerCodes.has(value)) {
      return saysContextTooLong(message, code) ? contextTooLong(said) : invalidRequest({ ...said, status: 400 });
    }
  }
  return unavailable(said);
};
