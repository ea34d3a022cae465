/**
 * Optional conformance run against real recorded traffic, kept outside the project.
 *
 * Runs only when `GATEWAY_RECORDINGS` names the recordings folder (`responses/`, `cursor/`, see its
 * README and SOURCES.md); otherwise every test here is registered with `ignore: true`, so the normal
 * suite never needs the folder:
 *
 *     GATEWAY_RECORDINGS=/path/to/recordings deno task conformance
 *
 * 1. Every upstream recording in `responses/` (vercel `*.chunks.txt` and `*.json`, the pydantic and
 *    dd VCR cassettes, one case per interaction) is served by the fake upstream behind the real
 *    gateway and requested through the official `openai` client (`create`, or `stream()` +
 *    `finalChatCompletion()`) and the Vercel AI SDK (`generateText` / `streamText`). The clients must
 *    accept the answer, and its text, tool calls, finish_reason and usage must be the recording's; an
 *    HTTP or in-stream error must reach the client as an error with the upstream's message and the
 *    status the gateway promises. The body the gateway sent upstream must be a valid Responses
 *    request, and replaying the recorded (real, accepted) request as a hybrid body must forward the
 *    same conversation.
 * 2. Every full Cursor request body in `cursor/` (and the shapes Bifrost documents in file 11) is
 *    accepted (no 400) and forwarded as a valid Responses request (protocol.md §1).
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, generateText, jsonSchema, streamText, type TextStreamPart, tool, type ToolSet } from "ai";
import OpenAI, { APIError } from "openai";
import { parse as parseYaml } from "yaml";
import { type FakeReply, type SseStep, startFakeUpstream } from "./support/fake_upstream.ts";
import { startGateway, testConfig, VK } from "./support/gateway.ts";

const DIR = Deno.env.get("GATEWAY_RECORDINGS");
const ignore = DIR === undefined || DIR === "";

// deno-lint-ignore no-explicit-any
type Json = any;

// ===== Reading recordings =====

/** What a recorded upstream answer should become on the client side. */
type Outcome =
  | {
    readonly kind: "answer";
    readonly text: string;
    readonly toolCalls: ReadonlyArray<{ id: string; name: string; arguments: string }>;
    readonly finish: "stop" | "length" | "tool_calls" | "content_filter";
    readonly usage: { prompt: number; completion: number; total: number; cached: number; reasoning: number };
    readonly reasoning: ReadonlyArray<string>;
  }
  | { readonly kind: "http_error"; readonly status: number; readonly error: Json }
  | { readonly kind: "stream_error"; readonly message: string; readonly code: string | null };

interface Recording {
  readonly name: string;
  /** The request the recorder sent upstream (`{}` when the recording has none). */
  readonly request: Json;
  readonly streamed: boolean;
  readonly reply: FakeReply;
  readonly outcome: Outcome;
}

const num = (value: unknown) => typeof value === "number" ? value : 0;

/** The answer a finished Responses `response` stands for (protocol.md §2.7). */
const answerOf = (response: Json): Outcome => {
  let text = "";
  const toolCalls: Array<{ id: string; name: string; arguments: string }> = [];
  const reasoning: string[] = [];
  for (const item of response?.output ?? []) {
    if (item.type === "message") {
      for (const part of item.content ?? []) if (part.type === "output_text") text += part.text;
    } else if (item.type === "function_call") {
      toolCalls.push({ id: item.call_id, name: item.name, arguments: item.arguments });
    } else if (item.type === "custom_tool_call") {
      toolCalls.push({ id: item.call_id, name: item.name, arguments: item.input });
    } else if (item.type === "reasoning") {
      for (const part of item.summary ?? []) if (part.text) reasoning.push(part.text);
    }
  }
  const finish = response?.status === "incomplete"
    ? response.incomplete_details?.reason === "content_filter" ? "content_filter" : "length"
    : toolCalls.length > 0
    ? "tool_calls"
    : "stop";
  const usage = response?.usage;
  return {
    kind: "answer",
    text,
    toolCalls,
    finish,
    reasoning,
    usage: {
      prompt: num(usage?.input_tokens),
      completion: num(usage?.output_tokens),
      total: num(usage?.total_tokens),
      cached: num(usage?.input_tokens_details?.cached_tokens),
      reasoning: num(usage?.output_tokens_details?.reasoning_tokens),
    },
  };
};

/** SSE text (`event:`/`data:` blocks) as fake-upstream steps and parsed events. */
const sseOf = (text: string): { steps: SseStep[]; events: Json[] } => {
  const steps: SseStep[] = [];
  const events: Json[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) =>
      line.slice(5).trimStart()
    ).join("\n");
    if (data === "") continue;
    steps.push({ raw: `${block.trim()}\n\n` });
    if (data !== "[DONE]") events.push(JSON.parse(data));
  }
  return { steps, events };
};

/** The outcome of a recorded stream: its error, else its terminal response. */
const streamOutcome = (events: Json[]): Outcome => {
  for (const event of events) {
    if (event.type === "error") {
      const error = event.error && typeof event.error === "object" ? event.error : event;
      return { kind: "stream_error", message: error.message, code: error.code ?? null };
    }
    if (event.type === "response.failed") {
      return { kind: "stream_error", message: event.response.error.message, code: event.response.error.code ?? null };
    }
    if (event.type === "response.completed" || event.type === "response.incomplete") return answerOf(event.response);
  }
  throw new Error("recorded stream has no terminal event");
};

/**
 * The HTTP status of a recorded error body whose status was not recorded (the vercel `*.json`
 * files): what OpenAI answers for its type (429 for an exhausted quota, 400 for a bad request).
 */
const statusForBody = (error: Json): number =>
  error?.code === "insufficient_quota" || error?.type === "insufficient_quota"
    ? 429
    : error?.type === "invalid_request_error"
    ? 400
    : 500;

const jsonRecording = (
  name: string,
  request: Json,
  status: number | undefined,
  body: Json,
  headers: Record<string, string> = {},
): Recording => {
  if (body?.error && typeof body.error === "object") {
    const code = status ?? statusForBody(body.error);
    return {
      name,
      request,
      streamed: request?.stream === true,
      reply: { status: code, headers, json: body },
      outcome: { kind: "http_error", status: code, error: body.error },
    };
  }
  return {
    name,
    request,
    streamed: false,
    reply: { status: status ?? 200, headers, json: body },
    outcome: answerOf(body),
  };
};

const gunzip = async (bytes: Uint8Array): Promise<string> =>
  await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"))).text();

const header = (headers: Json, name: string): string | undefined => {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return String(Array.isArray(value) ? value[0] : value);
  }
  return undefined;
};

/** A VCR body: pydantic's `parsed_body`, `body.string`, dd's plain `body` string, or gzip `!!binary`. */
const cassetteBody = async (side: Json): Promise<Json | string | undefined> => {
  if (side.parsed_body !== undefined) return side.parsed_body;
  const raw = typeof side.body === "object" && side.body !== null ? side.body.string : side.body;
  if (raw instanceof Uint8Array) {
    return header(side.headers, "content-encoding") === "gzip" ? await gunzip(raw) : new TextDecoder().decode(raw);
  }
  return raw;
};

const cassetteRecordings = async (file: string, text: string): Promise<Recording[]> => {
  const doc = parseYaml(text, { customTags: ["binary"] });
  const out: Recording[] = [];
  for (const [i, interaction] of (doc.interactions ?? []).entries()) {
    const name = `${file}#${i + 1}`;
    const rawRequest = await cassetteBody(interaction.request);
    const request = typeof rawRequest === "string" ? JSON.parse(rawRequest) : rawRequest ?? {};
    const status = interaction.response.status?.code ?? 200;
    const body = await cassetteBody(interaction.response);
    // The headers a client could act on, as recorded (the body is served decoded, so no content-encoding).
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "retry-after", "x-request-id"]) {
      const value = header(interaction.response.headers, name);
      if (value !== undefined) headers[name] = value;
    }
    if (typeof body === "string" && !body.trimStart().startsWith("{")) {
      const { steps, events } = sseOf(body);
      const reply = { status, headers, sse: steps };
      out.push({ name, request, streamed: true, reply, outcome: streamOutcome(events) });
    } else {
      out.push(jsonRecording(name, request, status, typeof body === "string" ? JSON.parse(body) : body, headers));
    }
  }
  return out;
};

const loadRecordings = async (dir: string): Promise<Recording[]> => {
  const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  const out: Recording[] = [];
  for (const name of names) {
    const text = await Deno.readTextFile(`${dir}/${name}`);
    if (name.endsWith(".chunks.txt")) {
      // The recorder kept one event JSON per line; frame them as `data:` lines only.
      const lines = text.split("\n").filter((line) => line.trim() !== "");
      out.push({
        name,
        request: {},
        streamed: true,
        reply: { sse: lines.map((line) => ({ raw: `data: ${line}\n\n` })) },
        outcome: streamOutcome(lines.map((line) => JSON.parse(line))),
      });
    } else if (name.endsWith(".json")) {
      out.push(jsonRecording(name, {}, undefined, JSON.parse(text)));
    } else if (name.endsWith(".yaml") || name.endsWith(".yml")) {
      out.push(...await cassetteRecordings(name, text));
    }
  }
  return out;
};

// ===== What a valid Responses request is (protocol.md §1) =====

const MESSAGE_ROLES = new Set(["user", "assistant", "system", "developer"]);
const INPUT_PARTS = new Set(["input_text", "input_image", "input_file"]);
const ASSISTANT_PARTS = new Set(["output_text", "refusal"]);

/** Every way `body` is not a request the Responses API accepts; `[]` when it is valid. */
const responsesRequestProblems = (body: Json): string[] => {
  const problems: string[] = [];
  const problem = (text: string) => problems.push(text);
  if (typeof body.model !== "string" || body.model === "") problem("model: not a non-empty string");
  for (const field of ["messages", "fallbacks", "stream_options", "max_tokens", "max_completion_tokens"]) {
    if (field in body && !(field === "stream_options" && body.stream_options?.include_usage === undefined)) {
      problem(`${field}: not a Responses request field`);
    }
  }
  if ("stream" in body && typeof body.stream !== "boolean") problem("stream: not a boolean");

  const tools = Array.isArray(body.tools) ? body.tools : [];
  if ("tools" in body && !Array.isArray(body.tools)) problem("tools: not an array");
  const customTools = new Set<string>();
  const functionTools = new Set<string>();
  for (const [i, t] of tools.entries()) {
    if (typeof t?.type !== "string") problem(`tools[${i}].type: missing`);
    if (t?.type === "function") {
      if ("function" in t) problem(`tools[${i}]: nested chat function, not flat`);
      if (typeof t.name !== "string" || t.name === "") problem(`tools[${i}].name: missing`);
      if (t.parameters !== undefined && t.parameters !== null && typeof t.parameters !== "object") {
        problem(`tools[${i}].parameters: not an object`);
      }
      if ("input_schema" in t) problem(`tools[${i}].input_schema: not a Responses field`);
      functionTools.add(t.name);
    } else if (t?.type === "custom") {
      if (typeof t.name !== "string" || t.name === "") problem(`tools[${i}].name: missing`);
      if ("input_schema" in t || "parameters" in t) problem(`tools[${i}]: a custom tool with a schema`);
      customTools.add(t.name);
    }
  }
  const choice = body.tool_choice;
  if (choice !== undefined && typeof choice !== "string") {
    if (typeof choice?.type !== "string") problem("tool_choice.type: missing");
    if ("function" in choice) problem("tool_choice: nested chat form");
  }
  // §1.7: reasoning models reject sampling parameters (`400 Unsupported parameter: 'temperature'`).
  const effort = body.reasoning?.effort;
  if (typeof effort === "string" && effort !== "none") {
    for (const field of ["temperature", "top_p"]) {
      if (field in body) problem(`${field}: sent with reasoning effort ${effort}`);
    }
  }
  const format = body.text?.format;
  if (format?.type === "json_schema" && (format.json_schema !== undefined || typeof format.name !== "string")) {
    problem("text.format: json_schema not flat");
  }

  if (typeof body.input === "string") return problems;
  if (!Array.isArray(body.input)) {
    problem("input: neither a string nor an array");
    return problems;
  }
  const calls = new Map<string, string>();
  const answered = new Set<string>();
  const input: Json[] = body.input;
  for (const [i, item] of input.entries()) {
    const at = `input[${i}]`;
    if (item === null || typeof item !== "object") {
      problem(`${at}: not an object`);
      continue;
    }
    const type = item.type ?? (item.role !== undefined ? "message" : "item_reference");
    switch (type) {
      case "message": {
        if (!MESSAGE_ROLES.has(item.role)) problem(`${at}.role: ${item.role}`);
        if (typeof item.content === "string") break;
        if (!Array.isArray(item.content)) {
          problem(`${at}.content: ${item.content === null ? "null" : "neither a string nor an array"}`);
          break;
        }
        const allowed = item.role === "assistant" ? ASSISTANT_PARTS : INPUT_PARTS;
        for (const [j, part] of item.content.entries()) {
          if (!allowed.has(part?.type)) problem(`${at}.content[${j}].type: ${part?.type} in a ${item.role} message`);
          if ((part?.type === "input_text" || part?.type === "output_text") && typeof part.text !== "string") {
            problem(`${at}.content[${j}].text: not a string`);
          }
        }
        break;
      }
      case "function_call":
      case "custom_tool_call": {
        const payload = type === "function_call" ? "arguments" : "input";
        for (const key of ["call_id", "name", payload]) {
          if (typeof item[key] !== "string") problem(`${at}.${key}: not a string`);
        }
        if (calls.has(item.call_id)) problem(`${at}.call_id: ${item.call_id} called twice`);
        calls.set(item.call_id, type);
        if (type === "function_call" && customTools.has(item.name)) {
          problem(`${at}: a function_call of the custom tool ${item.name} (must be custom_tool_call)`);
        }
        if (type === "custom_tool_call" && functionTools.has(item.name)) {
          problem(`${at}: a custom_tool_call of the function tool ${item.name}`);
        }
        break;
      }
      case "function_call_output":
      case "custom_tool_call_output": {
        const callType = calls.get(item.call_id);
        if (callType === undefined) problem(`${at}: output for ${item.call_id} without an earlier call`);
        else if (`${callType}_output` !== type) problem(`${at}: ${type} answers a ${callType}`);
        if (typeof item.output !== "string" && !Array.isArray(item.output)) problem(`${at}.output: not string/array`);
        answered.add(item.call_id);
        break;
      }
      case "reasoning":
        if (i === input.length - 1) problem(`${at}: reasoning item without its following item`);
        if (typeof item.encrypted_content !== "string") problem(`${at}: reasoning item without encrypted_content`);
        break;
      default:
        if (typeof type !== "string") problem(`${at}.type: not a string`);
    }
  }
  for (const id of calls.keys()) if (!answered.has(id)) problem(`call ${id}: no output for it`);
  // No null where the API wants content (LiteLLM#34029: "expected ... string, but got null").
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) value.forEach((entry, i) => walk(entry, `${path}[${i}]`));
    else if (value !== null && typeof value === "object") {
      for (const [key, entry] of Object.entries(value)) {
        if (entry === null && (key === "content" || key === "output" || key === "text" || key === "arguments")) {
          problem(`${path}.${key}: null`);
        }
        walk(entry, `${path}.${key}`);
      }
    }
  };
  walk(body.input, "input");
  return problems;
};

/** The conversation of a Responses input, as comparable signatures (ids and empty turns aside). */
const conversation = (instructions: unknown, input: unknown): string[] => {
  const out: string[] = [];
  if (typeof instructions === "string" && instructions !== "") out.push(`instructions:${instructions}`);
  if (typeof input === "string") return [...out, `message:user:${input}`];
  const textOf = (content: Json): string =>
    typeof content === "string"
      ? content
      : (content ?? []).map((part: Json) => part.text ?? part.refusal ?? `<${part.type}>`).join("");
  for (const item of (input ?? []) as Json[]) {
    const type = item.type ?? "message";
    if (type === "message") {
      const text = textOf(item.content);
      if (text !== "" || item.role !== "assistant") out.push(`message:${item.role}:${text}`);
    } else if (type === "function_call") out.push(`call:${item.call_id}:${item.name}:${item.arguments}`);
    else if (type === "custom_tool_call") out.push(`call:${item.call_id}:${item.name}:${item.input}`);
    else if (type.endsWith("_output")) out.push(`output:${item.call_id}:${textOf(item.output)}`);
    else if (type !== "reasoning") out.push(type);
  }
  return out;
};

// ===== The client side =====

const PROVIDER_KEY = "sk-client-own-provider-key-0123456789";

/** A gateway in front of a fake upstream that answers every request with `reply`; no retries, so errors are final. */
const withGateway = async (
  reply: FakeReply,
  keyOrigin: "gateway" | "client",
  body: (gatewayUrl: string, upstream: ReturnType<typeof startFakeUpstream>) => Promise<void>,
) => {
  const upstream = startFakeUpstream(() => reply);
  const retry = { max_retries: 0, initial_backoff_ms: 1, max_backoff_ms: 1 };
  const config = keyOrigin === "gateway"
    ? testConfig(upstream.url, {
      providers: { openai: { base_url: upstream.url, keys: [{ value: "sk-upstream-secret-1" }], retry } },
    })
    : testConfig(upstream.url, { providers: { openai: { base_url: upstream.url, retry } }, allow_provider_keys: true });
  const gateway = await startGateway(config);
  try {
    await body(gateway.url, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const chatText = (content: Json): string =>
  typeof content === "string" ? content : (content ?? []).map((part: Json) => part.text ?? "").join("");

/** The recorded upstream request as the chat body a client such as the `openai` SDK sends. */
const chatRequest = (recorded: Json): Json => {
  const messages: Json[] = [];
  if (typeof recorded.instructions === "string" && recorded.instructions !== "") {
    messages.push({ role: "system", content: recorded.instructions });
  }
  const input = recorded.input ?? "Hello";
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else {
    for (const item of input as Json[]) {
      const type = item.type ?? "message";
      if (type === "message") messages.push({ role: item.role, content: chatText(item.content) });
      else if (type === "function_call") {
        let last = messages.at(-1);
        if (last?.role !== "assistant" || last.tool_calls === undefined && last.content !== "") {
          last = { role: "assistant", content: null };
          messages.push(last);
        }
        (last.tool_calls ??= []).push({
          id: item.call_id,
          type: "function",
          function: { name: item.name, arguments: item.arguments },
        });
      } else if (type === "function_call_output") {
        messages.push({ role: "tool", tool_call_id: item.call_id, content: chatText(item.output) });
      }
    }
  }
  const body: Json = { messages };
  const tools = (recorded.tools ?? []).filter((t: Json) => t.type === "function");
  if (tools.length > 0) {
    body.tools = tools.map((t: Json) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters,
        ...(typeof t.strict === "boolean" ? { strict: t.strict } : {}),
      },
    }));
  }
  const choice = recorded.tool_choice;
  if (typeof choice === "string") body.tool_choice = choice;
  else if (choice?.type === "function") body.tool_choice = { type: "function", function: { name: choice.name } };
  const format = recorded.text?.format;
  if (format?.type === "json_schema") {
    body.response_format = {
      type: "json_schema",
      json_schema: { name: format.name, schema: format.schema, strict: format.strict },
    };
  }
  if (typeof recorded.max_output_tokens === "number") body.max_completion_tokens = recorded.max_output_tokens;
  if (typeof recorded.reasoning?.effort === "string") body.reasoning_effort = recorded.reasoning.effort;
  return body;
};

/** The recorded upstream request as the hybrid body Cursor sends (a Responses request to /chat/completions). */
const hybridRequest = (recorded: Json, model: string, stream: boolean): Json => {
  const body = { ...recorded, model, stream };
  // Bad values that the recorder sent on purpose to get an upstream error are the gateway's to reject.
  if (typeof body.temperature === "number" && (body.temperature < 0 || body.temperature > 2)) delete body.temperature;
  return body;
};

const modelOf = (recording: Recording) => `openai/${recording.request.model ?? "gpt-5"}`;

/** The status and message a client must see for an upstream HTTP error (issue 2, "Errors"). */
const expectedError = (status: number, error: Json, keyOrigin: "gateway" | "client") => {
  if (status === 401 || status === 403) {
    // The upstream's message may echo part of the key, so the gateway says it in its own words.
    return { status: keyOrigin === "client" ? status : 502, message: undefined };
  }
  if (status >= 500) return { status: 502, message: error.message as string };
  if (status === 429 && error.code === "insufficient_quota") {
    // An exhausted quota is the gateway's key problem (502), or the caller's own when it sent its key.
    return { status: keyOrigin === "client" ? 429 : 502, message: error.message as string };
  }
  return { status, message: error.message as string };
};

const assertOpenAIAnswer = (completion: OpenAI.ChatCompletion, outcome: Outcome & { kind: "answer" }) => {
  const choice = completion.choices[0];
  assert.equal(choice.message.role, "assistant");
  assert.equal(choice.message.content ?? "", outcome.text, "content");
  // Like OpenAI: `null` beside tool calls, a string otherwise (the stream accumulator leaves it unset instead).
  if (completion.object === "chat.completion") {
    assert.equal(choice.message.content, outcome.text === "" && outcome.toolCalls.length > 0 ? null : outcome.text);
  }
  assert.deepEqual(
    (choice.message.tool_calls ?? []).map((call) =>
      call.type === "function" ? { id: call.id, name: call.function.name, arguments: call.function.arguments } : call
    ),
    outcome.toolCalls,
    "tool calls",
  );
  assert.equal(choice.finish_reason, outcome.finish, "finish_reason");
  const usage = completion.usage;
  assertUsage(
    {
      prompt: usage?.prompt_tokens,
      completion: usage?.completion_tokens,
      total: usage?.total_tokens,
      cached: usage?.prompt_tokens_details?.cached_tokens,
      reasoning: usage?.completion_tokens_details?.reasoning_tokens,
    },
    outcome.usage,
  );
};

/**
 * The recording's usage. One that reports none (or zeros) reaches the client as the gateway's
 * estimate, a token per 4 characters sent and received (issue 14, point 5): some prompt, a total
 * that adds up, no cache or reasoning counts.
 */
const assertUsage = (
  seen: { prompt?: number; completion?: number; total?: number; cached?: number; reasoning?: number },
  expected: Extract<Outcome, { kind: "answer" }>["usage"],
) => {
  if (expected.prompt !== 0 || expected.completion !== 0) return assert.deepEqual(seen, expected, "usage");
  assert.ok((seen.prompt ?? 0) > 0, "usage: the prompt is estimated");
  assert.equal(seen.total, (seen.prompt ?? 0) + (seen.completion ?? 0), "usage: the estimate adds up");
  assert.deepEqual([seen.cached, seen.reasoning], [0, 0], "usage: no cache or reasoning counts in an estimate");
};

const openaiCase = async (recording: Recording, keyOrigin: "gateway" | "client" = "gateway") => {
  await withGateway(recording.reply, keyOrigin, async (url, upstream) => {
    const client = new OpenAI({
      baseURL: `${url}/cursor/v1`,
      apiKey: keyOrigin === "gateway" ? VK : PROVIDER_KEY,
      maxRetries: 0,
      timeout: 20_000,
    });
    const params = { ...chatRequest(recording.request), model: modelOf(recording) };
    const { outcome } = recording;
    let streamedReasoning = "";
    const run = async (): Promise<OpenAI.ChatCompletion> => {
      if (!recording.streamed) return await client.chat.completions.create({ ...params, stream: false });
      const stream = client.chat.completions.stream(params);
      stream.on("chunk", (chunk) => {
        streamedReasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
      });
      return await stream.finalChatCompletion();
    };
    if (outcome.kind === "answer") {
      const completion = await run();
      assertOpenAIAnswer(completion, outcome);
      const reasoning = recording.streamed
        ? streamedReasoning
        : (completion.choices[0].message as unknown as { reasoning?: string }).reasoning ?? "";
      for (const part of outcome.reasoning) assert.ok(reasoning.includes(part), "every reasoning summary arrives");
    } else {
      const error = await run().then(() => undefined, (error: unknown) => error);
      assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
      if (outcome.kind === "http_error") {
        const expected = expectedError(outcome.status, outcome.error, keyOrigin);
        assert.equal(error.status, expected.status, "status");
        if (expected.status === outcome.status && keyOrigin === "gateway") {
          // The caller's fault: the upstream's error, exactly.
          const { message, type, param, code } = outcome.error;
          assert.deepEqual(error.error, { message, type, param, code });
        } else if (expected.message !== undefined) assert.ok(error.message.includes(expected.message), error.message);
        else assert.ok(!error.message.includes(outcome.error.message), "the upstream's key message is not echoed");
      } else {
        assert.ok(error.message.includes(outcome.message), error.message);
      }
    }
    assert.equal(upstream.requests.length, 1);
    const sent: Json = upstream.requests[0].body;
    assert.deepEqual(responsesRequestProblems(sent), [], "the forwarded body is a valid Responses request");
    assert.equal(sent.stream, recording.streamed);
    // The conversation is the recorded one: same turns, same calls and outputs by call_id (a system
    // message and `instructions` say the same).
    const asChat = (entry: string) => entry.startsWith("instructions:") ? `message:system:${entry.slice(13)}` : entry;
    assert.deepEqual(
      conversation(sent.instructions, sent.input).map(asChat),
      conversation(recording.request.instructions, recording.request.input ?? "Hello").map(asChat),
    );
  });
};

const VERCEL_FINISH = { stop: "stop", length: "length", tool_calls: "tool-calls", content_filter: "content-filter" };

const vercelTools = (recorded: Json): ToolSet => {
  const tools: ToolSet = {};
  for (const t of recorded.tools ?? []) {
    if (t.type === "function") {
      tools[t.name] = tool({ description: t.description ?? undefined, inputSchema: jsonSchema(t.parameters ?? {}) });
    }
  }
  return tools;
};

const firstUserText = (recorded: Json): string => {
  const input = recorded.input;
  if (typeof input === "string") return input;
  const user = (input ?? []).find((item: Json) => item.role === "user");
  return user ? chatText(user.content) || "Hello" : "Hello";
};

const vercelCase = async (recording: Recording) => {
  await withGateway(recording.reply, "gateway", async (url) => {
    const model = createOpenAI({ baseURL: `${url}/cursor/v1`, apiKey: VK }).chat(modelOf(recording));
    const tools = vercelTools(recording.request);
    const options = {
      model,
      prompt: firstUserText(recording.request),
      ...(Object.keys(tools).length > 0 ? { tools } : {}),
      maxRetries: 0,
    };
    const { outcome } = recording;
    let result: {
      text: string;
      toolCalls: ReadonlyArray<{ toolCallId: string; toolName: string; input: unknown }>;
      finishReason: string;
      usage: Json;
    };
    if (recording.streamed) {
      // Errors are read from the full stream below; the default handler would only log them.
      const stream = streamText({ ...options, onError: () => {} });
      const parts: TextStreamPart<ToolSet>[] = [];
      for await (const part of stream.fullStream) parts.push(part);
      const errors = parts.flatMap((part) => part.type === "error" ? [part.error] : []);
      if (outcome.kind !== "answer") {
        assert.equal(errors.length, 1, `one error part, got ${errors.length}`);
        const message = errors[0] instanceof Error ? errors[0].message : String(errors[0]);
        if (outcome.kind === "stream_error") assert.ok(message.includes(outcome.message), message);
        else checkVercelHttpError(errors[0], outcome);
        return;
      }
      assert.deepEqual(errors, []);
      result = {
        text: await stream.text,
        toolCalls: await stream.toolCalls,
        finishReason: await stream.finishReason,
        usage: await stream.usage,
      };
    } else {
      if (outcome.kind !== "answer") {
        const error = await generateText(options).then(() => undefined, (error: unknown) => error);
        assert.ok(error !== undefined, "generateText must fail");
        if (outcome.kind === "http_error") checkVercelHttpError(error, outcome);
        else assert.ok(String((error as Error).message).includes(outcome.message));
        return;
      }
      result = await generateText(options);
    }
    assert.equal(result.text, outcome.text, "text");
    assert.deepEqual(
      result.toolCalls.map((call) => ({ id: call.toolCallId, name: call.toolName, input: call.input })),
      outcome.toolCalls.map((call) => ({ id: call.id, name: call.name, input: JSON.parse(call.arguments) })),
      "tool calls",
    );
    assert.equal(result.finishReason, VERCEL_FINISH[outcome.finish], "finish reason");
    assertUsage(
      {
        prompt: result.usage.inputTokens,
        completion: result.usage.outputTokens,
        total: result.usage.totalTokens,
        cached: result.usage.inputTokenDetails?.cacheReadTokens ?? 0,
        reasoning: result.usage.outputTokenDetails?.reasoningTokens ?? 0,
      },
      outcome.usage,
    );
  });
};

const checkVercelHttpError = (error: unknown, outcome: Outcome & { kind: "http_error" }) => {
  assert.ok(APICallError.isInstance(error), `expected APICallError, got ${error}`);
  const expected = expectedError(outcome.status, outcome.error, "gateway");
  assert.equal(error.statusCode, expected.status, "status");
  if (expected.message !== undefined) assert.ok(error.message.includes(expected.message), error.message);
};

/** Replays the recorded (real, accepted) request as Cursor's hybrid body: the gateway must forward the same conversation. */
const hybridReplayCase = async (recording: Recording) => {
  await withGateway(recording.reply, "gateway", async (url, upstream) => {
    const response = await fetch(`${url}/cursor/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
      body: JSON.stringify(hybridRequest(recording.request, modelOf(recording), recording.streamed)),
    });
    await response.body?.cancel();
    // The gateway itself accepts the real request: it reaches the upstream (which may answer with its recorded error).
    assert.equal(upstream.requests.length, 1, `the gateway answered ${response.status} itself`);
    const sent: Json = upstream.requests[0].body;
    assert.deepEqual(responsesRequestProblems(sent), []);
    assert.deepEqual(
      conversation(sent.instructions, sent.input),
      conversation(recording.request.instructions, recording.request.input),
    );
    assert.deepEqual(
      (sent.tools ?? []).map((t: Json) => [t.type, t.name]),
      (recording.request.tools ?? []).map((t: Json) => [t.type, t.name]),
    );
    for (const key of ["tool_choice", "text", "reasoning", "include", "max_output_tokens", "previous_response_id"]) {
      if (recording.request[key] !== undefined && recording.request[key] !== null) {
        assert.deepEqual(sent[key], recording.request[key], key);
      }
    }
  });
};

const recordings = ignore ? [] : await loadRecordings(`${DIR}/responses`);

Deno.test({
  name: "conformance: every recorded upstream answer and error reaches the openai client intact",
  ignore,
  fn: async (t) => {
    assert.ok(recordings.length > 0, "no recordings found");
    for (const recording of recordings) {
      await t.step(`${recording.name} (${recording.streamed ? "stream()" : "create"})`, () => openaiCase(recording));
    }
  },
});

Deno.test({
  name: "conformance: a recorded upstream HTTP error for the client's own provider key keeps its status",
  ignore,
  fn: async (t) => {
    const keyErrors = recordings.filter((r) => r.outcome.kind === "http_error");
    assert.ok(keyErrors.some((r) => r.outcome.kind === "http_error" && r.outcome.status === 401), "no 401 recording");
    for (const recording of keyErrors) await t.step(recording.name, () => openaiCase(recording, "client"));
  },
});

/**
 * The same SSE text cut into pieces of `size` characters (`Infinity`: one piece), wherever the cuts fall. Cuts fall
 * between characters (a piece is written as UTF-8 on its own), so an emoji is never split into lone surrogates.
 */
const rechunk = (recording: Recording, size: number): Recording => {
  if (!("sse" in recording.reply)) return recording;
  const text = Array.from(recording.reply.sse.map((step) => "raw" in step ? step.raw : "").join(""));
  const pieces: SseStep[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push({ raw: text.slice(i, i + size).join("") });
  return { ...recording, reply: { ...recording.reply, sse: pieces } };
};

Deno.test({
  name: "conformance: every recorded stream reaches the openai client intact however the network cuts its bytes",
  ignore,
  fn: async (t) => {
    for (const recording of recordings.filter((r) => r.streamed && "sse" in r.reply)) {
      for (const size of [1, 61, Infinity]) {
        // One-character pieces only for the small recordings, to keep the run short.
        const length = "sse" in recording.reply ? recording.reply.sse.length : 0;
        if (size === 1 && length > 40) continue;
        await t.step(`${recording.name} in pieces of ${size}`, () => openaiCase(rechunk(recording, size)));
      }
    }
  },
});

Deno.test({
  name: "conformance: every recorded upstream answer and error reaches the Vercel AI SDK intact",
  ignore,
  fn: async (t) => {
    for (const recording of recordings) {
      await t.step(
        `${recording.name} (${recording.streamed ? "streamText" : "generateText"})`,
        () => vercelCase(recording),
      );
    }
  },
});

Deno.test({
  name: "conformance: every recorded (real) upstream request, sent as a hybrid body, is forwarded unchanged",
  ignore,
  fn: async (t) => {
    for (const recording of recordings.filter((r) => r.request.input !== undefined)) {
      await t.step(recording.name, () => hybridReplayCase(recording));
    }
  },
});

// ===== Cursor request bodies =====

const FULL_CURSOR_BODIES = ["01", "02", "04", "05", "07", "08"];

/** A recorded Cursor body: the file less its first `//` or `#` source line. */
const cursorBody = (text: string): Json => {
  const lines = text.split("\n");
  if (/^\s*(\/\/|#)/.test(lines[0])) lines.shift();
  return JSON.parse(lines.join("\n"));
};

const okText = {
  id: "resp_conformance",
  object: "response",
  created_at: 1,
  status: "completed",
  model: "gpt-5-2025-08-07",
  output: [{
    type: "message",
    id: "msg_conformance",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "ok", annotations: [] }],
  }],
  usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 },
};
const okStream: SseStep[] = [
  { event: { type: "response.created", response: { ...okText, status: "in_progress", output: [], usage: null } } },
  {
    event: {
      type: "response.output_text.delta",
      item_id: "msg_conformance",
      output_index: 0,
      content_index: 0,
      delta: "ok",
    },
  },
  { event: { type: "response.output_item.done", output_index: 0, item: okText.output[0] } },
  { event: { type: "response.completed", response: okText } },
];

/** Every call id the client's body carries in its history, in any spelling. */
const clientCallIds = (body: Json): string[] => {
  const ids = new Set<string>();
  const list = [...(Array.isArray(body.input) ? body.input : []), ...(body.messages ?? [])];
  for (const item of list) {
    if (item.type === "function_call" || item.type === "custom_tool_call") ids.add(item.call_id);
    for (const call of item.tool_calls ?? []) ids.add(call.id);
    for (const part of Array.isArray(item.content) ? item.content : []) {
      if (part?.type === "tool_use") ids.add(part.id ?? part.tool_call_id);
    }
  }
  return [...ids];
};

/**
 * The stream Cursor renders (cursor.md §2, protocol.md §3.6): `data:` frames of one id, the role first, one finish,
 * then a `choices: []` chunk with the usage (whether or not `include_usage` was asked), then `[DONE]`.
 */
const assertCursorStream = (name: string, text: string) => {
  const frames = text.split("\n\n").map((frame) => frame.trim()).filter((frame) => frame !== "");
  assert.ok(frames.every((frame) => frame.startsWith("data: ")), `${name}: only data frames`);
  assert.equal(frames.at(-1), "data: [DONE]", `${name}: the stream ends with [DONE]`);
  const chunks: Json[] = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice(6)));
  assert.equal(new Set(chunks.map((chunk) => chunk.id)).size, 1, `${name}: one id`);
  assert.equal(chunks[0].choices[0].delta.role, "assistant", `${name}: the role comes first`);
  const finishes = chunks.flatMap((chunk) => chunk.choices.filter((choice: Json) => choice.finish_reason !== null));
  assert.deepEqual(finishes.map((choice: Json) => choice.finish_reason), ["stop"], `${name}: one finish`);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, [], `${name}: the usage chunk has no choices`);
  assert.deepEqual(
    [last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens],
    [okText.usage.input_tokens, okText.usage.output_tokens, okText.usage.total_tokens],
    `${name}: the usage chunk`,
  );
};

const postCursorBody = async (name: string, body: Json) => {
  const stream = body.stream === true;
  await withGateway(stream ? { sse: okStream } : { json: okText }, "gateway", async (url, upstream) => {
    const response = await fetch(`${url}/cursor/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `${name}: ${text}`);
    if (stream) assertCursorStream(name, text);
    else assert.equal(JSON.parse(text).choices[0].message.content, "ok");
    assert.equal(upstream.requests.length, 1);
    const sent: Json = upstream.requests[0].body;
    assert.deepEqual(responsesRequestProblems(sent), [], `${name}: forwarded ${JSON.stringify(sent)}`);
    assert.equal(sent.stream, stream);
    const forwardedIds = (Array.isArray(sent.input) ? sent.input : [])
      .filter((item: Json) => item.type === "function_call" || item.type === "custom_tool_call")
      .map((item: Json) => item.call_id);
    assert.deepEqual(forwardedIds, clientCallIds(body), `${name}: every call of the history is forwarded`);
    // A name given twice keeps its last definition (issue 14, point 9): 05's redacted names are all alike.
    const toolNames = (body.tools ?? []).map((t: Json) => t.name ?? t.function?.name);
    const clientTools = (body.tools ?? [])
      .filter((_t: Json, i: number) => toolNames.lastIndexOf(toolNames[i]) === i)
      .map((t: Json) => t.type === "custom" ? `custom:${t.name}` : "function");
    const sentTools = (sent.tools ?? []).map((t: Json) => t.type === "custom" ? `custom:${t.name}` : "function");
    assert.deepEqual(sentTools, clientTools, `${name}: custom tools stay custom`);
  });
};

Deno.test({
  name: "conformance: every full Cursor request body is accepted and forwarded as a valid Responses request",
  ignore,
  fn: async (t) => {
    const dir = `${DIR}/cursor`;
    const files = [...Deno.readDirSync(dir)].map((entry) => entry.name)
      .filter((name) => FULL_CURSOR_BODIES.some((prefix) => name.startsWith(`${prefix}-`)) && name.endsWith(".json"))
      .sort();
    assert.equal(files.length, FULL_CURSOR_BODIES.length, `found ${files.join(", ")}`);
    for (const file of files) {
      const body = cursorBody(await Deno.readTextFile(`${dir}/${file}`));
      // 08 is the body of a proxy's unit test, which leaves the model out; Cursor always names one.
      body.model ??= "gpt-5.4";
      await t.step(file, () => postCursorBody(file, body));
    }
  },
});

Deno.test({
  name: "conformance: the Cursor shapes Bifrost documents (type-less tools, Anthropic blocks, both lists) are accepted",
  ignore,
  fn: async (t) => {
    const text = await Deno.readTextFile(
      `${DIR}/cursor/${[...Deno.readDirSync(`${DIR}/cursor`)].map((e) => e.name).find((n) => n.startsWith("11-"))}`,
    );
    // (a) is written out as JSON in the file: a type-less tool with `input_schema`.
    const shell = text.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line))
      .find((entry) => typeof entry.name === "string" && entry.input_schema !== undefined);
    assert.ok(shell, "file 11 holds the type-less tool");
    const user = { role: "user", content: "List the files." };
    const bodies: Record<string, Json> = {
      "(a) a type-less tool with input_schema": { model: "claude-sonnet-4", input: [user], tools: [shell] },
      "(b) Anthropic tool_use/tool_result blocks in input": {
        model: "claude-sonnet-4",
        stream: true,
        tools: [shell],
        input: [
          user,
          {
            role: "assistant",
            content: [{ type: "text", text: "Listing." }, {
              type: "tool_use",
              id: "toolu_01",
              name: shell.name,
              input: { command: "ls" },
            }],
          },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: "toolu_01", content: [{ type: "text", text: "a.txt" }] }, {
              type: "text",
              text: "Now read it.",
            }],
          },
        ],
      },
      "(b) the OpenAI-ish tool_use/tool_result spelling": {
        model: "claude-sonnet-4",
        tools: [shell],
        input: [
          user,
          {
            role: "assistant",
            content: [{
              type: "tool_use",
              tool_call_id: "call_01",
              function: { name: shell.name, arguments: '{"command":"ls"}' },
            }],
          },
          { role: "user", content: [{ type: "tool_result", tool_call_id: "call_01", content: "a.txt" }] },
        ],
      },
      "(c) messages instead of input, with Anthropic blocks": {
        model: "claude-sonnet-4",
        tools: [shell],
        messages: [
          user,
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "toolu_02", name: shell.name, input: { command: "pwd" } }],
          },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_02", content: "/work" }] },
        ],
      },
      "(c) both lists, the tool results only in messages": {
        model: "claude-sonnet-4",
        stream: true,
        tools: [shell],
        input: [user],
        messages: [
          user,
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_03", type: "function", function: { name: shell.name, arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: "call_03", content: "a.txt" },
        ],
      },
      "(d) empty and whitespace-only user content": {
        model: "claude-sonnet-4",
        input: [{ role: "user", content: "" }, { role: "user", content: [{ type: "text", text: "  " }] }, user],
      },
    };
    for (const [name, body] of Object.entries(bodies)) await t.step(name, () => postCursorBody(name, body));
  },
});
