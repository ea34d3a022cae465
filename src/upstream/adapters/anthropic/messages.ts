/**
 * The canonical `instructions` and `input` items as the Messages API's top-level `system`
 * and its `messages`, under the API's ordering rules (providers.md §1.2-1.4):
 *
 * - `system` and `developer` messages, wherever they stand, join `instructions` as `system`
 *   text blocks (the API has no system turn);
 * - roles alternate strictly: consecutive turns of one role are merged;
 * - a `function_call` (or `custom_tool_call`, whose raw text goes as `{input: raw}`) is an
 *   assistant `tool_use`; its output is a `tool_result` in the user turn that directly
 *   follows, results FIRST and in call order, the user's own words after them. Otherwise:
 *   ``tool_use ids were found without tool_result blocks immediately after`` or
 *   ``unexpected tool_use_id found in tool_result blocks`` (both 400). Decode repairs the
 *   history for every API; this pass is robust on its own anyway: an orphan result is
 *   dropped and a call without a result gets a short placeholder result;
 * - Claude's thinking blocks come back from reasoning items sealed by this adapter
 *   (`gw1.anthropic.…`), whole and in order, first in their assistant turn; reasoning made by
 *   another API cannot be verified by Anthropic and is dropped (providers.md §4, pitfall 2).
 */
import { isJsonObject as isObject, type JsonObject } from "../../../protocol/responses.ts";
import { openReasoning } from "../reasoning_envelope.ts";
import { addContent, assistantBlock, type Block, textBlock, toolResultContent, userBlock } from "./content.ts";

export interface Message {
  readonly role: "user" | "assistant";
  content: Block[];
}

export interface Conversation {
  readonly system: Block[];
  readonly messages: Message[];
}

/** What a call without a recorded result is answered with (the API wants one result per call). */
export const MISSING_RESULT = "No output was recorded for this call.";

/** The schema of a custom (grammar) tool's arguments as a function: the raw text in `input`. */
export const CUSTOM_INPUT_SCHEMA: JsonObject = {
  type: "object",
  properties: { input: { type: "string" } },
  required: ["input"],
};

/** One turn while the history is read: thinking and tool results are kept apart, since each goes first. */
interface Turn {
  readonly role: "user" | "assistant";
  readonly thinking: Block[];
  readonly blocks: Block[];
  readonly results: Block[];
}

const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/** A `tool_use` id must match `^[a-zA-Z0-9_-]+$`; other APIs' call ids may not (the same id maps the same way). */
export const toolUseId = (callId: string): string =>
  TOOL_ID.test(callId) ? callId : callId === "" ? "call_" : callId.replace(/[^a-zA-Z0-9_-]/g, "_");

/**
 * A call's arguments as the object `input` must be: JSON text of an object is parsed; any
 * other JSON value, or text that is not JSON, is wrapped as `{input: …}`; nothing is `{}`.
 */
export const toolInput = (args: unknown): JsonObject => {
  if (isObject(args)) return args;
  if (typeof args !== "string") return args === undefined || args === null ? {} : { input: args };
  if (args.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return isObject(parsed) ? parsed : { input: parsed };
  } catch {
    return { input: args };
  }
};

/** Thinking blocks of a sealed reasoning item, checked so only well-formed blocks go back. */
const restoredThinking = (encrypted: unknown, into: Block[]): void => {
  const opened = openReasoning(encrypted);
  if (opened.api !== "anthropic" || !isObject(opened.payload)) return;
  const blocks = opened.payload.blocks;
  if (!Array.isArray(blocks)) return;
  for (const block of blocks) {
    if (!isObject(block)) continue;
    if (block.type === "thinking" && typeof block.thinking === "string" && typeof block.signature === "string") {
      into.push({ type: "thinking", thinking: block.thinking, signature: block.signature });
    } else if (block.type === "redacted_thinking" && typeof block.data === "string") {
      into.push({ type: "redacted_thinking", data: block.data });
    }
  }
};

class Builder {
  readonly system: Block[] = [];
  readonly turns: Turn[] = [];

  turn(role: "user" | "assistant"): Turn {
    const last = this.turns[this.turns.length - 1];
    if (last !== undefined && last.role === role) return last;
    const turn: Turn = { role, thinking: [], blocks: [], results: [] };
    this.turns.push(turn);
    return turn;
  }

  message(item: JsonObject): void {
    switch (item.role) {
      case "system":
      case "developer":
        addContent(item.content, systemBlock, this.system);
        break;
      case "user":
        addContent(item.content, userBlock, this.turn("user").blocks);
        break;
      case "assistant":
        addContent(item.content, assistantBlock, this.turn("assistant").blocks);
        break;
    }
  }

  call(callId: unknown, name: unknown, input: JsonObject): void {
    if (typeof callId !== "string" || typeof name !== "string") return;
    this.turn("assistant").blocks.push({ type: "tool_use", id: toolUseId(callId), name, input });
  }

  output(callId: unknown, output: unknown): void {
    if (typeof callId !== "string") return;
    const block: Block = { type: "tool_result", tool_use_id: toolUseId(callId) };
    const content = toolResultContent(output);
    if (content !== undefined) block.content = content;
    this.turn("user").results.push(block);
  }

  reasoning(item: JsonObject): void {
    const blocks: Block[] = [];
    restoredThinking(item.encrypted_content, blocks);
    if (blocks.length > 0) this.turn("assistant").thinking.push(...blocks);
  }
}

/** System text only: an image in a system message has no place in `system`. */
const systemBlock = (part: unknown): Block | undefined => {
  const block = userBlock(part);
  return block?.type === "text" ? block : undefined;
};

const placeholder = (id: string): Block => ({ type: "tool_result", tool_use_id: id, content: MISSING_RESULT });

/**
 * The turns as messages: every `tool_use` answered by the next user turn (results first, in
 * call order; missing ones answered with a placeholder, orphans dropped), thinking first in its
 * assistant turn, and empty turns left out (the API rejects a message without content).
 */
const repair = (turns: ReadonlyArray<Turn>): Message[] => {
  const out: Message[] = [];
  /** Ids of the last assistant message's calls that the next user turn must answer. */
  let pending: string[] = [];
  /** Thinking of the last assistant message in `out`, kept apart until it is finished. */
  let thinking: Block[] = [];
  let assistant: Block[] | undefined;
  const closeAssistant = () => {
    if (assistant !== undefined && thinking.length > 0) assistant.unshift(...thinking);
    assistant = undefined;
    thinking = [];
  };
  for (const turn of turns) {
    if (turn.role === "assistant") {
      // Thinking alone is no answer: `The final block in an assistant message cannot be thinking`.
      if (turn.blocks.length === 0) continue;
      if (pending.length > 0) {
        closeAssistant();
        out.push({ role: "user", content: pending.map(placeholder) });
        pending = [];
      }
      if (assistant === undefined) {
        assistant = [];
        out.push({ role: "assistant", content: assistant });
      }
      thinking.push(...turn.thinking);
      for (const block of turn.blocks) {
        assistant.push(block);
        if (block.type === "tool_use") pending.push(block.id as string);
      }
      continue;
    }
    const content: Block[] = [];
    if (pending.length > 0) {
      for (const id of pending) {
        let result: Block | undefined;
        for (const candidate of turn.results) {
          if (candidate.tool_use_id === id) {
            result = candidate;
            break;
          }
        }
        content.push(result ?? placeholder(id));
      }
    }
    for (const block of turn.blocks) content.push(block);
    if (content.length === 0) continue;
    closeAssistant();
    pending = [];
    const last = out[out.length - 1];
    if (last !== undefined && last.role === "user") last.content.push(...content);
    else out.push({ role: "user", content });
  }
  closeAssistant();
  if (pending.length > 0) out.push({ role: "user", content: pending.map(placeholder) });
  return out;
};

/** The conversation of a canonical request: `system` blocks and alternating `messages`. */
export const conversation = (instructions: unknown, input: unknown): Conversation => {
  const builder = new Builder();
  if (typeof instructions === "string" && instructions !== "") builder.system.push(textBlock(instructions));
  if (typeof input === "string") {
    if (input !== "") builder.turn("user").blocks.push(textBlock(input));
  } else if (Array.isArray(input)) {
    for (const item of input) {
      if (!isObject(item)) continue;
      switch (item.type) {
        case undefined:
        case "message":
          builder.message(item);
          break;
        case "function_call":
          builder.call(item.call_id, item.name, toolInput(item.arguments));
          break;
        case "custom_tool_call":
          builder.call(item.call_id, item.name, { input: typeof item.input === "string" ? item.input : "" });
          break;
        case "function_call_output":
        case "custom_tool_call_output":
          builder.output(item.call_id, item.output);
          break;
        case "reasoning":
          builder.reasoning(item);
          break;
          // item_reference and hosted-tool items (web_search_call, ...) name state another API keeps.
      }
    }
  }
  return { system: builder.system, messages: repair(builder.turns) };
};

/** Whether an assistant message opens with thinking, as a thinking request's last tool-use turn must. */
export const startsWithThinking = (message: Message): boolean => {
  const type = message.content[0]?.type;
  return type === "thinking" || type === "redacted_thinking";
};

export const hasToolUse = (message: Message): boolean => message.content.some((block) => block.type === "tool_use");

/** The last assistant message, if any. */
export const lastAssistant = (messages: ReadonlyArray<Message>): Message | undefined => {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "assistant") return messages[i];
  return undefined;
};

/**
 * A conversation ending on an assistant turn asks Claude to continue it (prefill). Its thinking
 * must go (`When thinking is disabled, an assistant message in the final position cannot
 * contain thinking`) and its text may not end in whitespace (`final assistant content cannot
 * end with trailing whitespace`); a turn left empty is dropped.
 */
export const tidyFinalAssistant = (messages: Message[]): void => {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== "assistant") return;
  last.content = last.content.filter((block) => block.type !== "thinking" && block.type !== "redacted_thinking");
  const tail = last.content[last.content.length - 1];
  if (tail !== undefined && tail.type === "text" && typeof tail.text === "string") {
    const trimmed = tail.text.trimEnd();
    if (trimmed === "") last.content.pop();
    else if (trimmed !== tail.text) last.content[last.content.length - 1] = { ...tail, text: trimmed };
  }
  if (last.content.length === 0) messages.pop();
};
