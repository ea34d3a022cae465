/**
 * A failure reason as the error a client sees when it ends the request: the
 * status, the OpenAI envelope's type and code, and a message. Routing never
 * picks a status; it hands the reason here (through `response.ts`).
 *
 * Only the caller's own faults (`InvalidRequest`, `ContextTooLong`,
 * `ContentFiltered`, `ModelNotFound`) and throttling keep the upstream's words;
 * key rejections are always worded here, since a provider's message may echo
 * (part of) the key.
 */
import type { FailureReason } from "./reasons.ts";
import { clientClosed, GatewayError } from "./GatewayError.ts";

const retryAfterHeader = (ms: number | undefined): Readonly<Record<string, string>> | undefined =>
  ms === undefined ? undefined : { "retry-after": String(Math.ceil(ms / 1000)) };

const make = (
  status: number,
  type: string,
  message: string,
  code: string | null | undefined,
  param: string | null | undefined = null,
  headers?: Readonly<Record<string, string>>,
) =>
  new GatewayError({
    status,
    type,
    message,
    code: code ?? null,
    param: param ?? null,
    ...(headers ? { headers } : {}),
  });

/** The client-facing error for a failure that ends the request. */
export const errorForReason = (reason: FailureReason): GatewayError => {
  const provider = reason.provider;
  switch (reason._tag) {
    case "RateLimited":
      return make(
        429,
        reason.type ?? "rate_limit_error",
        reason.message ?? `Provider '${provider}' is rate limiting the gateway.`,
        reason.code ?? "rate_limit_exceeded",
        reason.param,
        retryAfterHeader(reason.retryAfterMs),
      );
    case "QuotaExhausted":
      return make(
        502,
        "insufficient_quota",
        `Provider '${provider}' refused the gateway's key: ${reason.message ?? "its quota is exhausted."}`,
        reason.code ?? "insufficient_quota",
      );
    case "Overloaded":
    case "Unavailable":
      // An error event inside a stream is already the provider's description of a stream failure:
      // its words and type go as they are. An HTTP error body is prefixed, so the client can tell.
      if (reason._tag === "Unavailable" && reason.status === undefined && reason.message !== undefined) {
        return make(502, reason.type ?? "upstream_error", reason.message, reason.code, reason.param);
      }
      return make(
        502,
        "upstream_error",
        `Upstream error: ${
          reason.message ??
            (reason._tag === "Overloaded"
              ? `provider '${provider}' is overloaded`
              : `provider '${provider}' answered HTTP ${reason.status ?? 500}`)
        }`,
        reason.code ?? (reason._tag === "Overloaded" ? "upstream_overloaded" : null),
        reason.param,
      );
    case "Timeout":
      return make(
        504,
        "timeout_error",
        `Provider '${provider}' did not answer in time (${reason.bound} ${reason.ms} ms).`,
        "upstream_timeout",
      );
    case "Unreachable":
      return make(
        502,
        "upstream_error",
        `provider '${provider}' is unreachable: ${reason.detail}`,
        "upstream_unreachable",
      );
    case "MalformedAnswer":
      return make(502, "upstream_error", `Provider '${provider}' ${reason.detail}.`, "upstream_stream_error");
    case "KeyRejected":
      if (reason.keyOrigin === "client") {
        // The caller's own provider key: their fault, so their status; the upstream's words may echo the key.
        return make(
          reason.status,
          reason.status === 401 ? "authentication_error" : "permission_error",
          `Provider '${provider}' rejected the provider key sent with the request (HTTP ${reason.status}).`,
          "invalid_api_key",
        );
      }
      return make(
        502,
        "upstream_error",
        reason.inStream
          ? `Provider '${provider}' rejected the gateway's credentials during the stream.`
          : `Provider '${provider}' rejected the gateway's credentials (HTTP ${reason.status}).`,
        "upstream_auth_failed",
      );
    case "InvalidRequest":
      return make(
        reason.status,
        reason.type ?? "invalid_request_error",
        reason.message,
        reason.code,
        reason.param,
      );
    case "ContextTooLong":
      return make(400, "invalid_request_error", reason.message, "context_length_exceeded", reason.param);
    case "ContentFiltered":
      return make(400, "invalid_request_error", reason.message, reason.code ?? "content_filter", reason.param);
    case "ModelNotFound":
      return make(404, reason.type ?? "invalid_request_error", reason.message, "model_not_found", reason.param);
    case "Cancelled":
      return clientClosed();
  }
};

/** The error that ends a request after every attempt failed: the primary's, naming how many attempts were made. */
export const exhaustedError = (reason: FailureReason, attempts: number): GatewayError => {
  const error = errorForReason(reason);
  return new GatewayError({
    status: error.status,
    type: error.type,
    message: `${error.message} (gave up after ${attempts} upstream attempt${attempts === 1 ? "" : "s"})`,
    code: error.code,
    param: error.param,
    ...(error.headers ? { headers: error.headers } : {}),
  });
};
