/**
 * Which list holds the conversation: Responses `input` (Cursor's hybrid
 * body) or chat `messages`, decided by shape, not by route or model
 * (cursor.md §0.3):
 *
 * - hybrid when `input` (a string or an array, even an empty one: the
 *   upstream judges that) is present and `messages` is absent or empty
 *   (`messages: []` next to `input` is common: LiteLLM, codex-lb #833);
 * - chat when `messages` is non-empty;
 * - when both carry turns, the one that holds the tool results: Bifrost
 *   reports `input` may omit them while `messages` has the whole
 *   conversation. If both or neither hold them, `input` wins.
 */
import { isObject, type Problems } from "./problems.ts";

export type Turns =
  | { readonly shape: "hybrid"; readonly text: string }
  | { readonly shape: "hybrid"; readonly list: ReadonlyArray<unknown>; readonly name: "input" }
  | { readonly shape: "chat"; readonly list: ReadonlyArray<unknown>; readonly name: "messages" };

const isToolResult = (entry: unknown): boolean => {
  if (!isObject(entry)) return false;
  if (entry.type === "function_call_output" || entry.type === "custom_tool_call_output") return true;
  if (entry.type === "tool_result" || entry.role === "tool") return true;
  return Array.isArray(entry.content) && entry.content.some((part) => isObject(part) && part.type === "tool_result");
};

/** Scanned only when both lists carry turns. */
const holdsToolResults = (list: ReadonlyArray<unknown>): boolean => list.some(isToolResult);

/**
 * The list to convert, or `undefined` after adding a problem when there is
 * none. Values of the wrong type were already reported by the body schema.
 */
export const chooseTurns = (input: unknown, messages: unknown, problems: Problems): Turns | undefined => {
  const inputList = Array.isArray(input) ? input : undefined;
  if (Array.isArray(messages) && messages.length > 0) {
    const inputTurns = typeof input === "string" ? input !== "" : inputList !== undefined && inputList.length > 0;
    if (!inputTurns || (holdsToolResults(messages) && !(inputList !== undefined && holdsToolResults(inputList)))) {
      return { shape: "chat", list: messages, name: "messages" };
    }
  }
  if (typeof input === "string") return { shape: "hybrid", text: input };
  if (inputList !== undefined) return { shape: "hybrid", list: inputList, name: "input" };

  const badInput = input !== undefined && input !== null;
  const badMessages = messages !== undefined && messages !== null && !Array.isArray(messages);
  if (badInput || badMessages) return undefined;
  if (Array.isArray(messages)) problems.add("messages", "must not be empty without an input");
  else problems.add("messages", "required: a non-empty messages array, or an input", "missing_required_parameter");
  return undefined;
};
