/**
 * Whole Cursor-like bodies (fixtures/requests/, written from cursor.md §1)
 * and the exact canonical Responses request each decodes to.
 */
import assert from "node:assert/strict";
import { decode } from "./support/decode.ts";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/requests/${name}`, import.meta.url)));

const patch =
  "*** Begin Patch\n*** Update File: src/cart.ts\n@@\n-export const total = (items) => 0;\n+export const cartTotal = (items) => 0;\n*** End Patch\n";

/** The canonical body of fixtures/requests/cursor_agent_hybrid.json. */
const cursorAgentCanonical = (raw: Record<string, unknown>) => ({
  instructions: "You are a coding agent working in the user's repository.",
  input: [
    { type: "message", role: "system", content: "Workspace: /home/dev/shop" },
    { type: "message", role: "user", content: [{ type: "input_text", text: "Rename the cart total helper." }] },
    {
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: "Let me look at the file first." }],
    },
    { type: "function_call", call_id: "call_read_1", name: "ReadFile", arguments: '{"path":"src/cart.ts"}' },
    { type: "function_call_output", call_id: "call_read_1", output: "export const total = (items) => 0;\n" },
    { type: "custom_tool_call", call_id: "call_patch_1", name: "ApplyPatch", input: patch },
    { type: "custom_tool_call_output", call_id: "call_patch_1", output: "Success. Updated src/cart.ts" },
    { type: "message", role: "user", content: "Now run the tests." },
  ],
  tools: raw.tools,
  tool_choice: "auto",
  parallel_tool_calls: true,
  reasoning: { effort: "medium", summary: "auto" },
  include: ["reasoning.encrypted_content"],
  text: { verbosity: "low" },
  store: false,
  truncation: "auto",
  prompt_cache_retention: "24h",
  metadata: { cursorConversationId: "3f1c2b9e-7a41-4c57-9d2e-5b8a1e0c6d42" },
  prompt_cache_key: "3f1c2b9e-7a41-4c57-9d2e-5b8a1e0c6d42",
  user: "user-hash-5d41402abc",
});

Deno.test("Cursor's hybrid agent body decodes to the canonical Responses request", () => {
  const raw = fixture("cursor_agent_hybrid.json");
  const decoded = decode(raw);
  assert.equal(decoded.shape, "hybrid");
  assert.equal(decoded.model, "openai/gpt-5");
  assert.equal(decoded.stream, true);
  assert.deepEqual([...decoded.customTools], ["ApplyPatch"]);
  assert.deepEqual(decoded.body, cursorAgentCanonical(raw));
});

Deno.test("Cursor's Ask-mode chat body with mixed tools and content:null decodes to the canonical request", () => {
  const decoded = decode(fixture("cursor_ask_chat.json"));
  assert.equal(decoded.shape, "chat");
  assert.equal(decoded.stream, true);
  assert.deepEqual(decoded.body, {
    input: [
      { type: "message", role: "system", content: "You answer questions about the user's code." },
      { type: "message", role: "user", content: "What does main.py print?" },
      { type: "function_call", call_id: "call_ask_1", name: "read_file", arguments: '{"path":"main.py"}' },
      { type: "function_call_output", call_id: "call_ask_1", output: "print(6 * 7)" },
      { type: "message", role: "assistant", content: "" },
      { type: "message", role: "user", content: [{ type: "input_text", text: "Answer with just the number." }] },
    ],
    tools: [
      {
        type: "function",
        name: "read_file",
        description: "Read a file.",
        parameters: { type: "object", properties: { path: { type: "string" } } },
        strict: false,
      },
      {
        type: "function",
        name: "list_dir",
        description: "List a directory.",
        parameters: { type: "object", properties: { path: { type: "string" } } },
        strict: false,
      },
      {
        type: "custom",
        name: "ApplyPatch",
        description: "Use this tool to edit files.",
        format: { type: "grammar", syntax: "lark", definition: "start: begin_patch" },
      },
    ],
    tool_choice: { type: "function", name: "read_file" },
    temperature: 0,
    max_output_tokens: 512,
    user: "user-hash-5d41402abc",
  });
});

Deno.test("a hybrid body with Anthropic tool_use and tool_result blocks decodes to calls and outputs", () => {
  const decoded = decode(fixture("anthropic_tool_blocks.json"));
  assert.deepEqual(decoded.body, {
    input: [
      { type: "message", role: "user", content: "How many files are in src?" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "I'll list them." }] },
      { type: "function_call", call_id: "toolu_01", name: "Shell", arguments: '{"command":"ls src | wc -l"}' },
      { type: "function_call_output", call_id: "toolu_01", output: [{ type: "input_text", text: "12" }] },
      { type: "message", role: "user", content: [{ type: "input_text", text: "Is that a lot?" }] },
    ],
    tools: [{
      type: "function",
      name: "Shell",
      description: "Run a shell command.",
      parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
      strict: false,
    }],
  });
});
