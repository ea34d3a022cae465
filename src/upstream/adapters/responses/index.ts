/**
 * The OpenAI Responses API (`POST {base_url}/responses`): the canonical form
 * itself, so this adapter mostly passes through. It still has work to do:
 * - the request drops what the API lacks (`stop`, kept in the canonical request
 *   for the APIs that take it) and reasoning data made by another API (a tagged
 *   envelope from Claude or Gemini would be answered 400 "invalid encrypted content");
 * - an `error` or `response.failed` event, or a 200 JSON answer whose status is
 *   `failed`, becomes a typed failure reason;
 * - the serialised body is built once per canonical request: each attempt only
 *   appends its `model` and `stream` (~12 µs saved per attempt on an 8 KB Cursor body).
 */
import {
  contentFiltered,
  contextTooLong,
  type FailureReason,
  invalidRequest,
  type KeyOrigin,
  keyRejected,
  malformedAnswer,
  modelNotFound,
  quotaExhausted,
  rateLimited,
  saysContextTooLong,
  unavailable,
} from "../../../errors/reasons.ts";
import type { JsonObject, ResponsesEvent, ResponsesRequest, ResponsesResponse } from "../../../protocol/responses.ts";
import { MalformedEventError } from "../../sse_events.ts";
import { openAiStyleFailure } from "../http_failure.ts";
import { openReasoning } from "../reasoning_envelope.ts";
import { type Adapter, type AttemptSpec, failureEvent, type SseMessage, type StreamTranslator } from "../types.ts";

// ===== Request =====

/** Whether an input item is reasoning another API made (its envelope names that API). */
const foreignReasoning = (item: JsonObject): boolean =>
  item.type === "reasoning" && typeof item.encrypted_content === "string" &&
  openReasoning(item.encrypted_content).api !== "responses";

/** The canonical body as this API takes it: the same object when nothing needs to go (the usual case). */
const forResponses = (canonical: ResponsesRequest): ResponsesRequest => {
  const input = canonical.input;
  const dropInput = Array.isArray(input) && input.some(foreignReasoning);
  if (!dropInput && canonical.stop === undefined) return canonical;
  const { stop: _stop, ...rest } = canonical;
  return dropInput ? { ...rest, input: (input as JsonObject[]).filter((item) => !foreignReasoning(item)) } : rest;
};

/** The body serialised without its closing brace, once per canonical request. */
const heads = new WeakMap<ResponsesRequest, string>();

const serialise = (canonical: ResponsesRequest, attempt: AttemptSpec): string => {
  let head = heads.get(canonical);
  if (head === undefined) {
    const body = forResponses(canonical);
    if (body.model !== undefined || body.stream !== undefined) {
      return JSON.stringify({ ...body, model: attempt.model, stream: attempt.stream });
    }
    const json = JSON.stringify(body);
    head = json === "{}" ? "{" : `${json.slice(0, -1)},`;
    heads.set(canonical, head);
  }
  // Byte for byte what `JSON.stringify({ ...body, model, stream })` gives (the canonical body has neither).
  return `${head}"model":${JSON.stringify(attempt.model)},"stream":${attempt.stream}}`;
};

// ===== Failures carried by the answer =====

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
  const type = stringField(source, "type") ?? code ?? "upstream_error";
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

// ===== Answer =====

class ResponsesStream implements StreamTranslator {
  constructor(private readonly provider: string, private readonly keyOrigin: KeyOrigin) {}

  push(message: SseMessage, out: ResponsesEvent[]): void {
    // OpenAI sends no `[DONE]` on this API; proxies in front of it (OpenRouter, LiteLLM) do.
    if (message.data === "[DONE]") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.data);
    } catch {
      throw new MalformedEventError(message.data);
    }
    if (parsed === null || typeof parsed !== "object" || typeof (parsed as ResponsesEvent).type !== "string") {
      throw new MalformedEventError(message.data);
    }
    const event = parsed as ResponsesEvent;
    if (event.type === "error") out.push(failureEvent(reasonFromEvent(this.provider, this.keyOrigin, event)));
    else if (event.type === "response.failed") {
      // The failed response keeps its usage: tokens the upstream billed before it failed.
      out.push({ ...failureEvent(reasonFromEvent(this.provider, this.keyOrigin, event)), response: event.response });
    } else out.push(event);
  }

  end(): void {}
}

export const adapter: Adapter = {
  api: "responses",
  request: (canonical, attempt) => ({ path: "/responses", body: serialise(canonical, attempt) }),
  response: (json, context) => {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      return malformedAnswer({
        provider: context.provider,
        outcome: "invalid_body",
        detail: "answered 200 with a body that is not a JSON object",
      });
    }
    const response = json as ResponsesResponse;
    // A 200 whose response says `status: "failed"` is a failure like `response.failed` in a stream.
    if (response.status === "failed") {
      return reasonFromEvent(context.provider, context.keyOrigin, { type: "response.failed", response });
    }
    return response;
  },
  stream: (context) => new ResponsesStream(context.provider, context.keyOrigin),
  failure: openAiStyleFailure,
};
