/**
 * Tool calls and tool results written inside messages, in the two foreign
 * spellings: chat `tool_calls` entries on an assistant message, and
 * Anthropic `tool_use`/`tool_result` content blocks (which Bifrost reports
 * Cursor sends for `claude-*` model names, results arriving as user
 * messages). Both become Responses call and output items in the history.
 */
import type { History } from "./history.ts";
import { toolOutputValue } from "./content_parts.ts";
import { at, isObject, type Path, type Problems } from "./problems.ts";

/** Arguments as the JSON text the API wants; some clients send the object itself. */
export const argumentsText = (value: unknown): string =>
  typeof value === "string" ? value : value === undefined || value === null ? "{}" : JSON.stringify(value);

const callId = (value: unknown, path: Path, problems: Problems): string | undefined => {
  if (typeof value === "string" && value !== "") return value;
  problems.expected(path, "a non-empty string");
  return undefined;
};

/** One entry of a chat assistant message's `tool_calls`: `{id, type:"function", function:{name, arguments}}`. */
export const addChatToolCall = (call: unknown, path: Path, history: History, problems: Problems): void => {
  if (!isObject(call)) return problems.expected(path, "an object");
  const id = callId(call.id, at(path, "id"), problems);
  // Chat's own spelling of a custom tool call: `{type:"custom", custom:{name, input}}`.
  if (call.type === "custom" && isObject(call.custom)) {
    const { name, input } = call.custom;
    if (typeof name !== "string") return problems.expected(at(path, "custom.name"), "a string");
    if (id !== undefined) history.customCall(id, name, typeof input === "string" ? input : argumentsText(input));
    return;
  }
  const fn = call.function;
  if (!isObject(fn)) return problems.expected(at(path, "function"), "an object");
  if (typeof fn.name !== "string") return problems.expected(at(path, "function.name"), "a string");
  if (id !== undefined) history.functionCall(id, fn.name, argumentsText(fn.arguments));
};

/**
 * Anthropic `{type:"tool_use", id, name, input}`; Bifrost also accepts the
 * OpenAI-ish `{type:"tool_use", tool_call_id, function:{name, arguments}}`.
 */
export const addToolUseBlock = (block: Record<string, unknown>, path: Path, history: History, problems: Problems) => {
  const fn = isObject(block.function) ? block.function : undefined;
  const id = callId(block.id ?? block.tool_call_id, at(path, "id"), problems);
  const name = block.name ?? fn?.name;
  if (typeof name !== "string") return problems.expected(at(path, "name"), "a string");
  if (id !== undefined) history.functionCall(id, name, argumentsText(block.input ?? fn?.arguments));
};

/** Anthropic `{type:"tool_result", tool_use_id, content: string | parts}` (or `tool_call_id`). */
export const addToolResultBlock = (
  block: Record<string, unknown>,
  path: Path,
  history: History,
  problems: Problems,
) => {
  const id = callId(block.tool_use_id ?? block.tool_call_id, at(path, "tool_use_id"), problems);
  const output = toolOutputValue(block.content, at(path, "content"), problems);
  if (id !== undefined) history.toolOutput(id, output, "function");
};
