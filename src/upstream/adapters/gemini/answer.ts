/**
 * Gemini answers as canonical Responses events and responses (providers.md §2.6).
 *
 * Every SSE `data:` payload of `:streamGenerateContent?alt=sse` is one whole `GenerateContentResponse`
 * (`candidates[0].content.parts`, `finishReason`, `usageMetadata`, `modelVersion`, `responseId`); the JSON
 * answer of `:generateContent` is one too, and the non-SSE stream is a JSON array of them. So one translator
 * serves both: the JSON path feeds it every element and reads the terminal response it builds.
 *
 * | Gemini                                   | canonical                                                        |
 * |------------------------------------------|------------------------------------------------------------------|
 * | first chunk (`responseId`, `modelVersion`) | `response.created` (id `resp_<responseId>`, model `modelVersion`) |
 * | `text` part                              | a `message` item's `output_text` deltas (consecutive text parts, one item) |
 * | `text` part with `thought: true`         | a `reasoning` item's `reasoning_summary_text` deltas (Gemini's thoughts are summaries) |
 * | `functionCall` part                      | a whole `function_call` item (Gemini never streams arguments): `call_id` is `functionCall.id` when given, else `call_<responseId>_<n>`, with the part's `thoughtSignature` bound into it (signatures.ts) |
 * | `functionCall` of a custom tool          | a `custom_tool_call` item whose `input` is the raw `args.input` (needs `customTools` in the context) |
 * | `thoughtSignature` on a text part        | the first reasoning item's `encrypted_content`: `sealReasoning("gemini", {text})`, or a reasoning item of its own |
 * | `finishReason` `STOP`                    | `response.completed` (encode says `tool_calls` when calls were made) |
 * | `MAX_TOKENS`                             | `response.incomplete`, `max_output_tokens`                       |
 * | `SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `LANGUAGE`, `IMAGE_*`, `NO_IMAGE` | `response.incomplete`, `content_filter` |
 * | `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`, `TOO_MANY_TOOL_CALLS` | a failure event, `MalformedAnswer` (retried, may fall back) |
 * | `OTHER`                                  | a failure event, `Unavailable`                                   |
 * | `promptFeedback.blockReason`, no candidates | `response.incomplete`, `content_filter`, and a message whose `refusal` names the block reason (so the client sees why) |
 * | `{error: {...}}` chunk                   | a failure event (failure.ts)                                     |
 * | `usageMetadata` (the last one wins)      | `usage`: input = prompt + toolUsePrompt, cached = cachedContent, output = candidates + thoughts, reasoning = thoughts |
 *
 * Reasoning items are finished last (after the answer's other items), so that a text signature that arrives
 * after the thoughts (it comes on the first answer part, or on an empty last part) can still ride on one.
 * The terminal event is appended when the upstream closes (`end`), after the chunk with the `finishReason`:
 * a usage-only chunk may still follow it.
 */
import { type FailureReason, malformedAnswer, unavailable } from "../../../errors/reasons.ts";
import {
  isJsonObject as isObject,
  type ResponsesEvent,
  type ResponsesOutputItem,
  type ResponsesResponse,
  type ResponsesUsage,
} from "../../../protocol/responses.ts";
import { MalformedEventError, parseEventData } from "../../sse_events.ts";
import { type HoleSpec, JsonTemplate } from "../json_template.ts";
import { sealReasoning } from "../reasoning_envelope.ts";
import { type AnswerContext, failureEvent, isFailureEvent, type SseMessage, type StreamTranslator } from "../types.ts";
import { googleErrorOf, googleFailure, statusOf } from "./failure.ts";
import { bindSignature } from "./signatures.ts";

/**
 * What this adapter may also be told of the attempt: the request's custom tool names (Cursor's ApplyPatch),
 * so a call of one comes back as a `custom_tool_call` with raw input. Without it such a call is a
 * `function_call` with `{"input": ...}` arguments, which encode unwraps for custom tools anyway.
 */
export interface GeminiAnswerContext extends AnswerContext {
  readonly customTools?: ReadonlySet<string>;
}

/** Finish reasons Gemini gives a filtered answer: the client gets `content_filter`. */
export const FILTERED: ReadonlySet<string> = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "LANGUAGE",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
  "IMAGE_OTHER",
  "NO_IMAGE",
]);

/** Finish reasons that mean the answer is unusable: better another attempt than a half answer. */
const BROKEN: ReadonlySet<string> = new Set(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"]);

/**
 * Where a chunk says something the one before did not, in a stream of text (json_template.ts): the first
 * part's text and the usage counts. The rest of a chunk (the candidate's frame, `promptTokensDetails`,
 * `modelVersion`, `responseId`) repeats, and is read from the last chunk `JSON.parse` read.
 */
export const GEMINI_HOLES: ReadonlyArray<HoleSpec> = [
  { path: ["candidates", 0, "content", "parts", 0, "text"], kind: "string" },
  { path: ["usageMetadata", "*"], kind: "number" },
];

/**
 * Chunks a stream learns a template from: every chunk that misses the last one, up to this many; a stream
 * whose chunks keep changing shape stops paying for the walk.
 */
const MAX_TEMPLATES = 8;

const count = (value: unknown): number => typeof value === "number" && Number.isFinite(value) ? value : 0;

/** `usageMetadata` as Responses usage (providers.md §2.6: promptTokenCount includes the cached tokens). */
export const usageOf = (usage: Record<string, unknown>): ResponsesUsage => {
  const input = count(usage.promptTokenCount) + count(usage.toolUsePromptTokenCount);
  const thoughts = count(usage.thoughtsTokenCount);
  const output = count(usage.candidatesTokenCount) + thoughts;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: count(usage.cachedContentTokenCount) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: thoughts },
    total_tokens: typeof usage.totalTokenCount === "number" ? usage.totalTokenCount : input + output,
  };
};

/** A message or reasoning item being streamed. */
interface TextItem {
  readonly kind: "message" | "reasoning";
  readonly index: number;
  readonly id: string;
  text: string;
}

export class GeminiStream implements StreamTranslator {
  /** Whether `response.created` was emitted. */
  private started = false;
  /** Whether a terminal event or a failure was emitted: nothing follows it. */
  private done = false;
  private sawCandidate = false;
  private id = "";
  /** `responseId`, the stem of every generated id (unique per answer, so ids never repeat in a conversation). */
  private stem = "";
  private model: string;
  private readonly createdAt: number;
  private readonly output: ResponsesOutputItem[] = [];
  /** The item text parts are appended to. */
  private open: TextItem | undefined;
  /** Reasoning items, finished at the end. */
  private readonly reasonings: TextItem[] = [];
  private items = 0;
  private calls = 0;
  /** The first signature seen on a part that is not a function call. */
  private textSignature: string | undefined;
  private finishReason: string | undefined;
  private finishMessage: string | undefined;
  private blockReason: string | undefined;
  private blockMessage: string | undefined;
  private usage: ResponsesUsage | undefined;
  /** What the last chunk `JSON.parse` read repeats on the next ones, and how many chunks it was learnt from. */
  private template: JsonTemplate | undefined;
  private templates = 0;

  /** `whole`: a JSON answer, complete even without a `finishReason`. */
  constructor(private readonly context: GeminiAnswerContext, private readonly whole = false) {
    this.model = context.model;
    this.createdAt = Math.floor(context.now / 1000);
  }

  push(message: SseMessage, out: ResponsesEvent[]): void {
    if (this.done) return;
    const data = message.data;
    if (data === "" || data === "[DONE]") return;
    let json: unknown = this.template?.read(data);
    const parsed = json === undefined;
    if (parsed) json = parseEventData(data);
    if (Array.isArray(json)) {
      for (const element of json) this.chunk(element, out, data);
    } else this.chunk(json, out, data);
    // The next chunks most likely repeat this one's frame (json_template.ts); a finished answer has none to come.
    if (parsed && !this.done && this.finishReason === undefined && this.templates < MAX_TEMPLATES) {
      this.templates++;
      this.template = JsonTemplate.learn(data, json, GEMINI_HOLES);
    }
  }

  end(out: ResponsesEvent[]): void {
    if (this.done) return;
    if (this.finishReason !== undefined || this.blockReason !== undefined || (this.whole && this.sawCandidate)) {
      this.finish(out);
    }
  }

  /** One `GenerateContentResponse`. */
  chunk(json: unknown, out: ResponsesEvent[], data = ""): void {
    if (this.done) return;
    if (!isObject(json)) throw new MalformedEventError(data);
    const error = googleErrorOf(json);
    if (error !== undefined) {
      this.done = true;
      out.push(failureEvent(googleFailure(error, statusOf(error), this.context, "stream_error", undefined, true)));
      return;
    }
    if (!this.started) this.start(json, out);
    const candidates = json.candidates;
    const candidate = Array.isArray(candidates) && isObject(candidates[0]) ? candidates[0] : undefined;
    if (candidate !== undefined) {
      this.sawCandidate = true;
      const content = candidate.content;
      const parts = isObject(content) && Array.isArray(content.parts) ? content.parts : undefined;
      if (parts !== undefined) {
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i];
          if (isObject(part)) this.part(part, out);
        }
      }
      const reason = candidate.finishReason;
      if (typeof reason === "string" && reason !== "" && reason !== "FINISH_REASON_UNSPECIFIED") {
        this.finishReason = reason;
        if (typeof candidate.finishMessage === "string") this.finishMessage = candidate.finishMessage;
      }
    } else if (isObject(json.promptFeedback) && typeof json.promptFeedback.blockReason === "string") {
      this.blockReason = json.promptFeedback.blockReason;
      const text = json.promptFeedback.blockReasonMessage;
      if (typeof text === "string" && text !== "") this.blockMessage = text;
    }
    if (isObject(json.usageMetadata)) this.usage = usageOf(json.usageMetadata);
    if (this.finishReason !== undefined && (BROKEN.has(this.finishReason) || this.finishReason === "OTHER")) {
      this.fail(this.finishReason, out);
    }
  }

  private start(json: Record<string, unknown>, out: ResponsesEvent[]): void {
    this.started = true;
    const responseId = json.responseId;
    this.stem = typeof responseId === "string" && responseId !== "" ? responseId : this.context.now.toString(36);
    this.id = `resp_${this.stem}`;
    if (typeof json.modelVersion === "string" && json.modelVersion !== "") this.model = json.modelVersion;
    out.push({ type: "response.created", response: this.snapshot("in_progress", []) });
  }

  private snapshot(status: string, output: ResponsesOutputItem[]): ResponsesResponse {
    return { id: this.id, object: "response", created_at: this.createdAt, model: this.model, status, output };
  }

  // ===== Parts =====

  private part(part: Record<string, unknown>, out: ResponsesEvent[]): void {
    const signature = typeof part.thoughtSignature === "string" && part.thoughtSignature !== ""
      ? part.thoughtSignature
      : undefined;
    if (isObject(part.functionCall)) return this.call(part.functionCall, signature, out);
    if (signature !== undefined) this.textSignature ??= signature;
    const text = part.text;
    // Images, executable code and other part kinds have no place in a chat answer.
    if (typeof text !== "string" || text === "") return;
    const kind = part.thought === true ? "reasoning" : "message";
    let item = this.open;
    if (item === undefined || item.kind !== kind) {
      this.closeOpen(out);
      item = this.openItem(kind, out);
    }
    item.text += text;
    out.push(
      kind === "message"
        ? {
          type: "response.output_text.delta",
          item_id: item.id,
          output_index: item.index,
          content_index: 0,
          delta: text,
        }
        : {
          type: "response.reasoning_summary_text.delta",
          item_id: item.id,
          output_index: item.index,
          summary_index: 0,
          delta: text,
        },
    );
  }

  private openItem(kind: TextItem["kind"], out: ResponsesEvent[]): TextItem {
    const index = this.output.length;
    const n = this.items++;
    const id = kind === "message" ? `msg_${this.stem}_${n}` : `rs_${this.stem}_${n}`;
    const added: ResponsesOutputItem = kind === "message"
      ? { type: "message", id, status: "in_progress", role: "assistant", content: [] }
      : { type: "reasoning", id, summary: [] };
    this.output.push(added);
    out.push({ type: "response.output_item.added", output_index: index, item: added });
    const item: TextItem = { kind, index, id, text: "" };
    this.open = item;
    if (kind === "reasoning") this.reasonings.push(item);
    return item;
  }

  /** Finishes the open message; an open reasoning item only stops growing (it is finished at the end). */
  private closeOpen(out: ResponsesEvent[]): void {
    const item = this.open;
    if (item === undefined) return;
    this.open = undefined;
    if (item.kind === "message") {
      this.finishItem(item.index, {
        type: "message",
        id: item.id,
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: item.text, annotations: [] }],
      }, out);
    }
  }

  private finishItem(index: number, item: ResponsesOutputItem, out: ResponsesEvent[]): void {
    this.output[index] = item;
    out.push({ type: "response.output_item.done", output_index: index, item });
  }

  /** A whole function call: added, its arguments in one delta, done. */
  private call(call: Record<string, unknown>, signature: string | undefined, out: ResponsesEvent[]): void {
    this.closeOpen(out);
    const name = typeof call.name === "string" ? call.name : "";
    const n = this.calls++;
    const callId = bindSignature(
      typeof call.id === "string" && call.id !== "" ? call.id : `call_${this.stem}_${n}`,
      signature,
    );
    const index = this.output.length;
    const id = `fc_${this.stem}_${this.items++}`;
    const args = isObject(call.args) ? call.args : {};
    if (this.context.customTools?.has(name) === true) {
      const raw = typeof args.input === "string" ? args.input : typeof args.patch === "string" ? args.patch : undefined;
      const input = raw ?? JSON.stringify(args);
      const added: ResponsesOutputItem = {
        type: "custom_tool_call",
        id,
        call_id: callId,
        name,
        input: "",
        status: "in_progress",
      };
      this.output.push(added);
      out.push({ type: "response.output_item.added", output_index: index, item: added });
      if (input !== "") {
        out.push({ type: "response.custom_tool_call_input.delta", item_id: id, output_index: index, delta: input });
      }
      this.finishItem(index, { type: "custom_tool_call", id, call_id: callId, name, input, status: "completed" }, out);
      return;
    }
    const text = JSON.stringify(args);
    const added: ResponsesOutputItem = {
      type: "function_call",
      id,
      call_id: callId,
      name,
      arguments: "",
      status: "in_progress",
    };
    this.output.push(added);
    out.push({ type: "response.output_item.added", output_index: index, item: added });
    out.push({ type: "response.function_call_arguments.delta", item_id: id, output_index: index, delta: text });
    this.finishItem(
      index,
      { type: "function_call", id, call_id: callId, name, arguments: text, status: "completed" },
      out,
    );
  }

  // ===== The end =====

  /** A finish reason that makes the answer unusable: a failure event, so routing may retry or fall back. */
  private fail(reason: string, out: ResponsesEvent[]): void {
    this.done = true;
    const { provider } = this.context;
    const said = this.finishMessage !== undefined ? `: ${this.finishMessage.slice(0, 200)}` : "";
    const failure: FailureReason = reason === "OTHER"
      ? unavailable({
        provider,
        outcome: "stream_error",
        message: `Gemini stopped the answer (OTHER)${said}`,
        code: reason,
      })
      : malformedAnswer({ provider, outcome: "stream_error", detail: `stopped its answer with ${reason}${said}` });
    out.push(failureEvent(failure));
  }

  private finish(out: ResponsesEvent[]): void {
    this.done = true;
    this.closeOpen(out);
    let envelope = this.textSignature !== undefined ? sealReasoning("gemini", { text: this.textSignature }) : undefined;
    for (const item of this.reasonings) {
      const done: ResponsesOutputItem & { encrypted_content?: string } = {
        type: "reasoning",
        id: item.id,
        summary: item.text === "" ? [] : [{ type: "summary_text", text: item.text }],
      };
      if (envelope !== undefined) done.encrypted_content = envelope;
      envelope = undefined;
      this.finishItem(item.index, done, out);
    }
    if (envelope !== undefined) {
      // No thoughts were shown: the signature gets a reasoning item of its own.
      const index = this.output.length;
      const id = `rs_${this.stem}_${this.items++}`;
      const added: ResponsesOutputItem = { type: "reasoning", id, summary: [] };
      this.output.push(added);
      out.push({ type: "response.output_item.added", output_index: index, item: added });
      this.finishItem(index, { type: "reasoning", id, summary: [], encrypted_content: envelope }, out);
    }

    let reason: string | undefined;
    if (this.blockReason !== undefined) {
      reason = "content_filter";
      const index = this.output.length;
      const id = `msg_${this.stem}_${this.items++}`;
      const said = this.blockMessage !== undefined ? `: ${this.blockMessage}` : ".";
      const added: ResponsesOutputItem = { type: "message", id, status: "in_progress", role: "assistant", content: [] };
      this.output.push(added);
      out.push({ type: "response.output_item.added", output_index: index, item: added });
      this.finishItem(index, {
        type: "message",
        id,
        status: "completed",
        role: "assistant",
        content: [{ type: "refusal", refusal: `Gemini blocked the prompt (${this.blockReason})${said}` }],
      }, out);
    } else if (this.finishReason === "MAX_TOKENS") reason = "max_output_tokens";
    else if (this.finishReason !== undefined && FILTERED.has(this.finishReason)) reason = "content_filter";

    const response: ResponsesResponse = {
      ...this.snapshot(reason === undefined ? "completed" : "incomplete", this.output),
      ...(this.usage !== undefined ? { usage: this.usage } : {}),
      incomplete_details: reason === undefined ? null : { reason },
      error: null,
    };
    out.push({ type: reason === undefined ? "response.completed" : "response.incomplete", response });
  }
}

/** A whole 200 JSON answer: one `GenerateContentResponse`, or an array of them (the non-SSE stream shape). */
export const geminiResponse = (json: unknown, context: GeminiAnswerContext): ResponsesResponse | FailureReason => {
  const { provider } = context;
  const error = googleErrorOf(json);
  if (error !== undefined) return googleFailure(error, statusOf(error), context, "200", undefined);
  const translator = new GeminiStream(context, true);
  const out: ResponsesEvent[] = [];
  try {
    if (Array.isArray(json)) { for (const element of json) translator.chunk(element, out); }
    else translator.chunk(json, out);
    translator.end(out);
  } catch (cause) {
    if (!(cause instanceof MalformedEventError)) throw cause;
  }
  const last = out.at(-1);
  if (last !== undefined && isFailureEvent(last)) return last.reason;
  if (last !== undefined && (last.type === "response.completed" || last.type === "response.incomplete")) {
    return last.response as ResponsesResponse;
  }
  return malformedAnswer({ provider, outcome: "200", detail: "sent an answer that is not a GenerateContentResponse" });
};
