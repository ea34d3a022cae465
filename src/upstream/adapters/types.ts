/**
 * The adapter seam: one adapter per upstream API turns the canonical request
 * (the decoded Responses body) into that API's wire request, and the API's
 * answers (a JSON body, an SSE stream, an HTTP error) back into canonical
 * form: a Responses response, Responses stream events, a `FailureReason`.
 *
 * Adapters are pure translation: no I/O, no Effect, no clock. Routing owns the
 * exchange (keys, retries, timeouts, fallback); `Upstream` owns HTTP. So a
 * fallback chain may mix APIs in one request, and every adapter is tested with
 * plain data.
 *
 * What `encode` consumes, and so what a stream translator must emit, is the
 * OpenAI Responses event sequence (../shared/docs/protocol.md §2):
 * `response.created` → per item `response.output_item.added`, its deltas
 * (`response.output_text.delta`, `response.reasoning_text.delta` /
 * `response.reasoning_summary_text.delta`, `response.function_call_arguments.delta`),
 * `response.output_item.done` (with the whole item) → `response.completed` or
 * `response.incomplete` (with the whole response: `status`, `output`, `usage`,
 * `incomplete_details`). A provider failure inside a stream is one canonical
 * `error` event made by `failureEvent`, carrying its typed reason.
 */
import type { FailureReason, KeyOrigin } from "../../errors/reasons.ts";
import type { AdapterTarget, Api } from "../../config/provider_api.ts";
import type { ResponsesEvent, ResponsesRequest, ResponsesResponse } from "../../protocol/responses.ts";

export type { AdapterTarget, Api, WireOptions } from "../../config/provider_api.ts";

/** One attempt: the upstream's model name, and whether it is streamed. */
export interface AttemptSpec {
  readonly model: string;
  readonly stream: boolean;
}

/** The wire request of one attempt. The base URL, the auth header and the provider's own headers are added by `Upstream`. */
export interface WireRequest {
  /** Appended to the provider's `base_url`: `/responses`, `/chat/completions`, `/messages`, `/models/m:streamGenerateContent?alt=sse`. */
  readonly path: string;
  /** The serialised body. */
  readonly body: string;
  /** Headers this API requires besides auth (`anthropic-version`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the answer's translation needs to know of the attempt. */
export interface AnswerContext {
  readonly provider: string;
  /** The model this attempt asked for (the answer's `model` when the API names none). */
  readonly model: string;
  readonly keyOrigin: KeyOrigin;
  /** ms since the epoch: for `created_at` and HTTP-date `Retry-After` values. */
  readonly now: number;
  /**
   * The request's custom tools (Cursor's ApplyPatch), by name: APIs without custom tools call
   * them as functions taking `{input}`, and the answer gives the client the raw input back.
   */
  readonly customTools?: ReadonlySet<string>;
}

/** A non-2xx answer, its body already read as text (capped by the caller). */
export interface HttpFailure {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** One server-sent event as framed on the wire: `event:` name (when the API sends one) and `data:` payload. */
export interface SseMessage {
  readonly event?: string;
  readonly data: string;
}

/**
 * One streamed answer's translation, stateful (open blocks, tool-call indexes, usage so far).
 * Both methods append to `out` rather than return arrays: this is the per-event path.
 */
export interface StreamTranslator {
  /**
   * One upstream message in; zero or more canonical events appended to `out`. Throws
   * `MalformedEventError` for a payload that is not the API's JSON. `data: [DONE]` is pushed
   * too (then `end` follows at once), for the APIs whose answer it completes.
   */
  push(message: SseMessage, out: ResponsesEvent[]): void;
  /**
   * The upstream closed the stream. Appends what finishes the answer when the API's own end
   * marker already arrived but the canonical terminal event was not emitted yet; appends
   * nothing when the stream was cut short (routing reports that as a dropped answer).
   */
  end(out: ResponsesEvent[]): void;
}

export interface Adapter {
  readonly api: Api;
  /** The canonical request as this API's wire request for one attempt. */
  readonly request: (canonical: ResponsesRequest, attempt: AttemptSpec, target: AdapterTarget) => WireRequest;
  /** A whole 200 JSON answer in canonical form, or the failure it reports (a 200 that is really an error). */
  readonly response: (json: unknown, context: AnswerContext) => ResponsesResponse | FailureReason;
  /** A translator for one streamed answer. */
  readonly stream: (context: AnswerContext) => StreamTranslator;
  /** A non-2xx answer as a typed reason. */
  readonly failure: (answer: HttpFailure, context: AnswerContext) => FailureReason;
}

export { failureEvent, isFailureEvent } from "../../protocol/events.ts";
export type { FailureEvent } from "../../protocol/events.ts";
