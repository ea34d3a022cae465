/**
 * What an upstream failure means: for the client (status, envelope) and for
 * routing (retry, rotate the key, fall back, or stop).
 */
import { GatewayError } from "../errors/GatewayError.ts";
import type { ResponsesEvent } from "../protocol/responses.ts";
import type { UpstreamTransportError } from "../upstream/Upstream.ts";

export const isTransientStatus = (status: number) => status === 429 || status >= 500;

/** Maps an upstream HTTP error to the client-facing error; 5xx becomes 502, the upstream refusing our key 502 too. */
export const upstreamHttpError = async (provider: string, response: Response): Promise<GatewayError> => {
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
