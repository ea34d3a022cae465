/**
 * The canonical Responses request as a Chat Completions body (`POST {base_url}/chat/completions`).
 *
 * The body is built from scratch, field by field, so nothing the Chat API lacks leaks through
 * (`include`, `store`, `previous_response_id`, `truncation`, `metadata`, `prompt_cache_key`,
 * `service_tier`, `text.verbosity`, ...): most compatible providers reject unknown fields
 * (Mistral 422 `extra_forbidden`, providers.md §3.2).
 *
 * Messages, in one pass over `input`:
 * - `instructions` and every system/developer item become ONE leading system message (their
 *   texts in order, joined by a blank line): several templates (Qwen's Jinja templates behind
 *   llama.cpp/vLLM) raise "System message must be at the beginning" for a second one;
 * - user messages keep image parts (`image_url` parts, so content is an array); text-only
 *   content is a string, its parts joined by a blank line;
 * - assistant text is always a string (Groq rejects array content on assistant turns), and
 *   an assistant turn's text and calls share ONE message: a call or a text item that follows
 *   an assistant message is merged into it, since every tool message must follow the
 *   assistant message holding its call;
 * - `function_call` and `custom_tool_call` items are `tool_calls` (a custom call's raw input
 *   as `{"input": ...}`), their outputs `role:"tool"` messages (parts joined as text);
 * - reasoning items are dropped, except what this adapter sealed for the same provider, which
 *   goes back on the next assistant message: OpenRouter `reasoning_details` (providers.md §3.2
 *   [OR-r]) always, `reasoning_content` only with `replayReasoningContent` (off by default, see
 *   wire.ts: DeepSeek V3.2/V4 with tools need it, its R1-era reasoner rejected it);
 * - hosted-tool items (`web_search_call`, `mcp_call`, ...) and item references are dropped.
 */
import type { JsonObject, ResponsesRequest } from "../../../protocol/responses.ts";
import { openReasoning } from "../reasoning_envelope.ts";
import type { AdapterTarget, AttemptSpec, WireRequest } from "../types.ts";
import { type ChatWireOptions, isChatReasoningPayload, isObj, type Obj, str } from "./wire.ts";

/** Whether `model` takes `reasoning_effort` under the provider's setting (`true`, or name fragments). */
const takesEffort = (setting: boolean | ReadonlyArray<string> | undefined, model: string): boolean => {
  if (setting === undefined || setting === false) return false;
  if (setting === true) return true;
  const name = model.toLowerCase();
  return setting.some((fragment) => name.includes(fragment.toLowerCase()));
};

export const CHAT_PATH = "/chat/completions";

/** The schema a `custom` tool (Cursor's ApplyPatch) is offered with: its raw text as one string argument. */
export const CUSTOM_TOOL_PARAMETERS = {
  type: "object",
  properties: { input: { type: "string" } },
  required: ["input"],
} as const;

interface ChatMessage extends JsonObject {
  role: string;
  content?: unknown;
  reasoning_content?: string;
  tool_calls?: JsonObject[];
  reasoning_details?: Obj[];
}

/** Parts of one turn's content joined: separate parts are separate paragraphs. */
const PART_SEPARATOR = "\n\n";

/** The text of a Responses content value (a string or parts); images and files are skipped. */
const textOf = (content: unknown, separator: string): string => {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  let first = true;
  for (const part of content) {
    let piece: string | undefined;
    if (typeof part === "string") piece = part;
    else if (isObj(part)) {
      if (part.type === "input_text" || part.type === "output_text" || part.type === "text") piece = str(part.text);
      else if (part.type === "refusal") piece = str(part.refusal);
    }
    if (piece === undefined) continue;
    out += first ? piece : separator + piece;
    first = false;
  }
  return out;
};

/** A user message's content: a string when it is all text, else Chat parts (text, image_url, file). */
const userContent = (content: unknown): string | JsonObject[] => {
  if (!Array.isArray(content)) return typeof content === "string" ? content : "";
  let media = false;
  for (const part of content) {
    if (isObj(part) && (part.type === "input_image" || part.type === "input_file")) media = true;
  }
  if (!media) return textOf(content, PART_SEPARATOR);
  const parts: JsonObject[] = [];
  for (const part of content) {
    if (typeof part === "string") {
      parts.push({ type: "text", text: part });
      continue;
    }
    if (!isObj(part)) continue;
    switch (part.type) {
      case "input_text":
      case "output_text":
      case "text":
        if (typeof part.text === "string") parts.push({ type: "text", text: part.text });
        break;
      case "input_image": {
        // An image by `file_id` only names a file stored at OpenAI: nothing to send.
        const url = str(part.image_url);
        if (url === undefined) break;
        const image: JsonObject = { url };
        if (typeof part.detail === "string") image.detail = part.detail;
        parts.push({ type: "image_url", image_url: image });
        break;
      }
      case "input_file": {
        // OpenAI's and OpenRouter's chat `file` part; a provider without it answers 400, as it would for a PDF.
        const file: JsonObject = {};
        if (typeof part.file_data === "string") file.file_data = part.file_data;
        if (typeof part.file_id === "string") file.file_id = part.file_id;
        if (typeof part.filename === "string") file.filename = part.filename;
        parts.push({ type: "file", file });
        break;
      }
    }
  }
  return parts;
};

/** A tool result as text: parts joined by a newline (images in tool output have no Chat form). */
const toolOutputText = (output: unknown): string =>
  typeof output === "string" ? output : Array.isArray(output) ? textOf(output, "\n") : JSON.stringify(output ?? "");

/** One pass over `input`, building the messages after the system message. */
class MessageBuilder {
  readonly system: string[] = [];
  readonly messages: ChatMessage[] = [];
  /** OpenRouter details sealed for this provider, waiting for the assistant message they belong to. */
  private pendingDetails: Obj[] | undefined;
  /** `reasoning_content` sealed for this provider, likewise (only with `replayReasoningContent`). */
  private pendingContent: string | undefined;

  constructor(private readonly provider: string, private readonly replayContent: boolean) {}

  /** The assistant message the next assistant text or call belongs to: the last one, or a new one. */
  private assistant(): ChatMessage {
    let last = this.messages.at(-1);
    if (last === undefined || last.role !== "assistant") {
      last = { role: "assistant", content: null };
      // DeepSeek answers 400 for a thinking-mode tool turn without it, even an empty one (providers.md §4.9).
      if (this.replayContent) last.reasoning_content = "";
      this.messages.push(last);
    }
    if (this.pendingDetails !== undefined) {
      (last.reasoning_details ??= []).push(...this.pendingDetails);
      this.pendingDetails = undefined;
    }
    if (this.pendingContent !== undefined) {
      last.reasoning_content = last.reasoning_content
        ? last.reasoning_content + this.pendingContent
        : this.pendingContent;
      this.pendingContent = undefined;
    }
    return last;
  }

  private push(message: ChatMessage): void {
    // Reasoning is only ever sent back on the assistant turn it preceded.
    this.pendingDetails = undefined;
    this.pendingContent = undefined;
    this.messages.push(message);
  }

  item(item: JsonObject): void {
    switch (item.type) {
      case undefined:
      case "message":
        return this.message(item);
      case "function_call":
        return this.call(str(item.call_id) ?? "", str(item.name) ?? "", str(item.arguments) || "{}");
      case "custom_tool_call":
        return this.call(
          str(item.call_id) ?? "",
          str(item.name) ?? "",
          JSON.stringify({ input: str(item.input) ?? "" }),
        );
      case "function_call_output":
      case "custom_tool_call_output":
        return this.push({ role: "tool", tool_call_id: str(item.call_id) ?? "", content: toolOutputText(item.output) });
      case "reasoning":
        return this.reasoning(item);
      default:
        // Hosted-tool items (web_search_call, file_search_call, image_generation_call, code_interpreter_call,
        // computer_call, local_shell_call, mcp_*), item references: the Chat API has no form for them.
        return;
    }
  }

  private message(item: JsonObject): void {
    switch (item.role) {
      case "system":
      case "developer": {
        const content = textOf(item.content, PART_SEPARATOR);
        if (content !== "") this.system.push(content);
        return;
      }
      case "assistant": {
        const content = textOf(item.content, "");
        if (content === "") return;
        const message = this.assistant();
        message.content = typeof message.content === "string" && message.content !== ""
          ? message.content + PART_SEPARATOR + content
          : content;
        return;
      }
      case "user":
        return this.push({ role: "user", content: userContent(item.content) });
      default:
        // A role-less `{id}` is an item reference: it names an item stored at OpenAI.
        return;
    }
  }

  private call(id: string, name: string, args: string): void {
    const message = this.assistant();
    (message.tool_calls ??= []).push({ id, type: "function", function: { name, arguments: args } });
  }

  private reasoning(item: JsonObject): void {
    const opened = openReasoning(item.encrypted_content);
    if (opened.api !== "chat" || !isChatReasoningPayload(opened.payload)) return;
    const payload = opened.payload;
    if (payload.provider !== this.provider) return;
    if (payload.reasoning_details !== undefined) (this.pendingDetails ??= []).push(...payload.reasoning_details);
    if (this.replayContent && payload.reasoning_content !== undefined) {
      this.pendingContent = (this.pendingContent ?? "") + payload.reasoning_content;
    }
  }
}

/** A function tool in Chat form; `strict` is sent only when true (false is every provider's default). */
const functionTool = (name: string, description: unknown, parameters: unknown, strict: unknown): JsonObject => {
  const fn: JsonObject = { name };
  if (typeof description === "string" && description !== "") fn.description = description;
  fn.parameters = isObj(parameters) ? parameters : { type: "object", properties: {} };
  if (strict === true) fn.strict = true;
  return { type: "function", function: fn };
};

/**
 * A custom tool's description, with its grammar when it has one: the model no longer sees the
 * grammar as a constraint, so it reads it as instructions (Cursor's ApplyPatch format).
 */
const customDescription = (tool: JsonObject): string | undefined => {
  const description = str(tool.description);
  const format = tool.format;
  if (!isObj(format) || format.type !== "grammar" || typeof format.definition !== "string") return description;
  const syntax = typeof format.syntax === "string" ? `${format.syntax} ` : "";
  const grammar = `The \`input\` string is raw text in this ${syntax}grammar:\n${format.definition}`;
  return description ? `${description}\n\n${grammar}` : grammar;
};

/** Function and custom tools in Chat form; hosted tools (web_search, file_search, mcp, ...) are dropped. */
const chatTools = (tools: unknown): { tools: JsonObject[]; names: Set<string> } => {
  const out: JsonObject[] = [];
  const names = new Set<string>();
  if (!Array.isArray(tools)) return { tools: out, names };
  for (const tool of tools) {
    if (!isObj(tool) || typeof tool.name !== "string") continue;
    if (tool.type === "function") {
      out.push(functionTool(tool.name, tool.description, tool.parameters, tool.strict));
    } else if (tool.type === "custom") {
      out.push(functionTool(tool.name, customDescription(tool), CUSTOM_TOOL_PARAMETERS, false));
    } else continue;
    names.add(tool.name);
  }
  return { tools: out, names };
};

/**
 * `tool_choice` in Chat form: the strings as they are; a named function or custom tool as
 * `{type:"function", function:{name}}` when that tool is sent (else nothing: the provider would
 * 400 on an unknown name); `allowed_tools` as its mode; a hosted tool's choice as nothing.
 */
const chatToolChoice = (choice: unknown, names: ReadonlySet<string>): unknown => {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObj(choice)) return undefined;
  if (choice.type === "function" || choice.type === "custom") {
    const name = str(choice.name) ?? (isObj(choice.function) ? str(choice.function.name) : undefined);
    return name !== undefined && names.has(name) ? { type: "function", function: { name } } : undefined;
  }
  if (choice.type === "allowed_tools") return choice.mode === "required" ? "required" : "auto";
  return undefined;
};

/** `text.format` as `response_format`: Responses' flat json_schema is nested in Chat. */
const responseFormat = (text: unknown): JsonObject | undefined => {
  const format = isObj(text) ? text.format : undefined;
  if (!isObj(format)) return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type !== "json_schema") return undefined;
  const schema: JsonObject = { name: str(format.name) ?? "response" };
  if (typeof format.description === "string") schema.description = format.description;
  if (format.schema !== undefined) schema.schema = format.schema;
  if (typeof format.strict === "boolean") schema.strict = format.strict;
  return { type: "json_schema", json_schema: schema };
};

const isStop = (value: unknown): boolean =>
  typeof value === "string" || (Array.isArray(value) && value.every((entry) => typeof entry === "string"));

/** The canonical request as this attempt's Chat Completions body. */
export const buildChatBody = (canonical: ResponsesRequest, attempt: AttemptSpec, target: AdapterTarget): JsonObject => {
  const options = target.options as ChatWireOptions;
  const builder = new MessageBuilder(target.provider, options.replayReasoningContent === true);
  if (typeof canonical.instructions === "string" && canonical.instructions !== "") {
    builder.system.push(canonical.instructions);
  }
  const input = canonical.input;
  if (typeof input === "string") builder.item({ type: "message", role: "user", content: input });
  else for (const item of input) if (isObj(item)) builder.item(item as JsonObject);

  const messages: ChatMessage[] = builder.system.length > 0
    ? [{ role: "system", content: builder.system.join(PART_SEPARATOR) }, ...builder.messages]
    : builder.messages;

  const body: JsonObject = { model: attempt.model, messages };
  const { tools, names } = chatTools(canonical.tools);
  if (tools.length > 0) {
    body.tools = tools;
    const choice = chatToolChoice(canonical.tool_choice, names);
    if (choice !== undefined) body.tool_choice = choice;
    // OpenAI answers 400 for `parallel_tool_calls` without tools.
    if (typeof canonical.parallel_tool_calls === "boolean") body.parallel_tool_calls = canonical.parallel_tool_calls;
  }
  if (typeof canonical.max_output_tokens === "number") {
    body[options.maxTokensField ?? "max_tokens"] = canonical.max_output_tokens;
  }
  if (typeof canonical.temperature === "number") body.temperature = canonical.temperature;
  if (typeof canonical.top_p === "number") body.top_p = canonical.top_p;
  if (isStop(canonical.stop)) body.stop = canonical.stop;
  const format = responseFormat(canonical.text);
  if (format !== undefined) body.response_format = format;
  const effort = isObj(canonical.reasoning) ? canonical.reasoning.effort : undefined;
  if (typeof effort === "string" && takesEffort(options.reasoningEffort, attempt.model)) body.reasoning_effort = effort;
  if (typeof canonical.user === "string" && canonical.user !== "") body.user = canonical.user;
  if (attempt.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  if (options.omitFields !== undefined) { for (const field of options.omitFields) delete body[field]; }
  return body;
};

export const chatRequest = (canonical: ResponsesRequest, attempt: AttemptSpec, target: AdapterTarget): WireRequest => ({
  path: CHAT_PATH,
  body: JSON.stringify(buildChatBody(canonical, attempt, target)),
});
