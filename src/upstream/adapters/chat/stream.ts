/**
 * A Chat Completions answer as canonical Responses events: one translator per streamed answer,
 * also driven once by `response()` for a JSON answer (the whole `message` as one delta), so both
 * read every provider variant the same way.
 *
 * Per chunk (choice index 0 only; n>1 answers' other choices are ignored):
 * - an in-band error (`{"error":{...}}` as a data chunk, before or after output, sometimes with
 *   choices and `finish_reason:"error"`: OpenRouter, Groq; vLLM's `{"object":"error"}`) ends the
 *   stream with `failureEvent` (providers.md §3.1, §3.2 [OR-str]);
 * - reasoning: `reasoning_details` entries with text (OpenRouter: `reasoning.text`,
 *   `reasoning.summary`), else `reasoning_content` (DeepSeek, Qwen, vLLM, llama.cpp, xAI, Z.ai),
 *   else `reasoning` (gpt-oss on Groq/Cerebras, OpenRouter, Ollama). OpenRouter sends the same
 *   text in `reasoning` and `reasoning_details`, so only one is read. Mistral's Magistral sends
 *   `content` as parts: `{type:"thinking", thinking:[{type:"text",text}]}` and `{type:"text",text}`;
 * - text and refusal deltas; a switch between reasoning and text closes the open item;
 * - tool calls grouped by `index`, or by `id` where a provider leaves the index out (Gemini's
 *   endpoint, old Ollama), or onto the last call when a fragment has neither; a call is opened
 *   once named (SGLang can send arguments first: they are held); whole calls in one chunk
 *   (Groq, Mistral, Ollama, xAI) are one delta; calls stay open until the answer ends;
 * - usage from whichever chunk carries it, the last one winning (`usage`, `x_groq.usage`,
 *   llama.cpp `timings`).
 *
 * The end: a `finish_reason` is remembered, and the terminal event waits for the usage, which
 * often comes in a later chunk (`choices: []` for OpenAI/xAI, a chunk with an empty delta for
 * OpenRouter): it is emitted at the first chunk carrying usage once the finish was seen, at
 * `data: [DONE]` (which also ends an answer that never sent a finish: Z.ai sends none until its
 * last chunk), or at `end()` when a finish was seen.
 */
import { unwrapCustomInput } from "../../../protocol/custom_tools.ts";
import { unavailable } from "../../../errors/reasons.ts";
import type { JsonObject, ResponsesEvent } from "../../../protocol/responses.ts";
import { MalformedEventError, parseEventData } from "../../sse_events.ts";
import { CustomInputReader } from "../custom_input.ts";
import { type HoleSpec, JsonTemplate } from "../json_template.ts";
import { sealReasoning } from "../reasoning_envelope.ts";
import { failureEvent, type SseMessage, type StreamTranslator } from "../types.ts";
import { inBandReason } from "./failure.ts";
import {
  type CanonicalUsage,
  type ChatAnswerContext,
  type ChatReasoningPayload,
  COMPLETED,
  type Finish,
  finishOf,
  firstChoice,
  inBandError,
  isObj,
  type Obj,
  text,
  usageOf,
} from "./wire.ts";

interface OpenMessage {
  readonly id: string;
  readonly outputIndex: number;
  text: string;
  refusal: string;
}

interface OpenReasoning {
  readonly id: string;
  readonly outputIndex: number;
  text: string;
  summary: string;
  /** OpenRouter `reasoning_details` merged by their `index`, kept for the envelope. */
  details: Map<number, Obj> | undefined;
  /** Whether a detail holds what only the provider can use (a signature, encrypted data). */
  sealed: boolean;
  /** Whether the text came in `reasoning_content` (sealed for `replayReasoningContent`). */
  fromContent: boolean;
}

interface ToolCall {
  callId: string;
  name: string;
  args: string;
  itemId: string;
  /** -1 until the call is opened (named). */
  outputIndex: number;
  custom: boolean;
  /** A custom tool's call: decodes the raw input out of `{"input": "..."}` as the fragments arrive. */
  reader: CustomInputReader | undefined;
}

/**
 * Where a chunk says something the one before did not, in a run of deltas (json_template.ts): the text,
 * reasoning or tool-call arguments of the first choice's delta, OpenAI's random `obfuscation` padding and
 * usage counts. The rest of a chunk (`id`, `object`, `created`, `model`, `system_fingerprint`, the choice's
 * frame) repeats, and is read from the last chunk `JSON.parse` read.
 */
export const CHAT_HOLES: ReadonlyArray<HoleSpec> = [
  { path: ["choices", 0, "delta", "content"], kind: "string" },
  { path: ["choices", 0, "delta", "reasoning_content"], kind: "string" },
  { path: ["choices", 0, "delta", "reasoning"], kind: "string" },
  { path: ["choices", 0, "delta", "reasoning_details", 0, "text"], kind: "string" },
  { path: ["choices", 0, "delta", "tool_calls", 0, "function", "arguments"], kind: "string" },
  { path: ["obfuscation"], kind: "string" },
  { path: ["usage", "*"], kind: "number" },
];

/**
 * Chunks a stream learns a template from: every chunk that misses the last one, up to this many (the role
 * chunk, the first text, the first call's opening and its first arguments are four); a stream whose chunks
 * keep changing shape stops paying for the walk.
 */
const MAX_TEMPLATES = 8;

export class ChatStreamTranslator implements StreamTranslator {
  /** True once a terminal or failure event was emitted: later chunks are ignored. */
  finished = false;

  private started = false;
  private responseId = "";
  private createdAt = 0;
  private model: string;
  private finish: Finish | undefined;
  private usage: CanonicalUsage | undefined;
  /** Finished output items, by output index. */
  private readonly items: JsonObject[] = [];
  private nextOutput = 0;
  /** Counter for item and call ids: deterministic per answer. */
  private seq = 0;
  private message: OpenMessage | undefined;
  private reasoning: OpenReasoning | undefined;
  private readonly calls: ToolCall[] = [];
  /** Calls by `#index` and `@id`. */
  private readonly callsByKey = new Map<string, ToolCall>();
  private lastCall: ToolCall | undefined;
  /** What the last chunk `JSON.parse` read repeats on the next ones, and how many chunks it was learnt from. */
  private template: JsonTemplate | undefined;
  private templates = 0;

  constructor(private readonly context: ChatAnswerContext) {
    this.model = context.model;
  }

  push(message: SseMessage, out: ResponsesEvent[]): void {
    if (this.finished) return;
    const data = message.data;
    if (data === "[DONE]" || (data.length < 16 && data.trim() === "[DONE]")) return this.complete(out);
    let json: unknown = this.template?.read(data);
    const parsed = json === undefined;
    if (parsed) {
      json = parseEventData(data);
      if (!isObj(json)) throw new MalformedEventError(data);
    }
    this.chunk(json as Obj, out);
    // The next chunks most likely repeat this one's frame (json_template.ts); a finished answer has none to come.
    if (parsed && !this.finished && this.finish === undefined && this.templates < MAX_TEMPLATES) {
      this.templates++;
      this.template = JsonTemplate.learn(data, json, CHAT_HOLES);
    }
  }

  end(out: ResponsesEvent[]): void {
    if (!this.finished && this.finish !== undefined) this.complete(out);
  }

  /** One parsed chunk (or, for `response()`, the whole answer shaped as one). */
  chunk(json: Obj, out: ResponsesEvent[]): void {
    if (this.finished) return;
    const error = inBandError(json);
    if (error !== undefined) {
      this.finished = true;
      out.push(failureEvent(inBandReason(error, this.context.provider, this.context.keyOrigin, true)));
      return;
    }
    if (!this.started) this.start(json, out);
    const choice = firstChoice(json.choices);
    if (choice !== undefined) {
      const delta = isObj(choice.delta) ? choice.delta : isObj(choice.message) ? choice.message : undefined;
      if (delta !== undefined) this.delta(delta, out);
      const reason = choice.finish_reason;
      if (typeof reason === "string" && reason !== "") {
        const finish = finishOf(reason);
        if (finish.kind === "failed") {
          this.finished = true;
          out.push(failureEvent(unavailable({
            provider: this.context.provider,
            outcome: "stream_error",
            message: finish.message,
            code: reason,
          })));
          return;
        }
        this.finish = finish;
      }
    }
    const usage = usageOf(json);
    if (usage !== undefined) {
      this.usage = usage;
      if (this.finish !== undefined) this.complete(out);
    }
  }

  /** `data: [DONE]`, `end()` after a finish, or the end of a JSON answer: closes every item and emits the terminal event. */
  complete(out: ResponsesEvent[]): void {
    if (this.finished) return;
    if (!this.started) this.start(undefined, out);
    this.closeReasoning(out);
    this.closeMessage(out);
    this.closeCalls(out);
    this.finished = true;
    const finish = this.finish ?? COMPLETED;
    const response: JsonObject = {
      id: this.responseId,
      object: "response",
      created_at: this.createdAt,
      model: this.model,
      status: finish.kind === "incomplete" ? "incomplete" : "completed",
    };
    if (finish.kind === "incomplete") response.incomplete_details = { reason: finish.reason };
    response.output = this.items;
    if (this.usage !== undefined) response.usage = this.usage;
    out.push({ type: finish.kind === "incomplete" ? "response.incomplete" : "response.completed", response });
  }

  private start(json: Obj | undefined, out: ResponsesEvent[]): void {
    this.started = true;
    this.responseId = text(json?.id) ?? "chatcmpl";
    this.createdAt = typeof json?.created === "number" ? json.created : Math.floor(this.context.now / 1000);
    this.model = text(json?.model) ?? this.context.model;
    out.push({
      type: "response.created",
      response: {
        id: this.responseId,
        object: "response",
        created_at: this.createdAt,
        model: this.model,
        status: "in_progress",
        output: [],
      },
    });
  }

  // ===== Deltas =====

  private delta(delta: Obj, out: ResponsesEvent[]): void {
    const details = delta.reasoning_details;
    const readDetails = Array.isArray(details) && details.length > 0 && this.details(details, out);
    if (!readDetails) {
      const content = text(delta.reasoning_content);
      if (content !== undefined) {
        this.reasoningDelta(content, false, out);
        this.reasoning!.fromContent = true;
      } else {
        const reasoning = text(delta.reasoning);
        if (reasoning !== undefined) this.reasoningDelta(reasoning, false, out);
      }
    }
    const content = delta.content;
    if (typeof content === "string") {
      if (content !== "") this.textDelta(content, out);
    } else if (Array.isArray(content)) this.contentParts(content, out);
    const refusal = text(delta.refusal);
    if (refusal !== undefined) this.refusalDelta(refusal, out);
    const calls = delta.tool_calls;
    if (Array.isArray(calls)) {
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i];
        if (isObj(call)) this.toolDelta(call, out);
      }
    }
    // The legacy single `function_call` (answered with finish_reason "function_call").
    const legacy = delta.function_call;
    if (isObj(legacy)) this.toolDelta({ index: -1, function: legacy }, out);
  }

  /**
   * OpenRouter's `reasoning_details`: readable entries become reasoning deltas; every entry is
   * merged into the open reasoning item for the envelope. Returns whether any was readable
   * (then the `reasoning` string beside them repeats it).
   */
  private details(details: unknown[], out: ResponsesEvent[]): boolean {
    let readable = false;
    for (let i = 0; i < details.length; i++) {
      const entry = details[i];
      if (!isObj(entry)) continue;
      const summary = entry.type === "reasoning.summary";
      const piece = summary ? text(entry.summary) : entry.type === "reasoning.text" ? text(entry.text) : undefined;
      const secret = text(entry.signature) !== undefined || text(entry.data) !== undefined;
      if (piece !== undefined) {
        readable = true;
        this.reasoningDelta(piece, summary, out);
      } else if (!secret) continue;
      const item = this.reasoning ?? this.openReasoning(out);
      if (secret) item.sealed = true;
      mergeDetail(item.details ??= new Map(), entry, i);
    }
    return readable;
  }

  /** Mistral Magistral's content parts: thinking parts are reasoning, text parts are text. */
  private contentParts(parts: unknown[], out: ResponsesEvent[]): void {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (typeof part === "string") {
        if (part !== "") this.textDelta(part, out);
        continue;
      }
      if (!isObj(part)) continue;
      if (part.type === "text") {
        const piece = text(part.text);
        if (piece !== undefined) this.textDelta(piece, out);
      } else if (part.type === "thinking") {
        const thinking = part.thinking;
        if (typeof thinking === "string") {
          if (thinking !== "") this.reasoningDelta(thinking, false, out);
        } else if (Array.isArray(thinking)) {
          for (let j = 0; j < thinking.length; j++) {
            const inner = thinking[j];
            const piece = typeof inner === "string" ? text(inner) : isObj(inner) ? text(inner.text) : undefined;
            if (piece !== undefined) this.reasoningDelta(piece, false, out);
          }
        }
      }
    }
  }

  private reasoningDelta(delta: string, summary: boolean, out: ResponsesEvent[]): void {
    this.closeMessage(out);
    const item = this.reasoning ?? this.openReasoning(out);
    if (summary) {
      item.summary += delta;
      out.push({
        type: "response.reasoning_summary_text.delta",
        item_id: item.id,
        output_index: item.outputIndex,
        summary_index: 0,
        delta,
      });
    } else {
      item.text += delta;
      out.push({
        type: "response.reasoning_text.delta",
        item_id: item.id,
        output_index: item.outputIndex,
        content_index: 0,
        delta,
      });
    }
  }

  private textDelta(delta: string, out: ResponsesEvent[]): void {
    this.closeReasoning(out);
    const item = this.message ?? this.openMessage(out);
    item.text += delta;
    out.push({
      type: "response.output_text.delta",
      item_id: item.id,
      output_index: item.outputIndex,
      content_index: 0,
      delta,
    });
  }

  private refusalDelta(delta: string, out: ResponsesEvent[]): void {
    this.closeReasoning(out);
    const item = this.message ?? this.openMessage(out);
    item.refusal += delta;
    out.push({
      type: "response.refusal.delta",
      item_id: item.id,
      output_index: item.outputIndex,
      content_index: 0,
      delta,
    });
  }

  private toolDelta(entry: Obj, out: ResponsesEvent[]): void {
    const fn = isObj(entry.function) ? entry.function : undefined;
    const index = typeof entry.index === "number" ? entry.index : undefined;
    const id = text(entry.id);
    let call: ToolCall | undefined;
    if (index !== undefined) {
      call = this.callsByKey.get(`#${index}`);
      // A provider that numbers every call 0 still names each new one with its own id.
      if (call !== undefined && id !== undefined && call.callId !== "" && call.callId !== id) call = undefined;
    } else if (id !== undefined) call = this.callsByKey.get(`@${id}`);
    else call = this.lastCall;
    if (call === undefined) {
      call = { callId: id ?? "", name: "", args: "", itemId: "", outputIndex: -1, custom: false, reader: undefined };
      this.calls.push(call);
      if (index !== undefined) this.callsByKey.set(`#${index}`, call);
      if (id !== undefined) this.callsByKey.set(`@${id}`, call);
    } else if (id !== undefined && call.callId === "") {
      call.callId = id;
      this.callsByKey.set(`@${id}`, call);
    }
    this.lastCall = call;
    // Providers that repeat the name on every fragment repeat the same one.
    if (call.name === "") call.name = text(fn?.name) ?? "";
    const raw = fn?.arguments;
    // Some servers send the arguments as an object rather than JSON text.
    const args = typeof raw === "string" ? raw : isObj(raw) ? JSON.stringify(raw) : "";
    if (call.outputIndex < 0) {
      call.args += args;
      if (call.name === "") return; // held until named
      this.openCall(call, out);
      if (call.args !== "") this.argsDelta(call, call.args, out);
    } else if (args !== "") {
      call.args += args;
      this.argsDelta(call, args, out);
    }
  }

  /**
   * New argument text of an open call: a function call's as it is; a custom tool's decoded out of
   * its `{"input": "..."}` as it arrives, so the client sees the raw text stream as it would from
   * the Responses API (the rest, or another shape, comes when the call closes).
   */
  private argsDelta(call: ToolCall, delta: string, out: ResponsesEvent[]): void {
    if (call.custom) {
      const input = (call.reader ??= new CustomInputReader()).push(delta);
      if (input !== "") {
        out.push({
          type: "response.custom_tool_call_input.delta",
          item_id: call.itemId,
          output_index: call.outputIndex,
          delta: input,
        });
      }
      return;
    }
    out.push({
      type: "response.function_call_arguments.delta",
      item_id: call.itemId,
      output_index: call.outputIndex,
      delta,
    });
  }

  // ===== Items =====

  private openMessage(out: ResponsesEvent[]): OpenMessage {
    const item: OpenMessage = { id: `msg_${this.seq++}`, outputIndex: this.nextOutput++, text: "", refusal: "" };
    this.message = item;
    out.push({
      type: "response.output_item.added",
      output_index: item.outputIndex,
      item: { type: "message", id: item.id, role: "assistant", status: "in_progress", content: [] },
    });
    return item;
  }

  private closeMessage(out: ResponsesEvent[]): void {
    const open = this.message;
    if (open === undefined) return;
    this.message = undefined;
    const content: JsonObject[] = [];
    if (open.text !== "" || open.refusal === "") {
      content.push({ type: "output_text", text: open.text, annotations: [] });
    }
    if (open.refusal !== "") content.push({ type: "refusal", refusal: open.refusal });
    const item: JsonObject = { type: "message", id: open.id, role: "assistant", status: "completed", content };
    this.done(open.outputIndex, item, out);
  }

  private openReasoning(out: ResponsesEvent[]): OpenReasoning {
    this.closeMessage(out);
    const item: OpenReasoning = {
      id: `rs_${this.seq++}`,
      outputIndex: this.nextOutput++,
      text: "",
      summary: "",
      details: undefined,
      sealed: false,
      fromContent: false,
    };
    this.reasoning = item;
    out.push({
      type: "response.output_item.added",
      output_index: item.outputIndex,
      item: { type: "reasoning", id: item.id, summary: [] },
    });
    return item;
  }

  private closeReasoning(out: ResponsesEvent[]): void {
    const open = this.reasoning;
    if (open === undefined) return;
    this.reasoning = undefined;
    const item: JsonObject = {
      type: "reasoning",
      id: open.id,
      summary: open.summary === "" ? [] : [{ type: "summary_text", text: open.summary }],
      content: open.text === "" ? [] : [{ type: "reasoning_text", text: open.text }],
    };
    const details = open.sealed && open.details !== undefined;
    if (details || (open.fromContent && open.text !== "")) {
      const payload: ChatReasoningPayload = details
        ? { provider: this.context.provider, reasoning_details: [...open.details!.values()] }
        : { provider: this.context.provider, reasoning_content: open.text };
      item.encrypted_content = sealReasoning("chat", payload);
    }
    this.done(open.outputIndex, item, out);
  }

  private openCall(call: ToolCall, out: ResponsesEvent[]): void {
    this.closeReasoning(out);
    this.closeMessage(out);
    call.custom = this.context.customTools?.has(call.name) === true;
    const n = this.seq++;
    call.itemId = `${call.custom ? "ctc" : "fc"}_${n}`;
    // A provider that names no id gets one unique across the conversation's turns (the client echoes it back).
    if (call.callId === "") call.callId = `call_${this.context.now.toString(36)}${n}`;
    call.outputIndex = this.nextOutput++;
    out.push({
      type: "response.output_item.added",
      output_index: call.outputIndex,
      item: call.custom
        ? { type: "custom_tool_call", id: call.itemId, call_id: call.callId, name: call.name, input: "" }
        : {
          type: "function_call",
          id: call.itemId,
          call_id: call.callId,
          name: call.name,
          arguments: "",
          status: "in_progress",
        },
    });
  }

  /** Closes every call, in the order they were opened; a call never named is dropped (nothing could run it). */
  private closeCalls(out: ResponsesEvent[]): void {
    for (let i = 0; i < this.calls.length; i++) {
      const call = this.calls[i];
      if (call.outputIndex < 0) {
        if (call.name === "") continue;
        this.openCall(call, out);
        if (call.args !== "") this.argsDelta(call, call.args, out);
      }
      let item: JsonObject;
      if (call.custom) {
        // The model filled `{"input": ...}` (CUSTOM_TOOL_PARAMETERS); the client's tool wants the raw text.
        const streamed = call.reader?.emitted ?? "";
        const input = customInput(call.args, streamed);
        const rest = input.startsWith(streamed) ? input.slice(streamed.length) : "";
        if (rest !== "") {
          out.push({
            type: "response.custom_tool_call_input.delta",
            item_id: call.itemId,
            output_index: call.outputIndex,
            delta: rest,
          });
        }
        item = {
          type: "custom_tool_call",
          id: call.itemId,
          call_id: call.callId,
          name: call.name,
          input,
          status: "completed",
        };
      } else {
        item = {
          type: "function_call",
          id: call.itemId,
          call_id: call.callId,
          name: call.name,
          arguments: call.args.trim() === "" ? "{}" : call.args,
          status: "completed",
        };
      }
      this.done(call.outputIndex, item, out);
    }
    this.calls.length = 0;
  }

  private done(outputIndex: number, item: JsonObject, out: ResponsesEvent[]): void {
    this.items[outputIndex] = item;
    out.push({ type: "response.output_item.done", output_index: outputIndex, item });
  }
}

/**
 * A custom tool call's raw input: the `input` (or `patch`) of its whole JSON arguments; when the
 * arguments were cut short (`length`) inside `{"input": "...`, the text decoded so far (`streamed`),
 * as the Responses API would have streamed it; otherwise the arguments as they came.
 */
const customInput = (args: string, streamed: string): string => {
  const unwrapped = unwrapCustomInput(args);
  return unwrapped === args && streamed !== "" ? streamed : unwrapped;
};

/**
 * Merges one streamed `reasoning_details` entry into those kept, by its `index` (its position
 * when it has none): text, summary and data are appended, a non-empty signature replaces.
 */
const mergeDetail = (details: Map<number, Obj>, entry: Obj, position: number): void => {
  const index = typeof entry.index === "number" ? entry.index : position;
  const kept = details.get(index);
  if (kept === undefined) {
    details.set(index, { ...entry });
    return;
  }
  for (const key in entry) {
    const value = entry[key];
    if (key === "text" || key === "summary" || key === "data") {
      if (typeof value === "string" && value !== "") {
        kept[key] = (typeof kept[key] === "string" ? kept[key] : "") + value;
      }
    } else if (key === "signature") {
      if (typeof value === "string" && value !== "") kept.signature = value;
    } else if (kept[key] === undefined || kept[key] === null) kept[key] = value;
  }
};
