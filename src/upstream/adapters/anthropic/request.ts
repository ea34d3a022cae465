/**
 * The canonical Responses request as a Messages API request (`POST /messages`,
 * `anthropic-version: 2023-06-01`, providers.md §1.1-1.5).
 *
 * | canonical | Messages |
 * |---|---|
 * | `instructions`, system/developer items | `system` text blocks |
 * | message items, calls, outputs, reasoning | `messages` (messages.ts) |
 * | function tools | `{name, description, input_schema}` (an object schema; `{type:"object",properties:{}}` when none) |
 * | custom tools (ApplyPatch) | the same, taking `{input: string}`, the grammar appended to the description |
 * | hosted tools (web_search, file_search, mcp, ...) | dropped |
 * | `tool_choice` auto / required / none / named | `{type:"auto"}` / `{type:"any"}` / `{type:"none"}` / `{type:"tool",name}` |
 * | `parallel_tool_calls: false` | `disable_parallel_tool_use: true` on the choice (`auto` when none) |
 * | `max_output_tokens` | `max_tokens` (required: the model's default from models.ts when absent) |
 * | `temperature` | clamped to 0..1; not with thinking |
 * | `top_p` | only without `temperature` and without thinking |
 * | `stop` (string or list) | `stop_sequences` (whitespace-only entries are refused by the API: dropped) |
 * | `metadata.user_id`, else `safety_identifier`, else `user` | `metadata.user_id` (the only metadata the API takes) |
 * | `reasoning.effort` low..xhigh | `thinking` (a budget, or adaptive with `output_config.effort` on 4.7+) |
 *
 * Thinking is left off when it would make the API answer 400: a forced tool choice
 * (`any`/`tool` are refused beside thinking), a last tool-use turn whose thinking blocks
 * were not sent back (Cursor drops them: ``Expected `thinking` or `redacted_thinking`, but
 * found `tool_use` ``), or a conversation ending on an assistant turn (prefill).
 */
import { isJsonObject as isObject, type JsonObject, type ResponsesRequest } from "../../../protocol/responses.ts";
import type { AdapterTarget, AttemptSpec, WireRequest } from "../types.ts";
import type { Block } from "./content.ts";
import {
  conversation,
  CUSTOM_INPUT_SCHEMA,
  hasToolUse,
  lastAssistant,
  type Message,
  startsWithThinking,
  tidyFinalAssistant,
} from "./messages.ts";
import { ANSWER_ROOM, defaultMaxTokens, MIN_THINKING_BUDGET, THINKING_BUDGETS, thinkingMode } from "./models.ts";

export const ANTHROPIC_VERSION = "2023-06-01";
const HEADERS: Readonly<Record<string, string>> = { "anthropic-version": ANTHROPIC_VERSION };

/** The API's limit on `cache_control` breakpoints in one request (providers.md §1.5). */
export const MAX_BREAKPOINTS = 4;

const EMPTY_SCHEMA = (): JsonObject => ({ type: "object", properties: {} });

/** `input_schema` must be a JSON Schema of an object; a schema without `type` is taken as one. */
const inputSchema = (parameters: unknown): JsonObject => {
  if (!isObject(parameters)) return EMPTY_SCHEMA();
  if (parameters.type === "object") return parameters;
  if (parameters.type === undefined) return { type: "object", ...parameters };
  return EMPTY_SCHEMA();
};

/** A custom tool's description, with its grammar: Claude has no grammar-constrained output, so it reads the format. */
const customDescription = (tool: JsonObject): string | undefined => {
  const base = typeof tool.description === "string" ? tool.description : "";
  const format = isObject(tool.format) ? tool.format : undefined;
  if (format?.type !== "grammar" || typeof format.definition !== "string" || format.definition === "") {
    return base === "" ? undefined : base;
  }
  const syntax = typeof format.syntax === "string" ? format.syntax : "grammar";
  const grammar = `Pass the raw text as \`input\`; it must match this ${syntax} grammar:\n${format.definition}`;
  return base === "" ? grammar : `${base}\n\n${grammar}`;
};

/** Function and custom tools as Messages tools (names unique: the API refuses duplicates); hosted tools are dropped. */
const tools = (list: unknown): Block[] => {
  const out: Block[] = [];
  if (!Array.isArray(list)) return out;
  const names = new Set<string>();
  for (const tool of list) {
    if (!isObject(tool) || typeof tool.name !== "string" || tool.name === "" || names.has(tool.name)) continue;
    let description: string | undefined;
    let schema: JsonObject;
    if (tool.type === "function") {
      description = typeof tool.description === "string" && tool.description !== "" ? tool.description : undefined;
      schema = inputSchema(tool.parameters);
    } else if (tool.type === "custom") {
      description = customDescription(tool);
      schema = CUSTOM_INPUT_SCHEMA;
    } else continue;
    names.add(tool.name);
    const entry: Block = { name: tool.name };
    if (description !== undefined) entry.description = description;
    entry.input_schema = schema;
    out.push(entry);
  }
  return out;
};

/** `tool_choice` as Messages spells it; `undefined` when the client gave none. */
const toolChoice = (choice: unknown, toolNames: ReadonlySet<string>): JsonObject | undefined => {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  if (isObject(choice)) {
    if ((choice.type === "function" || choice.type === "custom") && typeof choice.name === "string") {
      // A named tool the request does not declare (a dropped hosted tool) would be a 400.
      return toolNames.has(choice.name) ? { type: "tool", name: choice.name } : { type: "auto" };
    }
    if (choice.type === "allowed_tools" && choice.mode === "required") return { type: "any" };
  }
  return { type: "auto" };
};

/** `stop` as `stop_sequences`. */
const stopSequences = (stop: unknown): string[] | undefined => {
  const list = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
  const out = list.filter((entry): entry is string => typeof entry === "string" && entry.trim() !== "");
  return out.length > 0 ? out : undefined;
};

/** The opaque end-user id: the Messages field first, then the Responses ones (at most 256 characters). */
const userId = (canonical: ResponsesRequest): string | undefined => {
  const metadata = isObject(canonical.metadata) ? canonical.metadata : undefined;
  for (const value of [metadata?.user_id, canonical.safety_identifier, canonical.user]) {
    if (typeof value === "string" && value !== "" && value.length <= 256) return value;
  }
  return undefined;
};

const positiveInteger = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;

interface Thinking {
  readonly field: JsonObject;
  readonly outputConfig?: JsonObject;
  readonly maxTokens: number;
}

/**
 * The thinking fields for an effort, and the `max_tokens` they need: `budget_tokens` must be
 * ≥ 1,024 and < `max_tokens`, and thinking counts toward `max_tokens`. A client's own
 * `max_output_tokens` is kept for the answer, the budget added on top, up to the model's
 * default; a budget that still does not fit shrinks (to what is left above the client's
 * limit, or above `ANSWER_ROOM` when the client set none), never below 1,024.
 */
const thinking = (
  effort: unknown,
  model: string,
  requested: number | undefined,
  modelDefault: number,
): Thinking | undefined => {
  if (typeof effort !== "string") return undefined;
  const budget = THINKING_BUDGETS[effort];
  if (budget === undefined) return undefined;
  const mode = thinkingMode(model);
  if (mode === "none") return undefined;
  if (mode === "adaptive") {
    return {
      field: { type: "adaptive" },
      outputConfig: { effort },
      maxTokens: requested ?? modelDefault,
    };
  }
  const ceiling = Math.max(modelDefault, requested ?? 0);
  const maxTokens = requested === undefined ? modelDefault : Math.min(requested + budget, ceiling);
  let tokens = Math.min(budget, maxTokens - (requested ?? ANSWER_ROOM));
  if (tokens < MIN_THINKING_BUDGET) tokens = MIN_THINKING_BUDGET;
  if (tokens >= maxTokens) return undefined;
  return { field: { type: "enabled", budget_tokens: tokens }, maxTokens };
};

/** Whether the conversation's state lets thinking on (see the module comment). */
const thinkingAllowed = (messages: ReadonlyArray<Message>, choice: JsonObject | undefined): boolean => {
  if (choice?.type === "any" || choice?.type === "tool") return false;
  if (messages[messages.length - 1]?.role === "assistant") return false;
  const assistant = lastAssistant(messages);
  return assistant === undefined || !hasToolUse(assistant) || startsWithThinking(assistant);
};

/** The blocks that carry the client's own breakpoints (tool results' inner blocks too), in order. */
const clientBreakpoints = (messages: ReadonlyArray<Message>): JsonObject[] => {
  const marked: JsonObject[] = [];
  for (const message of messages) {
    for (const block of message.content) {
      if (Array.isArray(block.content)) {
        for (const inner of block.content) if (isObject(inner) && inner.cache_control !== undefined) marked.push(inner);
      }
      if (block.cache_control !== undefined) marked.push(block);
    }
  }
  return marked;
};

/**
 * Prompt-cache breakpoints (providers.md §1.5). The cache is a prefix (tools → system →
 * messages), so a breakpoint on the newest user turn caches everything before it and the one
 * on the turn before reads what the previous request wrote; the last system block and the
 * last tool keep the stable prefix cached when the conversation itself changes. At most four
 * in all, the client's own first: the newest turns come before system and tools.
 */
const placeBreakpoints = (
  system: Block[],
  toolList: Block[],
  messages: ReadonlyArray<Message>,
  caching: "auto" | "off",
): void => {
  const client = clientBreakpoints(messages);
  // Over the API's limit the oldest go: the newest cover the longest prefix.
  for (let i = 0; i < client.length - MAX_BREAKPOINTS; i++) delete client[i].cache_control;
  let room = MAX_BREAKPOINTS - Math.min(client.length, MAX_BREAKPOINTS);
  if (caching === "off" || room === 0) return;
  const candidates: Block[] = [];
  let users = 0;
  for (let i = messages.length - 1; i >= 0 && users < 2; i--) {
    const message = messages[i];
    if (message.role !== "user") continue;
    users++;
    const last = message.content[message.content.length - 1];
    if (last !== undefined) candidates.push(last);
  }
  if (system.length > 0) candidates.push(system[system.length - 1]);
  if (toolList.length > 0) candidates.push(toolList[toolList.length - 1]);
  for (const block of candidates) {
    if (room === 0) break;
    if (block.cache_control !== undefined) continue;
    block.cache_control = { type: "ephemeral" };
    room--;
  }
};

/** The Messages body for one attempt, as an object (tests read it; `request` serialises it). */
export const messagesBody = (canonical: ResponsesRequest, attempt: AttemptSpec, target: AdapterTarget): JsonObject => {
  const model = attempt.model;
  const { system, messages } = conversation(canonical.instructions, canonical.input);
  const toolList = tools(canonical.tools);
  const choiceGiven = toolList.length > 0
    ? toolChoice(canonical.tool_choice, new Set(toolList.map((tool) => tool.name as string)))
    : undefined;
  let choice = choiceGiven;
  if (toolList.length > 0 && canonical.parallel_tool_calls === false && choice?.type !== "none") {
    choice = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true };
  }

  const requested = positiveInteger(canonical.max_output_tokens);
  const modelDefault = defaultMaxTokens(model, target.options.defaultMaxTokens);
  const effort = isObject(canonical.reasoning) ? canonical.reasoning.effort : undefined;
  const think = thinkingAllowed(messages, choice) ? thinking(effort, model, requested, modelDefault) : undefined;
  tidyFinalAssistant(messages);
  placeBreakpoints(system, toolList, messages, target.options.promptCaching ?? "auto");

  const body: JsonObject = { model, max_tokens: think?.maxTokens ?? requested ?? modelDefault };
  if (system.length > 0) body.system = system;
  body.messages = messages;
  if (toolList.length > 0) body.tools = toolList;
  if (choice !== undefined) body.tool_choice = choice;
  if (think !== undefined) {
    body.thinking = think.field;
    if (think.outputConfig !== undefined) body.output_config = think.outputConfig;
  } else if (thinkingMode(model) !== "adaptive") {
    // Sampling knobs: refused beside thinking, and on 4.7+ models anything but their defaults.
    if (typeof canonical.temperature === "number") {
      body.temperature = Math.min(1, Math.max(0, canonical.temperature));
    } else if (typeof canonical.top_p === "number") body.top_p = canonical.top_p;
  }
  const stop = stopSequences(canonical.stop);
  if (stop !== undefined) body.stop_sequences = stop;
  const user = userId(canonical);
  if (user !== undefined) body.metadata = { user_id: user };
  if (attempt.stream) body.stream = true;
  return body;
};

export const anthropicRequest = (
  canonical: ResponsesRequest,
  attempt: AttemptSpec,
  target: AdapterTarget,
): WireRequest => ({
  path: "/messages",
  body: JSON.stringify(messagesBody(canonical, attempt, target)),
  headers: HEADERS,
});
