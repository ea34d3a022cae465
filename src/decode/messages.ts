/**
 * One message, in any of the shapes clients send (a Responses message item
 * with or without `type:"message"`, a chat message, a message holding
 * Anthropic tool blocks), as Responses items in the history.
 *
 * Cursor's quirks handled here:
 * - an assistant `content: null` next to tool calls is never forwarded as
 *   null (OpenAI answers `Invalid type for 'input[1].content' … got null`,
 *   LiteLLM#34029): the message is dropped when it only carried tool calls
 *   (so is one whose content is `""`), otherwise its content becomes `""`;
 * - `tool_use`/`tool_result` blocks leave the message and become call and
 *   output items, in the order they were written: the text before a
 *   `tool_use` stays a message placed before the call, and the text after
 *   a user's `tool_result` blocks (Anthropic puts them first) follows the
 *   outputs, so the model reads call, result, then the user's new words;
 * - an assistant turn's reasoning comes back as `reasoning_details` beside
 *   its content, or as Anthropic `thinking`/`redacted_thinking` blocks in it
 *   (reasoning.ts): reasoning items placed before what they preceded, the
 *   details before the whole turn, a run of blocks where it was written.
 */
import type { JsonObject } from "../protocol/responses.ts";
import { contentPart, toolOutputValue } from "./content_parts.ts";
import type { History } from "./history.ts";
import { at, isObject, type Path, type Problems } from "./problems.ts";
import {
  addReasoningDetails,
  addThinkingRun,
  isThinkingBlock,
  type ThinkingBlock,
  thinkingBlock,
} from "./reasoning.ts";
import { addChatToolCall, addToolResultBlock, addToolUseBlock, argumentsText } from "./tool_calls.ts";

const ROLES = new Set(["user", "assistant", "system", "developer"]);

const isToolBlock = (part: unknown): part is Record<string, unknown> =>
  isObject(part) && (part.type === "tool_use" || part.type === "tool_result");

const messageItem = (role: string, content: string | JsonObject[], phase: unknown): JsonObject => {
  const item: JsonObject = { type: "message", role, content };
  // gpt-5 marks assistant turns as commentary or final answer; the API uses it when they are replayed.
  if (typeof phase === "string") item.phase = phase;
  return item;
};

/** Adds the message at `path` (`input[3]`, `messages[0]`) to the history. */
export const addMessage = (
  message: Record<string, unknown>,
  path: Path,
  history: History,
  problems: Problems,
): void => {
  const role = message.role;
  if (role === "tool") return addChatToolResult(message, path, history, problems);
  if (role === "function") return addLegacyFunctionResult(message, path, history, problems);
  if (typeof role !== "string" || !ROLES.has(role)) {
    return problems.add(at(path, "role"), "expected one of user, assistant, system, developer, tool", "invalid_value");
  }
  const assistant = role === "assistant";
  if (assistant) addReasoningDetails(message.reasoning_details, history);

  let content: string | JsonObject[] | undefined;
  let sawToolBlocks = false;
  /** Whether some of the content became other items (calls, outputs, reasoning): an empty rest is then no message. */
  let split = false;
  const raw = message.content;
  if (typeof raw === "string") content = assistant ? history.assistantText(raw) : raw;
  else if (Array.isArray(raw)) {
    let parts: JsonObject[] = [];
    let thinking: ThinkingBlock[] = [];
    const contentPath = at(path, "content");
    const textType = assistant ? "output_text" : "input_text";
    for (let i = 0; i < raw.length; i++) {
      const part = raw[i];
      if (isThinkingBlock(part)) {
        const block = assistant ? thinkingBlock(part) : undefined;
        if (block === undefined) continue;
        // Like a tool block, a run of thinking sits between the parts written before and after it.
        if (thinking.length === 0 && parts.length > 0) {
          history.push(messageItem(role, parts, message.phase));
          parts = [];
        }
        split = true;
        thinking.push(block);
        continue;
      }
      if (thinking.length > 0) {
        addThinkingRun(thinking, history);
        thinking = [];
      }
      if (isToolBlock(part)) {
        // The parts written before this block are a message of their own, placed before it.
        if (parts.length > 0) history.push(messageItem(role, parts, message.phase));
        parts = [];
        sawToolBlocks = true;
        split = true;
        if (part.type === "tool_use") addToolUseBlock(part, at(contentPath, i), history, problems);
        else addToolResultBlock(part, at(contentPath, i), history, problems);
      } else {
        const converted = contentPart(part, textType, at(contentPath, i), problems);
        if (converted !== undefined && assistant && converted.type === "output_text") {
          const text = converted.text as string;
          const cleaned = history.assistantText(text);
          // A part that held only what the gateway wrote for Cursor goes with it.
          if (cleaned === "" && text !== "") continue;
          converted.text = cleaned;
        }
        if (converted !== undefined) parts.push(converted);
      }
    }
    // Thinking last in the content waits, as all reasoning does, for the item that follows (the turn's tool calls).
    addThinkingRun(thinking, history);
    content = parts.length === 0 && split ? undefined : parts;
  } else if (raw !== null && raw !== undefined) {
    problems.expected(at(path, "content"), "a string or an array of content parts");
  }

  // Chat assistants carry a refusal and their tool calls beside the content.
  const refusal = assistant ? message.refusal : undefined;
  if (typeof refusal === "string" && refusal !== "") {
    const refusalPart = { type: "refusal", refusal };
    content = content === undefined || content === ""
      ? [refusalPart]
      : typeof content === "string"
      ? [{ type: "output_text", text: content }, refusalPart]
      : [...content, refusalPart];
  }
  const toolCalls = assistant ? message.tool_calls : undefined;
  if (toolCalls !== undefined && toolCalls !== null && !Array.isArray(toolCalls)) {
    problems.expected(at(path, "tool_calls"), "an array");
  }
  // Chat's legacy single call, `function_call: {name, arguments}`, converted like a tool call.
  const legacy = assistant && isObject(message.function_call) && typeof message.function_call.name === "string"
    ? message.function_call
    : undefined;
  const hasCalls = (Array.isArray(toolCalls) && toolCalls.length > 0) || legacy !== undefined;
  if ((hasCalls || sawToolBlocks) && content === "") content = undefined; // `""` beside tool calls says as little as null
  else if (content === undefined && !hasCalls && !sawToolBlocks && (raw === null || raw === undefined)) content = "";

  if (content !== undefined) history.push(messageItem(role, content, message.phase));
  if (Array.isArray(toolCalls)) {
    const callsPath = at(path, "tool_calls");
    for (let i = 0; i < toolCalls.length; i++) {
      addChatToolCall(toolCalls[i], at(callsPath, i), history, problems);
    }
  }
  if (legacy !== undefined) history.legacyCall(legacy.name as string, argumentsText(legacy.arguments));
};

/** Chat's legacy `{role:"function", name, content}` message: the output of the last call of that name. */
const addLegacyFunctionResult = (
  message: Record<string, unknown>,
  path: Path,
  history: History,
  problems: Problems,
) => {
  const output = toolOutputValue(message.content, at(path, "content"), problems);
  if (typeof message.name !== "string" || message.name === "") {
    return problems.expected(at(path, "name"), "a non-empty string");
  }
  history.legacyOutput(message.name, output);
};

/** A chat `{role:"tool", tool_call_id, content}` message: the output of an earlier call. */
const addChatToolResult = (message: Record<string, unknown>, path: Path, history: History, problems: Problems) => {
  const id = message.tool_call_id;
  const output = toolOutputValue(message.content, at(path, "content"), problems);
  if (typeof id !== "string" || id === "") return problems.expected(at(path, "tool_call_id"), "a non-empty string");
  history.toolOutput(id, output, "function");
};
