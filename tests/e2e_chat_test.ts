/**
 * End to end through the real gateway, for every Chat Completions preset: Cursor's requests to
 * `POST /cursor/v1/chat/completions` naming `<preset>/<model>`, a provider configured by its
 * preset name with `base_url` pointed at a fake upstream, and the official clients as judges.
 *
 * - The openai SDK's stream accumulator (`chat.completions.stream()` + `finalChatCompletion()`)
 *   throws on a malformed chunk sequence and `APIError` on an error frame. Cursor's hybrid
 *   (Responses-shaped) bodies are sent through it as the request body (`{ body }`), while the
 *   chat-shaped params tell the accumulator which tools are strict or custom.
 * - The Vercel AI SDK (`@ai-sdk/openai` chat model) rejects chunks its schema does not accept.
 *
 * For each preset: reasoning, parallel tool calls, an ApplyPatch round trip (a custom tool sent as
 * a function taking `{input}`, answered as a call whose arguments are the raw patch, and sent
 * back as assistant `tool_calls` + a `tool` message), finish `length`, usage with cached tokens,
 * in-stream errors after output (an error frame) and before it (the fallback serves), streamed
 * and JSON; and what the upstream received: the path under the preset's base path, the auth
 * header, `stream_options`, `user` and `reasoning_effort` as the preset takes them.
 *
 * The same ApplyPatch round trip in plain chat form; then DeepSeek's reasoning carried back, an
 * ApplyPatch call cut short, providers' own error bodies (400 shapes, a gateway key's 401, context
 * overflows), and (only with env GATEWAY_RECORDINGS=/path/to/recordings) the recorded vendor
 * streams of `chat-providers/` replayed through a byte-exact fake at 1, 7 and 61 bytes and whole.
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, type TextStreamPart, tool, type ToolSet } from "ai";
import OpenAI, { APIError } from "openai";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionTool,
  ParsedChatCompletion,
} from "openai/resources/chat/completions";
import { z } from "zod";
import { presets } from "../src/config/presets.ts";
import {
  type FakeReply,
  type FakeUpstream,
  type RecordedRequest,
  type Script,
  startFakeUpstream,
} from "./support/fake_upstream.ts";
import { type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";
import {
  answerMessage,
  CHAT_PRESETS,
  type ChatPresetCase,
  chunk,
  completion,
  finishChunks,
  type Json,
  keyOf,
  originOf,
  presetProvider,
  presetUsage,
  reasoningDelta,
  splitBytes,
  sseText,
  startByteUpstream,
  usage,
} from "./support/chat_upstream.ts";

const PATCH = "*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const a = 1;\n+const a = 2;\n*** End Patch";
const INSTRUCTIONS = "You are a coding agent working in the user's repository.";
const USER_ID = "user-hash-5d41402abc";

// ===== Cursor's requests =====

/** Cursor's tools in Responses form: a strict function and the custom ApplyPatch grammar tool. */
const CURSOR_TOOLS = [
  {
    type: "function",
    name: "ReadFile",
    description: "Read a file from the workspace.",
    parameters: {
      type: "object",
      properties: { path: { type: "string" } },
      required: ["path"],
      additionalProperties: false,
    },
    strict: true,
  },
  {
    type: "custom",
    name: "ApplyPatch",
    description: "Use this tool to edit files.",
    format: {
      type: "grammar",
      syntax: "lark",
      definition:
        'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n',
    },
  },
];

/** The same tools as the accumulator knows them: ReadFile strict (its arguments are parsed), ApplyPatch custom. */
const SDK_TOOLS: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "ReadFile",
      strict: true,
      parameters: {
        type: "object",
        properties: { path: { type: "string" } },
        required: ["path"],
        additionalProperties: false,
      },
    },
  },
  { type: "custom", custom: { name: "ApplyPatch", description: "Use this tool to edit files." } },
];

/** A Cursor agent request (hybrid: Responses `input` and tools on the chat route). */
const cursorBody = (c: ChatPresetCase, input: unknown[], stream: boolean, extra: Json = {}): Json => ({
  model: `${c.preset}/${c.model}`,
  stream,
  instructions: INSTRUCTIONS,
  input,
  tools: CURSOR_TOOLS,
  tool_choice: "auto",
  parallel_tool_calls: true,
  reasoning: { effort: "medium", summary: "auto" },
  include: ["reasoning.encrypted_content"],
  store: false,
  user: USER_ID,
  ...(stream ? { stream_options: { include_usage: true } } : {}),
  ...extra,
});

const presetNamed = (name: string): ChatPresetCase => CHAT_PRESETS.find((c) => c.preset === name)!;

const FIRST_TURN = [{ role: "user", content: [{ type: "input_text", text: "Compare src/a.ts and src/b.ts." }] }];

// ===== The gateway =====

interface Rig {
  readonly gateway: RunningGateway;
  /** The preset's fake upstream. */
  readonly upstream: FakeUpstream;
  /** A plain chat provider `backup` (fallback target). */
  readonly backup: FakeUpstream;
  readonly client: OpenAI;
  readonly vercel: ReturnType<typeof createOpenAI>;
}

const backupText = "Answer from the backup.";
const backupReply: Script = (request) =>
  request.body.stream
    ? {
      sse: [{
        raw: sseText([
          chunk("backup-model", { role: "assistant", content: "" }),
          chunk("backup-model", { content: backupText }),
          chunk("backup-model", {}, "stop", { usage: usage(10, 5, 0) }),
        ]),
      }],
    }
    : { json: completion("backup-model", { content: backupText }, "stop", usage(10, 5, 0)) };

/** Runs `body` against a gateway whose provider `<preset>` (by preset name) is a fake answering with `script`. */
const withPreset = async (
  c: ChatPresetCase,
  script: Script,
  body: (rig: Rig) => Promise<void>,
  config: Record<string, unknown> = {},
) => {
  const upstream = startFakeUpstream(script);
  const backup = startFakeUpstream(backupReply);
  const gateway = await startGateway(testConfig(upstream.url, {
    providers: {
      [c.preset]: presetProvider(c, originOf(upstream.url)),
      backup: {
        api: "chat",
        base_url: backup.url,
        keys: [{ value: "sk-backup-secret" }],
        retry: { max_retries: 0 },
      },
    },
    default_provider: c.preset,
    ...config,
  }));
  try {
    await body({
      gateway,
      upstream,
      backup,
      client: new OpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: VK, maxRetries: 0, timeout: 10_000 }),
      vercel: createOpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: VK }),
    });
  } finally {
    await gateway.close();
    await upstream.close();
    await backup.close();
  }
};

// ===== What the upstream received =====

/** Path, auth header and the fields each preset takes, for a request that was streamed or not. */
const assertWire = (c: ChatPresetCase, request: RecordedRequest, options: { stream: boolean; cursor: boolean }) => {
  const label = `${c.preset}: `;
  assert.equal(request.path, `${c.basePath}/chat/completions`, `${label}path`);
  assert.equal(
    request.headers.get("authorization"),
    c.auth === "bearer" ? `Bearer ${keyOf(c)}` : null,
    `${label}authorization`,
  );
  for (const header of ["api-key", "x-api-key", "x-goog-api-key"]) assert.equal(request.headers.get(header), null);
  const body = request.body;
  assert.equal(body.model, c.model, `${label}model`);
  if (options.stream) {
    assert.equal(body.stream, true, `${label}stream`);
    if (c.omits.includes("stream_options")) assert.ok(!("stream_options" in body), `${label}no stream_options`);
    else assert.deepEqual(body.stream_options, { include_usage: true }, `${label}include_usage`);
  } else {
    assert.ok(!("stream" in body) || body.stream === false, `${label}not streamed`);
    assert.ok(!("stream_options" in body), `${label}no stream_options without a stream`);
  }
  if (options.cursor) {
    if (c.omits.includes("user")) assert.ok(!("user" in body), `${label}no user`);
    else assert.equal(body.user, USER_ID, `${label}user`);
    if (c.reasoningEffort) assert.equal(body.reasoning_effort, "medium", `${label}reasoning_effort`);
    else assert.ok(!("reasoning_effort" in body), `${label}no reasoning_effort`);
    // Nothing of the Responses API leaks into a chat body.
    for (const field of ["input", "instructions", "include", "store", "reasoning", "text", "previous_response_id"]) {
      assert.ok(!(field in body), `${label}no ${field}`);
    }
  }
};

/** The tools the upstream was offered: ReadFile as it is, ApplyPatch as a function taking `{input}`. */
const assertToolsSent = (request: RecordedRequest) => {
  const tools = request.body.tools as Json[];
  assert.deepEqual(tools.map((t) => [t.type, (t.function as Json).name]), [
    ["function", "ReadFile"],
    ["function", "ApplyPatch"],
  ]);
  const applyPatch = tools[1].function as Json;
  assert.deepEqual(applyPatch.parameters, {
    type: "object",
    properties: { input: { type: "string" } },
    required: ["input"],
  });
  assert.match(String(applyPatch.description), /^Use this tool to edit files\.[\s\S]*lark grammar/);
  assert.equal(request.body.tool_choice, "auto");
  assert.equal(request.body.parallel_tool_calls, true);
};

// ===== Upstream answers =====

const REASONING = ["The user wants both files.", " Read them in parallel."];
const AGENT_TEXT = "Reading both files.";
/**
 * 1200 prompt tokens (1024 read from the cache, 176 written to it where the provider says so), 80
 * completion tokens (30 of them reasoning), as each preset words it.
 */
const agentUsage = (c: ChatPresetCase) => presetUsage(c, 1200, 80, 1024, 30, 176);
/** The cache writes a client reads: only OpenRouter reports them. */
const writtenOf = (c: ChatPresetCase) => c.usageStyle === "openrouter" ? 176 : 0;

/** Turn 1: reasoning, a sentence, then two ReadFile calls (the first one's arguments in fragments). */
const agentStream = (c: ChatPresetCase): FakeReply => {
  const m = c.model;
  return {
    sse: [{
      raw: sseText([
        chunk(m, { role: "assistant", content: "" }),
        chunk(m, reasoningDelta(c, REASONING[0])),
        chunk(m, reasoningDelta(c, REASONING[1])),
        chunk(m, { content: AGENT_TEXT }),
        chunk(m, {
          tool_calls: [{
            index: 0,
            id: "call_read_a",
            type: "function",
            function: { name: "ReadFile", arguments: "" },
          }],
        }),
        chunk(m, { tool_calls: [{ index: 0, function: { arguments: '{"path":' } }] }),
        chunk(m, { tool_calls: [{ index: 0, function: { arguments: '"src/a.ts"}' } }] }),
        chunk(m, {
          tool_calls: [{
            index: 1,
            id: "call_read_b",
            type: "function",
            function: { name: "ReadFile", arguments: '{"path":"src/b.ts"}' },
          }],
        }),
        ...finishChunks(c, "tool_calls", agentUsage(c)),
      ]),
    }],
  };
};

const readCalls = [
  { id: "call_read_a", type: "function", function: { name: "ReadFile", arguments: '{"path":"src/a.ts"}' } },
  { id: "call_read_b", type: "function", function: { name: "ReadFile", arguments: '{"path":"src/b.ts"}' } },
];

const WRAPPED_PATCH = JSON.stringify({ input: PATCH });

/** The JSON form of turn 1, with an ApplyPatch call next to the reads. */
const agentJson = (c: ChatPresetCase): FakeReply => ({
  json: completion(
    c.model,
    {
      ...answerMessage(c, REASONING.join(""), AGENT_TEXT),
      tool_calls: [
        ...readCalls,
        { id: "call_patch_j", type: "function", function: { name: "ApplyPatch", arguments: WRAPPED_PATCH } },
      ],
    },
    "tool_calls",
    agentUsage(c),
  ),
});

/** An ApplyPatch call whose `{"input": ...}` arguments arrive in three fragments, cut inside `\n` escapes. */
const patchStream = (c: ChatPresetCase): FakeReply => {
  const m = c.model;
  const first = WRAPPED_PATCH.indexOf("\\n") + 1; // after the backslash
  const second = WRAPPED_PATCH.lastIndexOf("\\n") + 1;
  return {
    sse: [{
      raw: sseText([
        chunk(m, { role: "assistant", content: "" }),
        chunk(m, { content: "Updating the constant." }),
        chunk(m, {
          tool_calls: [{
            index: 0,
            id: "call_patch_1",
            type: "function",
            function: { name: "ApplyPatch", arguments: "" },
          }],
        }),
        chunk(m, { tool_calls: [{ index: 0, function: { arguments: WRAPPED_PATCH.slice(0, first) } }] }),
        chunk(m, { tool_calls: [{ index: 0, function: { arguments: WRAPPED_PATCH.slice(first, second) } }] }),
        chunk(m, { tool_calls: [{ index: 0, function: { arguments: WRAPPED_PATCH.slice(second) } }] }),
        ...finishChunks(c, "tool_calls", presetUsage(c, 900, 50, 768)),
      ]),
    }],
  };
};

const DONE_TEXT = "Done: a is now 2.";
const doneReply = (c: ChatPresetCase, stream: boolean): FakeReply =>
  stream
    ? {
      sse: [{
        raw: sseText([
          chunk(c.model, { role: "assistant", content: "" }),
          chunk(c.model, { content: DONE_TEXT }),
          ...finishChunks(c, "stop", presetUsage(c, 1000, 8, 896)),
        ]),
      }],
    }
    : { json: completion(c.model, { content: DONE_TEXT }, "stop", presetUsage(c, 1000, 8, 896)) };

const CUT_TEXT = "The first three primes are 2, 3";
const lengthReply = (c: ChatPresetCase, stream: boolean): FakeReply =>
  stream
    ? {
      sse: [{
        raw: sseText([
          chunk(c.model, { role: "assistant", content: "" }),
          chunk(c.model, { content: "The first three primes" }),
          chunk(c.model, { content: " are 2, 3" }),
          ...finishChunks(c, "length", presetUsage(c, 20, 8, 16)),
        ]),
      }],
    }
    : { json: completion(c.model, { content: CUT_TEXT }, "length", presetUsage(c, 20, 8, 16)) };

const CRASH = "The model crashed while generating the answer.";

/**
 * An error inside a 200 stream, as the provider words it: Ollama a bare string
 * (`{"error":"..."}`), the others an object with a numeric code (OpenRouter adds a choice
 * finishing with "error").
 */
const errorChunk = (c: ChatPresetCase, message: string, code: number): Json =>
  c.preset === "ollama" ? { error: message } : {
    id: "chatcmpl-e2e",
    object: "chat.completion.chunk",
    model: c.model,
    error: { message, code },
    ...(c.preset === "openrouter" ? { choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }] } : {}),
  };

// ===== Clients =====

interface Streamed {
  readonly completion: ParsedChatCompletion<null>;
  readonly chunks: ChatCompletionChunk[];
  /** `delta.reasoning` of every chunk, joined. */
  readonly reasoning: string;
}

/**
 * Cursor's hybrid `body` sent through the openai SDK's stream helper, its answer accumulated.
 * `tools` are what the accumulator is told (with a strict tool it refuses a `length` finish).
 */
const sdkStream = async (client: OpenAI, body: Json, tools: ChatCompletionTool[] = SDK_TOOLS): Promise<Streamed> => {
  const chunks: ChatCompletionChunk[] = [];
  let reasoning = "";
  const stream = client.chat.completions.stream({ model: String(body.model), messages: [], tools }, { body });
  stream.on("chunk", (chunk: ChatCompletionChunk) => {
    chunks.push(chunk);
    reasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
  });
  return { completion: await stream.finalChatCompletion(), chunks, reasoning };
};

/** Cursor's hybrid `body` sent through the openai SDK, not streamed. */
const sdkJson = (client: OpenAI, body: Json): Promise<ChatCompletion> =>
  client.chat.completions.create({ model: String(body.model), messages: [] }, { body });

const functionCalls = (message: ChatCompletion["choices"][number]["message"]) =>
  (message.tool_calls ?? []).map((call) =>
    call.type === "function" ? { id: call.id, type: call.type, function: call.function } : assert.fail()
  ).map((call) => ({
    id: call.id,
    type: call.type,
    function: { name: call.function.name, arguments: call.function.arguments },
  }));

const vercelTools = {
  ReadFile: tool({ description: "Read a file", inputSchema: z.object({ path: z.string() }) }),
};

const drain = async <T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>) => {
  const parts: TextStreamPart<T>[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
};

const errorsIn = <T extends ToolSet>(parts: TextStreamPart<T>[]) =>
  parts.flatMap((part) => part.type === "error" ? [part.error] : []);

// ===== Every preset =====

Deno.test("every chat preset of the gateway is specified here, each fake under the path of the vendor's documented base URL", () => {
  const chatPresets = [...presets].filter(([, preset]) => preset.api === "chat");
  assert.deepEqual(CHAT_PRESETS.map((c) => c.preset).sort(), chatPresets.map(([name]) => name).sort());
  for (const [name, preset] of chatPresets) {
    const c = presetNamed(name);
    assert.equal(new URL(preset.baseUrl!).pathname, c.basePath, name);
    assert.equal(preset.auth, c.auth, name);
  }
});

for (const c of CHAT_PRESETS) {
  const name = `${c.preset}/${c.model}`;
  const auth = c.auth === "bearer" ? "a Bearer key" : "no authorization";

  Deno.test(`${c.preset} preset, streamed: a Cursor agent turn reaches the openai SDK accumulator with reasoning, two parallel strict calls and cached usage (upstream: ${c.basePath}/chat/completions, ${auth})`, async () => {
    await withPreset(c, () => agentStream(c), async ({ client, upstream }) => {
      const { completion, chunks, reasoning } = await sdkStream(client, cursorBody(c, FIRST_TURN, true));
      const choice = completion.choices[0];
      assert.equal(completion.model, name);
      assert.equal(choice.message.role, "assistant");
      assert.equal(choice.message.content, AGENT_TEXT);
      assert.equal(reasoning, REASONING.join(""));
      assert.equal(choice.finish_reason, "tool_calls");
      assert.deepEqual(functionCalls(choice.message), readCalls);
      assert.deepEqual(
        choice.message.tool_calls!.map((call) => call.type === "function" && call.function.parsed_arguments),
        [{ path: "src/a.ts" }, { path: "src/b.ts" }],
      );
      assert.equal(completion.usage?.prompt_tokens, 1200);
      assert.equal(completion.usage?.completion_tokens, 80);
      assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 1024);
      assert.equal(
        (completion.usage?.prompt_tokens_details as { cache_write_tokens?: number }).cache_write_tokens,
        writtenOf(c),
      );
      assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 30);
      for (const chunk of chunks) {
        assert.equal((chunk as unknown as { extra_fields: { provider: string } }).extra_fields.provider, c.preset);
      }
      assert.equal(upstream.requests.length, 1);
      assertWire(c, upstream.requests[0], { stream: true, cursor: true });
      assertToolsSent(upstream.requests[0]);
      assert.deepEqual(upstream.requests[0].body.messages, [
        { role: "system", content: INSTRUCTIONS },
        { role: "user", content: "Compare src/a.ts and src/b.ts." },
      ]);
    });
  });

  Deno.test(`${c.preset} preset, streamed: the Vercel AI SDK reads the same answer as typed tool calls with cached input tokens`, async () => {
    await withPreset(c, () => agentStream(c), async ({ vercel, upstream }) => {
      const result = streamText({
        model: vercel.chat(name),
        prompt: "Compare src/a.ts and src/b.ts.",
        tools: vercelTools,
        maxRetries: 0,
      });
      const parts = await drain(result.fullStream);
      assert.deepEqual(errorsIn(parts), []);
      assert.equal(await result.text, AGENT_TEXT);
      const calls = await result.toolCalls;
      assert.deepEqual(calls.map((call) => [call.toolCallId, call.toolName, call.input]), [
        ["call_read_a", "ReadFile", { path: "src/a.ts" }],
        ["call_read_b", "ReadFile", { path: "src/b.ts" }],
      ]);
      assert.equal(await result.finishReason, "tool-calls");
      const used = await result.usage;
      assert.equal(used.inputTokens, 1200);
      assert.equal(used.inputTokenDetails?.cacheReadTokens, 1024);
      assert.equal(used.inputTokenDetails?.cacheWriteTokens, writtenOf(c));
      assert.equal(used.outputTokenDetails?.reasoningTokens, 30);
      assertWire(c, upstream.requests[0], { stream: true, cursor: false });
    });
  });

  Deno.test(`${c.preset} preset, JSON: the same turn with an ApplyPatch call parses in both SDKs, the patch raw; no stream fields go upstream`, async () => {
    await withPreset(c, () => agentJson(c), async ({ client, vercel, upstream }) => {
      const completion = await sdkJson(client, cursorBody(c, FIRST_TURN, false));
      const choice = completion.choices[0];
      assert.equal(completion.object, "chat.completion");
      assert.equal(completion.model, name);
      assert.equal(choice.message.content, AGENT_TEXT);
      assert.equal((choice.message as unknown as { reasoning: string }).reasoning, REASONING.join(""));
      assert.equal(choice.finish_reason, "tool_calls");
      assert.deepEqual(functionCalls(choice.message), [
        ...readCalls,
        { id: "call_patch_j", type: "function", function: { name: "ApplyPatch", arguments: PATCH } },
      ]);
      assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 1024);
      assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 30);
      assert.equal((completion as unknown as { extra_fields: { provider: string } }).extra_fields.provider, c.preset);
      assertWire(c, upstream.requests[0], { stream: false, cursor: true });
      assertToolsSent(upstream.requests[0]);

      const generated = await generateText({
        model: vercel.chat(name),
        prompt: "Compare src/a.ts and src/b.ts.",
        tools: vercelTools,
        maxRetries: 0,
      });
      assert.equal(generated.text, AGENT_TEXT);
      assert.deepEqual(generated.toolCalls.filter((call) => call.toolName === "ReadFile").map((call) => call.input), [
        { path: "src/a.ts" },
        { path: "src/b.ts" },
      ]);
      assert.equal(generated.usage.inputTokenDetails?.cacheReadTokens, 1024);
      assertWire(c, upstream.requests[1], { stream: false, cursor: false });
    });
  });

  Deno.test(`${c.preset} preset: ApplyPatch round trip, the call reaches the client with the raw patch and comes back upstream as assistant tool_calls {input} + a tool message`, async () => {
    await withPreset(
      c,
      (_r, index) => index === 0 ? patchStream(c) : doneReply(c, true),
      async ({ client, upstream }) => {
        const turn1Input = [{ role: "user", content: "Set a to 2 in src/app.ts." }];
        const first = await sdkStream(client, cursorBody(c, turn1Input, true));
        const choice = first.completion.choices[0];
        assert.equal(choice.finish_reason, "tool_calls");
        assert.equal(choice.message.content, "Updating the constant.");
        // As the Responses path presents a custom tool call: a function call whose arguments are the raw input.
        assert.deepEqual(functionCalls(choice.message), [
          { id: "call_patch_1", type: "function", function: { name: "ApplyPatch", arguments: PATCH } },
        ]);
        // The patch streams as its fragments arrive (escapes cut in half decoded whole), not all at the end.
        const pieces = first.chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
          .map((call) => call.function?.arguments ?? "").filter((piece) => piece !== "");
        assert.equal(pieces.length, 3);
        assert.equal(pieces.join(""), PATCH);
        assertWire(c, upstream.requests[0], { stream: true, cursor: true });
        assertToolsSent(upstream.requests[0]);

        // Cursor sends the call back as it received it, with the tool's output.
        const second = await sdkStream(
          client,
          cursorBody(c, [
            ...turn1Input,
            { type: "message", role: "assistant", content: [{ type: "output_text", text: "Updating the constant." }] },
            { type: "function_call", call_id: "call_patch_1", name: "ApplyPatch", arguments: PATCH },
            { type: "function_call_output", call_id: "call_patch_1", output: "Success. Updated src/app.ts" },
          ], true),
        );
        assert.equal(second.completion.choices[0].message.content, DONE_TEXT);
        assert.equal(second.completion.choices[0].finish_reason, "stop");
        assert.equal(second.completion.usage?.prompt_tokens_details?.cached_tokens, 896);
        assertWire(c, upstream.requests[1], { stream: true, cursor: true });
        assert.deepEqual(upstream.requests[1].body.messages, [
          { role: "system", content: INSTRUCTIONS },
          { role: "user", content: "Set a to 2 in src/app.ts." },
          {
            role: "assistant",
            content: "Updating the constant.",
            ...(c.replaysReasoning ? { reasoning_content: "" } : {}),
            tool_calls: [{
              id: "call_patch_1",
              type: "function",
              function: { name: "ApplyPatch", arguments: WRAPPED_PATCH },
            }],
          },
          { role: "tool", tool_call_id: "call_patch_1", content: "Success. Updated src/app.ts" },
        ]);
      },
    );
  });

  Deno.test(`${c.preset} preset: the same ApplyPatch round trip in plain chat form (the SDK's own messages and custom tool)`, async () => {
    await withPreset(
      c,
      (_r, index) => index === 0 ? patchStream(c) : doneReply(c, true),
      async ({ client, upstream }) => {
        const tools: ChatCompletionTool[] = [{
          type: "custom",
          custom: {
            name: "ApplyPatch",
            description: "Use this tool to edit files.",
            format: { type: "grammar", grammar: { syntax: "lark", definition: "start: begin_patch hunk+ end_patch" } },
          },
        }];
        const messages = [{ role: "user" as const, content: "Set a to 2 in src/app.ts." }];
        const first = await client.chat.completions.stream({ model: name, messages, tools }).finalChatCompletion();
        const message = first.choices[0].message;
        assert.deepEqual(functionCalls(message), [
          { id: "call_patch_1", type: "function", function: { name: "ApplyPatch", arguments: PATCH } },
        ]);
        assert.deepEqual((upstream.requests[0].body.tools as Json[]).map((t) => (t.function as Json).parameters), [
          { type: "object", properties: { input: { type: "string" } }, required: ["input"] },
        ]);
        // The accumulated message goes back as it is, as the SDK's users do.
        const second = await client.chat.completions.stream({
          model: name,
          messages: [...messages, message, { role: "tool", tool_call_id: "call_patch_1", content: "Success." }],
          tools,
        }).finalChatCompletion();
        assert.equal(second.choices[0].message.content, DONE_TEXT);
        assertWire(c, upstream.requests[1], { stream: true, cursor: false });
        assert.deepEqual((upstream.requests[1].body.messages as Json[]).slice(1), [
          {
            role: "assistant",
            content: "Updating the constant.",
            ...(c.replaysReasoning ? { reasoning_content: "" } : {}),
            tool_calls: [{
              id: "call_patch_1",
              type: "function",
              function: { name: "ApplyPatch", arguments: WRAPPED_PATCH },
            }],
          },
          { role: "tool", tool_call_id: "call_patch_1", content: "Success." },
        ]);
      },
    );
  });

  Deno.test(`${c.preset} preset: finish length reaches both SDKs as "length", streamed and JSON`, async () => {
    await withPreset(c, (request) => lengthReply(c, request.body.stream === true), async (rig) => {
      // Told of no strict tool: the accumulator would refuse to parse a cut answer (LengthFinishReasonError).
      const streamed = await sdkStream(rig.client, cursorBody(c, FIRST_TURN, true), []);
      assert.equal(streamed.completion.choices[0].finish_reason, "length");
      assert.equal(streamed.completion.choices[0].message.content, CUT_TEXT);
      assert.equal(streamed.completion.usage?.prompt_tokens_details?.cached_tokens, 16);
      const json = await sdkJson(rig.client, cursorBody(c, FIRST_TURN, false));
      assert.equal(json.choices[0].finish_reason, "length");
      assert.equal(json.choices[0].message.content, CUT_TEXT);
      const result = streamText({ model: rig.vercel.chat(name), prompt: "Primes?", maxRetries: 0 });
      assert.deepEqual(errorsIn(await drain(result.fullStream)), []);
      assert.equal(await result.finishReason, "length");
      assert.equal(await result.text, CUT_TEXT);
      assertWire(c, rig.upstream.requests[0], { stream: true, cursor: true });
      assertWire(c, rig.upstream.requests[1], { stream: false, cursor: true });
    });
  });

  Deno.test(`${c.preset} preset: an in-stream error after output is an APIError with the provider's message; before output the fallback serves`, async () => {
    // Requests 0 (openai SDK) and 3 (Vercel) fail after output, request 1 before it; request 2 (JSON) is a 200 error.
    const script: Script = (request, index) => {
      if (request.body.stream !== true) {
        return { json: { error: { message: "Rate limit exceeded: free-models-per-min.", code: 429 } } };
      }
      const m = c.model;
      return index === 0 || index === 3
        ? {
          sse: [{
            raw: sseText([
              chunk(m, { role: "assistant", content: "" }),
              chunk(m, { content: "Partial answer" }),
              errorChunk(c, CRASH, 502),
            ]),
          }],
        }
        : {
          sse: [{
            raw: sseText([
              chunk(m, { role: "assistant", content: "" }),
              errorChunk(c, "Provider returned error", 503),
            ]),
          }],
        };
    };
    await withPreset(c, script, async ({ client, vercel, upstream, backup }) => {
      // After output: the client keeps what it got, then the SDK throws the provider's words.
      let content = "";
      const stream = client.chat.completions.stream(
        { model: name, messages: [] },
        { body: cursorBody(c, FIRST_TURN, true, { fallbacks: ["backup/backup-model"] }) },
      );
      stream.on("content", (delta: string) => content += delta);
      await assert.rejects(stream.finalChatCompletion(), (error: unknown) => {
        assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
        assert.match(error.message, /The model crashed while generating the answer\./);
        return true;
      });
      assert.equal(content, "Partial answer");
      assert.equal(backup.requests.length, 0, "no fallback once output was sent");

      // Before output: the backup answers as if nothing happened.
      const fellBack = await sdkStream(
        client,
        cursorBody(c, FIRST_TURN, true, { fallbacks: ["backup/backup-model"] }),
      );
      assert.equal(fellBack.completion.choices[0].message.content, backupText);
      for (const chunk of fellBack.chunks) {
        assert.equal((chunk as unknown as { extra_fields: { provider: string } }).extra_fields.provider, "backup");
      }
      assert.equal(backup.requests.length, 1);

      // JSON: a 200 whose body is an error is a failed attempt too.
      const json = await sdkJson(client, cursorBody(c, FIRST_TURN, false, { fallbacks: ["backup/backup-model"] }));
      assert.equal(json.choices[0].message.content, backupText);
      assert.equal((json as unknown as { extra_fields: { provider: string } }).extra_fields.provider, "backup");
      assert.equal(upstream.requests.length, 3);
      assertWire(c, upstream.requests[2], { stream: false, cursor: true });

      // The Vercel SDK surfaces an error after output as an error part with the provider's words.
      const result = streamText({ model: vercel.chat(name), prompt: "hi", maxRetries: 0, onError: () => {} });
      const parts = await drain(result.fullStream);
      const errors = errorsIn(parts);
      assert.equal(errors.length, 1);
      assert.match(
        String((errors[0] as Error)?.message ?? errors[0]),
        /The model crashed while generating the answer\./,
      );
    });
  });
}

// ===== DeepSeek's reasoning carried back =====

Deno.test("deepseek preset: the reasoning sealed in a turn's reasoning_details goes back as that assistant turn's reasoning_content, and never to another provider", async () => {
  const c = presetNamed("deepseek");
  await withPreset(c, (_r, index) => index === 0 ? agentStream(c) : doneReply(c, true), async (rig) => {
    const first = await sdkStream(rig.client, cursorBody(c, FIRST_TURN, true));
    // The chunks carry the reasoning text, then the sealed envelope Cursor keeps with the turn.
    const details = first.chunks.flatMap((
      chunk,
    ) => ((chunk.choices[0]?.delta as { reasoning_details?: Json[] } | undefined)?.reasoning_details ?? []));
    const sealed = details.find((detail) => detail.type === "reasoning.encrypted");
    assert.ok(sealed !== undefined && typeof sealed.data === "string", "a reasoning.encrypted detail");
    assert.ok(!String(sealed.data).includes("The user wants"), "the envelope is not the plain text");

    const history = [
      ...FIRST_TURN,
      { type: "reasoning", summary: [], encrypted_content: sealed.data },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: AGENT_TEXT }] },
      ...readCalls.map((call) => ({
        type: "function_call",
        call_id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      })),
      { type: "function_call_output", call_id: "call_read_a", output: "export const a = 1;" },
      { type: "function_call_output", call_id: "call_read_b", output: "export const b = 2;" },
    ];
    const second = await sdkStream(rig.client, cursorBody(c, history, true));
    assert.equal(second.completion.choices[0].message.content, DONE_TEXT);
    assert.deepEqual(rig.upstream.requests[1].body.messages, [
      { role: "system", content: INSTRUCTIONS },
      { role: "user", content: "Compare src/a.ts and src/b.ts." },
      { role: "assistant", content: AGENT_TEXT, reasoning_content: REASONING.join(""), tool_calls: readCalls },
      { role: "tool", tool_call_id: "call_read_a", content: "export const a = 1;" },
      { role: "tool", tool_call_id: "call_read_b", content: "export const b = 2;" },
    ]);

    // The same history sent to another chat provider: DeepSeek's reasoning stays with DeepSeek.
    await sdkStream(rig.client, { ...cursorBody(c, history, true), model: "backup/backup-model" });
    const toBackup = rig.backup.requests[0].body.messages as Json[];
    assert.equal(toBackup[2].role, "assistant");
    assert.ok(!("reasoning_content" in toBackup[2]), "no reasoning_content for another provider");
    assert.ok(!JSON.stringify(toBackup).includes("The user wants both files"));
  });
});

// ===== reasoning_effort per model =====

Deno.test({
  name:
    "groq and xai presets: a model that does not take reasoning_effort is not sent Cursor's effort (Groq's llama and qwen3, xAI's grok-code-fast-1 answer 400)",
  fn: async () => {
    const cases: Array<[string, string, string]> = [
      ["groq", "llama-3.3-70b-versatile", "`reasoning_effort` is not supported with this model"],
      ["groq", "qwen/qwen3-32b", "`reasoning_effort` must be one of `none` or `default`"],
      ["xai", "grok-code-fast-1", "Model grok-code-fast-1 does not support parameter reasoningEffort."],
    ];
    for (const [presetName, model, refusal] of cases) {
      const c = { ...presetNamed(presetName), model };
      // The vendor's own answer when the field comes anyway.
      const script: Script = (request) =>
        "reasoning_effort" in request.body && request.body.reasoning_effort !== "default"
          ? { status: 400, json: { error: { message: refusal, type: "invalid_request_error" } } }
          : doneReply(c, true);
      await withPreset(c, script, async ({ client, upstream }) => {
        const answer = await sdkStream(client, cursorBody(c, FIRST_TURN, true), []);
        assert.equal(answer.completion.choices[0].message.content, DONE_TEXT, `${presetName}/${model}`);
        assert.equal(upstream.requests.length, 1);
      });
    }
  },
});

// ===== An ApplyPatch call cut short =====

Deno.test("an ApplyPatch call cut short by the output limit reaches the client as the raw patch so far, never its {input} wrapper, streamed and JSON", async () => {
  const c = presetNamed("deepseek");
  const cut = WRAPPED_PATCH.slice(0, WRAPPED_PATCH.indexOf("@@") + 1);
  const script: Script = (request) =>
    request.body.stream === true
      ? {
        sse: [{
          raw: sseText([
            chunk(c.model, { role: "assistant", content: "" }),
            chunk(c.model, {
              tool_calls: [{
                index: 0,
                id: "call_patch_cut",
                type: "function",
                function: { name: "ApplyPatch", arguments: cut.slice(0, 20) },
              }],
            }),
            chunk(c.model, { tool_calls: [{ index: 0, function: { arguments: cut.slice(20) } }] }),
            ...finishChunks(c, "length", presetUsage(c, 900, 50, 0)),
          ]),
        }],
      }
      : {
        json: completion(
          c.model,
          {
            content: null,
            tool_calls: [{ id: "call_patch_cut", type: "function", function: { name: "ApplyPatch", arguments: cut } }],
          },
          "length",
          presetUsage(c, 900, 50, 0),
        ),
      };
  const expected = PATCH.slice(0, PATCH.indexOf("@@") + 1);
  await withPreset(c, script, async ({ client }) => {
    const streamed = await sdkStream(client, cursorBody(c, FIRST_TURN, true), []);
    assert.equal(streamed.completion.choices[0].finish_reason, "length");
    assert.deepEqual(functionCalls(streamed.completion.choices[0].message), [
      { id: "call_patch_cut", type: "function", function: { name: "ApplyPatch", arguments: expected } },
    ]);
    const json = await sdkJson(client, cursorBody(c, FIRST_TURN, false));
    assert.equal(json.choices[0].finish_reason, "length");
    assert.deepEqual(functionCalls(json.choices[0].message), [
      { id: "call_patch_cut", type: "function", function: { name: "ApplyPatch", arguments: expected } },
    ]);
  });
});

// ===== Providers' own error bodies =====

/** The openai SDK's error for a request, streamed (the stream helper) or not. */
const sdkError = async (client: OpenAI, body: Json): Promise<APIError> => {
  try {
    if (body.stream === true) await sdkStream(client, body, []);
    else await sdkJson(client, body);
  } catch (error) {
    assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
    return error;
  }
  return assert.fail("the request succeeded");
};

const errorBodyCases: ReadonlyArray<{ preset: string; shape: string; body: unknown; message: string }> = [
  {
    preset: "deepseek",
    shape: "{error:{message,type,code}}",
    body: {
      error: {
        message: "Invalid max_tokens value, the valid range of max_tokens is [1, 8192]",
        type: "invalid_request_error",
        param: null,
        code: "invalid_request_error",
      },
    },
    message: "Invalid max_tokens value, the valid range of max_tokens is [1, 8192]",
  },
  {
    preset: "ollama",
    shape: '{error:"..."}',
    body: { error: "registry.ollama.ai/library/gemma2:2b does not support tools" },
    message: "registry.ollama.ai/library/gemma2:2b does not support tools",
  },
  {
    preset: "mistral",
    shape: "{message}",
    body: {
      object: "error",
      message: "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant",
      type: "invalid_request_message_order",
      param: null,
      code: "3230",
    },
    message: "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant",
  },
  {
    preset: "vllm",
    shape: "{detail}",
    body: { detail: "Unsupported value: 'tool_choice' must be 'auto' or 'none'" },
    message: "Unsupported value: 'tool_choice' must be 'auto' or 'none'",
  },
];

for (const { preset: presetName, shape, body: errorBody, message } of errorBodyCases) {
  Deno.test(`${presetName} preset: an HTTP 400 with a ${shape} body reaches the client as 400 with the provider's message, streamed and JSON`, async () => {
    const c = presetNamed(presetName);
    await withPreset(c, () => ({ status: 400, json: errorBody }), async ({ client, upstream, backup }) => {
      for (const stream of [true, false]) {
        const body = cursorBody(c, FIRST_TURN, stream, { fallbacks: ["backup/backup-model"] });
        const error = await sdkError(client, body);
        assert.equal(error.status, 400, `stream ${stream}`);
        assert.equal((error.error as { message: string }).message, message);
        assert.match(error.message, new RegExp(`^400 ${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
      }
      assert.equal(upstream.requests.length, 2, "a 400 is final: no retry");
      assert.equal(backup.requests.length, 0, "and no fallback");
    });
  });
}

Deno.test("deepseek preset: a 401 for the gateway's key is a 502 that names the provider, never the upstream's text or the key", async () => {
  const c = presetNamed("deepseek");
  const upstreamText = "Authentication Fails, Your api key: ****cret is invalid";
  await withPreset(
    c,
    () => ({
      status: 401,
      json: { error: { message: upstreamText, type: "authentication_error", code: "invalid_request_error" } },
    }),
    async ({ client }) => {
      for (const stream of [true, false]) {
        const error = await sdkError(client, cursorBody(c, FIRST_TURN, stream));
        assert.equal(error.status, 502);
        const envelope = error.error as { message: string; type: string; code: string };
        assert.equal(
          envelope.message,
          "Provider 'deepseek' rejected the gateway's credentials (HTTP 401). (gave up after 1 upstream attempt)",
        );
        assert.equal(envelope.code, "upstream_auth_failed");
        assert.ok(!JSON.stringify(error.error).includes("Authentication Fails"));
        assert.ok(!JSON.stringify(error.error).includes(keyOf(c)));
      }
    },
  );
});

Deno.test("a context too long is a final 400 context_length_exceeded with the provider's words, from an HTTP 400 (deepseek, xai) or an in-stream error (vllm)", async () => {
  // The error itself, as strict clients get it: on Cursor's route a context overflow is otherwise the
  // answer Cursor compacts on (issue 14, point 4; tests/cursor_context_overflow_test.ts).
  const overflowAsError = { cursor_context_overflow: "error" };
  const deepseekText =
    "This model's maximum context length is 65536 tokens. However, you requested 70123 tokens (70123 in the messages, 0 in the completion). Please reduce the length of the messages or completion.";
  const xaiText = "This model's maximum prompt length is 131072 but the request contains 136973 tokens.";
  for (const [presetName, text] of [["deepseek", deepseekText], ["xai", xaiText]]) {
    const c = presetNamed(presetName);
    await withPreset(
      c,
      () => ({ status: 400, json: { error: { message: text, type: "invalid_request_error", code: null } } }),
      async ({ client, backup }) => {
        for (const stream of [true, false]) {
          const error = await sdkError(
            client,
            cursorBody(c, FIRST_TURN, stream, { fallbacks: ["backup/backup-model"] }),
          );
          assert.equal(error.status, 400);
          assert.equal(error.code, "context_length_exceeded");
          assert.equal((error.error as { message: string }).message, text);
        }
        assert.equal(backup.requests.length, 0);
      },
      overflowAsError,
    );
  }
  // vLLM answers 200 and then one error object as the stream: before any output, so still final.
  const vllmText =
    "This model's maximum context length is 32768 tokens. However, you requested 40100 tokens (40000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.";
  const c = presetNamed("vllm");
  await withPreset(
    c,
    () => ({
      sse: [{
        raw: `data: ${
          JSON.stringify({ object: "error", message: vllmText, type: "BadRequestError", param: null, code: 400 })
        }\n\n`,
      }],
    }),
    async ({ client, backup }) => {
      const error = await sdkError(client, cursorBody(c, FIRST_TURN, true, { fallbacks: ["backup/backup-model"] }));
      assert.equal(error.code, "context_length_exceeded");
      assert.equal((error.error as { message: string }).message, vllmText);
      assert.equal(backup.requests.length, 0, "a context overflow is not fallen back from");
    },
    overflowAsError,
  );
});

// ===== Real recorded vendor streams (only with GATEWAY_RECORDINGS) =====

const RECORDINGS = Deno.env.get("GATEWAY_RECORDINGS");
const noRecordings = RECORDINGS === undefined || RECORDINGS === "";

/** One exchange of `chat-providers/` (see its README): the recorded request, status and body text. */
interface ChatRecording {
  readonly file: string;
  readonly vendor: string;
  readonly request: Json | null;
  readonly status: number;
  readonly stream: boolean;
  readonly body: string;
}

const loadChatRecordings = (dir: string): ChatRecording[] =>
  [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort()
    .map((file) => ({ file, ...JSON.parse(Deno.readTextFileSync(`${dir}/${file}`)) }));

/** What a client must end up with, read from the recording itself. */
interface Expected {
  readonly error?: string;
  readonly text: string;
  readonly reasoning: string;
  readonly calls: ReadonlyArray<{ id?: string; name: string; args: unknown }>;
  readonly finish: string;
  readonly prompt?: number;
  readonly cached?: number;
}

const parseArgs = (args: string): unknown => {
  try {
    return JSON.parse(args === "" ? "{}" : args);
  } catch {
    return args;
  }
};

const expectedOf = (recording: ChatRecording): Expected => {
  const payloads: Json[] = recording.stream
    ? recording.body.split(/\r?\n\r?\n/).flatMap((block) => {
      const data = block.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) =>
        line.slice(5).trimStart()
      ).join("\n");
      return data === "" || data === "[DONE]" ? [] : [JSON.parse(data)];
    })
    : [JSON.parse(recording.body.trim())];
  let text = "";
  let reasoning = "";
  let finish = "stop";
  let prompt: number | undefined;
  let cached: number | undefined;
  const calls = new Map<string, { id?: string; name: string; args: string }>();
  for (const payload of payloads) {
    const error = payload.error;
    if (error !== undefined && error !== null) {
      return {
        error: typeof error === "string" ? error : String((error as Json).message),
        text,
        reasoning,
        calls: [],
        finish,
      };
    }
    const choices = (payload.choices ?? []) as Json[];
    const choice = choices.find((entry) => entry.index === 0 || entry.index === undefined);
    const delta = (choice?.delta ?? choice?.message) as Json | undefined;
    if (delta) {
      const details = Array.isArray(delta.reasoning_details)
        ? (delta.reasoning_details as Json[]).filter((d) => d.type === "reasoning.text" && typeof d.text === "string")
        : [];
      if (details.length > 0) reasoning += details.map((d) => d.text).join("");
      else if (typeof delta.reasoning_content === "string") reasoning += delta.reasoning_content;
      else if (typeof delta.reasoning === "string") reasoning += delta.reasoning;
      if (typeof delta.content === "string") text += delta.content;
      else if (Array.isArray(delta.content)) {
        for (const part of delta.content as Json[]) {
          if (part.type === "text") text += String(part.text);
          if (part.type === "thinking") {
            for (const inner of part.thinking as Json[]) reasoning += String(inner.text ?? "");
          }
        }
      }
      (Array.isArray(delta.tool_calls) ? delta.tool_calls as Json[] : []).forEach((call, position) => {
        const key = String(call.index ?? call.id ?? position);
        const fn = (call.function ?? {}) as Json;
        const kept = calls.get(key) ?? { name: "", args: "" };
        if (typeof call.id === "string" && call.id !== "" && kept.id === undefined) kept.id = call.id;
        if (typeof fn.name === "string" && kept.name === "") kept.name = fn.name;
        if (typeof fn.arguments === "string") kept.args += fn.arguments;
        calls.set(key, kept);
      });
    }
    if (typeof choice?.finish_reason === "string" && choice.finish_reason !== "") finish = choice.finish_reason;
    const usageValue = (payload.usage ?? (payload.x_groq as Json | undefined)?.usage) as Json | undefined;
    if (usageValue) {
      prompt = Number(usageValue.prompt_tokens);
      const details = usageValue.prompt_tokens_details as Json | undefined;
      cached = Math.max(Number(details?.cached_tokens ?? 0), Number(usageValue.prompt_cache_hit_tokens ?? 0));
    } else if (payload.timings) {
      const timings = payload.timings as Json;
      prompt = Number(timings.prompt_n) + Number(timings.cache_n ?? 0);
      cached = Number(timings.cache_n ?? 0);
    }
  }
  const callList = [...calls.values()].map((call) => ({
    ...(call.id !== undefined ? { id: call.id } : {}),
    name: call.name,
    args: parseArgs(call.args),
  }));
  return {
    text,
    reasoning,
    calls: callList,
    finish: callList.length > 0 ? "tool_calls" : finish,
    ...(prompt !== undefined ? { prompt, cached } : {}),
  };
};

/** What the client got, in the same terms. */
const actualOf = (completion: ChatCompletion, reasoning: string, expected: Expected) => {
  const message = completion.choices[0].message;
  const calls = (message.tool_calls ?? []).map((call, i) => {
    assert.equal(call.type, "function");
    const fn = call.type === "function" ? call.function : { name: "", arguments: "" };
    return {
      ...(expected.calls[i]?.id !== undefined ? { id: call.id } : {}),
      name: fn.name,
      args: parseArgs(fn.arguments),
    };
  });
  return {
    text: message.content ?? "",
    reasoning,
    calls,
    finish: completion.choices[0].finish_reason,
    ...(expected.prompt !== undefined
      ? { prompt: completion.usage?.prompt_tokens, cached: completion.usage?.prompt_tokens_details?.cached_tokens }
      : {}),
  };
};

const PRESET_VENDORS = new Set(CHAT_PRESETS.map((c) => c.preset));

/** The recording replayed through the gateway in pieces of `size` bytes; the client's answer, or its error. */
const replay = async (recording: ChatRecording, size: number) => {
  const bytes = new TextEncoder().encode(recording.body);
  const upstream = startByteUpstream(() => ({
    status: recording.status,
    contentType: recording.stream ? "text/event-stream" : "application/json",
    pieces: splitBytes(bytes, size),
  }));
  const vendor = recording.vendor;
  const gateway = await startGateway(testConfig(upstream.origin, {
    providers: {
      [vendor]: {
        ...(PRESET_VENDORS.has(vendor) ? { preset: vendor } : { api: "chat" }),
        base_url: `${upstream.origin}/v1`,
        keys: [{ value: `sk-${vendor}-secret` }],
        retry: { max_retries: 0 },
      },
    },
    default_provider: vendor,
  }));
  const client = new OpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: VK, maxRetries: 0, timeout: 30_000 });
  const model = `${vendor}/${String(recording.request?.model ?? "recorded-model")}`;
  const messages = [{ role: "user" as const, content: "Hello" }];
  try {
    if (!recording.stream) {
      const completion = await client.chat.completions.create({ model, messages });
      return { completion, reasoning: (completion.choices[0].message as { reasoning?: string }).reasoning ?? "" };
    }
    let reasoning = "";
    const stream = client.chat.completions.stream({ model, messages, stream_options: { include_usage: true } });
    stream.on("chunk", (chunk: ChatCompletionChunk) => {
      reasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
    });
    return { completion: await stream.finalChatCompletion(), reasoning };
  } catch (error) {
    return { error };
  } finally {
    await gateway.close();
    await upstream.close();
    assert.equal(upstream.requests[0]?.path, "/v1/chat/completions");
  }
};

const chatRecordings = noRecordings ? [] : loadChatRecordings(`${RECORDINGS}/chat-providers`);

Deno.test({
  name:
    "recorded vendor chat streams and answers, cut at 1, 7 and 61 bytes and whole, reach the openai SDK as recorded",
  ignore: noRecordings,
  fn: async (t) => {
    assert.ok(chatRecordings.length > 0, "no recordings in chat-providers/");
    for (const recording of chatRecordings) {
      const expected = expectedOf(recording);
      for (const size of [1, 7, 61, Infinity]) {
        await t.step(`${recording.file} in pieces of ${size} bytes`, async () => {
          const result = await replay(recording, size);
          if (expected.error !== undefined) {
            assert.ok(result.error instanceof APIError, `expected APIError, got ${result.error}`);
            assert.match(result.error.message, new RegExp(expected.error));
            return;
          }
          if (result.error !== undefined) throw result.error;
          const { error: _, ...want } = expected;
          assert.deepEqual(actualOf(result.completion!, result.reasoning!, expected), want);
        });
      }
    }
  },
});
