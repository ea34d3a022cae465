/**
 * Stage 5, encode (streamed): Responses events into `chat.completion.chunk` SSE frames that
 * strict clients accept (the openai-node accumulator, the Vercel AI SDK, Cursor).
 *
 * One `ChunkEncoder` per stream, fed one event at a time by `http/sse_body.ts`. This is the
 * gateway's hottest path, so each event is a `switch` on its type, and a chunk is a string
 * template: what is constant for the stream (id, created, model, most of `extra_fields`) is
 * serialised once, and only the delta, `latency` and `chunk_index` are spliced in. A text or
 * tool-argument delta costs one `JSON.stringify` of its string (0.05 µs against 0.45 µs for
 * the whole chunk object); there are no closures or Effect per event.
 *
 * What the clients need (see ../shared/docs/protocol.md §3.3-3.6):
 * - the same `id`, `created` and `model` on every chunk, `role` on the first one, a `delta`
 *   object and `logprobs: null` on every choice;
 * - tool calls with dense indexes 0,1,2 in order of appearance (never `output_index`), each
 *   opened by one delta with `id`, `type:"function"`, `name` and `arguments:""`, and never
 *   interleaved: a call's deltas are held back while an earlier call is still streaming;
 * - exactly one finish chunk, then a `choices: []` chunk with the usage, then `[DONE]`;
 * - an upstream failure after the stream began as `data: {"error":{...}}`, with no finish.
 * Per-item state is keyed by item id and by `output_index`, since some upstreams (OpenRouter)
 * close items out of order; unknown event and item types are skipped.
 */
import { GatewayError } from "../errors/GatewayError.ts";
import { errorFrame } from "../errors/response.ts";
import { DATA_PREFIX, dataFrame, DONE_FRAME, FRAME_END } from "../lib/sse.ts";
import type { ChatCompletionChunk, ChatDelta, FinishReason, ReasoningDetail, UrlCitation } from "../protocol/chat.ts";
import type { AttemptInfo } from "../core/model.ts";
import type { JsonObject, ResponsesEvent, ResponsesResponse, ResponsesUsage } from "../protocol/responses.ts";
import { errorForReason } from "../errors/upstream.ts";
import {
  type AnnotationEvent,
  type FailedEvent,
  type ItemRef,
  knownEvent,
  type LifecycleEvent,
  type ReasoningDeltaEvent,
  type TextDeltaEvent,
  type ToolDeltaEvent,
  type ToolDoneEvent,
} from "../protocol/events.ts";
import { reasonFromEvent } from "../protocol/responses_failures.ts";
import { type EncodeContext, extraFields } from "./context.ts";
import { unwrapCustomInput } from "../protocol/custom_tools.ts";
import { finishReason } from "./finish_reason.ts";
import {
  addUrlCitations,
  contentParts,
  encryptedDetail,
  MESSAGE_SEPARATOR,
  REASONING_SEPARATOR,
  reasoningDetail,
  type ReasoningKind,
  reasoningTexts,
  stringOf,
  urlCitation,
} from "./items.ts";
import { chatUsage, estimatedUsage, usageIsMissing } from "./usage.ts";
import { isContextOverflowEvent } from "./context_overflow.ts";
import { carryComment, THINK_CLOSE, THINK_OPEN } from "../protocol/cursor_content.ts";

/** One tool call of the answer, in Chat order. */
interface ToolCall {
  /** The dense Chat index: 0, 1, 2 in order of appearance. */
  readonly index: number;
  /** The Responses `call_id`, which the client echoes back with the tool's output. */
  id: string;
  name: string;
  /** A `function_call` for a custom tool: its JSON-wrapped arguments are held and unwrapped at the end. */
  readonly wrapped: boolean;
  /** Argument text received so far. */
  args: string;
  /** How much of `args` has been written. */
  sent: number;
  /** Whether the opening delta (id, type, name) has been written. */
  opened: boolean;
  /** Whether the upstream has finished the call's arguments. */
  done: boolean;
}

const streamEnded = () =>
  new GatewayError({
    status: 502,
    type: "upstream_error",
    message: "The upstream stream ended before the response was complete.",
    code: "upstream_stream_incomplete",
    param: null,
  });

/** "Nothing seen yet": distinct from an `undefined` id of an upstream that leaves ids out. */
const NONE = Symbol("none");

/** `item_id` of an item event, or its `output_index` when an upstream leaves the id out. */
/** An upstream's item, which is JSON of any shape until checked. */
const isJsonObject = (value: unknown): value is JsonObject => value !== null && typeof value === "object";

const deltaKey = (event: ItemRef): string =>
  typeof event.item_id === "string" ? event.item_id : `#${event.output_index}`;

export class ChunkEncoder {
  /** True once a terminal frame (finish + usage + [DONE], or an error frame) was produced. */
  finished = false;
  /** True when the terminal frame was an error frame. */
  failed = false;
  /**
   * The upstream's final usage (from `response.completed`, `incomplete` or `failed`); on an
   * answer whose upstream reported none, the estimate the usage chunk carried (budgets charge it).
   */
  usage: ResponsesUsage | undefined;
  /** Whether `usage` is the gateway's estimate. */
  usageEstimated = false;

  /** SSE text produced by the event being pushed. */
  private out = "";
  private chunkIndex = 0;
  private roleSent = false;
  /** The model the upstream reported, for `extra_fields.model_deployment`. */
  private deployment: string | undefined;
  /** `performance.now()` for the chunks of the event being pushed (`extra_fields.latency`). */
  private now = 0;

  /** `data: {"id":...,"choices":[{"index":0,"delta":`: the same on every chunk of the stream. */
  private readonly head: string;
  /** `extra_fields` up to `"latency":`, for `extrasFor` and `extrasDeployment`. */
  private extrasHead = "";
  /** `extra_fields` from `"fallback_index"` up to `"chunk_index":`. */
  private extrasTail = "";
  /** `}`, or the `context_overflow` flag and `}`, after `chunk_index`. */
  private extrasEnd = "}";
  /** The attempt, reported model and overflow flag the cached `extra_fields` parts were built for. */
  private extrasFor: AttemptInfo | undefined;
  private extrasDeployment: string | undefined;
  private extrasOverflow = false;
  /** The answer stands for a context overflow (`context_overflow.ts`). */
  private overflow: boolean;

  private readonly tools: ToolCall[] = [];
  /** Tool calls by item id, `#output_index` and `call:call_id`. */
  private readonly toolsByKey = new Map<string, ToolCall>();
  /** The tool call whose deltas may be written now; later ones are held back. */
  private active = 0;

  /** Characters of `content` written so far, to place url citations in the joined text. */
  private contentLength = 0;
  private textItem: unknown = NONE;
  private textOutput: unknown = NONE;
  private textPart: unknown = NONE;
  /** The message item whose text was written last: the next one's text starts with `MESSAGE_SEPARATOR`. */
  private textMessage: string | undefined;
  /** Where each text part (`item:content_index`) starts in the joined content. */
  private readonly partStarts = new Map<string, number>();
  /** Items whose content or reasoning was streamed as deltas (their `done` repeats it). */
  private readonly streamed = new Set<string>();
  private readonly annotations: UrlCitation[] = [];
  /** Items whose annotations arrived as `annotation.added` events. */
  private readonly annotated = new Set<string>();
  /** Items already finished, so a final `response.output` does not repeat them. */
  private readonly doneItems = new Set<string>();

  /** `reasoning_details` entries handed out so far; the next one's index. */
  private details = 0;
  private readonly reasoningParts = new Map<string, number>();
  private reasoningItem: unknown = NONE;
  private reasoningOutput: unknown = NONE;
  private reasoningPart: unknown = NONE;
  private reasoningKind: ReasoningKind | undefined;
  private reasoningIndex = 0;
  private reasoningSent = false;
  /** Characters of reasoning and refusals written, for the usage estimate (content is `contentLength`). */
  private otherChars = 0;
  /** Cursor with `think_tags`: a `<think>` block is open in `content`, closed before anything else is written. */
  private thinkOpen = false;

  constructor(private readonly context: EncodeContext) {
    this.overflow = context.contextOverflow === true;
    this.head = `${DATA_PREFIX}{"id":${JSON.stringify(context.id)},"object":"chat.completion.chunk","created":${
      JSON.stringify(context.created)
    },"model":${JSON.stringify(context.model)},"choices":[{"index":0,"delta":`;
  }

  /**
   * SSE text for one event ("" when it produces nothing). `now` (`performance.now()`) dates its
   * chunks' `extra_fields.latency`; a writer that encodes several events at once reads the clock once.
   */
  push(raw: ResponsesEvent, now: number = performance.now()): string {
    if (this.finished) return "";
    const event = knownEvent(raw);
    if (event === undefined) return "";
    this.now = now;
    switch (event.type) {
      case "response.output_text.delta":
        this.text(event);
        break;
      case "response.refusal.delta":
        if (typeof event.delta !== "string" || event.delta === "") break;
        this.streamed.add(deltaKey(event));
        // Cursor renders no `refusal`: there, the refusal is content too (issue 14, point 7).
        if (this.context.cursor !== undefined) this.text(event);
        else {
          this.otherChars += event.delta.length;
          this.write({ refusal: event.delta }, null);
        }
        break;
      case "response.reasoning_summary_text.delta":
        this.reasoning(event, "reasoning.summary", event.summary_index);
        break;
      case "response.reasoning_text.delta":
        this.reasoning(event, "reasoning.text", event.content_index);
        break;
      case "response.function_call_arguments.delta":
      case "response.custom_tool_call_input.delta":
        this.toolDelta(event);
        break;
      case "response.function_call_arguments.done":
        this.toolDone(event, event.arguments);
        break;
      case "response.custom_tool_call_input.done":
        this.toolDone(event, event.input);
        break;
      case "response.output_text.annotation.added":
        this.annotation(event);
        break;
      case "response.output_item.added":
        this.itemAdded(event.item, event.output_index);
        break;
      case "response.output_item.done":
        this.itemDone(event.item, event.output_index);
        break;
      case "response.created":
      case "response.in_progress":
        this.noteModel(event.response);
        break;
      case "response.completed":
      case "response.incomplete":
        if (isContextOverflowEvent(raw)) this.overflow = true;
        this.complete(event);
        break;
      case "error":
      case "response.failed":
        this.fail(event, raw);
        break;
    }
    const out = this.out;
    this.out = "";
    return out;
  }

  /** SSE text for an upstream that ended without a terminal event: an error frame, never a fake finish. */
  end(): string {
    if (this.finished) return "";
    this.finished = true;
    this.failed = true;
    return errorFrame(streamEnded());
  }

  // ===== Chunks =====

  /** Appends one chunk; the very first chunk of the stream is preceded by the role chunk. */
  private write(delta: ChatDelta, finish: FinishReason | null): void {
    this.writeJson(JSON.stringify(delta), finish);
  }

  /**
   * Appends one chunk whose delta is already serialised, byte for byte what `JSON.stringify`
   * of the whole `ChatCompletionChunk` gives (the field order included).
   */
  private writeJson(delta: string, finish: FinishReason | null): void {
    if (!this.roleSent) {
      this.roleSent = true;
      this.writeJson('{"role":"assistant"}', null);
    }
    const attempt = this.context.attempt();
    // The attempt changes only on a fail-over before output, the reported model once or twice a stream.
    if (
      attempt !== this.extrasFor || this.deployment !== this.extrasDeployment || this.overflow !== this.extrasOverflow
    ) {
      this.extrasFor = attempt;
      this.extrasDeployment = this.deployment;
      this.extrasOverflow = this.overflow;
      this.extrasEnd = this.overflow ? ',"context_overflow":true}' : "}";
      this.extrasHead = `,"extra_fields":{"request_type":"responses_stream","provider":${
        JSON.stringify(attempt.ref.provider)
      },"model_requested":${JSON.stringify(this.context.model)},"model_deployment":${
        JSON.stringify(this.deployment ?? attempt.ref.model)
      },"latency":`;
      this.extrasTail = `,"fallback_index":${JSON.stringify(attempt.fallbackIndex)},"attempts":${
        JSON.stringify(attempt.attempts)
      },"chunk_index":`;
    }
    const latency = Math.round(this.now - this.context.startedAt);
    this.out += `${this.head}${delta},"logprobs":null,"finish_reason":${
      finish === null ? "null" : JSON.stringify(finish)
    }}]${this.extrasHead}${latency}${this.extrasTail}${this.chunkIndex++}${this.extrasEnd}}${FRAME_END}`;
  }

  private noteModel(response: ResponsesResponse | undefined): void {
    const model = response?.model;
    if (typeof model === "string") this.deployment = model;
  }

  // ===== Text and refusals =====

  private text(event: TextDeltaEvent): void {
    const delta = event.delta;
    if (typeof delta !== "string" || delta === "") return;
    if (this.thinkOpen) this.closeThink();
    let text = delta;
    if (
      event.item_id !== this.textItem || event.content_index !== this.textPart || event.output_index !== this.textOutput
    ) text = this.startPart(event) + delta;
    this.contentLength += text.length;
    this.writeJson(
      event.type === "response.refusal.delta"
        ? `{"content":${JSON.stringify(text)},"refusal":${JSON.stringify(delta)}}`
        : `{"content":${JSON.stringify(text)}}`,
      null,
    );
  }

  /** Notes where a text part starts; returns the separator its first delta is written after. */
  private startPart(event: TextDeltaEvent): string {
    const key = deltaKey(event);
    this.textItem = event.item_id;
    this.textOutput = event.output_index;
    this.textPart = event.content_index;
    this.streamed.add(key);
    const separator = this.separator([key]);
    const part = `${key}:${event.content_index ?? 0}`;
    if (!this.partStarts.has(part)) this.partStarts.set(part, this.contentLength + separator.length);
    return separator;
  }

  /** `MESSAGE_SEPARATOR` when text of another message item (one of `keys`) was written before, else "". */
  private separator(keys: ReadonlyArray<string>): string {
    const previous = this.textMessage;
    this.textMessage = keys[0];
    return previous !== undefined && this.contentLength > 0 && !keys.includes(previous) ? MESSAGE_SEPARATOR : "";
  }

  private annotation(event: AnnotationEvent): void {
    const key = deltaKey(event);
    this.annotated.add(key);
    const offset = this.partStarts.get(`${key}:${event.content_index ?? 0}`) ?? this.contentLength;
    const citation = urlCitation(event.annotation, offset);
    if (citation) this.annotations.push(citation);
  }

  /** A message item finished: its text when none was streamed, and its citations when none were announced. */
  private messageDone(item: JsonObject, keys: ReadonlyArray<string>): void {
    const streamed = keys.some((key) => this.streamed.has(key));
    if (this.thinkOpen && !streamed) this.closeThink();
    const annotated = keys.some((key) => this.annotated.has(key));
    const parts = contentParts(item);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part.type === "output_text" && typeof part.text === "string") {
        let start: number | undefined;
        for (const key of keys) start ??= this.partStarts.get(`${key}:${i}`);
        if (!streamed) {
          const separator = part.text === "" ? "" : this.separator(keys);
          start = this.contentLength + separator.length;
          if (part.text !== "") {
            this.contentLength = start + part.text.length;
            this.write({ content: separator + part.text }, null);
          }
        }
        if (!annotated) addUrlCitations(part, start ?? this.contentLength, this.annotations);
      } else if (part.type === "refusal" && !streamed && typeof part.refusal === "string" && part.refusal !== "") {
        if (this.context.cursor !== undefined) {
          const separator = this.separator(keys);
          this.contentLength += separator.length + part.refusal.length;
          this.write({ content: separator + part.refusal, refusal: part.refusal }, null);
        } else {
          this.otherChars += part.refusal.length;
          this.write({ refusal: part.refusal }, null);
        }
      }
    }
  }

  // ===== Reasoning =====

  /** A summary or raw-reasoning delta: `delta.reasoning` plus the matching `reasoning_details` entry. */
  private reasoning(event: ReasoningDeltaEvent, kind: ReasoningKind, part: unknown): void {
    const delta = event.delta;
    if (typeof delta !== "string" || delta === "") return;
    let text = delta;
    if (
      event.item_id !== this.reasoningItem || part !== this.reasoningPart || kind !== this.reasoningKind ||
      event.output_index !== this.reasoningOutput
    ) {
      const itemKey = deltaKey(event);
      const key = `${kind}:${itemKey}:${part}`;
      let index = this.reasoningParts.get(key);
      if (index === undefined) {
        index = this.details++;
        this.reasoningParts.set(key, index);
        this.streamed.add(itemKey);
        // Parts are separate paragraphs; the JSON answer joins them the same way.
        if (this.reasoningSent) text = REASONING_SEPARATOR + delta;
      }
      this.reasoningItem = event.item_id;
      this.reasoningOutput = event.output_index;
      this.reasoningPart = part;
      this.reasoningKind = kind;
      this.reasoningIndex = index;
    }
    this.reasoningSent = true;
    this.writeReasoning(text, delta, reasoningDetail(kind, delta, this.reasoningIndex, stringOf(event.item_id)));
  }

  /**
   * One piece of reasoning: `delta.reasoning` and its `reasoning_details` entry; for Cursor also
   * `reasoning_content` (harmless: Cursor's server strips it) and, with `think_tags`, the same
   * text as `content` inside a `<think>` block, the only reasoning Cursor shows (cursor.md §2.7).
   * `text` is what joins the reasoning so far (with its paragraph separator), `piece` the new text.
   */
  private writeReasoning(text: string, piece: string, detail: ReasoningDetail): void {
    const cursor = this.context.cursor;
    if (cursor === undefined) {
      this.otherChars += piece.length;
      return this.write({ reasoning: text, reasoning_details: [detail] }, null);
    }
    const delta: ChatDelta = {};
    if (cursor.thinkTags) {
      // A block opened after written content starts a paragraph of its own.
      const content = this.thinkOpen ? text : `${this.contentLength > 0 ? MESSAGE_SEPARATOR : ""}${THINK_OPEN}${piece}`;
      this.thinkOpen = true;
      this.contentLength += content.length;
      delta.content = content;
    } else this.otherChars += piece.length;
    delta.reasoning = text;
    delta.reasoning_content = text;
    delta.reasoning_details = [detail];
    this.write(delta, null);
  }

  /** Ends the open `<think>` block; the next message's text then starts without another separator. */
  private closeThink(): void {
    this.thinkOpen = false;
    this.contentLength += THINK_CLOSE.length;
    this.textMessage = undefined;
    this.write({ content: THINK_CLOSE }, null);
  }

  /** A reasoning item finished: its text when none was streamed, then its encrypted content. */
  private reasoningDone(item: JsonObject, keys: ReadonlyArray<string>): void {
    const id = stringOf(item.id);
    if (!keys.some((key) => this.streamed.has(key))) {
      for (const { kind, text } of reasoningTexts(item)) {
        const index = this.details++;
        this.writeReasoning(
          this.reasoningSent ? REASONING_SEPARATOR + text : text,
          text,
          reasoningDetail(kind, text, index, id),
        );
        this.reasoningSent = true;
      }
    }
    if (typeof item.encrypted_content === "string" && item.encrypted_content !== "") {
      const detail = encryptedDetail(item.encrypted_content, this.details++, id);
      if (this.context.cursor?.carryReasoning) {
        // Carried through Cursor in the content, where the next turn brings it back (`cursor_content.ts`).
        if (this.thinkOpen) this.closeThink();
        const comment = carryComment(item.encrypted_content);
        this.contentLength += comment.length;
        this.write({ content: comment, reasoning_details: [detail] }, null);
      } else this.write({ reasoning_details: [detail] }, null);
    }
  }

  // ===== Tool calls =====

  private findTool(event: ItemRef): ToolCall | undefined {
    const call = typeof event.item_id === "string" ? this.toolsByKey.get(event.item_id) : undefined;
    return call ?? (event.output_index !== undefined ? this.toolsByKey.get(`#${event.output_index}`) : undefined);
  }

  private openTool(item: JsonObject, keys: ReadonlyArray<string>): ToolCall {
    const custom = item.type === "custom_tool_call";
    const name = stringOf(item.name) ?? "";
    const call: ToolCall = {
      index: this.tools.length,
      id: stringOf(item.call_id) ?? stringOf(item.id) ?? "",
      name,
      wrapped: !custom && this.context.customTools?.has(name) === true,
      args: stringOf(custom ? item.input : item.arguments) ?? "",
      sent: 0,
      opened: false,
      done: false,
    };
    this.tools.push(call);
    for (const key of keys) this.toolsByKey.set(key, call);
    if (call.index === this.active) this.pump();
    return call;
  }

  private toolDelta(event: ToolDeltaEvent): void {
    const delta = event.delta;
    const call = this.findTool(event);
    if (call === undefined || call.done || typeof delta !== "string" || delta === "") return;
    call.args += delta;
    if (call.index !== this.active || call.wrapped) return;
    call.sent = call.args.length;
    this.writeJson(`{"tool_calls":[{"index":${call.index},"function":{"arguments":${JSON.stringify(delta)}}}]}`, null);
  }

  private toolDone(event: ToolDoneEvent, final: unknown): void {
    const call = this.findTool(event);
    if (call !== undefined) this.closeTool(call, final);
  }

  /** The upstream finished a call; `final` is its full arguments (or input), which fills any gap in the deltas. */
  private closeTool(call: ToolCall, final: unknown): void {
    if (call.done) return;
    if (typeof final === "string" && final.length > call.args.length && final.startsWith(call.args)) {
      call.args = final;
    }
    call.done = true;
    if (call.index === this.active) this.pump();
  }

  /** Writes what the active call has pending, then moves on through every later call that is already done. */
  private pump(): void {
    while (this.active < this.tools.length) {
      const call = this.tools[this.active];
      if (!call.opened) {
        call.opened = true;
        if (this.thinkOpen) this.closeThink();
        this.write({
          tool_calls: [{
            index: call.index,
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: "" },
          }],
        }, null);
      }
      if (call.wrapped) {
        if (!call.done) return;
        const input = unwrapCustomInput(call.args);
        call.sent = call.args.length;
        if (input !== "") this.write({ tool_calls: [{ index: call.index, function: { arguments: input } }] }, null);
      } else if (call.sent < call.args.length) {
        const pending = call.sent === 0 ? call.args : call.args.slice(call.sent);
        call.sent = call.args.length;
        this.write({ tool_calls: [{ index: call.index, function: { arguments: pending } }] }, null);
      }
      if (!call.done) return;
      this.active++;
    }
  }

  // ===== Items =====

  /** Keys an item is known by: its id, `#output_index`, and `call:call_id` for an item with neither. */
  private itemKeys(item: JsonObject, outputIndex: unknown): string[] {
    const keys: string[] = [];
    if (typeof item.id === "string") keys.push(item.id);
    if (typeof outputIndex === "number") keys.push(`#${outputIndex}`);
    if (keys.length === 0 && typeof item.call_id === "string") keys.push(`call:${item.call_id}`);
    return keys;
  }

  private itemAdded(item: unknown, outputIndex: unknown): void {
    if (!isJsonObject(item)) return;
    if (item.type !== "function_call" && item.type !== "custom_tool_call") return;
    const keys = this.itemKeys(item, outputIndex);
    if (keys.some((key) => this.toolsByKey.has(key))) return;
    this.openTool(item, keys);
  }

  private itemDone(item: unknown, outputIndex: unknown): void {
    if (!isJsonObject(item)) return;
    const keys = this.itemKeys(item, outputIndex);
    if (keys.some((key) => this.doneItems.has(key))) return;
    for (const key of keys) this.doneItems.add(key);
    switch (item.type) {
      case "message":
        this.messageDone(item, keys);
        break;
      case "reasoning":
        this.reasoningDone(item, keys);
        break;
      case "function_call":
      case "custom_tool_call": {
        let call: ToolCall | undefined;
        for (const key of keys) call ??= this.toolsByKey.get(key);
        call ??= this.openTool(item, keys);
        if (call.id === "" && typeof item.call_id === "string") call.id = item.call_id;
        if (call.name === "" && typeof item.name === "string") call.name = item.name;
        this.closeTool(call, item.type === "custom_tool_call" ? item.input : item.arguments);
        break;
      }
    }
  }

  // ===== Terminal events =====

  private complete(event: LifecycleEvent): void {
    const response = event.response;
    this.noteModel(response);
    this.usage = response?.usage ?? undefined;
    // Items the upstream never closed with an event (some send only the final response).
    if (Array.isArray(response?.output)) response.output.forEach((item, index) => this.itemDone(item, index));
    for (let i = this.active; i < this.tools.length; i++) this.tools[i].done = true;
    this.pump();
    if (this.thinkOpen) this.closeThink();
    if (usageIsMissing(this.usage)) {
      let received = this.contentLength + this.otherChars;
      for (const call of this.tools) received += call.args.length;
      this.usage = estimatedUsage(this.context.promptChars?.() ?? 0, received);
      this.usageEstimated = true;
    }
    if (this.annotations.length > 0) this.write({ annotations: this.annotations }, null);
    // A zero-output answer still gets the role chunk (written before the first chunk) and a finish.
    const incomplete = event.type === "response.incomplete" || response?.status === "incomplete";
    this.write({}, finishReason(response, this.tools.length > 0, incomplete));
    const chunk: ChatCompletionChunk = {
      id: this.context.id,
      object: "chat.completion.chunk",
      created: this.context.created,
      model: this.context.model,
      choices: [],
      usage: chatUsage(this.usage, this.context.price),
      extra_fields: extraFields(this.context, "responses_stream", this.deployment, this.chunkIndex++, {
        usageEstimated: this.usageEstimated,
        contextOverflow: this.overflow,
      }),
    };
    this.out += dataFrame(JSON.stringify(chunk)) + DONE_FRAME;
    this.finished = true;
  }

  private fail(event: FailedEvent, raw: ResponsesEvent): void {
    const usage = event.response?.usage;
    if (usage) this.usage = usage;
    // Routing ends a committed stream on a failure event before it gets here; an event without a
    // reason (a stream read without an adapter) is read as the Responses API words it. Either way
    // `errors/` words it, so a key error never echoes the key.
    const reason = event.reason ?? reasonFromEvent(this.context.attempt().ref.provider, "gateway", raw);
    this.out += errorFrame(errorForReason(reason));
    this.finished = true;
    this.failed = true;
  }
}
