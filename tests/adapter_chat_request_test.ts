/**
 * The Chat Completions adapter's request side: exact wire bodies for canonical requests, both
 * decoded from Cursor's bodies (fixtures/requests/) and written by hand for the rules the
 * fixtures do not reach (system hoisting, merged assistant turns, images, hosted tools and
 * items, reasoning envelopes, response formats, provider knobs).
 */
import assert from "node:assert/strict";
import type { JsonObject, ResponsesRequest } from "../src/protocol/responses.ts";
import { adapter } from "../src/upstream/adapters/chat/index.ts";
import type { ChatWireOptions } from "../src/upstream/adapters/chat/wire.ts";
import { sealReasoning } from "../src/upstream/adapters/reasoning_envelope.ts";
import type { AdapterTarget } from "../src/upstream/adapters/types.ts";
import { decode } from "./support/decode.ts";

const target = (options: ChatWireOptions = {}, provider = "deepseek"): AdapterTarget => ({
  provider,
  api: "chat",
  options,
});

const fixture = (name: string): unknown =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/requests/${name}`, import.meta.url)));

/** The wire body for `canonical` (parsed back, so assertions compare JSON). */
const wire = (
  canonical: ResponsesRequest,
  options: ChatWireOptions = {},
  { model = "deepseek-chat", stream = true, provider = "deepseek" } = {},
): JsonObject => {
  const request = adapter.request(canonical, { model, stream }, target(options, provider));
  assert.equal(request.path, "/chat/completions");
  assert.equal(request.headers, undefined);
  return JSON.parse(request.body);
};

const PATCH_TEXT = "*** Begin Patch\n*** Update File: src/cart.ts\n@@\n-export const total = (items) => 0;\n" +
  "+export const cartTotal = (items) => 0;\n*** End Patch\n";

const APPLY_PATCH_TOOL = {
  type: "function",
  function: {
    name: "ApplyPatch",
    description: "Use this tool to edit files.\n\nThe `input` string is raw text in this lark grammar:\n" +
      'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n',
    parameters: { type: "object", properties: { input: { type: "string" } }, required: ["input"] },
  },
};

Deno.test("chat request: Cursor's agent hybrid body, decoded, as an exact chat body", () => {
  const decoded = decode(fixture("cursor_agent_hybrid.json"));
  assert.deepEqual(wire(decoded.body), {
    model: "deepseek-chat",
    messages: [
      {
        role: "system",
        content: "You are a coding agent working in the user's repository.\n\nWorkspace: /home/dev/shop",
      },
      { role: "user", content: "Rename the cart total helper." },
      {
        role: "assistant",
        content: "Let me look at the file first.",
        tool_calls: [{
          id: "call_read_1",
          type: "function",
          function: { name: "ReadFile", arguments: '{"path":"src/cart.ts"}' },
        }],
      },
      { role: "tool", tool_call_id: "call_read_1", content: "export const total = (items) => 0;\n" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_patch_1",
          type: "function",
          function: { name: "ApplyPatch", arguments: JSON.stringify({ input: PATCH_TEXT }) },
        }],
      },
      { role: "tool", tool_call_id: "call_patch_1", content: "Success. Updated src/cart.ts" },
      { role: "user", content: "Now run the tests." },
    ],
    tools: [
      {
        type: "function",
        function: {
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
      },
      {
        type: "function",
        function: {
          name: "Shell",
          description: "Run a shell command.",
          parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
        },
      },
      APPLY_PATCH_TOOL,
    ],
    tool_choice: "auto",
    parallel_tool_calls: true,
    user: "user-hash-5d41402abc",
    stream: true,
    stream_options: { include_usage: true },
  });
});

Deno.test("chat request: the provider's knobs (max_completion_tokens, reasoning_effort, omitted fields), unstreamed", () => {
  const decoded = decode({ ...fixture("cursor_agent_hybrid.json") as object, max_output_tokens: 2048 });
  const plain = wire(decoded.body, {}, { stream: false });
  assert.equal(plain.max_tokens, 2048);
  assert.equal("reasoning_effort" in plain, false, "only when the provider takes it");
  assert.equal("stream" in plain, false);
  assert.equal("stream_options" in plain, false);
  for (
    const field of ["include", "store", "previous_response_id", "truncation", "metadata", "prompt_cache_key", "text"]
  ) {
    assert.equal(field in plain, false, field);
  }

  const tuned = wire(decoded.body, { maxTokensField: "max_completion_tokens", reasoningEffort: true });
  assert.equal(tuned.max_completion_tokens, 2048);
  assert.equal("max_tokens" in tuned, false);
  assert.equal(tuned.reasoning_effort, "medium");

  // Mistral answers 422 extra_forbidden for `user` and `stream_options`.
  const mistral = wire(decoded.body, { omitFields: ["user", "stream_options"] });
  assert.equal("user" in mistral, false);
  assert.equal("stream_options" in mistral, false);
  assert.equal(mistral.stream, true);
});

Deno.test("chat request: Cursor's chat-shaped Ask body, decoded", () => {
  const decoded = decode(fixture("cursor_ask_chat.json"));
  const body = wire(decoded.body);
  assert.deepEqual(body.messages, [
    { role: "system", content: "You answer questions about the user's code." },
    { role: "user", content: "What does main.py print?" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "call_ask_1",
        type: "function",
        function: { name: "read_file", arguments: '{"path":"main.py"}' },
      }],
    },
    { role: "tool", tool_call_id: "call_ask_1", content: "print(6 * 7)" },
    // The empty assistant turn Cursor sends is dropped (Mistral: "must have either content or tool_calls").
    { role: "user", content: "Answer with just the number." },
  ]);
  assert.deepEqual(body.tool_choice, { type: "function", function: { name: "read_file" } });
  assert.equal(body.max_tokens, 512);
  assert.equal(body.temperature, 0);
  assert.deepEqual((body.tools as JsonObject[]).map((tool) => (tool.function as JsonObject).name), [
    "read_file",
    "list_dir",
    "ApplyPatch",
  ]);
});

Deno.test("chat request: system and developer items lead as one system message; a text input is one user turn", () => {
  const canonical: ResponsesRequest = {
    instructions: "Be brief.",
    input: [
      { type: "message", role: "user", content: "first" },
      { type: "message", role: "developer", content: [{ type: "input_text", text: "Prefer TypeScript." }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "ok" }] },
      { type: "message", role: "system", content: "Workspace: /w" },
      {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "a" }, { type: "input_text", text: "b" }],
      },
    ],
  };
  assert.deepEqual(wire(canonical).messages, [
    { role: "system", content: "Be brief.\n\nPrefer TypeScript.\n\nWorkspace: /w" },
    { role: "user", content: "first" },
    { role: "assistant", content: "ok" },
    { role: "user", content: "a\n\nb" },
  ]);
  assert.deepEqual(wire({ input: "hello" }, {}, { stream: false }), {
    model: "deepseek-chat",
    messages: [{ role: "user", content: "hello" }],
  });
});

Deno.test("chat request: one assistant turn's text and consecutive calls share a message; outputs follow as tool messages", () => {
  const canonical: ResponsesRequest = {
    input: [
      { type: "message", role: "user", content: "look at both" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Reading" }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "both files." }] },
      { type: "function_call", call_id: "c1", name: "ReadFile", arguments: '{"path":"a"}' },
      { type: "function_call", call_id: "c2", name: "ReadFile", arguments: "" },
      {
        type: "function_call_output",
        call_id: "c1",
        output: [{ type: "input_text", text: "line 1" }, { type: "input_image", image_url: "data:x" }, {
          type: "input_text",
          text: "line 2",
        }],
      },
      { type: "function_call_output", call_id: "c2", output: "B" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Now patching." }] },
      { type: "custom_tool_call", call_id: "c3", name: "ApplyPatch", input: "*** Begin Patch\n*** End Patch" },
      { type: "custom_tool_call_output", call_id: "c3", output: "Done" },
    ],
  };
  assert.deepEqual(wire(canonical).messages, [
    { role: "user", content: "look at both" },
    {
      role: "assistant",
      content: "Reading\n\nboth files.",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "ReadFile", arguments: '{"path":"a"}' } },
        { id: "c2", type: "function", function: { name: "ReadFile", arguments: "{}" } },
      ],
    },
    { role: "tool", tool_call_id: "c1", content: "line 1\nline 2" },
    { role: "tool", tool_call_id: "c2", content: "B" },
    {
      role: "assistant",
      content: "Now patching.",
      tool_calls: [{
        id: "c3",
        type: "function",
        function: { name: "ApplyPatch", arguments: '{"input":"*** Begin Patch\\n*** End Patch"}' },
      }],
    },
    { role: "tool", tool_call_id: "c3", content: "Done" },
  ]);
});

Deno.test("chat request: images are image_url parts with their detail; files are file parts", () => {
  const canonical: ResponsesRequest = {
    input: [{
      type: "message",
      role: "user",
      content: [
        { type: "input_text", text: "What is this?" },
        { type: "input_image", image_url: "https://example.com/a.png", detail: "high" },
        { type: "input_image", image_url: "data:image/png;base64,AAAA" },
        { type: "input_image", file_id: "file-123" },
        { type: "input_file", filename: "a.pdf", file_data: "data:application/pdf;base64,JVBE" },
      ],
    }],
  };
  assert.deepEqual(wire(canonical).messages, [{
    role: "user",
    content: [
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "high" } },
      { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
      { type: "file", file: { file_data: "data:application/pdf;base64,JVBE", filename: "a.pdf" } },
    ],
  }]);
});

Deno.test("chat request: hosted tools, hosted items and item references are dropped; no tools means no tool fields", () => {
  const canonical: ResponsesRequest = {
    input: [
      { type: "message", role: "user", content: "search" },
      { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "x" } },
      { id: "msg_stored" },
      { type: "item_reference", id: "msg_other" },
      { type: "mcp_call", id: "mcp_1", name: "t", arguments: "{}", server_label: "s" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "found" }] },
    ],
    tools: [
      { type: "web_search" },
      { type: "file_search", vector_store_ids: ["vs"] },
      { type: "image_generation" },
      { type: "code_interpreter", container: { type: "auto" } },
      { type: "computer_use_preview", display_width: 1, display_height: 1, environment: "linux" },
      { type: "mcp", server_label: "s", server_url: "https://mcp" },
      { type: "local_shell" },
    ],
    tool_choice: "required",
    parallel_tool_calls: false,
  };
  const body = wire(canonical);
  assert.deepEqual(body.messages, [{ role: "user", content: "search" }, { role: "assistant", content: "found" }]);
  for (const field of ["tools", "tool_choice", "parallel_tool_calls"]) assert.equal(field in body, false, field);
});

Deno.test("chat request: tool_choice forms", () => {
  const tools = [
    { type: "function", name: "Shell", parameters: { type: "object", properties: {} }, strict: false },
    { type: "custom", name: "ApplyPatch" },
    { type: "web_search" },
  ];
  const choice = (tool_choice: unknown) => wire({ input: "x", tools, tool_choice: tool_choice as string }).tool_choice;
  assert.equal(choice("auto"), "auto");
  assert.equal(choice("none"), "none");
  assert.equal(choice("required"), "required");
  assert.deepEqual(choice({ type: "function", name: "Shell" }), { type: "function", function: { name: "Shell" } });
  assert.deepEqual(choice({ type: "custom", name: "ApplyPatch" }), {
    type: "function",
    function: { name: "ApplyPatch" },
  });
  assert.equal(choice({ type: "function", name: "Unknown" }), undefined);
  assert.equal(choice({ type: "web_search" }), undefined);
  assert.equal(
    choice({ type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "Shell" }] }),
    "required",
  );
  assert.equal(choice({ type: "allowed_tools", mode: "auto", tools: [] }), "auto");
  // A custom tool without a grammar keeps its description as it is.
  assert.deepEqual((wire({ input: "x", tools }).tools as JsonObject[])[1], {
    type: "function",
    function: {
      name: "ApplyPatch",
      parameters: { type: "object", properties: { input: { type: "string" } }, required: ["input"] },
    },
  });
});

Deno.test("chat request: sampling, stop, response formats", () => {
  const base: ResponsesRequest = { input: "x", temperature: 0.2, top_p: 0.9, stop: ["END", "STOP"] };
  const schema = {
    type: "object",
    properties: { a: { type: "string" } },
    required: ["a"],
    additionalProperties: false,
  };
  const strictSchema = wire({
    ...base,
    text: { format: { type: "json_schema", name: "answer", schema, strict: true } },
  });
  assert.equal(strictSchema.temperature, 0.2);
  assert.equal(strictSchema.top_p, 0.9);
  assert.deepEqual(strictSchema.stop, ["END", "STOP"]);
  assert.deepEqual(strictSchema.response_format, {
    type: "json_schema",
    json_schema: { name: "answer", schema, strict: true },
  });
  assert.deepEqual(wire({ ...base, stop: "END", text: { format: { type: "json_object" } } }).response_format, {
    type: "json_object",
  });
  assert.equal(wire({ ...base, stop: "END" }).stop, "END");
  assert.equal("response_format" in wire({ ...base, text: { format: { type: "text" }, verbosity: "low" } }), false);
});

Deno.test("chat request: reasoning items are dropped, except OpenRouter details sealed for this same provider", () => {
  const details = [{
    type: "reasoning.text",
    text: "Two plus two is four.",
    signature: "c2ln",
    format: "anthropic-claude-v1",
    index: 0,
  }];
  const own = sealReasoning("chat", { provider: "openrouter", reasoning_details: details });
  const canonical: ResponsesRequest = {
    input: [
      { type: "message", role: "user", content: "2+2?" },
      { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "gAAAA-openai-blob" },
      { type: "reasoning", id: "rs_2", summary: [], encrypted_content: sealReasoning("anthropic", { thinking: "x" }) },
      { type: "reasoning", id: "rs_3", summary: [], encrypted_content: own },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "4" }] },
      { type: "function_call", call_id: "c1", name: "Calc", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output: "4" },
      // Reasoning whose turn never came is not carried onto a later one.
      { type: "reasoning", id: "rs_4", summary: [], encrypted_content: own },
      { type: "message", role: "user", content: "thanks" },
    ],
  };
  assert.deepEqual(wire(canonical, {}, { provider: "openrouter" }).messages, [
    { role: "user", content: "2+2?" },
    {
      role: "assistant",
      content: "4",
      reasoning_details: details,
      tool_calls: [{ id: "c1", type: "function", function: { name: "Calc", arguments: "{}" } }],
    },
    { role: "tool", tool_call_id: "c1", content: "4" },
    { role: "user", content: "thanks" },
  ]);
  // Another provider (Mistral answers 422 for reasoning fields it did not emit) never gets them.
  const elsewhere = wire(canonical, {}, { provider: "mistral" }).messages as JsonObject[];
  assert.ok(elsewhere.every((message) => !("reasoning_details" in message) && !("reasoning_content" in message)));
});

Deno.test('chat request: replayReasoningContent sends DeepSeek\'s own reasoning_content back, "" where there is none', () => {
  const own = sealReasoning("chat", { provider: "deepseek", reasoning_content: "Need the file first." });
  const canonical: ResponsesRequest = {
    input: [
      { type: "message", role: "user", content: "fix it" },
      { type: "reasoning", id: "rs_0", summary: [], encrypted_content: own },
      { type: "function_call", call_id: "c1", name: "ReadFile", arguments: '{"path":"a"}' },
      { type: "function_call_output", call_id: "c1", output: "A" },
      // A turn served by another provider (or without reasoning) still carries the field.
      {
        type: "reasoning",
        id: "rs_1",
        summary: [],
        encrypted_content: sealReasoning("chat", { provider: "kimi", reasoning_content: "x" }),
      },
      { type: "function_call", call_id: "c2", name: "ReadFile", arguments: '{"path":"b"}' },
      { type: "function_call_output", call_id: "c2", output: "B" },
    ],
    tools: [{ type: "function", name: "ReadFile", parameters: { type: "object", properties: {} } }],
  };
  assert.deepEqual(wire(canonical, { replayReasoningContent: true }).messages, [
    { role: "user", content: "fix it" },
    {
      role: "assistant",
      content: null,
      reasoning_content: "Need the file first.",
      tool_calls: [{ id: "c1", type: "function", function: { name: "ReadFile", arguments: '{"path":"a"}' } }],
    },
    { role: "tool", tool_call_id: "c1", content: "A" },
    {
      role: "assistant",
      content: null,
      reasoning_content: "",
      tool_calls: [{ id: "c2", type: "function", function: { name: "ReadFile", arguments: '{"path":"b"}' } }],
    },
    { role: "tool", tool_call_id: "c2", content: "B" },
  ]);
  // Off by default (the brief): nothing of it is sent.
  const plain = wire(canonical).messages as JsonObject[];
  assert.ok(plain.every((message) => !("reasoning_content" in message)));
});
