import assert from "node:assert/strict";
import { Result } from "effect";
import { decodeRequest } from "../src/decode/decode.ts";

const reject = (raw: unknown) => {
  const result = decodeRequest(raw);
  if (Result.isSuccess(result)) throw new Error("expected a 400, got a decoded request");
  return result.failure;
};

Deno.test("a body that is not an object is a 400", () => {
  for (const raw of [null, [], "text", 42, true]) {
    const error = reject(raw);
    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.message, "Request body must be a JSON object.");
  }
});

Deno.test("model is required and must be a non-empty string", () => {
  assert.deepEqual(
    [reject({ input: "hi" }), reject({ model: "", input: "hi" }), reject({ model: 5, input: "hi" })]
      .map((e) => [e.message, e.param, e.code]),
    [
      ["model: required", "model", "missing_required_parameter"],
      ["model: must not be empty", "model", "invalid_value"],
      ["model: expected a string", "model", "invalid_type"],
    ],
  );
});

Deno.test("temperature outside 0..2 and top_p outside 0..1 are 400s naming the field", () => {
  assert.equal(reject({ model: "m", input: "hi", temperature: 2.5 }).message, "temperature: must be between 0 and 2");
  assert.equal(reject({ model: "m", input: "hi", temperature: -1 }).param, "temperature");
  assert.equal(reject({ model: "m", input: "hi", top_p: 1.5 }).message, "top_p: must be between 0 and 1");
  assert.equal(reject({ model: "m", input: "hi", top_p: "high" }).message, "top_p: expected a number");
});

Deno.test("stream must be a boolean and fallbacks an array of non-empty strings", () => {
  assert.equal(reject({ model: "m", input: "hi", stream: "yes" }).message, "stream: expected a boolean");
  assert.equal(
    reject({ model: "m", input: "hi", fallbacks: ["ok", "", 3] }).message,
    "fallbacks[1]: must not be empty; fallbacks[2]: expected a string",
  );
  assert.equal(
    reject({ model: "m", input: "hi", fallbacks: "gpt-4.1" }).message,
    "fallbacks: expected an array of model names",
  );
});

Deno.test("a body with several bad fields gets one 400 naming every field by path, param the first", () => {
  const error = reject({
    stream: "yes",
    temperature: 3,
    input: [
      { role: "user", content: "fine" },
      { role: "robot", content: "beep" },
      { type: "function_call", name: "Shell", arguments: "{}" },
      { role: "user", content: [{ type: "input_text", text: 5 }] },
    ],
    tools: [{ type: "function", name: "Shell", parameters: {} }, { type: "function", description: "no name" }],
  });
  assert.equal(error.status, 400);
  assert.equal(error.param, "model");
  assert.equal(error.code, "missing_required_parameter");
  assert.equal(
    error.message,
    [
      "model: required",
      "stream: expected a boolean",
      "temperature: must be between 0 and 2",
      "tools[1].name: expected a non-empty string",
      "input[1].role: expected one of user, assistant, system, developer, tool",
      "input[2].call_id: expected a string",
      "input[3].content[0].text: expected a string",
    ].join("; "),
  );
});

Deno.test("malformed chat messages are named by path", () => {
  const error = reject({
    model: "m",
    messages: [
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { arguments: "{}" } }] },
      { role: "tool", content: "orphan" },
      "hello",
      { role: "user", content: 42 },
    ],
  });
  assert.equal(
    error.message,
    [
      "messages[0].tool_calls[0].function.name: expected a string",
      "messages[1].tool_call_id: expected a non-empty string",
      "messages[2]: expected an object",
      "messages[3].content: expected a string or an array of content parts",
    ].join("; "),
  );
  assert.equal(error.param, "messages[0].tool_calls[0].function.name");
});

Deno.test("input and messages of the wrong type are named once", () => {
  assert.equal(reject({ model: "m", input: 5 }).message, "input: expected a string or an array of items");
  assert.equal(reject({ model: "m", messages: "hi" }).message, "messages: expected an array of messages");
});

Deno.test("wrong types of carried Responses fields are 400s", () => {
  assert.equal(
    reject({ model: "m", input: "hi", reasoning: "high", include: "x", metadata: [], store: "no" }).message,
    "reasoning: expected an object; include: expected an array of strings; store: expected a boolean; " +
      "metadata: expected an object",
  );
});

Deno.test("unknown top-level fields are ignored", () => {
  const result = decodeRequest({ model: "m", input: "hi", cursor_future_flag: { x: 1 }, foo: [1, 2] });
  assert.equal(Result.isSuccess(result), true);
});

Deno.test("a body with thousands of bad items gets a bounded message", () => {
  const error = reject({ model: "m", input: Array.from({ length: 5000 }, () => 1) });
  assert.match(error.message, /^input\[0\]: expected an object; input\[1\]: expected an object; /);
  assert.match(error.message, /; and 4980 more$/);
  assert.ok(error.message.length < 1000);
});

Deno.test("every top-level field is checked: a wrong type or value is named in field order, and null counts as absent", () => {
  const error = reject({
    model: "m",
    input: "hi",
    safety_identifier: 1,
    conversation: 5,
    include: ["ok", 1],
    top_logprobs: 21,
    n: 2,
    max_tokens: "many",
    max_output_tokens: 1.5,
    max_tool_calls: 0,
    parallel_tool_calls: "yes",
    tool_choice: 5,
    tools: {},
    instructions: 5,
  });
  assert.equal(
    error.message,
    [
      "instructions: expected a string",
      "tools: expected an array of tools",
      "tool_choice: expected a string or an object",
      "parallel_tool_calls: expected a boolean",
      "max_tool_calls: must be an integer of at least 1",
      "max_output_tokens: must be an integer of at least 1",
      "max_tokens: expected an integer",
      "n: must be 1: the Responses API returns a single choice",
      "top_logprobs: must be an integer between 0 and 20",
      "include[1]: expected a string",
      "conversation: expected a string or an object",
      "safety_identifier: expected a string",
    ].join("; "),
  );
  assert.equal(error.param, "instructions");
  assert.equal(error.code, "invalid_type");
  const nulls = decodeRequest({ model: "m", input: "hi", temperature: null, tools: null, include: null, user: null });
  assert.equal(Result.isSuccess(nulls), true);
});
