/**
 * The OpenAI Responses API as the gateway sees it: loose, JSON-shaped types.
 *
 * Upstreams add fields and item types over time (see ../shared/docs/protocol.md);
 * the gateway reads what it maps and carries the rest through untouched, so
 * these types name only the fields the code reads.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: unknown };

/** Whether a value read from the wire is a JSON object (not null, not an array). */
export const isJsonObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The canonical request body sent to `POST {base_url}/responses` (model and stream are set per attempt). */
export interface ResponsesRequest extends JsonObject {
  model?: string;
  input: string | JsonObject[];
  stream?: boolean;
  tools?: JsonObject[];
}

export interface ResponsesUsage {
  readonly input_tokens?: number;
  readonly input_tokens_details?: {
    /** Prompt tokens read from the provider's cache. */
    readonly cached_tokens?: number;
    /** Prompt tokens written to the provider's cache (Anthropic, OpenRouter): billed at their own price. */
    readonly cache_write_tokens?: number;
  } | null;
  readonly output_tokens?: number;
  readonly output_tokens_details?: { readonly reasoning_tokens?: number } | null;
  readonly total_tokens?: number;
}

export interface ResponsesOutputItem extends JsonObject {
  readonly type: string;
  readonly id?: string;
}

export interface ResponsesResponse extends JsonObject {
  readonly id?: string;
  readonly object?: string;
  readonly created_at?: number;
  readonly status?: string;
  readonly model?: string;
  readonly output?: ResponsesOutputItem[];
  readonly usage?: ResponsesUsage | null;
  readonly error?: { readonly code?: string | null; readonly message?: string } | null;
  readonly incomplete_details?: { readonly reason?: string } | null;
  readonly service_tier?: string | null;
}

/** One upstream stream event; `type` discriminates (`response.output_text.delta`, `error`, ...). */
export interface ResponsesEvent extends JsonObject {
  readonly type: string;
  readonly sequence_number?: number;
}
