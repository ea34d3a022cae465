import assert from "node:assert/strict";
import { decode } from "./support/decode.ts";
import { MISSING_RESULT } from "../src/upstream/adapters/anthropic/messages.ts";

/** What a call without an output of its own is answered with (issue 14, point 2). */
const placeholder = (callId: string, type = "function_call_output") => ({
  type,
  call_id: callId,
  output: MISSING_RESULT,
});

/** The canonical input for a chat body with these messages (and these tools). */
const inputOf = (messages: unknown[], tools?: unknown[]) =>
  decode({ model: "gpt-4.1", messages, ...(tools ? { tools } : {}) }).body.input;

const call = (id: string, name: string, args: string) => ({
  id,
  type: "function",
  function: { name, arguments: args },
});

Deno.test("system, developer and user chat messages become message items", () => {
  assert.deepEqual(
    inputOf([
      { role: "system", content: "Be brief." },
      { role: "developer", content: [{ type: "text", text: "Use TypeScript." }] },
      { role: "user", name: "dev", content: "Hi" },
    ]),
    [
      { type: "message", role: "system", content: "Be brief." },
      { type: "message", role: "developer", content: [{ type: "input_text", text: "Use TypeScript." }] },
      { type: "message", role: "user", content: "Hi" },
    ],
  );
});

Deno.test("assistant tool_calls become function_call items with the tool call id as call_id", () => {
  assert.deepEqual(
    inputOf([{
      role: "assistant",
      content: "Checking both.",
      tool_calls: [call("call_a", "grep", '{"pattern":"foo"}'), call("call_b", "grep", '{"pattern":"bar"}')],
    }]),
    [
      { type: "message", role: "assistant", content: "Checking both." },
      { type: "function_call", call_id: "call_a", name: "grep", arguments: '{"pattern":"foo"}' },
      { type: "function_call", call_id: "call_b", name: "grep", arguments: '{"pattern":"bar"}' },
      placeholder("call_a"),
      placeholder("call_b"),
    ],
  );
});

Deno.test("a tool message becomes a function_call_output with the tool_call_id as call_id", () => {
  assert.deepEqual(
    inputOf([
      { role: "assistant", content: null, tool_calls: [call("call_a", "grep", "{}"), call("call_b", "grep", "{}")] },
      { role: "tool", name: "grep", tool_call_id: "call_a", content: "README.md:1" },
      { role: "tool", tool_call_id: "call_b", content: [{ type: "text", text: "part" }] },
    ]).slice(2),
    [
      { type: "function_call_output", call_id: "call_a", output: "README.md:1" },
      { type: "function_call_output", call_id: "call_b", output: [{ type: "input_text", text: "part" }] },
    ],
  );
});

Deno.test("text and image_url parts become input_text and input_image", () => {
  assert.deepEqual(
    inputOf([{
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        { type: "image_url", image_url: { url: "https://example.test/cat.png", detail: "high" } },
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR" } },
      ],
    }]),
    [{
      type: "message",
      role: "user",
      content: [
        { type: "input_text", text: "What is this?" },
        { type: "input_image", image_url: "https://example.test/cat.png", detail: "high" },
        { type: "input_image", image_url: "data:image/png;base64,iVBOR", detail: "auto" },
      ],
    }],
  );
});

Deno.test("an assistant refusal becomes a refusal part", () => {
  assert.deepEqual(
    inputOf([
      { role: "assistant", content: null, refusal: "I can't do that." },
      { role: "assistant", content: "Partly.", refusal: "Not the rest." },
    ]),
    [
      { type: "message", role: "assistant", content: [{ type: "refusal", refusal: "I can't do that." }] },
      {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Partly." }, { type: "refusal", refusal: "Not the rest." }],
      },
    ],
  );
});

Deno.test("an assistant message with content null and tool calls is dropped, leaving only the calls", () => {
  assert.deepEqual(inputOf([{ role: "assistant", content: null, tool_calls: [call("c1", "ls", "{}")] }]), [
    { type: "function_call", call_id: "c1", name: "ls", arguments: "{}" },
    placeholder("c1"),
  ]);
});

Deno.test("an assistant message with content null and no tool calls gets empty content", () => {
  assert.deepEqual(inputOf([{ role: "assistant", content: null }]), [
    { type: "message", role: "assistant", content: "" },
  ]);
});

Deno.test("a chat tool call to a custom tool becomes a custom_tool_call and its tool message a custom_tool_call_output", () => {
  const patch = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch";
  assert.deepEqual(
    inputOf(
      [
        { role: "user", content: "Add a notes file." },
        { role: "assistant", content: null, tool_calls: [call("call_patch", "ApplyPatch", patch)] },
        { role: "tool", tool_call_id: "call_patch", content: "Done" },
      ],
      [{ type: "custom", name: "ApplyPatch", format: { type: "grammar", syntax: "lark", definition: "start: x" } }],
    ),
    [
      { type: "message", role: "user", content: "Add a notes file." },
      { type: "custom_tool_call", call_id: "call_patch", name: "ApplyPatch", input: patch },
      { type: "custom_tool_call_output", call_id: "call_patch", output: "Done" },
    ],
  );
});

Deno.test("a chat custom tool call spelled type:custom becomes a custom_tool_call", () => {
  assert.deepEqual(
    inputOf([{
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c1", type: "custom", custom: { name: "ApplyPatch", input: "*** Begin Patch" } }],
    }]),
    [
      { type: "custom_tool_call", call_id: "c1", name: "ApplyPatch", input: "*** Begin Patch" },
      placeholder("c1", "custom_tool_call_output"),
    ],
  );
});

Deno.test("tool call arguments sent as an object are forwarded as JSON text", () => {
  assert.deepEqual(
    inputOf([{
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c1", type: "function", function: { name: "ls", arguments: { path: "." } } }],
    }]),
    [{ type: "function_call", call_id: "c1", name: "ls", arguments: '{"path":"."}' }, placeholder("c1")],
  );
});
