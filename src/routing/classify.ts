/**
 * What an upstream failure means: for the client (status, envelope) and for
 * routing (retry, rotate the key, fall back, or stop).
 *
 * | failure                                         | kind         | routing does                              |
 * |-------------------------------------------------|--------------|-------------------------------------------|
 * | network error, timeout, 5xx, 408/409/425, a dropped or malformed stream | `transient` | retry with backoff, then fall back |
 * | 429, `rate_limit_exceeded`                      | `rate_limit` | rotate the key, else back off; fall back  |
 * | 401/402/403, `insufficient_quota`, key errors   | `key`        | cool the key down, rotate, fall back      |
 * | other 4xx, `invalid_request_error`              | `final`      | stop: the caller's fault                  |
 * | the client went away                            | `cancelled`  | stop at once                              |
 */
import { GatewayError } from "../errors/GatewayError.ts";
import type { ResponsesEvent } from "../protocol/responses.ts";
import { MalformedEventError } from "../upstream/sse_events.ts";
import type { UpstreamTransportError } from "../upstream/Upstream.ts";
import { retryAfterMs } from "./backoff.ts";

export const isTransientStatus = (status: number) => status === 429 || status >= 500;

/** What routing does with a failed attempt; see the table above. */
export type FailureKind = "transient" | "rate_limit" | "key" | "final" | "cancelled";

/** A failed upstream attempt, classified. */
export interface AttemptFailure {
  readonly kind: FailureKind;
  /** What the client gets if this failure ends the request. */
  readonly error: GatewayError;
  /** For the trace: an HTTP status, `network`, `timeout`, `stream_error` or `cancelled`. */
  readonly outcome: string;
  /** The wait the upstream asked for (`Retry-After`), in ms. */
  readonly retryAfterMs?: number;
}

/** Which key made the call: one of the provider's configured keys, or the client's own (`allow_provider_keys`). */
export type KeyOrigin = "gateway" | "client";

const keyErrorCodes = new Set([
  "insufficient_quota",
  "invalid_api_key",
  "invalid_organization",
  "account_deactivated",
  "billing_hard_limit_reached",
  "authentication_error",
  "permission_denied",
  "unauthorized",
]);

const finalErrorCodes = new Set([
  "invalid_request_error",
  "invalid_prompt",
  "context_length_exceeded",
  "invalid_value",
  "unsupported_parameter",
  "unsupported_value",
  "model_not_found",
  "content_policy_violation",
]);

/** The kind of an HTTP error status; `code` is the upstream's `error.code` (OpenAI answers 429 for an exhausted quota). */
export const kindForStatus = (status: number, code: string | null): FailureKind => {
  if (status >= 500 || status === 408 || status === 409 || status === 425) return "transient";
  if (status === 429) return code !== null && keyErrorCodes.has(code) ? "key" : "rate_limit";
  if (status === 401 || status === 402 || status === 403) return "key";
  return "final";
};

/** The kind of an in-stream error, by its `code` (then its `type`); unknown codes are treated as transient. */
export const kindForStreamCode = (code: string | null, type: string | null): FailureKind => {
  for (const value of [code, type]) {
    if (value === null) continue;
    if (value === "rate_limit_exceeded" || value === "rate_limit_error") return "rate_limit";
    if (keyErrorCodes.has(value)) return "key";
    if (finalErrorCodes.has(value)) return "final";
    if (value === "server_error" || value === "server_is_overloaded" || value === "timeout") return "transient";
  }
  return "transient";
};

/** Maps an upstream HTTP error to the client-facing error; 5xx becomes 502, the upstream refusing our key 502 too. */
export const upstreamHttpError = async (
  provider: string,
  response: Response,
  keyOrigin: KeyOrigin = "gateway",
): Promise<GatewayError> => {
  let message = `provider '${provider}' answered HTTP ${response.status}`;
  let type = response.status >= 500 ? "upstream_error" : "invalid_request_error";
  let code: string | null = null;
  let param: string | null = null;
  try {
    const body = await response.json() as {
      error?: { message?: string; type?: string; code?: string; param?: string };
    };
    if (body?.error?.message) message = body.error.message;
    if (body?.error?.type) type = body.error.type;
    code = body?.error?.code ?? null;
    param = body?.error?.param ?? null;
  } catch {
    // Not JSON: keep the generic message.
  }
  if (response.status >= 500) {
    return new GatewayError({
      status: 502,
      type: "upstream_error",
      message: `Upstream error: ${message}`,
      code,
      param,
    });
  }
  if ((response.status === 401 || response.status === 403) && keyOrigin === "client") {
    // The caller's own provider key: its fault, so its status; the upstream's message may echo the key, so ours.
    return new GatewayError({
      status: response.status,
      type: response.status === 401 ? "authentication_error" : "permission_error",
      message: `Provider '${provider}' rejected the provider key sent with the request (HTTP ${response.status}).`,
      code: "invalid_api_key",
      param: null,
    });
  }
  if (response.status === 401 || response.status === 403) {
    return new GatewayError({
      status: 502,
      type: "upstream_error",
      message: `Provider '${provider}' rejected the gateway's credentials (HTTP ${response.status}).`,
      code: "upstream_auth_failed",
      param: null,
    });
  }
  return new GatewayError({ status: response.status, type, message, code, param });
};

export const transportError = (error: UpstreamTransportError) =>
  new GatewayError({
    status: 502,
    type: "upstream_error",
    message: error.message,
    code: "upstream_unreachable",
    param: null,
  });

/** HTTP status that an in-stream error code stands for. */
const statusForCode = (code: string | null): number => {
  switch (code) {
    case "rate_limit_exceeded":
      return 429;
    case "insufficient_quota":
    case "invalid_api_key":
      return 502;
    case "invalid_request_error":
    case "invalid_prompt":
    case "context_length_exceeded":
      return 400;
    default:
      return 502;
  }
};

/**
 * The error carried by an `error` event (flat `{code,message}` as in the SDK
 * types, or nested `{error:{...}}` as OpenAI sends it) or by `response.failed`.
 */
export const errorFromStreamEvent = (event: ResponsesEvent): GatewayError => {
  const source =
    (event.type === "response.failed"
      ? (event.response as { error?: Record<string, unknown> } | undefined)?.error
      : (event.error && typeof event.error === "object" ? event.error : event)) as Record<string, unknown> | undefined;
  const code = typeof source?.code === "string" ? source.code : null;
  const message = typeof source?.message === "string" && source.message !== ""
    ? source.message
    : "The upstream reported an error during the stream.";
  const type = typeof source?.type === "string" ? source.type : code ?? "upstream_error";
  const param = typeof source?.param === "string" ? source.param : null;
  return new GatewayError({ status: statusForCode(code), type, message, code, param });
};

/** An in-stream `error` or `response.failed` event as an attempt failure. */
export const failureFromStreamEvent = (provider: string, event: ResponsesEvent): AttemptFailure => {
  const error = errorFromStreamEvent(event);
  const kind = kindForStreamCode(error.code, typeof error.type === "string" ? error.type : null);
  if (kind === "key" && error.code !== "insufficient_quota") {
    // Key errors can echo (part of) the key in their message: say it in our words.
    return {
      kind,
      outcome: "stream_error",
      error: new GatewayError({
        status: 502,
        type: "upstream_error",
        message: `Provider '${provider}' rejected the gateway's credentials during the stream.`,
        code: "upstream_auth_failed",
        param: null,
      }),
    };
  }
  return { kind, outcome: "stream_error", error };
};

/** An attempt that ran out of time: a transient failure, 504 when it ends the request. */
export const timeoutError = (provider: string, bound: string, ms: number): GatewayError =>
  new GatewayError({
    status: 504,
    type: "timeout_error",
    message: `Provider '${provider}' did not answer in time (${bound} ${ms} ms).`,
    code: "upstream_timeout",
    param: null,
  });

/** An upstream stream that broke: dropped, truncated or malformed. */
export const streamBrokenError = (provider: string, detail: string): GatewayError =>
  new GatewayError({
    status: 502,
    type: "upstream_error",
    message: `Provider '${provider}' ${detail}.`,
    code: "upstream_stream_error",
    param: null,
  });

/** The client went away; nobody reads this, but telemetry records it (499, as nginx logs it). */
export const cancelledError = (): GatewayError =>
  new GatewayError({
    status: 499,
    type: "request_cancelled",
    message: "The client closed the request.",
    code: "client_closed_request",
    param: null,
  });

/** The error that ends a request after every attempt failed: the primary's, naming how many attempts were made. */
export const exhaustedError = (error: GatewayError, attempts: number): GatewayError =>
  new GatewayError({
    status: error.status,
    type: error.type,
    message: `${error.message} (gave up after ${attempts} upstream attempt${attempts === 1 ? "" : "s"})`,
    code: error.code,
    param: error.param,
    ...(error.headers ? { headers: error.headers } : {}),
  });

/** An upstream HTTP error answer as an attempt failure (reads its body). */
export const failureFromHttp = async (
  provider: string,
  response: Response,
  keyOrigin: KeyOrigin,
  now: number,
): Promise<AttemptFailure> => {
  const retryAfter = retryAfterMs(response.headers, now);
  let error = await upstreamHttpError(provider, response, keyOrigin);
  let kind = kindForStatus(response.status, error.code);
  if (kind === "key" && keyOrigin === "client") kind = "final";
  if (kind === "key" && response.status === 429) {
    // OpenAI answers 429 `insufficient_quota` for an exhausted account: the gateway's key, not the caller.
    error = new GatewayError({
      status: 502,
      type: "upstream_error",
      message: `Provider '${provider}' refused the gateway's key: ${error.message}`,
      code: error.code,
      param: null,
    });
  } else if (kind === "rate_limit" && retryAfter !== undefined) {
    error = new GatewayError({
      status: error.status,
      type: error.type,
      message: error.message,
      code: error.code,
      param: error.param,
      headers: { "retry-after": String(Math.ceil(retryAfter / 1000)) },
    });
  }
  return {
    kind,
    error,
    outcome: String(response.status),
    ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
  };
};

/**
 * An attempt that broke without an HTTP error: the client went away, a
 * timeout fired, the connection failed or dropped, or a stream frame was not
 * JSON. All but the first are transient.
 */
export const brokenAttempt = (
  provider: string,
  cancelled: boolean,
  timedOut: { readonly bound: string; readonly ms: number } | undefined,
  cause: unknown,
): AttemptFailure => {
  if (cancelled) return { kind: "cancelled", error: cancelledError(), outcome: "cancelled" };
  if (timedOut) {
    return { kind: "transient", error: timeoutError(provider, timedOut.bound, timedOut.ms), outcome: "timeout" };
  }
  if (cause instanceof MalformedEventError) {
    return {
      kind: "transient",
      error: streamBrokenError(provider, "sent a malformed stream event"),
      outcome: "stream_error",
    };
  }
  if ((cause as { _tag?: unknown } | undefined)?._tag === "UpstreamTransportError") {
    return { kind: "transient", error: transportError(cause as UpstreamTransportError), outcome: "network" };
  }
  return {
    kind: "transient",
    error: streamBrokenError(provider, "dropped the connection mid-answer"),
    outcome: "network",
  };
};
