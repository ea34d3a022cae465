/**
 * The official `openai` npm client as a judge of the whole route: the real gateway over HTTP,
 * a fake upstream replaying Responses fixtures. Its stream accumulator
 * (`chat.completions.stream()` + `finalChatCompletion()`) throws on malformed sequences:
 * a missing role or finish_reason, a tool call without id/type/name, interleaved arguments of
 * strict tools, a chunk id that changes; and it throws `APIError` on an error frame.
 */
import assert from "node:assert/strict";
import OpenAI, { APIError } from "openai";
import type { ChatCompletionChunk, ChatCompletionTool } from "openai/resources/chat/completions";
import { type FakeReply, jsonFixture, sseFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { startGateway, testConfig } from "./support/gateway.ts";

const KEY = "sk-bf-clients-openai-0123456789";
const MODEL = "openai/gpt-5";
const PATCH = "*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const a = 1;\n+const a = 2;\n*** End Patch";

/** Runs `body` against a gateway whose upstream answers every request with `reply`. */
const withClient = async (reply: FakeReply, body: (client: OpenAI) => Promise<void>) => {
  const upstream = startFakeUpstream(() => reply);
  const gateway = await startGateway(
    testConfig(upstream.url, { virtual_keys: [{ id: "clients", value: KEY, models: ["*"] }] }),
  );
  try {
    await body(new OpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 }));
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const sse = (name: string): FakeReply => ({ sse: sseFixture(`responses/${name}`) });
const json = (name: string): FakeReply => ({ json: jsonFixture(`responses/${name}`) });

const messages = [{ role: "user" as const, content: "hi" }];

const weatherTool: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    // strict: the accumulator JSON.parses each call's arguments the moment the call is done.
    strict: true,
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    },
  },
};

const strictTool = (name: string, field: string): ChatCompletionTool => ({
  type: "function",
  function: {
    name,
    strict: true,
    parameters: {
      type: "object",
      properties: { [field]: { type: "string" } },
      required: [field],
      additionalProperties: false,
    },
  },
});

Deno.test("openai client, non-streamed: a text answer parses with content, stop and detailed usage", async () => {
  await withClient(json("text.json"), async (client) => {
    const completion = await client.chat.completions.create({ model: MODEL, messages });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.model, MODEL);
    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.choices[0].message.content, "Hello, world!");
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 4);
    assert.equal(completion.usage?.total_tokens, 17);
  });
});

Deno.test("openai client, non-streamed: tool calls, a custom tool call and reasoning parse", async () => {
  await withClient(json("tools_and_reasoning.json"), async (client) => {
    const completion = await client.chat.completions.create({ model: MODEL, messages, tools: [weatherTool] });
    const choice = completion.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    const calls = choice.message.tool_calls!.map((call) => call.type === "function" ? call : assert.fail());
    assert.deepEqual(calls.map((call) => [call.id, call.function.name]), [
      ["call_j_paris", "get_weather"],
      ["call_j_rome", "get_weather"],
      ["call_j_patch", "ApplyPatch"],
    ]);
    assert.equal(calls[2].function.arguments, PATCH);
    const message = choice.message as unknown as { reasoning: string; reasoning_details: unknown[] };
    assert.equal(message.reasoning, "**Plan**\n\nCheck both cities.\n\n**Then** patch.");
    assert.equal(message.reasoning_details.length, 3);
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 80);
  });
});

Deno.test("openai client, streamed: the accumulator rebuilds a text answer with usage", async () => {
  await withClient(sse("text.sse"), async (client) => {
    const stream = client.chat.completions.stream({ model: MODEL, messages, stream_options: { include_usage: true } });
    const ids = new Set<string>();
    stream.on("chunk", (chunk: ChatCompletionChunk) => ids.add(chunk.id));
    const completion = await stream.finalChatCompletion();
    assert.equal(completion.choices[0].message.content, "Hello, world!");
    assert.equal(completion.choices[0].message.role, "assistant");
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.equal(completion.model, MODEL);
    assert.equal(completion.usage?.prompt_tokens, 12);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 4);
    assert.equal(ids.size, 1, "one id on every chunk");
  });
});

Deno.test("openai client, streamed: parallel strict tool calls accumulate to two complete calls", async () => {
  await withClient(sse("parallel_tools.sse"), async (client) => {
    const done: Array<{ name: string; parsed: unknown }> = [];
    const stream = client.chat.completions.stream({ model: MODEL, messages, tools: [weatherTool] });
    stream.on(
      "tool_calls.function.arguments.done",
      (event) => done.push({ name: event.name, parsed: event.parsed_arguments }),
    );
    const completion = await stream.finalChatCompletion();
    const choice = completion.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    const calls = choice.message.tool_calls!.map((call) => call.type === "function" ? call : assert.fail());
    assert.deepEqual(calls.map((call) => [call.id, call.function.name, call.function.arguments]), [
      ["call_weather_paris", "get_weather", '{"city":"Paris"}'],
      ["call_weather_rome", "get_weather", '{"city":"Rome"}'],
    ]);
    assert.deepEqual(done, [
      { name: "get_weather", parsed: { city: "Paris" } },
      { name: "get_weather", parsed: { city: "Rome" } },
    ]);
  });
});

Deno.test("openai client, streamed: tool calls interleaved upstream arrive whole, so strict parsing succeeds", async () => {
  await withClient(sse("interleaved_tools.sse"), async (client) => {
    const stream = client.chat.completions.stream({
      model: MODEL,
      messages,
      tools: [strictTool("read_file", "path"), strictTool("list_dir", "dir")],
    });
    const completion = await stream.finalChatCompletion();
    const calls = completion.choices[0].message.tool_calls!.map((call) =>
      call.type === "function" ? call : assert.fail()
    );
    assert.deepEqual(calls.map((call) => call.function.parsed_arguments), [{ path: "a.txt" }, { dir: "src" }]);
  });
});

Deno.test("openai client, streamed: reasoning arrives as delta.reasoning chunks next to the answer", async () => {
  await withClient(sse("reasoning_text.sse"), async (client) => {
    let reasoning = "";
    const stream = client.chat.completions.stream({ model: MODEL, messages });
    stream.on("chunk", (chunk: ChatCompletionChunk) => {
      const delta = chunk.choices[0]?.delta as { reasoning?: string } | undefined;
      reasoning += delta?.reasoning ?? "";
    });
    const completion = await stream.finalChatCompletion();
    assert.equal(completion.choices[0].message.content, "2 + 2 = 4");
    assert.equal(reasoning, "**Plan**\n\nAdd the numbers.\n\n**Check**\n\n2 + 2 is 4.");
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 64);
  });
});

Deno.test("openai client, streamed: a custom ApplyPatch call arrives as a function call with the raw patch", async () => {
  await withClient(sse("custom_tool_deltas.sse"), async (client) => {
    const stream = client.chat.completions.stream({
      model: MODEL,
      messages,
      tools: [{ type: "custom", custom: { name: "ApplyPatch", description: "Apply a patch" } }],
    });
    const completion = await stream.finalChatCompletion();
    const choice = completion.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, "Updating the constant.");
    const call = choice.message.tool_calls![0];
    assert.equal(call.type, "function");
    assert.equal(call.id, "call_patch_1");
    assert.deepEqual(call.type === "function" && call.function, { name: "ApplyPatch", arguments: PATCH });
  });
});

Deno.test('openai client, streamed: ApplyPatch answered as a function call with {"input":...} is unwrapped', async () => {
  await withClient(sse("custom_tool_wrapped.sse"), async (client) => {
    const stream = client.chat.completions.stream({
      model: MODEL,
      messages,
      tools: [{ type: "custom", custom: { name: "ApplyPatch", description: "Apply a patch" } }],
    });
    const completion = await stream.finalChatCompletion();
    const call = completion.choices[0].message.tool_calls![0];
    assert.deepEqual(call.type === "function" && call.function, { name: "ApplyPatch", arguments: PATCH });
  });
});

Deno.test("openai client, streamed: a mid-stream upstream error throws APIError with the upstream's message", async () => {
  await withClient(sse("error_mid_stream.sse"), async (client) => {
    const stream = client.chat.completions.stream({ model: MODEL, messages });
    let content = "";
    stream.on("content", (delta: string) => content += delta);
    await assert.rejects(stream.finalChatCompletion(), (error: unknown) => {
      assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
      assert.match(error.message, /The model crashed while generating the answer\./);
      return true;
    });
    assert.equal(content, "Partial answer");
  });
});

Deno.test("openai client, streamed: a refusal, a length cut and an empty answer all finalize", async () => {
  await withClient(sse("refusal.sse"), async (client) => {
    const completion = await client.chat.completions.stream({ model: MODEL, messages }).finalChatCompletion();
    assert.equal(completion.choices[0].message.refusal, "I'm sorry, I can't help with that.");
    // On the Cursor route the refusal is content too, since Cursor renders no refusal (issue 14, point 7).
    assert.equal(completion.choices[0].message.content, "I'm sorry, I can't help with that.");
  });
  await withClient(sse("incomplete_max_tokens.sse"), async (client) => {
    const completion = await client.chat.completions.stream({ model: MODEL, messages }).finalChatCompletion();
    assert.equal(completion.choices[0].finish_reason, "length");
    assert.equal(completion.choices[0].message.content, "The first three primes are 2, 3");
  });
  await withClient(sse("zero_output.sse"), async (client) => {
    const completion = await client.chat.completions.stream({ model: MODEL, messages }).finalChatCompletion();
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.equal(completion.choices[0].message.role, "assistant");
    // The upstream reported zeros: the usage is the gateway's estimate of the prompt (issue 14, point 5).
    assert.equal(completion.usage?.completion_tokens, 0);
    assert.ok((completion.usage?.prompt_tokens ?? 0) > 0);
  });
});
