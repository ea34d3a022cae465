/**
 * The Anthropic adapter's request side: canonical Responses requests (decoded from Cursor and chat
 * bodies, or written as decode produces them) as exact Messages API bodies (providers.md §1.2-1.5).
 *
 * With `GATEWAY_RECORDINGS` naming the recordings folder, every Cursor body in `cursor/` is also
 * decoded and translated, and the result checked against the API's ordering rules.
 */
import assert from "node:assert/strict";
import type { JsonObject, ResponsesRequest } from "../src/protocol/responses.ts";
import { adapter } from "../src/upstream/adapters/anthropic/index.ts";
import { messagesBody } from "../src/upstream/adapters/anthropic/request.ts";
import { sealReasoning } from "../src/upstream/adapters/reasoning_envelope.ts";
import type { AdapterTarget, WireOptions } from "../src/upstream/adapters/types.ts";
import { decode } from "./support/decode.ts";
import { PATCH } from "./support/encode.ts";

const target = (options: WireOptions = {}): AdapterTarget => ({ provider: "claude", api: "anthropic", options });

const body = (canonical: ResponsesRequest, model = "claude-sonnet-4-5", options: WireOptions = {}, stream = true) =>
  messagesBody(canonical, { model, stream }, target(options));

const requestFixture = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../fixtures/requests/${name}`, import.meta.url)));

const EPHEMERAL = { type: "ephemeral" };
const PATCH_SCHEMA = { type: "object", properties: { input: { type: "string" } }, required: ["input"] };

/** The API's ordering rules, checked on any body (providers.md §1.3). */
const assertValidMessages = (wire: JsonObject, label: string) => {
  const messages = wire.messages as Array<{ role: string; content: JsonObject[] }>;
  assert.ok(messages.length > 0, `${label}: at least one message`);
  let breakpoints = 0;
  const count = (block: JsonObject) => {
    if (block.cache_control !== undefined) breakpoints++;
    if (Array.isArray(block.content)) { for (const inner of block.content) count(inner); }
  };
  for (const block of (wire.system as JsonObject[] | undefined) ?? []) count(block);
  for (const tool of (wire.tools as JsonObject[] | undefined) ?? []) count(tool);
  messages.forEach((message, i) => {
    assert.ok(message.content.length > 0, `${label}: messages.${i} has content`);
    if (i > 0) assert.notEqual(message.role, messages[i - 1].role, `${label}: roles alternate at ${i}`);
    for (const block of message.content) {
      count(block);
      if (block.type === "text") assert.ok((block.text as string).length > 0, `${label}: no empty text`);
    }
    const previous = messages[i - 1];
    const calls = previous?.role === "assistant"
      ? previous.content.filter((block) => block.type === "tool_use").map((block) => block.id)
      : [];
    const results = message.content.filter((block) => block.type === "tool_result");
    if (message.role === "user") {
      assert.deepEqual(results.map((block) => block.tool_use_id), calls, `${label}: messages.${i} answers every call`);
      assert.deepEqual(message.content.slice(0, results.length), results, `${label}: results come first`);
    } else {
      assert.equal(results.length, 0);
      const next = messages[i + 1];
      if (calls.length === 0 && message.content.some((block) => block.type === "tool_use")) {
        assert.ok(next?.role === "user", `${label}: a call is followed by its results`);
      }
    }
  });
  assert.ok(breakpoints <= 4, `${label}: at most four cache breakpoints`);
  assert.equal(typeof wire.max_tokens, "number");
  const thinking = wire.thinking as JsonObject | undefined;
  if (thinking?.type === "enabled") {
    assert.ok((thinking.budget_tokens as number) >= 1024);
    assert.ok((thinking.budget_tokens as number) < (wire.max_tokens as number));
  }
  if (thinking !== undefined) {
    assert.equal(wire.temperature, undefined);
    assert.equal(wire.top_p, undefined);
    const choice = wire.tool_choice as JsonObject | undefined;
    assert.ok(choice === undefined || choice.type === "auto" || choice.type === "none");
  }
};

// ===== Cursor Agent =====

Deno.test("the Cursor Agent hybrid body with ApplyPatch history, as the exact Messages body", async () => {
  const decoded = decode(await requestFixture("cursor_agent_hybrid.json"));
  const wire = adapter.request(decoded.body, { model: "claude-sonnet-4-5", stream: true }, target());
  assert.equal(wire.path, "/messages");
  assert.deepEqual(wire.headers, { "anthropic-version": "2023-06-01" });
  const sent = JSON.parse(wire.body);
  assert.deepEqual(sent, {
    model: "claude-sonnet-4-5",
    // Sonnet 4.x's default; no thinking (see below), so nothing is added for it.
    max_tokens: 64000,
    system: [
      { type: "text", text: "You are a coding agent working in the user's repository." },
      { type: "text", text: "Workspace: /home/dev/shop", cache_control: EPHEMERAL },
    ],
    messages: [
      { role: "user", content: [{ type: "text", text: "Rename the cart total helper." }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me look at the file first." },
          { type: "tool_use", id: "call_read_1", name: "ReadFile", input: { path: "src/cart.ts" } },
        ],
      },
      {
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "call_read_1",
          content: "export const total = (items) => 0;\n",
          cache_control: EPHEMERAL,
        }],
      },
      {
        role: "assistant",
        content: [{
          type: "tool_use",
          id: "call_patch_1",
          name: "ApplyPatch",
          input: {
            input:
              "*** Begin Patch\n*** Update File: src/cart.ts\n@@\n-export const total = (items) => 0;\n+export const cartTotal = (items) => 0;\n*** End Patch\n",
          },
        }],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_patch_1", content: "Success. Updated src/cart.ts" },
          { type: "text", text: "Now run the tests.", cache_control: EPHEMERAL },
        ],
      },
    ],
    tools: [
      {
        name: "ReadFile",
        description: "Read a file from the workspace.",
        input_schema: {
          type: "object",
          properties: { path: { type: "string" } },
          required: ["path"],
          additionalProperties: false,
        },
      },
      {
        name: "Shell",
        description: "Run a shell command.",
        input_schema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
      },
      {
        name: "ApplyPatch",
        description:
          "Use this tool to edit files.\n\nPass the raw text as `input`; it must match this lark grammar:\n" +
          'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n',
        input_schema: PATCH_SCHEMA,
        cache_control: EPHEMERAL,
      },
    ],
    tool_choice: { type: "auto" },
    // `reasoning.effort: medium` asked for thinking, but the last tool-use turn comes back without its
    // thinking blocks (Cursor keeps none): with thinking on, the API would answer 400.
    metadata: { user_id: "user-hash-5d41402abc" },
    stream: true,
  });
  assertValidMessages(sent, "cursor_agent_hybrid");
});

Deno.test("Anthropic-flavoured blocks from Cursor (tool_use / tool_result in messages) round-trip", async () => {
  const decoded = decode(await requestFixture("anthropic_tool_blocks.json"));
  const sent = body(decoded.body, "claude-sonnet-4.5", { promptCaching: "off" }, false);
  assert.deepEqual(sent.messages, [
    { role: "user", content: [{ type: "text", text: "How many files are in src?" }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "I'll list them." },
        { type: "tool_use", id: "toolu_01", name: "Shell", input: { command: "ls src | wc -l" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_01", content: [{ type: "text", text: "12" }] },
        { type: "text", text: "Is that a lot?" },
      ],
    },
  ]);
  assert.equal(sent.stream, undefined, "a JSON attempt sends no stream field");
  assertValidMessages(sent, "anthropic_tool_blocks");
});

// ===== Chat body with parallel tool results =====

const PARALLEL_CHAT = {
  model: "claude-haiku-4-5",
  max_tokens: 1024,
  temperature: 1.4,
  top_p: 0.5,
  user: "user-hash-7f3a",
  parallel_tool_calls: false,
  messages: [
    { role: "system", content: "You answer questions about the user's code." },
    { role: "user", content: "Compare main.py and util.py." },
    {
      role: "assistant",
      content: "Reading both.",
      tool_calls: [
        { id: "call_a", type: "function", function: { name: "read_file", arguments: '{"path":"main.py"}' } },
        { id: "call_b", type: "function", function: { name: "read_file", arguments: '{"path":"util.py"}' } },
        { id: "call_c", type: "function", function: { name: "list_dir", arguments: "" } },
      ],
    },
    // Out of call order, one missing, and one for a call nobody made.
    { role: "tool", tool_call_id: "call_b", content: "def helper(): pass" },
    { role: "tool", tool_call_id: "call_a", content: "print(helper())" },
    { role: "tool", tool_call_id: "call_zzz", content: "stray" },
    { role: "user", content: [{ type: "text", text: "Which is longer?" }] },
  ],
  tools: [
    {
      type: "function",
      function: {
        name: "read_file",
        description: "Read a file.",
        parameters: { type: "object", properties: { path: { type: "string" } } },
      },
    },
    { type: "function", function: { name: "list_dir", parameters: { properties: {} } } },
    { type: "web_search" },
  ],
  tool_choice: "auto",
};

Deno.test("a chat body with parallel tool results: one user turn, results first in call order, placeholders and orphans", () => {
  const sent = body(decode(PARALLEL_CHAT).body, "claude-haiku-4-5", { promptCaching: "off" });
  assert.deepEqual(sent, {
    model: "claude-haiku-4-5",
    max_tokens: 1024,
    system: [{ type: "text", text: "You answer questions about the user's code." }],
    messages: [
      { role: "user", content: [{ type: "text", text: "Compare main.py and util.py." }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Reading both." },
          { type: "tool_use", id: "call_a", name: "read_file", input: { path: "main.py" } },
          { type: "tool_use", id: "call_b", name: "read_file", input: { path: "util.py" } },
          { type: "tool_use", id: "call_c", name: "list_dir", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_a", content: "print(helper())" },
          { type: "tool_result", tool_use_id: "call_b", content: "def helper(): pass" },
          { type: "tool_result", tool_use_id: "call_c", content: "No output was recorded for this call." },
          { type: "text", text: "Which is longer?" },
        ],
      },
    ],
    tools: [
      {
        name: "read_file",
        description: "Read a file.",
        input_schema: { type: "object", properties: { path: { type: "string" } } },
      },
      // A schema without `type` is an object schema; the hosted web_search tool is dropped.
      { name: "list_dir", input_schema: { type: "object", properties: {} } },
    ],
    tool_choice: { type: "auto", disable_parallel_tool_use: true },
    temperature: 1,
    metadata: { user_id: "user-hash-7f3a" },
    stream: true,
  });
  assertValidMessages(sent, "parallel chat");
});

Deno.test("a call left without a result at the end of the history gets its placeholder turn", () => {
  const sent = body(
    {
      input: [
        { type: "message", role: "user", content: "Build it." },
        { type: "function_call", call_id: "call|1", name: "Shell", arguments: '"make"' },
      ],
    },
    "claude-sonnet-4-5",
    { promptCaching: "off" },
  );
  assert.deepEqual(sent.messages, [
    { role: "user", content: [{ type: "text", text: "Build it." }] },
    // An id with characters the API refuses is rewritten the same way for the call and its result;
    // arguments that are not a JSON object are wrapped.
    { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "Shell", input: { input: "make" } }] },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "call_1", content: "No output was recorded for this call." }],
    },
  ]);
});

Deno.test("custom tool calls and outputs in history; text that is not JSON wrapped as input", () => {
  const sent = body(
    {
      input: [
        { type: "message", role: "user", content: "Fix it." },
        { type: "custom_tool_call", call_id: "call_p", name: "ApplyPatch", input: PATCH },
        { type: "custom_tool_call_output", call_id: "call_p", output: "Done." },
        { type: "function_call", call_id: "call_s", name: "Shell", arguments: "ls -la" },
        { type: "function_call_output", call_id: "call_s", output: [{ type: "input_text", text: "a.ts" }] },
      ],
      tools: [{ type: "custom", name: "ApplyPatch" }, { type: "function", name: "Shell", parameters: null }],
    },
    "claude-sonnet-4-5",
    { promptCaching: "off" },
  );
  assert.deepEqual(sent.messages, [
    { role: "user", content: [{ type: "text", text: "Fix it." }] },
    { role: "assistant", content: [{ type: "tool_use", id: "call_p", name: "ApplyPatch", input: { input: PATCH } }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "call_p", content: "Done." }] },
    { role: "assistant", content: [{ type: "tool_use", id: "call_s", name: "Shell", input: { input: "ls -la" } }] },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "call_s", content: [{ type: "text", text: "a.ts" }] }],
    },
  ]);
  assert.deepEqual(sent.tools, [
    { name: "ApplyPatch", input_schema: PATCH_SCHEMA },
    { name: "Shell", input_schema: { type: "object", properties: {} } },
  ]);
});

// ===== Thinking =====

const THINKING_BLOCKS = [
  { type: "thinking", thinking: "I should run the tests.", signature: "c2lnLW9uZQ==" },
  { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" },
];

/** A tool loop as Cursor replays it after a Claude answer: sealed thinking, the call, its output. */
const thinkingLoop = (sealed: boolean, extra: JsonObject = {}): ResponsesRequest => ({
  instructions: "You are a coding agent.",
  input: [
    { type: "message", role: "user", content: "Run the tests." },
    // Reasoning of another API (an OpenAI blob) cannot be verified by Anthropic: dropped.
    { type: "reasoning", summary: [], encrypted_content: "gAAAAABopenai-blob" },
    { type: "message", role: "assistant", content: [{ type: "output_text", text: "Earlier answer." }] },
    { type: "message", role: "user", content: "Go on." },
    ...(sealed
      ? [{
        type: "reasoning",
        summary: [],
        content: [{ type: "reasoning_text", text: "I should run the tests." }],
        encrypted_content: sealReasoning("anthropic", { blocks: THINKING_BLOCKS }),
      }]
      : []),
    { type: "message", role: "assistant", content: [{ type: "output_text", text: "Running them." }] },
    { type: "function_call", call_id: "toolu_01Run", name: "Shell", arguments: '{"command":"deno test"}' },
    { type: "function_call_output", call_id: "toolu_01Run", output: "ok | 12 passed" },
  ],
  tools: [{ type: "function", name: "Shell", parameters: { type: "object", properties: {} } }],
  reasoning: { effort: "high", summary: "auto" },
  ...extra,
});

Deno.test("thinking replay: the sealed blocks come back first in their assistant turn, whole and in order", () => {
  const sent = body(thinkingLoop(true), "claude-sonnet-4-5", { promptCaching: "off" });
  assert.deepEqual(sent, {
    model: "claude-sonnet-4-5",
    max_tokens: 64000,
    system: [{ type: "text", text: "You are a coding agent." }],
    messages: [
      { role: "user", content: [{ type: "text", text: "Run the tests." }] },
      { role: "assistant", content: [{ type: "text", text: "Earlier answer." }] },
      { role: "user", content: [{ type: "text", text: "Go on." }] },
      {
        role: "assistant",
        content: [
          ...THINKING_BLOCKS,
          { type: "text", text: "Running them." },
          { type: "tool_use", id: "toolu_01Run", name: "Shell", input: { command: "deno test" } },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01Run", content: "ok | 12 passed" }] },
    ],
    tools: [{ name: "Shell", input_schema: { type: "object", properties: {} } }],
    thinking: { type: "enabled", budget_tokens: 16384 },
    stream: true,
  });
  assertValidMessages(sent, "thinking replay");
});

Deno.test("thinking is left off when the last tool-use turn lost its thinking, or the tool choice is forced", () => {
  const lost = body(thinkingLoop(false, { temperature: 0.2 }), "claude-sonnet-4-5", { promptCaching: "off" });
  assert.equal(lost.thinking, undefined);
  assert.equal(lost.temperature, 0.2, "without thinking, the sampling knobs go");
  assertValidMessages(lost, "lost thinking");

  const forced = body(thinkingLoop(true, { tool_choice: { type: "function", name: "Shell" } }));
  assert.equal(forced.thinking, undefined);
  assert.deepEqual(forced.tool_choice, { type: "tool", name: "Shell" });
  // Thinking blocks may stay in a turn that is not the last message.
  assert.equal((forced.messages as Array<{ content: JsonObject[] }>)[3].content[0].type, "thinking");

  const required = body(thinkingLoop(true, { tool_choice: "required" }));
  assert.equal(required.thinking, undefined);
  assert.deepEqual(required.tool_choice, { type: "any" });
});

Deno.test("thinking budgets: by effort, added to the client's max_output_tokens, within the model's default", () => {
  const ask = (effort: string, model: string, max?: number) => {
    const sent = body({
      input: "Think.",
      reasoning: { effort },
      ...(max !== undefined ? { max_output_tokens: max } : {}),
    }, model);
    return [sent.max_tokens, (sent.thinking as JsonObject | undefined)?.budget_tokens];
  };
  assert.deepEqual(ask("low", "claude-sonnet-4-5"), [64000, 2048]);
  assert.deepEqual(ask("medium", "claude-sonnet-4-5", 4000), [12192, 8192]);
  assert.deepEqual(ask("xhigh", "claude-opus-4-1-20250805"), [32000, 27904]);
  assert.deepEqual(ask("xhigh", "claude-opus-4-1", 2000), [32000, 30000]);
  assert.deepEqual(ask("high", "claude-3-7-sonnet-20250219", 60000), [64000, 4000]);
  assert.deepEqual(ask("medium", "some-claude-proxy-model"), [8192, 4096]);
  assert.deepEqual(ask("minimal", "claude-sonnet-4-5"), [64000, undefined]);
  assert.deepEqual(ask("none", "claude-sonnet-4-5", 300), [300, undefined]);
  // Claude 3.5 has no extended thinking: the effort is not sent.
  assert.deepEqual(ask("high", "claude-3-5-haiku-20241022"), [8192, undefined]);
  // The configured default wins over the family table.
  const configured = body({ input: "Hi." }, "claude-sonnet-4-5", { defaultMaxTokens: 2048 });
  assert.equal(configured.max_tokens, 2048);
});

Deno.test("models that only think adaptively get thinking adaptive with the effort, and no sampling knobs", () => {
  const sent = body({ input: "Think.", reasoning: { effort: "high" }, temperature: 0.3 }, "claude-opus-4-7", {
    promptCaching: "off",
  });
  assert.deepEqual(sent, {
    model: "claude-opus-4-7",
    max_tokens: 64000,
    messages: [{ role: "user", content: [{ type: "text", text: "Think." }] }],
    thinking: { type: "adaptive" },
    output_config: { effort: "high" },
    stream: true,
  });
  const plain = body({ input: "Hi.", temperature: 0.3, top_p: 0.9 }, "claude-sonnet-5", { promptCaching: "off" });
  assert.equal(plain.temperature, undefined);
  assert.equal(plain.top_p, undefined);
});

// ===== Images and files =====

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK";

Deno.test("images and files: base64 and url sources, documents, and what the API cannot read left out", () => {
  const decoded = decode({
    model: "claude-sonnet-4-5",
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "What do these show?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}`, detail: "high" } },
        { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
        { type: "image", source: { type: "base64", media_type: "image/jpg", data: "/9j/4AAQ" } },
        { type: "image_url", image_url: { url: "data:image/svg+xml;base64,PHN2Zz4=" } },
        { type: "input_image", file_id: "file-abc123", detail: "auto" },
        { type: "file", file: { filename: "spec.pdf", file_data: `data:application/pdf;base64,${PDF}` } },
        { type: "input_file", file_url: "https://example.com/paper.pdf" },
        { type: "input_file", filename: "notes.txt", file_data: "data:text/plain;base64,aGVsbG8gbm90ZXM=" },
        { type: "input_file", file_id: "file-xyz" },
      ],
    }],
  });
  const sent = body(decoded.body, "claude-sonnet-4-5", { promptCaching: "off" });
  assert.deepEqual(sent.messages, [{
    role: "user",
    content: [
      { type: "text", text: "What do these show?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
      { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/4AAQ" } },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF }, title: "spec.pdf" },
      { type: "document", source: { type: "url", url: "https://example.com/paper.pdf" } },
      { type: "document", source: { type: "text", media_type: "text/plain", data: "hello notes" }, title: "notes.txt" },
    ],
  }]);
});

Deno.test("a tool result with an image keeps it as a block of the result", () => {
  const sent = body(
    {
      input: [
        { type: "message", role: "user", content: "Screenshot?" },
        { type: "function_call", call_id: "call_shot", name: "Screenshot", arguments: "{}" },
        {
          type: "function_call_output",
          call_id: "call_shot",
          output: [
            { type: "input_text", text: "Here:" },
            { type: "input_image", image_url: `data:image/png;base64,${PNG}` },
          ],
        },
      ],
    },
    "claude-sonnet-4-5",
    { promptCaching: "off" },
  );
  assert.deepEqual((sent.messages as JsonObject[])[2], {
    role: "user",
    content: [{
      type: "tool_result",
      tool_use_id: "call_shot",
      content: [
        { type: "text", text: "Here:" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      ],
    }],
  });
});

// ===== Prompt caching =====

const TWO_TURNS: ResponsesRequest = {
  instructions: "You are terse.",
  input: [
    { type: "message", role: "developer", content: "Answer in English." },
    { type: "message", role: "user", content: [{ type: "input_text", text: "Hi." }] },
    { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello." }] },
    { type: "message", role: "user", content: "What is 2+2?" },
  ],
  tools: [
    { type: "function", name: "calc", description: "Add.", parameters: { type: "object", properties: {} } },
    { type: "function", name: "clock", parameters: { type: "object", properties: {} } },
  ],
};

Deno.test("cache breakpoints on a two-turn conversation: the newest two user turns, the system, the last tool", () => {
  assert.deepEqual(body(TWO_TURNS, "claude-sonnet-4-5", {}, false), {
    model: "claude-sonnet-4-5",
    max_tokens: 64000,
    system: [
      { type: "text", text: "You are terse." },
      { type: "text", text: "Answer in English.", cache_control: EPHEMERAL },
    ],
    messages: [
      { role: "user", content: [{ type: "text", text: "Hi.", cache_control: EPHEMERAL }] },
      { role: "assistant", content: [{ type: "text", text: "Hello." }] },
      { role: "user", content: [{ type: "text", text: "What is 2+2?", cache_control: EPHEMERAL }] },
    ],
    tools: [
      { name: "calc", description: "Add.", input_schema: { type: "object", properties: {} } },
      { name: "clock", input_schema: { type: "object", properties: {} }, cache_control: EPHEMERAL },
    ],
  });
});

Deno.test("promptCaching off places none; the canonical request is never changed", () => {
  const before = structuredClone(TWO_TURNS);
  const sent = JSON.stringify(body(TWO_TURNS, "claude-sonnet-4-5", { promptCaching: "off" }));
  assert.ok(!sent.includes("cache_control"));
  body(TWO_TURNS);
  assert.deepEqual(TWO_TURNS, before, "a fallback may send the same canonical request to another API");
});

Deno.test("the client's own cache_control counts toward the four, and is kept", () => {
  const marked = (text: string) => ({ type: "input_text", text, cache_control: { type: "ephemeral", ttl: "1h" } });
  const sent = body({
    instructions: "System.",
    input: [
      { type: "message", role: "user", content: [marked("one"), marked("two"), marked("three")] },
      { type: "message", role: "assistant", content: "Ok." },
      { type: "message", role: "user", content: "Four." },
    ],
    tools: [{ type: "function", name: "calc", parameters: { type: "object", properties: {} } }],
  });
  const text = JSON.stringify(sent);
  assert.equal(text.split('"cache_control"').length - 1, 4);
  assert.equal(text.split('"ttl":"1h"').length - 1, 3);
  // The one left goes to the newest turn.
  assert.deepEqual((sent.messages as JsonObject[])[2], {
    role: "user",
    content: [{ type: "text", text: "Four.", cache_control: EPHEMERAL }],
  });
  const tooMany = body(
    {
      input: [{
        type: "message",
        role: "user",
        content: ["a", "b", "c", "d", "e"].map(marked),
      }],
    },
    "claude-sonnet-4-5",
    { promptCaching: "off" },
  );
  const kept = (tooMany.messages as Array<{ content: JsonObject[] }>)[0].content.map((block) =>
    block.cache_control !== undefined
  );
  assert.deepEqual(kept, [false, true, true, true, true], "over the API's four, the oldest go");
});

// ===== Parameters =====

Deno.test("tool_choice, stop, metadata and sampling parameters", () => {
  const tools = [{ type: "function", name: "calc", parameters: { type: "object", properties: {} } }];
  const choice = (tool_choice: unknown, extra: JsonObject = {}) =>
    body({ input: "x", tools, tool_choice, ...extra } as ResponsesRequest).tool_choice;
  assert.deepEqual(choice("auto"), { type: "auto" });
  assert.deepEqual(choice("required"), { type: "any" });
  assert.deepEqual(choice("none"), { type: "none" });
  assert.deepEqual(choice({ type: "function", name: "calc" }), { type: "tool", name: "calc" });
  assert.deepEqual(choice({ type: "function", name: "web_search" }), { type: "auto" });
  assert.deepEqual(choice({ type: "allowed_tools", mode: "required", tools: [] }), { type: "any" });
  assert.deepEqual(choice(undefined, { parallel_tool_calls: false }), {
    type: "auto",
    disable_parallel_tool_use: true,
  });
  assert.deepEqual(choice("required", { parallel_tool_calls: false }), {
    type: "any",
    disable_parallel_tool_use: true,
  });
  assert.deepEqual(choice("none", { parallel_tool_calls: false }), { type: "none" });
  assert.equal(body({ input: "x", tool_choice: "required" }).tool_choice, undefined, "no tools, no choice");

  const sent = body({
    input: "x",
    stop: ["\n\nHuman:", "  ", "END"],
    top_p: 0.8,
    temperature: -0.5,
    metadata: { user_id: "u-1", cursorConversationId: "conv" },
    safety_identifier: "safety-1",
    user: "user-1",
  });
  assert.deepEqual(sent.stop_sequences, ["\n\nHuman:", "END"]);
  assert.equal(sent.temperature, 0);
  assert.equal(sent.top_p, undefined, "never both");
  assert.deepEqual(sent.metadata, { user_id: "u-1" });
  assert.equal(body({ input: "x", stop: "###", top_p: 0.8 }).top_p, 0.8);
  assert.deepEqual(body({ input: "x", stop: "###" }).stop_sequences, ["###"]);
  assert.deepEqual(body({ input: "x", safety_identifier: "safety-1", user: "user-1" }).metadata, {
    user_id: "safety-1",
  });
});

Deno.test("a conversation ending on an assistant turn: no thinking, no trailing whitespace, no empty turn", () => {
  const sent = body(
    {
      input: [
        { type: "message", role: "user", content: "Start a list." },
        { type: "message", role: "assistant", content: "1. apples\n" },
      ],
      reasoning: { effort: "medium" },
    },
    "claude-sonnet-4-5",
    { promptCaching: "off" },
  );
  assert.equal(sent.thinking, undefined);
  assert.deepEqual((sent.messages as JsonObject[])[1], {
    role: "assistant",
    content: [{ type: "text", text: "1. apples" }],
  });
  const empty = body(
    {
      input: [
        { type: "message", role: "user", content: "Hi." },
        { type: "message", role: "assistant", content: "" },
        { type: "message", role: "user", content: "" },
      ],
    },
    "claude-sonnet-4-5",
    { promptCaching: "off" },
  );
  assert.deepEqual(empty.messages, [{ role: "user", content: [{ type: "text", text: "Hi." }] }]);
});

// ===== Recordings (optional) =====

const DIR = Deno.env.get("GATEWAY_RECORDINGS");

Deno.test({
  name: "every recorded Cursor body goes out as a Messages body the API's ordering rules accept",
  ignore: DIR === undefined || DIR === "",
  fn: async () => {
    let checked = 0;
    for await (const entry of Deno.readDir(`${DIR}/cursor`)) {
      if (!entry.name.endsWith(".json")) continue;
      const text = await Deno.readTextFile(`${DIR}/cursor/${entry.name}`);
      let raw: unknown;
      try {
        raw = JSON.parse(text.slice(text.indexOf("\n") + 1));
      } catch {
        continue; // an excerpt, not a whole body
      }
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) continue;
      if (!("messages" in raw) && !("input" in raw)) continue; // a single tool entry, not a body
      let decoded;
      try {
        // Some excerpts leave the model out; the adapter is told its model per attempt anyway.
        decoded = decode({ model: "claude-sonnet-4-5", ...raw });
      } catch {
        continue; // a body decode refuses never reaches an adapter
      }
      for (const model of ["claude-sonnet-4-5", "claude-opus-4-7"]) {
        const sent = body(decoded.body, model);
        if ((sent.messages as unknown[]).length === 0) continue;
        assertValidMessages(sent, `${entry.name} (${model})`);
      }
      checked++;
    }
    assert.ok(checked > 0, "some recorded bodies were checked");
  },
});
