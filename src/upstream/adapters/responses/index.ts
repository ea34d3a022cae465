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
import { type KeyOrigin, malformedAnswer } from "../../../errors/reasons.ts";
import { reasonFromEvent } from "../../../protocol/responses_failures.ts";
import type { JsonObject, ResponsesEvent, ResponsesRequest, ResponsesResponse } from "../../../protocol/responses.ts";
import { MalformedEventError, parseEventData } from "../../sse_events.ts";
import { openAiStyleFailure } from "../http_failure.ts";
import { openReasoning } from "../reasoning_envelope.ts";
import { type Adapter, type AttemptSpec, failureEvent, type SseMessage, type StreamTranslator } from "../types.ts";

// ===== Request =====

/** Whether an input item is reasoning another API made (its envelope names that API). */
const foreignReasoning = (item: JsonObject): boolean =>
  item.type === "reasoning" && typeof item.encrypted_content === "string" &&
  openReasoning(item.encrypted_content).api !== "responses";

const hasCacheControl = (part: unknown): boolean =>
  part !== null && typeof part === "object" && (part as JsonObject).cache_control !== undefined;

/** The parts of an item that a client may have marked with Anthropic's `cache_control`. */
const partsOf = (item: JsonObject): unknown => item.type === "message" ? item.content : item.output;

/** Whether an item carries a part with `cache_control`, a field this API does not know (it answers 400). */
const markedForCache = (item: JsonObject): boolean => {
  const parts = partsOf(item);
  return Array.isArray(parts) && parts.some(hasCacheControl);
};

const withoutCacheControl = (item: JsonObject): JsonObject => {
  const field = item.type === "message" ? "content" : "output";
  const parts = (partsOf(item) as unknown[]).map((part) => {
    if (!hasCacheControl(part)) return part;
    const { cache_control: _, ...rest } = part as JsonObject;
    return rest;
  });
  return { ...item, [field]: parts };
};

/**
 * The canonical body as this API takes it: the same object when nothing needs to go (the usual
 * case, found by one scan of the input). Goes: `stop`, reasoning another API made, and
 * `cache_control` marks kept for Claude.
 */
const forResponses = (canonical: ResponsesRequest): ResponsesRequest => {
  const input = canonical.input;
  const items = Array.isArray(input) ? input : [];
  const dropReasoning = items.some(foreignReasoning);
  const dropMarks = items.some(markedForCache);
  if (!dropReasoning && !dropMarks && canonical.stop === undefined) return canonical;
  const { stop: _stop, ...rest } = canonical;
  if (!dropReasoning && !dropMarks) return rest;
  const kept = dropReasoning ? items.filter((item) => !foreignReasoning(item)) : items;
  return {
    ...rest,
    input: dropMarks ? kept.map((item) => markedForCache(item) ? withoutCacheControl(item) : item) : kept,
  };
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

// ===== Answer =====

class ResponsesStream implements StreamTranslator {
  constructor(private readonly provider: string, private readonly keyOrigin: KeyOrigin) {}

  push(message: SseMessage, out: ResponsesEvent[]): void {
    // OpenAI sends no `[DONE]` on this API; proxies in front of it (OpenRouter, LiteLLM) do.
    if (message.data === "[DONE]") return;
    const parsed = parseEventData(message.data);
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

export { reasonFromEvent };
