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
 *   model's to write, not the client's to send (issue 14, point 3).
 */
import type { JsonObject } from "../protocol/responses.ts";

export type CallKind = "function" | "custom";

export class History {
  readonly items: JsonObject[] = [];
  /** Reasoning items waiting for the item that follows them. */
  private pendingReasoning: JsonObject[] | undefined;
  /** The kind of every call seen so far, by `call_id`, so its output gets the matching type. */
  private readonly callKinds = new Map<string, CallKind>();

  constructor(readonly customTools: ReadonlySet<string>) {}

  /** Adds any item other than reasoning; it is the follower pending reasoning items were waiting for. */
  push(item: JsonObject): void {
    if (this.pendingReasoning !== undefined) {
      for (const reasoning of this.pendingReasoning) this.items.push(reasoning);
      this.pendingReasoning = undefined;
    }
    this.items.push(item);
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
    this.callKinds.set(callId, "function");
    this.push({ type: "function_call", call_id: callId, name, arguments: args });
  }

  customCall(callId: string, name: string, input: string): void {
    this.callKinds.set(callId, "custom");
    this.push({ type: "custom_tool_call", call_id: callId, name, input });
  }

  /** A tool's result, typed after its call when the call is in the history, else as the client typed it. */
  toolOutput(callId: string, output: string | JsonObject[], declared: CallKind): void {
    const kind = this.callKinds.get(callId) ?? declared;
    this.push({
      type: kind === "custom" ? "custom_tool_call_output" : "function_call_output",
      call_id: callId,
      output,
    });
  }

  /** The finished list; reasoning items left without a follower are dropped. */
  finish(): JsonObject[] {
    this.pendingReasoning = undefined;
    return this.items;
  }
}
