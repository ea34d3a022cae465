/**
 * A list of turns (`input` of a hybrid body, or chat `messages`) as
 * canonical Responses input items, in one pass.
 *
 * Both lists go through the same dispatch, because clients mix the shapes:
 * Cursor's hybrid `input` may hold chat-style messages with `tool_calls` or
 * Anthropic blocks, and a chat list is just messages. Item types this
 * gateway does not translate (hosted-tool items such as `web_search_call`,
 * `item_reference`, types newer than this code) are passed through for the
 * upstream to judge. Messages, calls and reasoning are rebuilt without their
 * item ids (`msg_…`, `fc_…`, `rs_…`): those name items stored by one
 * upstream, and a fallback may send the request to another.
 */
import type { JsonObject } from "../protocol/responses.ts";
import { toolOutputValue } from "./content_parts.ts";
import type { CallKind, History } from "./history.ts";
import { addMessage } from "./messages.ts";
import { at, isObject, type Path, type Problems } from "./problems.ts";
import { addThinkingRun, thinkingBlock } from "./reasoning.ts";
import { addToolResultBlock, addToolUseBlock, argumentsText } from "./tool_calls.ts";

const requireString = (item: Record<string, unknown>, key: string, path: Path, problems: Problems) => {
  const value = item[key];
  if (typeof value === "string") return value;
  problems.expected(at(path, key), "a string");
  return undefined;
};

/** `function_call` and `custom_tool_call` items. */
const addCall = (item: Record<string, unknown>, kind: CallKind, path: Path, history: History, problems: Problems) => {
  const callId = requireString(item, "call_id", path, problems);
  const name = requireString(item, "name", path, problems);
  if (callId === undefined || name === undefined) return;
  if (kind === "custom") {
    const input = requireString(item, "input", path, problems);
    if (input !== undefined) history.customCall(callId, name, input);
  } else {
    // Cursor replays ApplyPatch as a function_call with the raw patch as `arguments`; the history
    // turns it back into a custom_tool_call when the request declares ApplyPatch as a custom tool.
    history.functionCall(callId, name, argumentsText(item.arguments));
  }
};

/** `function_call_output` and `custom_tool_call_output` items. */
const addOutput = (
  item: Record<string, unknown>,
  kind: CallKind,
  path: Path,
  history: History,
  problems: Problems,
) => {
  const callId = requireString(item, "call_id", path, problems);
  const output = toolOutputValue(item.output, at(path, "output"), problems);
  if (callId !== undefined) history.toolOutput(callId, output, kind);
};

/** Adds every turn of `list` (named `name` in error paths) to the history. */
export const addTurns = (
  list: ReadonlyArray<unknown>,
  name: "input" | "messages",
  history: History,
  problems: Problems,
): void => {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const path = at(name, i);
    if (!isObject(item)) {
      problems.expected(path, "an object");
      continue;
    }
    const type = item.type;
    switch (type) {
      case undefined:
      case null:
      case "message":
        // A type-less item without a role is an item reference (`{id}`), per the Responses API.
        if (item.role === undefined && type !== "message" && typeof item.id === "string") history.push(item);
        else addMessage(item, path, history, problems);
        break;
      case "function_call":
        addCall(item, "function", path, history, problems);
        break;
      case "custom_tool_call":
        addCall(item, "custom", path, history, problems);
        break;
      case "function_call_output":
        addOutput(item, "function", path, history, problems);
        break;
      case "custom_tool_call_output":
        addOutput(item, "custom", path, history, problems);
        break;
      case "reasoning":
        history.reasoning(item as JsonObject);
        break;
      // Anthropic blocks at the top level of the list, as some bridges flatten them.
      case "tool_use":
        addToolUseBlock(item, path, history, problems);
        break;
      case "tool_result":
        addToolResultBlock(item, path, history, problems);
        break;
      case "thinking":
      case "redacted_thinking": {
        const block = thinkingBlock(item);
        if (block !== undefined) addThinkingRun([block], history);
        break;
      }
      default:
        if (typeof type === "string") history.push(item as JsonObject);
        else problems.expected(at(path, "type"), "a string");
    }
  }
};
