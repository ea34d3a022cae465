/**
 * A Messages answer (an SSE stream, or a whole JSON message) as canonical Responses events
 * and a Responses `response` (providers.md §1.6-1.8).
 *
 * Stream: `message_start` → per content block `content_block_start`, `content_block_delta`×n,
 * `content_block_stop` → `message_delta` (stop reason, cumulative usage) → `message_stop`;
 * `ping` and unknown events are ignored; `event: error` is a provider failure.
 *
 * | Messages | Responses |
 * |---|---|
 * | `text` blocks (a run of them) | one `message` item, one `output_text` part per block |
 * | `text_delta` | `response.output_text.delta` |
 * | `citations` / `citations_delta` with a `url` | `url_citation` annotations over the block's text (others skipped) |
 * | `thinking` / `redacted_thinking` blocks (a run of them) | one `reasoning` item: thinking text as `reasoning_text` parts, every block (with its `signature`, or the redacted `data`) sealed in `encrypted_content` as `gw1.anthropic.{blocks}` |
 * | `thinking_delta` | `response.reasoning_text.delta` |
 * | `tool_use` | `function_call` (`call_id` = block id), `input_json_delta` → `response.function_call_arguments.delta`; no arguments → `"{}"` |
 * | `tool_use` of a custom tool (`customTools` in the context) | `custom_tool_call` with the raw `input` text, streamed as `response.custom_tool_call_input.delta` |
 * | `server_tool_use`, `*_tool_result`, `compaction`, unknown blocks | skipped |
 *
 * | `stop_reason` | status |
 * |---|---|
 * | `end_turn`, `stop_sequence`, `tool_use`, `pause_turn` | completed |
 * | `max_tokens`, `model_context_window_exceeded` | incomplete, `max_output_tokens` |
 * | `refusal` | incomplete, `content_filter` |
 *
 * Usage: `input_tokens` = input + cache reads + cache writes (Anthropic's `input_tokens`
 * leaves the cache out), `cached_tokens` = reads, `cache_write_tokens` = writes,
 * `reasoning_tokens` = `output_tokens_details.thinking_tokens` where the API reports it (else 0).
 * `message_delta.usage` is cumulative: its values replace, never add.
 *
 * One class serves both forms: the JSON answer is fed block by block through the same
 * methods, its events discarded. Ids are derived from the message id and the output index,
 * `created_at` from the context's clock, so a replay gives the same events.
 */
import type { FailureReason } from "../../../errors/reasons.ts";
import { malformedAnswer } from "../../../errors/reasons.ts";
import {
  isJsonObject as isObject,
  type JsonObject,
  type ResponsesEvent,
  type ResponsesResponse,
} from "../../../protocol/responses.ts";
import { MalformedEventError, parseEventData } from "../../sse_events.ts";
import { sealReasoning } from "../reasoning_envelope.ts";
import { type AnswerContext, failureEvent, type SseMessage, type StreamTranslator } from "../types.ts";
import { CustomInputReader } from "../custom_input.ts";
import { errorObjectFailure } from "./failure.ts";

/**
 * The context of an Anthropic answer: `customTools` (the request's custom tool names, as decode
 * collects them) lets a `tool_use` of ApplyPatch come back as a `custom_tool_call`. Without it,
 * such a call is a `function_call` with `{"input": ...}` arguments, which encode unwraps.
 */
export interface AnthropicAnswerContext extends AnswerContext {
  readonly customTools?: ReadonlySet<string>;
}

const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;

const TEXT = 0;
const THINKING = 1;
const TOOL = 2;
const SKIP = 3;

/** One open content block, by its Anthropic `index`. */
interface Block {
  readonly kind: number;
  /** The output item it writes into (the message or reasoning run, or the call). */
  readonly item: JsonObject;
  readonly outputIndex: number;
  /** Its part in the item (text and thinking runs). */
  readonly part: number;
  /** Text, thinking text, or argument JSON received so far. */
  text: string;
  signature: string;
  /** A tool call's `input` from `content_block_start` (whole in a JSON answer, `{}` when streamed). */
  readonly input?: unknown;
  readonly reader?: CustomInputReader;
  citations?: JsonObject[];
  stopped: boolean;
}

/** A run of consecutive text (or thinking) blocks: one message (or reasoning) item. */
interface Run {
  readonly item: JsonObject;
  readonly outputIndex: number;
  readonly parts: JsonObject[];
  /** Reasoning runs: the blocks Claude needs back, in order. */
  readonly sealed: JsonObject[];
}

const stopStatus = (stopReason: unknown): { status: string; reason?: string } => {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return { status: "incomplete", reason: "max_output_tokens" };
    case "refusal":
      return { status: "incomplete", reason: "content_filter" };
    default:
      // end_turn, stop_sequence, tool_use, pause_turn (a server tool paused; the answer so far stands).
      return { status: "completed" };
  }
};

/** The url citations of a block, over its whole text (Anthropic cites per block). */
const annotations = (citations: JsonObject[] | undefined, length: number): JsonObject[] => {
  const out: JsonObject[] = [];
  if (citations === undefined) return out;
  const seen = new Set<string>();
  for (const citation of citations) {
    if (typeof citation.url !== "string" || seen.has(citation.url)) continue;
    seen.add(citation.url);
    out.push({
      type: "url_citation",
      start_index: 0,
      end_index: length,
      title: typeof citation.title === "string" ? citation.title : "",
      url: citation.url,
    });
  }
  return out;
};

export class AnthropicAnswer implements StreamTranslator {
  /** True once the terminal event (completed, incomplete or error) was emitted. */
  finished = false;
  /** The final response, once finished without an error. */
  response: ResponsesResponse | undefined;
  /** The failure reported inside the answer, if any. */
  failure: FailureReason | undefined;

  private started = false;
  private id = "";
  private base = "";
  private model: string;
  private readonly createdAt: number;
  private readonly output: JsonObject[] = [];
  private readonly blocks = new Map<number, Block>();
  private text: Run | undefined;
  private thinking: Run | undefined;
  private stopReason: unknown = null;
  private stopped = false;
  private inputTokens = 0;
  private cacheRead = 0;
  private cacheWrite = 0;
  private outputTokens = 0;
  private thinkingTokens = 0;

  constructor(private readonly context: AnthropicAnswerContext) {
    this.model = context.model;
    this.createdAt = Math.floor(context.now / 1000);
  }

  // ===== The stream =====

  push(message: SseMessage, out: ResponsesEvent[]): void {
    if (this.finished || message.event === "ping") return;
    const data = parseEventData(message.data);
    if (!isObject(data)) throw new MalformedEventError(message.data);
    switch (data.type ?? message.event) {
      case "message_start":
        this.start(data.message, out);
        break;
      case "content_block_start":
        if (typeof data.index === "number") this.startBlock(data.index, data.content_block, out);
        break;
      case "content_block_delta":
        if (typeof data.index === "number") this.delta(data.index, data.delta, out);
        break;
      case "content_block_stop":
        if (typeof data.index === "number") this.stopBlock(data.index, out);
        break;
      case "message_delta":
        this.messageDelta(data);
        break;
      case "message_stop":
        this.finish(out);
        break;
      case "error":
        this.fail(errorObjectFailure(data.error, this.context, true), out);
        break;
        // ping, and event types newer than this code.
    }
  }

  /** The stream closed: the answer is finished if its stop reason came (a lost `message_stop`), else nothing. */
  end(out: ResponsesEvent[]): void {
    if (!this.finished && this.stopped) this.finish(out);
  }

  // ===== Steps (shared with the JSON answer) =====

  start(message: unknown, out: ResponsesEvent[]): void {
    if (this.started) return;
    this.started = true;
    const m = isObject(message) ? message : {};
    this.id = typeof m.id === "string" && m.id !== "" ? m.id : `msg_${this.createdAt}`;
    this.base = this.id.startsWith("msg_") ? this.id.slice(4) : this.id;
    if (typeof m.model === "string" && m.model !== "") this.model = m.model;
    this.usage(m.usage);
    out.push({
      type: "response.created",
      response: {
        id: this.id,
        object: "response",
        created_at: this.createdAt,
        model: this.model,
        status: "in_progress",
        output: [],
      },
    });
  }

  startBlock(index: number, raw: unknown, out: ResponsesEvent[]): void {
    if (!this.started) this.start(undefined, out);
    if (!isObject(raw) || this.blocks.has(index)) return;
    switch (raw.type) {
      case "text": {
        this.closeThinking(out);
        const run = this.text ?? this.openText(out);
        const block = this.open(index, TEXT, run.item, run.outputIndex, run.parts.length);
        run.parts.push({ type: "output_text", text: "", annotations: [] });
        if (Array.isArray(raw.citations)) block.citations = raw.citations.filter(isObject);
        if (typeof raw.text === "string" && raw.text !== "") this.textDelta(block, raw.text, out);
        break;
      }
      case "thinking":
      case "redacted_thinking": {
        this.closeText(out);
        const run = this.thinking ?? this.openThinking(out);
        if (raw.type === "redacted_thinking") {
          // Encrypted by Anthropic: nothing to read, only to send back.
          this.open(index, THINKING, run.item, run.outputIndex, -1);
          if (typeof raw.data === "string") run.sealed.push({ type: "redacted_thinking", data: raw.data });
          break;
        }
        const block = this.open(index, THINKING, run.item, run.outputIndex, run.parts.length);
        run.parts.push({ type: "reasoning_text", text: "" });
        if (typeof raw.thinking === "string" && raw.thinking !== "") this.thinkingDelta(block, raw.thinking, out);
        if (typeof raw.signature === "string") block.signature = raw.signature;
        break;
      }
      case "tool_use":
        this.startTool(index, raw, out);
        break;
      default:
        // server_tool_use, web_search_tool_result, code_execution_tool_result, compaction, ...: the
        // provider ran them itself; their deltas (input_json_delta of a server call) are ignored.
        this.blocks.set(index, {
          kind: SKIP,
          item: {},
          outputIndex: -1,
          part: 0,
          text: "",
          signature: "",
          stopped: false,
        });
    }
  }

  delta(index: number, raw: unknown, out: ResponsesEvent[]): void {
    const block = this.blocks.get(index);
    if (block === undefined || block.stopped || !isObject(raw)) return;
    switch (raw.type) {
      case "text_delta":
        if (block.kind === TEXT && typeof raw.text === "string" && raw.text !== "") {
          this.textDelta(block, raw.text, out);
        }
        break;
      case "input_json_delta":
        if (block.kind === TOOL && typeof raw.partial_json === "string" && raw.partial_json !== "") {
          this.toolDelta(block, raw.partial_json, out);
        }
        break;
      case "thinking_delta":
        if (block.kind === THINKING && typeof raw.thinking === "string" && raw.thinking !== "") {
          this.thinkingDelta(block, raw.thinking, out);
        }
        break;
      case "signature_delta":
        if (block.kind === THINKING && typeof raw.signature === "string") block.signature += raw.signature;
        break;
      case "citations_delta":
        if (block.kind === TEXT && isObject(raw.citation)) (block.citations ??= []).push(raw.citation);
        break;
    }
  }

  stopBlock(index: number, out: ResponsesEvent[]): void {
    const block = this.blocks.get(index);
    if (block === undefined || block.stopped) return;
    block.stopped = true;
    switch (block.kind) {
      case TEXT: {
        const run = this.text;
        if (run === undefined || run.item !== block.item) return;
        const part = run.parts[block.part];
        part.text = block.text;
        part.annotations = annotations(block.citations, block.text.length);
        break;
      }
      case THINKING: {
        const run = this.thinking;
        if (run === undefined || run.item !== block.item) return;
        if (block.part >= 0) run.parts[block.part].text = block.text;
        // A thinking block goes back whole with its signature; one without cannot be verified.
        if (block.signature !== "") {
          run.sealed.push({ type: "thinking", thinking: block.text, signature: block.signature });
        }
        break;
      }
      case TOOL:
        this.stopTool(block, out);
        break;
    }
  }

  messageDelta(data: JsonObject): void {
    const delta = isObject(data.delta) ? data.delta : undefined;
    if (delta !== undefined && delta.stop_reason !== undefined) {
      this.stopReason = delta.stop_reason;
      if (delta.stop_reason !== null) this.stopped = true;
    }
    this.usage(data.usage);
  }

  /** Closes what is open and emits the terminal event with the whole response. */
  finish(out: ResponsesEvent[]): void {
    if (this.finished) return;
    if (!this.started) this.start(undefined, out);
    for (const [index, block] of this.blocks) if (!block.stopped) this.stopBlock(index, out);
    this.closeText(out);
    this.closeThinking(out);
    const { status, reason } = stopStatus(this.stopReason);
    const input = this.inputTokens + this.cacheRead + this.cacheWrite;
    const response: ResponsesResponse = {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      model: this.model,
      status,
      incomplete_details: reason === undefined ? null : { reason },
      output: this.output as ResponsesResponse["output"],
      usage: {
        input_tokens: input,
        input_tokens_details: { cached_tokens: this.cacheRead, cache_write_tokens: this.cacheWrite },
        output_tokens: this.outputTokens,
        output_tokens_details: { reasoning_tokens: this.thinkingTokens },
        total_tokens: input + this.outputTokens,
      } as ResponsesResponse["usage"],
    };
    this.response = response;
    this.finished = true;
    out.push({ type: status === "completed" ? "response.completed" : "response.incomplete", response });
  }

  fail(reason: FailureReason, out: ResponsesEvent[]): void {
    this.failure = reason;
    this.finished = true;
    out.push(failureEvent(reason));
  }

  // ===== Items =====

  private open(index: number, kind: number, item: JsonObject, outputIndex: number, part: number): Block {
    const block: Block = { kind, item, outputIndex, part, text: "", signature: "", stopped: false };
    this.blocks.set(index, block);
    return block;
  }

  private addItem(item: JsonObject, out: ResponsesEvent[]): number {
    const outputIndex = this.output.length;
    this.output.push(item);
    out.push({ type: "response.output_item.added", output_index: outputIndex, item: { ...item } });
    return outputIndex;
  }

  private itemId(prefix: string): string {
    return `${prefix}_${this.base}_${this.output.length}`;
  }

  private openText(out: ResponsesEvent[]): Run {
    const item: JsonObject = {
      type: "message",
      id: this.itemId("msg"),
      status: "in_progress",
      role: "assistant",
      content: [],
    };
    const outputIndex = this.addItem(item, out);
    this.text = { item, outputIndex, parts: [], sealed: [] };
    return this.text;
  }

  private closeText(out: ResponsesEvent[]): void {
    const run = this.text;
    if (run === undefined) return;
    this.stopRun(run, out);
    this.text = undefined;
    run.item.content = run.parts;
    run.item.status = "completed";
    out.push({ type: "response.output_item.done", output_index: run.outputIndex, item: run.item });
  }

  private openThinking(out: ResponsesEvent[]): Run {
    const item: JsonObject = { type: "reasoning", id: this.itemId("rs"), summary: [] };
    const outputIndex = this.addItem(item, out);
    this.thinking = { item, outputIndex, parts: [], sealed: [] };
    return this.thinking;
  }

  private closeThinking(out: ResponsesEvent[]): void {
    const run = this.thinking;
    if (run === undefined) return;
    this.stopRun(run, out);
    this.thinking = undefined;
    const parts = run.parts.filter((part) => part.text !== "");
    if (parts.length > 0) run.item.content = parts;
    if (run.sealed.length > 0) run.item.encrypted_content = sealReasoning("anthropic", { blocks: run.sealed });
    out.push({ type: "response.output_item.done", output_index: run.outputIndex, item: run.item });
  }

  /** Blocks of a run the upstream never stopped (a JSON answer, a lost `content_block_stop`). */
  private stopRun(run: Run, out: ResponsesEvent[]): void {
    for (const [index, block] of this.blocks) if (!block.stopped && block.item === run.item) this.stopBlock(index, out);
  }

  private textDelta(block: Block, delta: string, out: ResponsesEvent[]): void {
    block.text += delta;
    out.push({
      type: "response.output_text.delta",
      item_id: block.item.id,
      output_index: block.outputIndex,
      content_index: block.part,
      delta,
    });
  }

  private thinkingDelta(block: Block, delta: string, out: ResponsesEvent[]): void {
    block.text += delta;
    out.push({
      type: "response.reasoning_text.delta",
      item_id: block.item.id,
      output_index: block.outputIndex,
      content_index: block.part,
      delta,
    });
  }

  // ===== Tool calls =====

  private startTool(index: number, raw: JsonObject, out: ResponsesEvent[]): void {
    this.closeText(out);
    this.closeThinking(out);
    const name = typeof raw.name === "string" ? raw.name : "";
    const callId = typeof raw.id === "string" ? raw.id : "";
    const custom = this.context.customTools?.has(name) === true;
    const item: JsonObject = custom
      ? { type: "custom_tool_call", id: this.itemId("ctc"), call_id: callId, name, input: "", status: "in_progress" }
      : {
        type: "function_call",
        id: this.itemId("fc"),
        call_id: callId,
        name,
        arguments: "",
        status: "in_progress",
      };
    const outputIndex = this.addItem(item, out);
    this.blocks.set(index, {
      kind: TOOL,
      item,
      outputIndex,
      part: 0,
      text: "",
      signature: "",
      input: raw.input,
      reader: custom ? new CustomInputReader() : undefined,
      stopped: false,
    });
  }

  private toolDelta(block: Block, fragment: string, out: ResponsesEvent[]): void {
    block.text += fragment;
    if (block.reader === undefined) {
      out.push({
        type: "response.function_call_arguments.delta",
        item_id: block.item.id,
        output_index: block.outputIndex,
        delta: fragment,
      });
      return;
    }
    const text = block.reader.push(fragment);
    if (text !== "") {
      out.push({
        type: "response.custom_tool_call_input.delta",
        item_id: block.item.id,
        output_index: block.outputIndex,
        delta: text,
      });
    }
  }

  private stopTool(block: Block, out: ResponsesEvent[]): void {
    const item = block.item;
    const startInput = isObject(block.input) && Object.keys(block.input).length > 0 ? block.input : undefined;
    if (block.reader !== undefined) {
      const reader = block.reader;
      let input = reader.finish();
      // A JSON answer (or a proxy) gives the input whole in the block's start.
      if (block.text === "" && startInput !== undefined) {
        input = typeof startInput.input === "string" ? startInput.input : JSON.stringify(startInput);
      }
      if (input.length > reader.emitted.length && input.startsWith(reader.emitted)) {
        out.push({
          type: "response.custom_tool_call_input.delta",
          item_id: item.id,
          output_index: block.outputIndex,
          delta: input.slice(reader.emitted.length),
        });
      }
      item.input = input;
      item.status = "completed";
      out.push({
        type: "response.custom_tool_call_input.done",
        item_id: item.id,
        output_index: block.outputIndex,
        input,
      });
    } else {
      let args = block.text;
      if (args === "" && startInput !== undefined) {
        args = JSON.stringify(startInput);
        out.push({
          type: "response.function_call_arguments.delta",
          item_id: item.id,
          output_index: block.outputIndex,
          delta: args,
        });
      }
      // A call without arguments carries `{}`, never "" (strict clients parse it).
      if (args === "") args = "{}";
      item.arguments = args;
      item.status = "completed";
      out.push({
        type: "response.function_call_arguments.done",
        item_id: item.id,
        output_index: block.outputIndex,
        arguments: args,
      });
    }
    out.push({ type: "response.output_item.done", output_index: block.outputIndex, item });
  }

  // ===== Usage =====

  private usage(raw: unknown): void {
    if (!isObject(raw)) return;
    this.inputTokens = count(raw.input_tokens) ?? this.inputTokens;
    this.cacheRead = count(raw.cache_read_input_tokens) ?? this.cacheRead;
    this.cacheWrite = count(raw.cache_creation_input_tokens) ?? this.cacheWrite;
    this.outputTokens = count(raw.output_tokens) ?? this.outputTokens;
    const details = raw.output_tokens_details;
    if (isObject(details)) this.thinkingTokens = count(details.thinking_tokens) ?? this.thinkingTokens;
  }
}

/** A whole (non-streamed) Messages answer as a Responses response, or the failure it reports. */
export const messageResponse = (json: unknown, context: AnthropicAnswerContext): ResponsesResponse | FailureReason => {
  if (isObject(json) && json.type === "error") return errorObjectFailure(json.error, context, false);
  if (!isObject(json) || !Array.isArray(json.content)) {
    return malformedAnswer({
      provider: context.provider,
      outcome: "200",
      detail: "sent an answer that is not a Messages message",
    });
  }
  const answer = new AnthropicAnswer(context);
  const events: ResponsesEvent[] = [];
  answer.start(json, events);
  for (let i = 0; i < json.content.length; i++) {
    answer.startBlock(i, json.content[i], events);
    answer.stopBlock(i, events);
  }
  answer.messageDelta({ delta: { stop_reason: json.stop_reason ?? null }, usage: json.usage });
  answer.finish(events);
  return answer.response!;
};
