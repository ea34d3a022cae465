import assert from "node:assert/strict";
import { decode, reject } from "./support/decode.ts";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/requests/${name}`, import.meta.url)));

Deno.test("a body with input and no messages is decoded as hybrid", () => {
  const decoded = decode({ model: "gpt-5", input: [{ role: "user", content: "hi" }] });
  assert.equal(decoded.shape, "hybrid");
  assert.deepEqual(decoded.body.input, [{ type: "message", role: "user", content: "hi" }]);
});

Deno.test("a string input is forwarded as the very same string", () => {
  const text = "x".repeat(100_000);
  const decoded = decode({ model: "gpt-5", input: text });
  assert.equal(decoded.shape, "hybrid");
  assert.equal(decoded.body.input, text);
});

Deno.test("an empty input array is forwarded for the upstream to judge", () => {
  const decoded = decode({ model: "gpt-5", input: [], messages: [] });
  assert.equal(decoded.shape, "hybrid");
  assert.deepEqual(decoded.body.input, []);
});

Deno.test("messages: [] next to input is ignored and the body is hybrid", () => {
  const decoded = decode(fixture("hybrid_with_empty_messages.json"));
  assert.equal(decoded.shape, "hybrid");
  assert.deepEqual(decoded.body.input, [
    { type: "message", role: "user", content: [{ type: "input_text", text: "Summarise the open TODOs." }] },
  ]);
  assert.equal("messages" in decoded.body, false);
});

Deno.test("a body with non-empty messages and no input is decoded as chat", () => {
  const decoded = decode({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] });
  assert.equal(decoded.shape, "chat");
  assert.deepEqual(decoded.body.input, [{ type: "message", role: "user", content: "hi" }]);
});

Deno.test("messages are used when input is present but empty", () => {
  const decoded = decode({ model: "gpt-5", input: [], messages: [{ role: "user", content: "hi" }] });
  assert.equal(decoded.shape, "chat");
});

Deno.test("when input and messages both carry turns, messages is used when only it holds the tool results", () => {
  const decoded = decode(fixture("input_and_messages_tool_results_in_messages.json"));
  assert.equal(decoded.shape, "chat");
  assert.deepEqual(decoded.body.input, [
    { type: "message", role: "user", content: "Check the build." },
    { type: "function_call", call_id: "call_build_1", name: "Shell", arguments: '{"command":"make"}' },
    { type: "function_call_output", call_id: "call_build_1", output: "make: Nothing to be done for 'all'." },
  ]);
});

Deno.test("when input and messages both carry turns, input is used when it holds the tool results", () => {
  const decoded = decode({
    model: "gpt-5",
    input: [
      { type: "function_call", call_id: "c1", name: "Shell", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output: "ok" },
    ],
    messages: [{ role: "user", content: "older copy" }],
  });
  assert.equal(decoded.shape, "hybrid");
  assert.equal((decoded.body.input as unknown[]).length, 2);
});

Deno.test("when input and messages both carry turns and neither holds tool results, input is used", () => {
  const decoded = decode({
    model: "gpt-5",
    input: "from input",
    messages: [{ role: "user", content: "from messages" }],
  });
  assert.equal(decoded.shape, "hybrid");
  assert.equal(decoded.body.input, "from input");
});

Deno.test("Anthropic tool_result blocks count as tool results when choosing between input and messages", () => {
  const decoded = decode({
    model: "gpt-5",
    input: [{ role: "user", content: "hi" }],
    messages: [
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Shell", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "done" }] },
    ],
  });
  assert.equal(decoded.shape, "chat");
});

Deno.test("a body with neither input nor messages is a 400 naming messages", () => {
  const error = reject({ model: "gpt-5" });
  assert.equal(error.status, 400);
  assert.equal(error.param, "messages");
  assert.match(error.message, /^messages: required/);
});

Deno.test("an empty messages array without input is a 400", () => {
  const error = reject({ model: "gpt-5", messages: [] });
  assert.equal(error.param, "messages");
  assert.match(error.message, /messages: must not be empty/);
});
