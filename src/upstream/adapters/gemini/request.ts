/**
 * The canonical Responses request as a Gemini `GenerateContentRequest` (providers.md §2.2).
 *
 * | canonical                                   | Gemini                                                          |
 * |---------------------------------------------|-----------------------------------------------------------------|
 * | `instructions`, `system`/`developer` items  | `systemInstruction.parts[]` (text), in that order               |
 * | `user` / `assistant` messages               | `contents[]` with role `user` / `model`; consecutive turns of one role merged into one content |
 * | text, refusal parts                         | `{text}` (empty text dropped: the API rejects empty parts)      |
 * | `input_image` / `input_file` data URL       | `{inlineData: {mimeType, data}}`                                |
 * | `input_image` / `input_file` URL            | `{fileData: {mimeType?, fileUri}}` (mime type from the extension when known); OpenAI `file_id`s dropped |
 * | `function_call`                             | a `model` part `{functionCall: {id?, name, args}, thoughtSignature?}`: `args` the parsed arguments; a non-object JSON value as `{value}`, text that is not JSON as `{input}`; `id` on Gemini 3+ (below) |
 * | `custom_tool_call` (ApplyPatch)             | `{functionCall: {name, args: {input: <raw text>}}}`             |
 * | `function_call_output` / `custom_tool_call_output` | a `user` part `{functionResponse: {id?, name, response}}`, name from the matching call; an output that is a JSON object is the response, anything else `{output: <text>}`; images in it follow as parts; parallel results in one turn, in call order; an output without its call becomes text |
 * | `reasoning` with a gemini envelope          | its text signature back on the turn's first text part; other APIs' reasoning dropped (reasoning_envelope.ts) |
 * | function tools                              | `tools[0].functionDeclarations[]` with `parameters` rewritten (schema.ts) |
 * | custom tools                                | declarations taking `{input: string}`, the grammar appended to the description so the model knows the format |
 * | hosted tools (`web_search`, `mcp`, ...)     | dropped                                                         |
 * | `tool_choice` auto / required / none / named / allowed_tools | `toolConfig.functionCallingConfig` AUTO / ANY / NONE / ANY + `allowedFunctionNames` / AUTO, or ANY + names when required |
 * | `max_output_tokens`, `temperature`, `top_p`, `stop` | `generationConfig.maxOutputTokens`, `temperature`, `topP`, `stopSequences` (at most 5, the API's limit) |
 * | `text.format` json_schema / json_object     | `responseMimeType: "application/json"` + `responseJsonSchema` (the schema as given) / the mime type only |
 * | `reasoning`                                 | `thinkingConfig` (model.ts)                                     |
 *
 * Call ids: Gemini 3 and later return an `id` on every `functionCall` and want it echoed on the matching
 * `functionResponse` ("Always map function IDs", ai.google.dev/gemini-api/docs/function-calling; a mismatch
 * is a 400 `functionResponse.id does not match functionCall.id`, router-for-me/CLIProxyAPI#5199), so for
 * them both parts carry the call's id (without its signature suffix), whoever made it; Gemini 2.x rejects
 * an `id` there (providers.md §2.5, NousResearch/hermes-agent#80683) and pairs results by name and order,
 * so it gets none. Results always follow their calls' order.
 *
 * Not sent: `parallel_tool_calls` (Gemini has no switch), `metadata`, `user`, `store`, `include`,
 * `prompt_cache_key` (Gemini caches implicitly), `text.verbosity`.
 */
import { isJsonObject as isObject, type JsonObject, type ResponsesRequest } from "../../../protocol/responses.ts";
import { openReasoning } from "../reasoning_envelope.ts";
import type { AttemptSpec, WireRequest } from "../types.ts";
import { DUMMY_SIGNATURE, modelPath, requiresSignatures, thinkingConfig } from "./model.ts";
import { geminiParameters } from "./schema.ts";
import { bareCallId, signatureOfCallId } from "./signatures.ts";

type Part = JsonObject;

interface Content {
  readonly role: "user" | "model";
  parts: Part[];
}

/** The `{input: string}` arguments every custom tool is declared with. */
export const CUSTOM_TOOL_PARAMETERS: JsonObject = {
  type: "object",
  properties: { input: { type: "string" } },
  required: ["input"],
};

/** Gemini's limit on `stopSequences`. */
const MAX_STOP_SEQUENCES = 5;

// ===== Media =====

const MIME_BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ["png", "image/png"],
  ["jpg", "image/jpeg"],
  ["jpeg", "image/jpeg"],
  ["gif", "image/gif"],
  ["webp", "image/webp"],
  ["heic", "image/heic"],
  ["heif", "image/heif"],
  ["pdf", "application/pdf"],
  ["txt", "text/plain"],
  ["md", "text/markdown"],
  ["csv", "text/csv"],
  ["html", "text/html"],
  ["json", "application/json"],
  ["mp3", "audio/mpeg"],
  ["wav", "audio/wav"],
  ["mp4", "video/mp4"],
  ["mov", "video/quicktime"],
  ["webm", "video/webm"],
]);

/** The mime type a file name or URL's extension names, if it is a common one. */
const mimeOf = (name: string): string | undefined => {
  const path = name.split(/[?#]/, 1)[0];
  const dot = path.lastIndexOf(".");
  return dot < 0 ? undefined : MIME_BY_EXTENSION.get(path.slice(dot + 1).toLowerCase());
};

const utf8Base64 = (text: string): string => {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};

/** `data:<mime>[;base64],<data>` as `inlineData` (Gemini wants base64 bytes). */
const inlineData = (url: string, fallbackMime: string): Part | undefined => {
  const comma = url.indexOf(",");
  if (comma < 0) return undefined;
  const meta = url.slice("data:".length, comma).split(";");
  const mimeType = meta[0] !== "" ? meta[0] : fallbackMime;
  const payload = url.slice(comma + 1);
  let data: string;
  if (meta.includes("base64")) data = payload;
  else {
    try {
      data = utf8Base64(decodeURIComponent(payload));
    } catch {
      return undefined;
    }
  }
  return { inlineData: { mimeType, data } };
};

/** An image or file given by URL: inline when it is a data URL, else a `fileData` reference. */
const mediaPart = (url: string, fallbackMime: string | undefined): Part | undefined => {
  if (url.startsWith("data:")) return inlineData(url, fallbackMime ?? "application/octet-stream");
  const mimeType = mimeOf(url) ?? fallbackMime;
  return { fileData: mimeType !== undefined ? { mimeType, fileUri: url } : { fileUri: url } };
};

/** An `input_file`: `file_data` (a data URL, or bare base64 typed by its file name), or `file_url`. */
const filePart = (part: Record<string, unknown>): Part | undefined => {
  const filename = typeof part.filename === "string" ? part.filename : "";
  const data = part.file_data;
  if (typeof data === "string" && data !== "") {
    if (data.startsWith("data:")) return inlineData(data, mimeOf(filename) ?? "application/pdf");
    // OpenAI's own input files are PDFs unless the name says otherwise.
    return { inlineData: { mimeType: mimeOf(filename) ?? "application/pdf", data } };
  }
  if (typeof part.file_url === "string") return mediaPart(part.file_url, mimeOf(filename));
  return undefined;
};

/** A message's `content` (a string or Responses parts) as Gemini parts appended to `into`. */
const addContentParts = (content: unknown, into: Part[]): void => {
  if (typeof content === "string") {
    if (content !== "") into.push({ text: content });
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (!isObject(part)) continue;
    switch (part.type) {
      case "input_text":
      case "output_text":
      case "text":
        if (typeof part.text === "string" && part.text !== "") into.push({ text: part.text });
        break;
      case "refusal":
        if (typeof part.refusal === "string" && part.refusal !== "") into.push({ text: part.refusal });
        break;
      case "input_image": {
        const url = typeof part.image_url === "string" ? part.image_url : undefined;
        const media = url !== undefined ? mediaPart(url, "image/jpeg") : undefined;
        if (media !== undefined) into.push(media);
        break;
      }
      case "input_file": {
        const file = filePart(part);
        if (file !== undefined) into.push(file);
        break;
      }
    }
  }
};

// ===== Calls and results =====

/** A JSON object in `text`, or undefined (only text that looks like one is parsed). */
const jsonObject = (text: string): JsonObject | undefined => {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isObject(value) ? value as JsonObject : undefined;
  } catch {
    return undefined;
  }
};

/** A call's `arguments` text as the `args` object Gemini wants. */
const callArgs = (text: unknown): JsonObject => {
  if (typeof text !== "string" || text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value as JsonObject : { value: value as JsonObject[string] };
  } catch {
    return { input: text };
  }
};

/** A tool's output (a string or `input_*` parts) as a `response` object, plus the media it held. */
const toolResponse = (output: unknown): { response: JsonObject; text: string; media: Part[] } => {
  const media: Part[] = [];
  let text = "";
  if (typeof output === "string") text = output;
  else if (Array.isArray(output)) {
    const texts: string[] = [];
    const parts: Part[] = [];
    addContentParts(output, parts);
    for (const part of parts) {
      if (typeof part.text === "string") texts.push(part.text);
      else media.push(part);
    }
    text = texts.join("\n");
  }
  return { response: jsonObject(text) ?? { output: text }, text, media };
};

// ===== Contents =====

/** Builds `contents` in one pass over the canonical input, merging consecutive turns of one role. */
class Contents {
  readonly list: Content[] = [];
  readonly system: Part[] = [];
  private current: Content | undefined;
  /** Each call's name, by `call_id`: a result names its function. */
  private readonly names = new Map<string, string>();
  /** Each call's position in its model turn, by `call_id`: parallel results go back in call order. */
  private readonly positions = new Map<string, number>();
  private callsInTurn = 0;
  /** The position of each `functionResponse` part of the current user turn. */
  private readonly resultPositions = new Map<Part, number>();
  /** A text-part signature from a gemini reasoning envelope, for the current model turn. */
  private textSignature: string | undefined;

  /**
   * `signatures`: call signatures found in gemini reasoning envelopes, by `call_id`; `withIds`: whether calls and
   * results carry their id (Gemini 3 and later).
   */
  constructor(private readonly signatures: ReadonlyMap<string, string>, private readonly withIds: boolean) {}

  private turn(role: "user" | "model"): Content {
    if (this.current !== undefined && this.current.role === role) return this.current;
    this.close();
    const content: Content = { role, parts: [] };
    this.current = content;
    this.list.push(content);
    if (role === "model") this.callsInTurn = 0;
    return content;
  }

  /** Finishes the current turn: a model turn gets its text signature, a user turn its results in call order. */
  private close(): void {
    const content = this.current;
    if (content === undefined) return;
    if (content.role === "model" && this.textSignature !== undefined) {
      const text = content.parts.find((part) => typeof part.text === "string" && part.thoughtSignature === undefined);
      if (text !== undefined) text.thoughtSignature = this.textSignature;
      this.textSignature = undefined;
    }
    if (content.role === "user" && this.resultPositions.size > 1) {
      const results = content.parts.filter((part) => this.resultPositions.has(part));
      results.sort((a, b) => this.resultPositions.get(a)! - this.resultPositions.get(b)!);
      content.parts = [...results, ...content.parts.filter((part) => !this.resultPositions.has(part))];
    }
    this.resultPositions.clear();
    this.current = undefined;
  }

  message(item: Record<string, unknown>): void {
    switch (item.role) {
      case "system":
      case "developer":
        addContentParts(item.content, this.system);
        break;
      case "user":
        addContentParts(item.content, this.turn("user").parts);
        break;
      case "assistant":
        addContentParts(item.content, this.turn("model").parts);
        break;
    }
  }

  call(callId: string, name: string, args: JsonObject): void {
    const part: Part = { functionCall: this.withIds ? { id: bareCallId(callId), name, args } : { name, args } };
    const signature = this.signatures.get(callId) ?? signatureOfCallId(callId);
    if (signature !== undefined) part.thoughtSignature = signature;
    const turn = this.turn("model");
    this.names.set(callId, name);
    this.positions.set(callId, this.callsInTurn++);
    turn.parts.push(part);
  }

  output(callId: string, output: unknown): void {
    const name = this.names.get(callId);
    const { response, text, media } = toolResponse(output);
    const turn = this.turn("user");
    if (name === undefined) {
      // A result without its call: Gemini rejects a functionResponse that answers no functionCall.
      turn.parts.push({ text: `Result of tool call ${bareCallId(callId)}:\n${text}` }, ...media);
      return;
    }
    const part: Part = {
      functionResponse: this.withIds ? { id: bareCallId(callId), name, response } : { name, response },
    };
    this.resultPositions.set(part, this.positions.get(callId) ?? Number.MAX_SAFE_INTEGER);
    turn.parts.push(part, ...media);
  }

  /** A reasoning item: only this API's envelope means anything here (reasoning_envelope.ts). */
  reasoning(item: Record<string, unknown>): void {
    const opened = openReasoning(item.encrypted_content);
    if (opened.api !== "gemini" || !isObject(opened.payload)) return;
    const text = opened.payload.text;
    if (typeof text === "string" && text !== "") {
      this.turn("model");
      this.textSignature = text;
    }
  }

  /** The finished `contents`: empty turns gone, neighbours of one role merged, missing signatures stood in for. */
  finish(dummySignatures: boolean): Content[] {
    this.close();
    const out: Content[] = [];
    for (const content of this.list) {
      if (content.parts.length === 0) continue;
      const last = out.at(-1);
      if (last !== undefined && last.role === content.role) last.parts.push(...content.parts);
      else out.push(content);
    }
    if (dummySignatures) {
      // Gemini 3 checks the first functionCall of each step (providers.md §2.5); parallel calls sign only the first.
      for (const content of out) {
        if (content.role !== "model") continue;
        const first = content.parts.find((part) => part.functionCall !== undefined);
        if (first !== undefined && first.thoughtSignature === undefined) first.thoughtSignature = DUMMY_SIGNATURE;
      }
    }
    return out;
  }
}

/** Call signatures carried in gemini reasoning envelopes (`{signatures: {<call_id>: <sig>}}`), by `call_id`. */
const envelopeSignatures = (input: ReadonlyArray<unknown>): Map<string, string> => {
  const signatures = new Map<string, string>();
  for (const item of input) {
    if (!isObject(item) || item.type !== "reasoning") continue;
    const opened = openReasoning(item.encrypted_content);
    if (opened.api !== "gemini" || !isObject(opened.payload) || !isObject(opened.payload.signatures)) continue;
    for (const [callId, signature] of Object.entries(opened.payload.signatures)) {
      if (typeof signature === "string" && signature !== "") signatures.set(callId, signature);
    }
  }
  return signatures;
};

const buildContents = (input: ResponsesRequest["input"], model: string): { contents: Content[]; system: Part[] } => {
  const items = typeof input === "string" ? [] : input;
  const gemini3 = requiresSignatures(model);
  const contents = new Contents(envelopeSignatures(items), gemini3);
  if (typeof input === "string") {
    if (input !== "") contents.message({ role: "user", content: input });
  } else {
    for (const item of items) {
      if (!isObject(item)) continue;
      switch (item.type) {
        case undefined:
        case null:
        case "message":
          contents.message(item);
          break;
        case "function_call":
          if (typeof item.call_id === "string" && typeof item.name === "string") {
            contents.call(item.call_id, item.name, callArgs(item.arguments));
          }
          break;
        case "custom_tool_call":
          if (typeof item.call_id === "string" && typeof item.name === "string") {
            contents.call(item.call_id, item.name, { input: typeof item.input === "string" ? item.input : "" });
          }
          break;
        case "function_call_output":
        case "custom_tool_call_output":
          if (typeof item.call_id === "string") contents.output(item.call_id, item.output);
          break;
        case "reasoning":
          contents.reasoning(item);
          break;
        default:
          // item_reference and hosted-tool items name state of another API: nothing Gemini can use.
          break;
      }
    }
  }
  return { contents: contents.finish(gemini3), system: contents.system };
};

// ===== Tools =====

/** A custom tool's description, with its grammar: the model has to write the raw input in that format. */
const customDescription = (tool: Record<string, unknown>): string => {
  const description = typeof tool.description === "string" ? tool.description : "";
  const format = tool.format;
  if (!isObject(format) || format.type !== "grammar" || typeof format.definition !== "string") return description;
  const syntax = typeof format.syntax === "string" ? `${format.syntax} ` : "";
  const rule =
    `Pass the tool's raw input text as \`input\`. It must match this ${syntax}grammar:\n${format.definition}`;
  return description === "" ? rule : `${description}\n\n${rule}`;
};

const functionDeclarations = (tools: unknown): { declarations: JsonObject[]; names: Set<string> } => {
  const declarations: JsonObject[] = [];
  const names = new Set<string>();
  if (!Array.isArray(tools)) return { declarations, names };
  for (const tool of tools) {
    if (!isObject(tool) || typeof tool.name !== "string" || tool.name === "") continue;
    if (tool.type === "function") {
      const declaration: JsonObject = { name: tool.name };
      if (typeof tool.description === "string" && tool.description !== "") declaration.description = tool.description;
      declaration.parameters = geminiParameters(tool.parameters);
      declarations.push(declaration);
      names.add(tool.name);
    } else if (tool.type === "custom") {
      const declaration: JsonObject = { name: tool.name };
      const description = customDescription(tool);
      if (description !== "") declaration.description = description;
      declaration.parameters = CUSTOM_TOOL_PARAMETERS;
      declarations.push(declaration);
      names.add(tool.name);
    }
    // Hosted tools (web_search, file_search, mcp, ...) are OpenAI's to run: dropped.
  }
  return { declarations, names };
};

const callingConfig = (mode: string, names?: string[]): JsonObject => ({
  functionCallingConfig: names !== undefined ? { mode, allowedFunctionNames: names } : { mode },
});

/** `tool_choice` as `toolConfig`, or undefined for the API's default (AUTO) or a choice of a dropped tool. */
const toolConfig = (choice: unknown, declared: ReadonlySet<string>): JsonObject | undefined => {
  if (choice === "auto") return callingConfig("AUTO");
  if (choice === "required") return callingConfig("ANY");
  if (choice === "none") return callingConfig("NONE");
  if (!isObject(choice)) return undefined;
  if ((choice.type === "function" || choice.type === "custom") && typeof choice.name === "string") {
    return declared.has(choice.name) ? callingConfig("ANY", [choice.name]) : undefined;
  }
  if (choice.type === "allowed_tools") {
    // allowedFunctionNames is only valid with ANY (providers.md §2.2): "auto" over a subset stays AUTO.
    if (choice.mode !== "required") return callingConfig("AUTO");
    const names = (Array.isArray(choice.tools) ? choice.tools : [])
      .map((tool) => isObject(tool) ? tool.name : undefined)
      .filter((name): name is string => typeof name === "string" && declared.has(name));
    return names.length > 0 ? callingConfig("ANY", names) : callingConfig("ANY");
  }
  return undefined;
};

// ===== Generation =====

const generationConfig = (canonical: ResponsesRequest, model: string): JsonObject | undefined => {
  const config: JsonObject = {};
  if (typeof canonical.max_output_tokens === "number") config.maxOutputTokens = canonical.max_output_tokens;
  if (typeof canonical.temperature === "number") config.temperature = canonical.temperature;
  if (typeof canonical.top_p === "number") config.topP = canonical.top_p;
  const stop = canonical.stop;
  const stops = typeof stop === "string"
    ? [stop]
    : Array.isArray(stop)
    ? stop.filter((s): s is string => typeof s === "string" && s !== "")
    : [];
  if (stops.length > 0) config.stopSequences = stops.slice(0, MAX_STOP_SEQUENCES);
  const format = isObject(canonical.text) ? canonical.text.format : undefined;
  if (isObject(format) && (format.type === "json_schema" || format.type === "json_object")) {
    config.responseMimeType = "application/json";
    // `responseJsonSchema` takes JSON Schema as it is (unlike `responseSchema`, the OpenAPI subset).
    if (format.type === "json_schema" && isObject(format.schema)) config.responseJsonSchema = format.schema;
  }
  const thinking = thinkingConfig(model, canonical.reasoning);
  if (thinking !== undefined) config.thinkingConfig = thinking;
  return Object.keys(config).length > 0 ? config : undefined;
};

/** The request body, as an object (tests read it; `geminiRequest` serialises it). */
export const geminiBody = (canonical: ResponsesRequest, model: string): JsonObject => {
  const built = buildContents(canonical.input, model);
  const system: Part[] = [];
  if (typeof canonical.instructions === "string" && canonical.instructions !== "") {
    system.push({ text: canonical.instructions });
  }
  system.push(...built.system);
  const body: JsonObject = { contents: built.contents };
  if (system.length > 0) body.systemInstruction = { parts: system };
  const { declarations, names } = functionDeclarations(canonical.tools);
  if (declarations.length > 0) {
    body.tools = [{ functionDeclarations: declarations }];
    const config = toolConfig(canonical.tool_choice, names);
    if (config !== undefined) body.toolConfig = config;
  }
  const generation = generationConfig(canonical, model);
  if (generation !== undefined) body.generationConfig = generation;
  return body;
};

export const geminiRequest = (canonical: ResponsesRequest, attempt: AttemptSpec): WireRequest => ({
  path: modelPath(attempt.model, attempt.stream),
  body: JSON.stringify(geminiBody(canonical, attempt.model)),
});
