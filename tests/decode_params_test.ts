import assert from "node:assert/strict";
import { decode, reject } from "./support/decode.ts";

/** The canonical body of a chat body with one user message and these parameters, without its input. */
const paramsOf = (params: Record<string, unknown>) => {
  const { input: _input, ...rest } = decode({
    model: "gpt-5",
    messages: [{ role: "user", content: "hi" }],
    ...params,
  }).body;
  return rest;
};

Deno.test("temperature and top_p within range are forwarded", () => {
  assert.deepEqual(paramsOf({ temperature: 0, top_p: 1 }), { temperature: 0, top_p: 1 });
  assert.deepEqual(paramsOf({ temperature: 2, top_p: 0.5 }), { temperature: 2, top_p: 0.5 });
});

Deno.test("max_tokens and max_completion_tokens become max_output_tokens", () => {
  assert.deepEqual(paramsOf({ max_tokens: 300 }), { max_output_tokens: 300 });
  assert.deepEqual(paramsOf({ max_completion_tokens: 400 }), { max_output_tokens: 400 });
  assert.deepEqual(paramsOf({ max_output_tokens: 500, max_tokens: 300 }), { max_output_tokens: 500 });
});

Deno.test("response_format json_object becomes text.format", () => {
  assert.deepEqual(paramsOf({ response_format: { type: "json_object" } }), {
    text: { format: { type: "json_object" } },
  });
});

Deno.test("response_format json_schema becomes a flat text.format beside an existing text.verbosity", () => {
  const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
  assert.deepEqual(
    paramsOf({
      text: { verbosity: "low" },
      response_format: { type: "json_schema", json_schema: { name: "City", schema, strict: true } },
    }),
    { text: { verbosity: "low", format: { type: "json_schema", name: "City", schema, strict: true } } },
  );
});

Deno.test("chat verbosity becomes text.verbosity", () => {
  assert.deepEqual(paramsOf({ verbosity: "high" }), { text: { verbosity: "high" } });
});

Deno.test("reasoning_effort becomes reasoning.effort, merged with an existing reasoning object", () => {
  assert.deepEqual(paramsOf({ reasoning_effort: "low" }), { reasoning: { effort: "low" } });
  assert.deepEqual(paramsOf({ reasoning_effort: "high", reasoning: { summary: "auto" } }), {
    reasoning: { summary: "auto", effort: "high" },
  });
  assert.deepEqual(paramsOf({ reasoning_effort: "high", reasoning: { effort: "minimal" } }), {
    reasoning: { effort: "minimal" },
  });
});

Deno.test("stream_options, fallbacks, messages and the chat-only sampling fields no API maps are never forwarded", () => {
  const decoded = decode({
    model: "gpt-5",
    input: "hi",
    messages: [],
    stream: true,
    stream_options: { include_usage: true, include_obfuscation: false },
    fallbacks: ["openai/gpt-4.1"],
    presence_penalty: 0.5,
    frequency_penalty: 0.5,
    seed: 7,
    logit_bias: { "50256": -100 },
    n: 1,
    some_future_field: { x: 1 },
  });
  assert.deepEqual(decoded.body, { input: "hi" });
  assert.equal(decoded.stream, true);
  assert.deepEqual(decoded.fallbacks, ["openai/gpt-4.1"]);
});

Deno.test("metadata.cursorConversationId becomes prompt_cache_key when none is given", () => {
  const metadata = { cursorConversationId: "conv-9" };
  assert.deepEqual(paramsOf({ metadata }), { metadata, prompt_cache_key: "conv-9" });
  assert.deepEqual(paramsOf({ metadata, prompt_cache_key: "mine" }), { metadata, prompt_cache_key: "mine" });
});

Deno.test("the Responses fields Cursor sends are kept as they are", () => {
  const fields = {
    instructions: "You are a coding agent.",
    reasoning: { effort: "medium", summary: "auto" },
    text: { verbosity: "low" },
    store: false,
    include: ["reasoning.encrypted_content"],
    metadata: { team: "a" },
    prompt_cache_key: "k",
    prompt_cache_retention: "24h",
    truncation: "auto",
    parallel_tool_calls: true,
    service_tier: "flex",
    user: "user-hash",
    safety_identifier: "sid",
    top_logprobs: 0,
    max_tool_calls: 5,
    previous_response_id: "resp_1",
  };
  assert.deepEqual(paramsOf(fields), fields);
});

Deno.test("previous_response_id is dropped when null or empty", () => {
  assert.deepEqual(paramsOf({ previous_response_id: null }), {});
  assert.deepEqual(paramsOf({ previous_response_id: "" }), {});
});

Deno.test("logprobs true with top_logprobs asks for the output_text logprobs", () => {
  assert.deepEqual(paramsOf({ logprobs: true, top_logprobs: 3 }), {
    include: ["message.output_text.logprobs"],
    top_logprobs: 3,
  });
  assert.deepEqual(paramsOf({ logprobs: true, include: ["reasoning.encrypted_content"] }), {
    include: ["reasoning.encrypted_content", "message.output_text.logprobs"],
  });
});

Deno.test("null parameters count as absent", () => {
  assert.deepEqual(paramsOf({ temperature: null, reasoning: null, tools: null, tool_choice: null, stream: null }), {});
});

Deno.test("an n greater than 1 is a 400: the Responses API has one output", () => {
  assert.deepEqual(paramsOf({ n: 1 }), {});
  const error = reject({ model: "gpt-5", messages: [{ role: "user", content: "hi" }], n: 3 });
  assert.equal(error.param, "n");
  assert.match(error.message, /^n: must be 1/);
});

Deno.test("a response_format of an unknown type or without a schema name is a 400", () => {
  const unknown = reject({ model: "gpt-5", input: "hi", response_format: { type: "yaml" } });
  assert.equal(unknown.message, "response_format.type: expected one of text, json_object, json_schema");
  const nameless = reject({ model: "gpt-5", input: "hi", response_format: { type: "json_schema", json_schema: {} } });
  assert.equal(nameless.message, "response_format.json_schema.name: expected a string");
});

Deno.test("the model, fallbacks and stream are returned beside the body", () => {
  const decoded = decode({ model: "openai/gpt-5", input: "hi", stream: true, fallbacks: ["gpt-4.1", "other/m"] });
  assert.equal(decoded.model, "openai/gpt-5");
  assert.equal(decoded.stream, true);
  assert.deepEqual(decoded.fallbacks, ["gpt-4.1", "other/m"]);
  assert.equal("model" in decoded.body, false);
  assert.equal("stream" in decoded.body, false);
  const plain = decode({ model: "gpt-5", input: "hi" });
  assert.equal(plain.stream, false);
  assert.deepEqual(plain.fallbacks, []);
});

Deno.test("temperature and top_p are dropped beside a reasoning effort, which reasoning models reject them with", () => {
  // A chat-shaped Cursor Agent body (2025): temperature 0 next to reasoning.effort for a gpt-5 model.
  const raw = JSON.parse(
    Deno.readTextFileSync(new URL("../fixtures/requests/cursor_chat_reasoning_temperature.json", import.meta.url)),
  );
  const { body } = decode(raw);
  assert.equal("temperature" in body, false);
  assert.equal("top_p" in body, false);
  assert.deepEqual(body.reasoning, { effort: "minimal" });
  assert.equal(body.user, "user-hash-7f3a");
  // The chat spelling of the effort counts too; effort "none" (gpt-5.1) and no effort keep them.
  assert.deepEqual(paramsOf({ temperature: 0, top_p: 0.5, reasoning_effort: "high" }), {
    reasoning: { effort: "high" },
  });
  assert.deepEqual(paramsOf({ temperature: 0, reasoning: { effort: "none" } }), {
    temperature: 0,
    reasoning: { effort: "none" },
  });
  assert.deepEqual(paramsOf({ temperature: 0, reasoning: { summary: "auto" } }), {
    temperature: 0,
    reasoning: { summary: "auto" },
  });
});
