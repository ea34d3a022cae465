/**
 * The canonical Responses `input` list, built in one pass over the client's
 * turns. It keeps the two cross-item rules in one place:
 *
 * - a tool call and its output must agree on their kind: a `function_call`
 *   naming a `custom` tool of the request (how Cursor replays `ApplyPatch`,
 *   with the raw patch in `arguments`) is sent as a `custom_tool_call`, and
 *   every output for that call as a `custom_tool_call_output`;
 * - a `reasoning` item is forwarded only with the item that followed it: the
 *   API rejects `Item 'rs_…' of type 'reasoning' was provided without its
 *   required following item` (protocol.md §1.2), and one without
 *   `encrypted_content` cannot be used by a stateless request at all. It is
 *   forwarded as `{type, summary, encrypted_content}` only, as OpenAI's Codex
 *   client replays it: with its `rs_…` id the API looks the item up and
 *   answers 404 when it was not stored (`store: false`, Cursor's default, or
 *   another upstream made it), and its raw `reasoning_text` content is the
 *   model's to write, not the client's to send (issue 14, point 3);
 * - every call has exactly one output, and every output a call: an output
 *   whose call is not earlier in the list is dropped (unless the request
 *   continues stored state: `previous_response_id`, `conversation`, an item
 *   reference), a second output for one call too, and a call still without
 *   output when the next user or assistant turn starts (or the list ends) gets
 *   the other list's result or a short placeholder, once. Cursor sessions
 *   carry such broken pairs (a cancelled tool run, an edited turn) and the
 *   upstream answers 400 to them on this and every later turn (issue 14,
 *   point 2); the anthropic adapter repairs its own turns the same way.
 */
import type { JsonObject } from "../protocol/responses.ts";
import { MISSING_RESULT } from "../upstream/adapters/anthropic/messages.ts";
import { cleanAssistantText } from "../protocol/cursor_content.ts";

export type CallKind = "function" | "custom";

export type ToolOutput = string | JsonObject[];

export interface HistoryOptions {
  /**
   * The request continues state the upstream keeps (`previous_response_id`, `conversation`): an
   * output may answer a call this list does not hold, so none is dropped as an orphan.
   */
  readonly stateful?: boolean;
  /**
   * Tool results of the other list a body carries (chat `messages` beside the `input` used), by
   * call id, only non-empty ones: an output missing or empty in this list is taken from there.
   */
  readonly otherResults?: ReadonlyMap<string, ToolOutput>;
  /**
   * Cursor requests: assistant text holds what the gateway wrote into Cursor's content
   * (`protocol/cursor_content.ts`): carried reasoning comments become reasoning items again, and
   * with `stripThink` the mirrored `<think>` blocks go.
   */
  readonly cursorText?: { readonly stripThink: boolean };
}

/** Whether a tool output says nothing: `""`, blanks, or parts without content. */
export const isEmptyOutput = (output: ToolOutput): boolean =>
  typeof output === "string"
    ? output.trim() === ""
    : output.every((part) => part.type === "input_text" && (typeof part.text !== "string" || part.text.trim() === ""));

export class History {
  readonly items: JsonObject[] = [];
  /** Reasoning items waiting for the item that follows them. */
  private pendingReasoning: JsonObject[] | undefined;
  /** The kind of every call seen so far, by `call_id`, so its output gets the matching type. */
  private readonly callKinds = new Map<string, CallKind>();
  /** Calls still waiting for their output, in call order. */
  private readonly unanswered = new Map<string, CallKind>();
  /** Calls that have their one output (their own, or a placeholder). */
  private readonly answered = new Set<string>();
  /** Calls answered with a placeholder (or the other list's result) rather than an output of this list. */
  private readonly filled = new Set<string>();
  private stateful: boolean;
  /** Legacy calls made so far (their ids), and those waiting for a `function` message, by name. */
  private legacyCalls = 0;
  private readonly legacyPending = new Map<string, string[]>();

  constructor(readonly customTools: ReadonlySet<string>, private readonly options: HistoryOptions = {}) {
    this.stateful = options.stateful === true;
  }

  /** Adds any item other than reasoning; it is the follower pending reasoning items were waiting for. */
  push(item: JsonObject): void {
    if (this.unanswered.size > 0 && item.type === "message" && (item.role === "user" || item.role === "assistant")) {
      // A new turn: the calls before it will get no output of their own.
      this.answerPending();
    }
    if (item.type === "item_reference" || (item.type === undefined && item.role === undefined)) {
      // A stored item stands in the list: outputs may answer calls only the upstream has.
      this.stateful = true;
    }
    if (this.pendingReasoning !== undefined) {
      for (const reasoning of this.pendingReasoning) this.items.push(reasoning);
      this.pendingReasoning = undefined;
    }
    this.items.push(item);
  }

  /** An assistant turn's text without what the gateway wrote for Cursor (its carried reasoning is restored). */
  assistantText(text: string): string {
    const cursor = this.options.cursorText;
    if (cursor === undefined) return text;
    return cleanAssistantText(text, {
      stripThink: cursor.stripThink,
      onReasoning: (data) => this.reasoning({ type: "reasoning", summary: [], encrypted_content: data }),
    });
  }

  /** Keeps a reasoning item that carries `encrypted_content`, if another item follows it. */
  reasoning(item: JsonObject): void {
    const encrypted = item.encrypted_content;
    if (typeof encrypted !== "string" || encrypted === "") return;
    // The API requires `summary`, if only empty.
    const summary = Array.isArray(item.summary) ? item.summary : [];
    (this.pendingReasoning ??= []).push({ type: "reasoning", summary, encrypted_content: encrypted });
  }

  /** A call from the history: `custom_tool_call` when `name` is a custom tool of the request. */
  functionCall(callId: string, name: string, args: string): void {
    if (this.customTools.has(name)) return this.customCall(callId, name, args);
    this.call(callId, "function");
    this.push({ type: "function_call", call_id: callId, name, arguments: args });
  }

  /**
   * A call in chat's legacy spelling (an assistant's `function_call`), which has no id: it gets one,
   * and the next `role:"function"` message of its name answers it (`legacyOutput`).
   */
  legacyCall(name: string, args: string): void {
    const callId = `call_legacy_${this.legacyCalls++}`;
    let pending = this.legacyPending.get(name);
    if (pending === undefined) this.legacyPending.set(name, pending = []);
    pending.push(callId);
    this.functionCall(callId, name, args);
  }

  /** A legacy `role:"function"` message: the output of the earliest unanswered legacy call of its name. */
  legacyOutput(name: string, output: ToolOutput): void {
    const callId = this.legacyPending.get(name)?.shift();
    // No call of that name is waiting: an orphan, dropped as any other.
    if (callId !== undefined) this.toolOutput(callId, output, "function");
  }

  customCall(callId: string, name: string, input: string): void {
    this.call(callId, "custom");
    this.push({ type: "custom_tool_call", call_id: callId, name, input });
  }

  private call(callId: string, kind: CallKind): void {
    this.callKinds.set(callId, kind);
    if (!this.answered.has(callId)) this.unanswered.set(callId, kind);
  }

  /**
   * A tool's result, typed after its call when the call is in the history, else as the client
   * typed it. Dropped when no earlier call made it (an orphan: the upstream answers 400 to it on
   * this and every later turn) and when its call already has its output.
   */
  toolOutput(callId: string, output: ToolOutput, declared: CallKind): void {
    const known = this.callKinds.get(callId);
    if ((known === undefined && !this.stateful) || this.answered.has(callId)) return;
    const other = this.options.otherResults?.get(callId);
    this.answer(callId, known ?? declared, other !== undefined && isEmptyOutput(output) ? other : output);
  }

  private answer(callId: string, kind: CallKind, output: ToolOutput): void {
    this.unanswered.delete(callId);
    this.answered.add(callId);
    this.push({
      type: kind === "custom" ? "custom_tool_call_output" : "function_call_output",
      call_id: callId,
      output,
    });
  }

  /**
   * Every call still waiting gets an output, once: the other list's, else a short placeholder
   * (the anthropic adapter's, which repairs its own turns the same way). Written before the
   * reasoning that waits for the next turn, which belongs to that turn.
   */
  private answerPending(): void {
    const pending = [...this.unanswered];
    this.unanswered.clear();
    for (const [callId, kind] of pending) {
      this.answered.add(callId);
      this.filled.add(callId);
      this.items.push({
        type: kind === "custom" ? "custom_tool_call_output" : "function_call_output",
        call_id: callId,
        output: this.options.otherResults?.get(callId) ?? MISSING_RESULT,
      });
    }
  }

  /** The finished list: calls left without output answered, reasoning left without a follower dropped. */
  finish(): JsonObject[] {
    if (this.unanswered.size > 0) this.answerPending();
    this.pendingReasoning = undefined;
    return this.items;
  }

  /** Outputs of this list that say something, by call id (for the other list's `HistoryOptions.otherResults`). */
  results(): Map<string, ToolOutput> {
    const results = new Map<string, ToolOutput>();
    for (const item of this.items) {
      const output = item.output as ToolOutput | undefined;
      if (
        (item.type === "function_call_output" || item.type === "custom_tool_call_output") &&
        typeof item.call_id === "string" && !this.filled.has(item.call_id) && output !== undefined &&
        !isEmptyOutput(output)
      ) results.set(item.call_id, output);
    }
    return results;
  }
}
