/**
 * Every failure a client can see is a `GatewayError`; `toResponse` in
 * `response.ts` is the one place that turns it into an HTTP answer.
 *
 * The envelope is OpenAI's `{"error":{"message","type","param","code"}}`,
 * which the `openai` SDK, the Vercel AI SDK and Cursor all parse.
 * Messages never carry a key: build them from ids and names only.
 */
import * as Data from "effect/Data";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "server_error"
  | "upstream_error"
  | "timeout_error";

export class GatewayError extends Data.TaggedError("GatewayError")<{
  readonly status: number;
  readonly type: ErrorType | string;
  readonly message: string;
  readonly code: string | null;
  readonly param: string | null;
  /** Extra response headers, such as `Retry-After` on a 429. */
  readonly headers?: Readonly<Record<string, string>>;
}> {}

export const badRequest = (message: string, options: { param?: string | null; code?: string | null } = {}) =>
  new GatewayError({
    status: 400,
    type: "invalid_request_error",
    message,
    param: options.param ?? null,
    code: options.code ?? null,
  });

export const unauthorized = (
  message = "Missing or invalid API key. Pass a virtual key (sk-bf-...) as a Bearer token or in x-bf-vk.",
) => new GatewayError({ status: 401, type: "authentication_error", message, param: null, code: "invalid_api_key" });

export const forbidden = (message: string) =>
  new GatewayError({ status: 403, type: "permission_error", message, param: "model", code: "model_not_allowed" });

export const notFound = (message: string) =>
  new GatewayError({ status: 404, type: "not_found_error", message, param: null, code: "not_found" });

export const methodNotAllowed = (method: string, path: string, allowed: ReadonlyArray<string>) =>
  new GatewayError({
    status: 405,
    type: "invalid_request_error",
    message: `Method ${method} is not allowed on ${path}; use ${allowed.join(" or ")}.`,
    param: null,
    code: "method_not_allowed",
    headers: { allow: allowed.join(", ") },
  });

/** The request body did not arrive whole within `body_timeout_ms`; a 408 because the OpenAI SDKs retry it. */
export const requestTimeout = (timeoutMs: number) =>
  new GatewayError({
    status: 408,
    type: "invalid_request_error",
    message: `Request body did not arrive within ${timeoutMs} ms.`,
    param: null,
    code: "request_timeout",
  });

export const payloadTooLarge = (limit: number) =>
  new GatewayError({
    status: 413,
    type: "invalid_request_error",
    message: `Request body is larger than the gateway's limit of ${limit} bytes.`,
    param: null,
    code: "request_too_large",
  });

export const internal = (message = "The gateway failed to handle the request.") =>
  new GatewayError({ status: 500, type: "server_error", message, param: null, code: "internal_error" });

/** No candidate of the request names a configured provider. */
export const noProvider = () =>
  new GatewayError({
    status: 502,
    type: "upstream_error",
    message: "No configured provider can serve the request.",
    param: null,
    code: null,
  });

/** A client's own provider key serves only its provider, and no candidate of the request is on it. */
export const providerKeyMismatch = (provider: string) =>
  new GatewayError({
    status: 400,
    type: "invalid_request_error",
    message:
      `The provider key in Authorization is used only for provider '${provider}', and none of the request's models is on it.`,
    code: "provider_key_mismatch",
    param: "model",
  });

/** The client went away before its answer; nobody reads this, but telemetry records it (499, as nginx logs it). */
export const clientClosed = () =>
  new GatewayError({
    status: 499,
    type: "request_cancelled",
    message: "The client closed the request.",
    param: null,
    code: "client_closed_request",
  });
