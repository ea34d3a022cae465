/**
 * Tools and `tool_choice` in every shape Cursor and other clients send, as
 * Responses tools (cursor.md §1.4):
 *
 * - flat Responses functions `{type:"function", name, parameters, strict}` pass as they are;
 * - nested chat functions `{type:"function", function:{name, description, parameters, strict}}`
 *   are flattened, `strict` defaulting to false as it does in Chat Completions
 *   (the Responses API would otherwise default it to true);
 * - type-less `{name, description, input_schema}` (Anthropic-ish, Bifrost) become functions;
 * - `custom` grammar tools (Cursor's `ApplyPatch`) stay custom, and their names are
 *   collected: the history and the encoder treat calls to them as custom calls;
 * - hosted tools (`web_search`, `file_search`, `mcp`, ...) pass through;
 * - Anthropic's dated built-ins (`computer_20241022`, `bash_20241022`, ...), which old
 *   Cursor versions sent, have no meaning upstream and are dropped;
 * - chat's legacy `functions` (`[{name, description, parameters}]`) are functions too, after the
 *   request's tools, and `function_call` is a `tool_choice` (issue 14, point 9);
 * - a name given twice keeps its last definition: the APIs refuse a repeated name.
 */
import type { JsonObject } from "../protocol/responses.ts";
import { at, isObject, type Path, type Problems } from "./problems.ts";

export interface DecodedTools {
  readonly tools: JsonObject[];
  /** Names of the request's `custom` tools. */
  readonly customTools: ReadonlySet<string>;
}

/** `computer_20241022`, `text_editor_20250429`: Anthropic's versioned tool types (OpenAI's use `_2025_03_11`). */
const ANTHROPIC_BUILTIN = /_\d{8}$/;

const NO_CUSTOM_TOOLS: ReadonlySet<string> = new Set();

const noArguments = (): JsonObject => ({ type: "object", properties: {} });

const functionTool = (
  name: string,
  description: unknown,
  parameters: unknown,
  strict: unknown,
): JsonObject => {
  const tool: JsonObject = { type: "function", name };
  if (typeof description === "string") tool.description = description;
  tool.parameters = isObject(parameters) ? parameters : noArguments();
  tool.strict = typeof strict === "boolean" ? strict : false;
  return tool;
};

/** Chat's custom grammar `{type:"grammar", grammar:{syntax, definition}}` is flat in Responses. */
const customFormat = (format: unknown): unknown =>
  isObject(format) && format.type === "grammar" && isObject(format.grammar)
    ? { type: "grammar", syntax: format.grammar.syntax, definition: format.grammar.definition }
    : format;

const toolName = (value: unknown, path: Path, problems: Problems): string | undefined => {
  if (typeof value === "string" && value !== "") return value;
  problems.expected(path, "a non-empty string");
  return undefined;
};

export const decodeTools = (
  tools: ReadonlyArray<unknown>,
  problems: Problems,
  legacy: ReadonlyArray<unknown> = [],
): DecodedTools => {
  const out = decodeList(tools, "tools", problems);
  // Chat's legacy `functions` (`[{name, description, parameters}]`) are tools too, after the request's own.
  for (let i = 0; i < legacy.length; i++) {
    const fn = legacy[i];
    if (!isObject(fn)) {
      problems.expected(at("functions", i), "an object");
      continue;
    }
    const name = toolName(fn.name, at(at("functions", i), "name"), problems);
    if (name !== undefined) out.tools.push(functionTool(name, fn.description, fn.parameters, fn.strict));
  }
  return { tools: withoutRepeats(out.tools), customTools: out.customTools };
};

const decodeList = (
  tools: ReadonlyArray<unknown>,
  field: string,
  problems: Problems,
): { tools: JsonObject[]; customTools: ReadonlySet<string> } => {
  const out: JsonObject[] = [];
  let customTools: Set<string> | undefined;
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i];
    const path = at(field, i);
    if (!isObject(tool)) {
      problems.expected(path, "an object");
      continue;
    }
    const type = tool.type;
    if ((type === "function" || type === undefined || type === null) && isObject(tool.function)) {
      const fn = tool.function;
      const name = toolName(fn.name, at(path, "function.name"), problems);
      if (name !== undefined) out.push(functionTool(name, fn.description, fn.parameters, fn.strict));
    } else if (type === "function") {
      const name = toolName(tool.name, at(path, "name"), problems);
      if (name === undefined) continue;
      out.push(
        tool.parameters === undefined && tool.input_schema !== undefined
          ? functionTool(name, tool.description, tool.input_schema, tool.strict)
          : tool,
      );
    } else if (type === undefined || type === null || (type === "custom" && tool.input_schema !== undefined)) {
      // Anthropic's client tools are type-less or `type:"custom"` with an `input_schema`: plain functions.
      const name = toolName(tool.name, at(path, "name"), problems);
      if (name !== undefined) {
        out.push(functionTool(name, tool.description, tool.input_schema ?? tool.parameters, tool.strict));
      }
    } else if (type === "custom") {
      const nested = isObject(tool.custom) ? tool.custom : undefined;
      const name = toolName(nested ? nested.name : tool.name, at(path, nested ? "custom.name" : "name"), problems);
      if (name === undefined) continue;
      (customTools ??= new Set()).add(name);
      if (nested === undefined) out.push(tool);
      else {
        const flat: JsonObject = { type: "custom", name };
        if (typeof nested.description === "string") flat.description = nested.description;
        if (nested.format !== undefined) flat.format = customFormat(nested.format);
        out.push(flat);
      }
    } else if (typeof type !== "string") {
      problems.expected(at(path, "type"), "a string");
    } else if (!ANTHROPIC_BUILTIN.test(type)) {
      out.push(tool);
    }
  }
  return { tools: out, customTools: customTools ?? NO_CUSTOM_TOOLS };
};

/**
 * The tools with each name once, its last definition kept where it stood: the APIs answer 400 to a
 * repeated name (`tools: Duplicate tool names`), and a client that appends an updated definition
 * means the later one (issue 14, point 9). Hosted tools have no name and all stay.
 */
const withoutRepeats = (tools: JsonObject[]): JsonObject[] => {
  if (tools.length < 2) return tools;
  const last = new Map<string, number>();
  for (let i = 0; i < tools.length; i++) {
    const name = tools[i].name;
    if (typeof name === "string") last.set(name, i);
  }
  if (last.size === tools.filter((tool) => typeof tool.name === "string").length) return tools;
  return tools.filter((tool, i) => typeof tool.name !== "string" || last.get(tool.name) === i);
};

/** Chat's legacy `function_call` (`"auto"`, `"none"`, `{name}`) as the `tool_choice` it stands for. */
export const legacyFunctionCall = (choice: string | Record<string, unknown>): string | Record<string, unknown> =>
  typeof choice === "string" ? choice : { type: "function", function: choice };

/** A chat or Responses reference to one tool (`{type:"function", function:{name}}` or `{type, name}`). */
const namedChoice = (
  choice: Record<string, unknown>,
  path: Path,
  customTools: ReadonlySet<string>,
  problems: Problems,
): JsonObject | undefined => {
  const nested = isObject(choice.function) ? choice.function : isObject(choice.custom) ? choice.custom : undefined;
  const name = nested ? nested.name : choice.name;
  if (typeof name !== "string") {
    problems.expected(at(path, nested ? (choice.function ? "function.name" : "custom.name") : "name"), "a string");
    return undefined;
  }
  return { type: customTools.has(name) || choice.type === "custom" ? "custom" : "function", name };
};

/**
 * `tool_choice` in Responses form: strings pass; the chat form
 * `{type:"function", function:{name}}` becomes `{type:"function", name}`
 * (`custom` when it names a custom tool); Anthropic's `{type:"tool"|"any"|"auto"|"none"}`
 * map to their equivalents; hosted-tool choices pass through.
 */
export const decodeToolChoice = (
  choice: string | Record<string, unknown>,
  customTools: ReadonlySet<string>,
  problems: Problems,
): unknown => {
  if (typeof choice === "string") return choice;
  switch (choice.type) {
    case "function":
    case "custom":
    case "tool":
      return namedChoice(choice, "tool_choice", customTools, problems);
    case "any":
      return "required";
    case "auto":
    case "none":
      return choice.type;
    case "allowed_tools": {
      // Chat nests `{mode, tools}` under `allowed_tools`; Responses has them at the top.
      const nested = isObject(choice.allowed_tools) ? choice.allowed_tools : choice;
      const tools = Array.isArray(nested.tools) ? nested.tools : [];
      const refs: unknown[] = [];
      for (let i = 0; i < tools.length; i++) {
        const tool = tools[i];
        if (isObject(tool) && (tool.type === "function" || tool.type === "custom")) {
          const ref = namedChoice(tool, at("tool_choice.tools", i), customTools, problems);
          if (ref !== undefined) refs.push(ref);
        } else refs.push(tool);
      }
      return { type: "allowed_tools", mode: nested.mode ?? "auto", tools: refs };
    }
    default:
      return choice;
  }
};
