/**
 * encodeCompletion: a Responses `response` into one `chat.completion` (pure, plain data).
 */
import assert from "node:assert/strict";
import type { EncodeContext } from "../src/encode/context.ts";
import { encodeContext, PATCH } from "./support/encode.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import type { ResponsesResponse } from "../src/protocol/responses.ts";
import { jsonFixture } from "./support/fake_upstream.ts";

const context = (overrides: Partial<EncodeContext> = {}): EncodeContext => encodeContext("chatcmpl-unit", overrides);

const fixture = (name: string) => jsonFixture(`responses/${name}`) as ResponsesResponse;

Deno.test("a text answer becomes one chat.completion with the client's model, content, stop and logprobs null", () => {
  const completion = encodeCompletion(fixture("text.json"), context());
  assert.equal(completion.id, "chatcmpl-unit");
  assert.equal(completion.object, "chat.completion");
  assert.equal(completion.created, 1767225600);
  assert.equal(completion.model, "openai/gpt-5");
  assert.equal(completion.choices.length, 1);
  assert.deepEqual(completion.choices[0], {
    index: 0,
    message: { role: "assistant", content: "Hello, world!", refusal: null, annotations: [] },
    finish_reason: "stop",
    logprobs: null,
  });
  assert.equal(completion.service_tier, "default");
});

Deno.test("usage carries cached and reasoning tokens in their Chat detail fields", () => {
  assert.deepEqual(encodeCompletion(fixture("text.json"), context()).usage, {
    prompt_tokens: 12,
    completion_tokens: 5,
    total_tokens: 17,
    prompt_tokens_details: { cached_tokens: 4, cache_write_tokens: 0, cached_read_tokens: 4, cached_write_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  const tools = encodeCompletion(fixture("tools_and_reasoning.json"), context()).usage;
  assert.equal(tools.prompt_tokens_details.cached_tokens, 128);
  assert.equal(tools.completion_tokens_details.reasoning_tokens, 80);
});

Deno.test("usage.cost is added when the served model has a price, from the upstream usage", () => {
  const seen: unknown[] = [];
  const cost = { input_tokens_cost: 0.1, output_tokens_cost: 0.2, reasoning_tokens_cost: 0, total_cost: 0.3 };
  const completion = encodeCompletion(
    fixture("text.json"),
    context({
      price: (usage) => {
        seen.push(usage);
        return cost;
      },
    }),
  );
  assert.deepEqual(completion.usage.cost, cost);
  assert.equal((seen[0] as { input_tokens: number }).input_tokens, 12);
});

Deno.test("missing or null upstream usage is estimated (a token per 4 characters), never absent, and marked", () => {
  const completion = encodeCompletion(fixture("no_usage_unknown_items.json"), context({ promptChars: () => 40 }));
  // "Done." is 5 characters: 2 tokens; the 40 characters sent: 10 (issue 14, point 5).
  assert.deepEqual(completion.usage, {
    prompt_tokens: 10,
    completion_tokens: 2,
    total_tokens: 12,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0, cached_read_tokens: 0, cached_write_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  assert.equal(completion.extra_fields.usage_estimated, true);
  const bare = encodeCompletion({ status: "completed", output: [] }, context());
  assert.equal(bare.usage.total_tokens, 0);
  assert.equal(bare.usage.completion_tokens_details.reasoning_tokens, 0);
});

Deno.test("unknown item and part types are skipped without failing", () => {
  const completion = encodeCompletion(fixture("no_usage_unknown_items.json"), context());
  assert.equal(completion.choices[0].message.content, "Done.");
  assert.equal(completion.choices[0].finish_reason, "stop");
  assert.equal(completion.choices[0].message.tool_calls, undefined);
});

Deno.test("function calls become tool_calls in output order with call_id as id, and content null", () => {
  const { message, finish_reason } = encodeCompletion(fixture("tools_and_reasoning.json"), context()).choices[0];
  assert.equal(finish_reason, "tool_calls");
  assert.equal(message.content, null);
  assert.deepEqual(message.tool_calls?.slice(0, 2), [
    { id: "call_j_paris", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    { id: "call_j_rome", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
  ]);
});

Deno.test("a custom tool call becomes a function call whose arguments are the raw input text", () => {
  const { message } = encodeCompletion(fixture("tools_and_reasoning.json"), context()).choices[0];
  assert.deepEqual(message.tool_calls?.[2], {
    id: "call_j_patch",
    type: "function",
    function: { name: "ApplyPatch", arguments: PATCH },
  });
});

Deno.test("a function call to a custom tool has its JSON-wrapped input unwrapped; other tools keep their JSON", () => {
  const response = fixture("wrapped_custom_tool.json");
  const unwrapped = encodeCompletion(response, context({ customTools: new Set(["ApplyPatch"]) })).choices[0].message;
  assert.equal(unwrapped.tool_calls?.[0].function.arguments, PATCH);
  assert.equal(unwrapped.tool_calls?.[1].function.arguments, '{"input": "a.txt"}');
  const plain = encodeCompletion(response, context()).choices[0].message;
  assert.deepEqual(JSON.parse(plain.tool_calls?.[0].function.arguments ?? ""), { patch: PATCH });
});

Deno.test("reasoning summaries become reasoning text and reasoning_details, encrypted content as reasoning.encrypted", () => {
  const { message } = encodeCompletion(fixture("tools_and_reasoning.json"), context()).choices[0];
  assert.equal(message.reasoning, "**Plan**\n\nCheck both cities.\n\n**Then** patch.");
  assert.deepEqual(message.reasoning_details, [
    { type: "reasoning.summary", summary: "**Plan**\n\nCheck both cities.", index: 0, id: "rs_j1" },
    { type: "reasoning.summary", summary: "**Then** patch.", index: 1, id: "rs_j1" },
    { type: "reasoning.encrypted", data: "gAAAAABjson-encrypted==", index: 2, id: "rs_j1" },
  ]);
});

Deno.test("raw reasoning_text content becomes reasoning.text details", () => {
  const completion = encodeCompletion({
    status: "completed",
    output: [
      { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "Think." }] },
      { type: "message", id: "m", content: [{ type: "output_text", text: "Hi", annotations: [] }] },
    ],
  }, context());
  const { message } = completion.choices[0];
  assert.equal(message.reasoning, "Think.");
  assert.deepEqual(message.reasoning_details, [{ type: "reasoning.text", text: "Think.", index: 0, id: "rs_1" }]);
  assert.equal(message.content, "Hi");
});

Deno.test("an answer without reasoning has no reasoning fields", () => {
  const { message } = encodeCompletion(fixture("text.json"), context()).choices[0];
  assert.equal("reasoning" in message, false);
  assert.equal("reasoning_details" in message, false);
});

Deno.test("a refusal becomes message.refusal with content null", () => {
  const { message, finish_reason } = encodeCompletion(fixture("refusal.json"), context()).choices[0];
  assert.equal(message.refusal, "I'm sorry, I can't help with that.");
  assert.equal(message.content, null);
  assert.equal(finish_reason, "stop");
});

Deno.test("url citations become annotations, with indexes moved into the joined content of several messages", () => {
  const { message } = encodeCompletion(fixture("citations.json"), context()).choices[0];
  assert.equal(message.content, "Searching. \n\nDeno 2 shipped (deno.com).");
  assert.deepEqual(message.annotations, [{
    type: "url_citation",
    url_citation: { start_index: 28, end_index: 38, title: "Deno blog", url: "https://deno.com/blog" },
  }]);
  const { start_index, end_index } = message.annotations[0].url_citation;
  assert.equal(message.content?.slice(start_index, end_index), "(deno.com)");
});

Deno.test("the texts of successive message items are joined by a blank line, the parts of one message as they are", () => {
  const message = (id: string, ...texts: string[]) => ({
    type: "message",
    id,
    role: "assistant",
    content: texts.map((text) => ({ type: "output_text", text, annotations: [] })),
  });
  const completion = encodeCompletion({
    status: "completed",
    output: [
      message("msg_commentary", "I'll search for the ", "docs links."),
      { type: "reasoning", id: "rs_1", summary: [] },
      message("msg_empty", ""),
      message("msg_final", "Here are the links."),
    ],
  }, context());
  assert.equal(completion.choices[0].message.content, "I'll search for the docs links.\n\nHere are the links.");
});

Deno.test("an answer cut by max_output_tokens finishes with length, one cut by the filter with content_filter", () => {
  assert.equal(encodeCompletion(fixture("incomplete_max_tokens.json"), context()).choices[0].finish_reason, "length");
  assert.equal(
    encodeCompletion(fixture("incomplete_content_filter.json"), context()).choices[0].finish_reason,
    "content_filter",
  );
});

Deno.test("extra_fields name the request type, provider, both models, fallback index and a latency", () => {
  const completion = encodeCompletion(
    fixture("wrapped_custom_tool.json"),
    context({
      model: "team/alias",
      attempt: () => ({
        ref: { provider: "backup", model: "gpt-4.1", label: "backup/gpt-4.1" },
        fallbackIndex: 1,
        attempts: 2,
      }),
    }),
  );
  const fields = completion.extra_fields;
  assert.equal(fields.request_type, "responses");
  assert.equal(fields.provider, "backup");
  assert.equal(fields.model_requested, "team/alias");
  assert.equal(fields.model_deployment, "some-proxy-model");
  assert.equal(fields.fallback_index, 1);
  assert.equal(fields.attempts, 2);
  assert.equal(typeof fields.latency, "number");
  assert.ok(fields.latency >= 0);
  assert.equal("chunk_index" in fields, false);
  assert.equal(completion.model, "team/alias");
});

Deno.test("model_deployment falls back to the attempt's model when the upstream reports none", () => {
  const completion = encodeCompletion({ status: "completed", output: [] }, context());
  assert.equal(completion.extra_fields.model_deployment, "gpt-5");
  assert.equal(completion.choices[0].message.content, "");
});
