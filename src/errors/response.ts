/**
 * The one place where failures become HTTP answers and SSE error frames.
 */
import { dataFrame } from "../lib/sse.ts";
import { GatewayError, internal } from "./GatewayError.ts";

export interface ErrorEnvelope {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

export const envelope = (error: GatewayError): ErrorEnvelope => ({
  error: { message: error.message, type: error.type, param: error.param, code: error.code },
});

/** Anything thrown that is not a `GatewayError` is a bug: answer 500 without leaking its text. */
export const asGatewayError = (error: unknown): GatewayError => error instanceof GatewayError ? error : internal();

export const toResponse = (error: unknown, headers?: HeadersInit): Response => {
  const failure = asGatewayError(error);
  const responseHeaders = new Headers(headers);
  responseHeaders.set("content-type", "application/json");
  for (const [name, value] of Object.entries(failure.headers ?? {})) responseHeaders.set(name, value);
  return new Response(JSON.stringify(envelope(failure)), { status: failure.status, headers: responseHeaders });
};

/** The frame that ends a stream whose headers are already out (openai-node throws `APIError` on it). */
export const errorFrame = (error: unknown): string => dataFrame(JSON.stringify(envelope(asGatewayError(error))));
