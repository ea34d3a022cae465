/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`, chat model) as a judge of the whole route,
 * streamed: the real gateway over HTTP, a fake upstream replaying Responses fixtures. Its
 * chunk schema and tool-call tracker reject a new tool call without `id` or `function.name`,
 * a `type` other than "function", and chunks that do not parse; failures surface as `error`
 * parts of the full stream, so every test asserts there are none (or the expected one).
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { streamText, type TextStreamPart, tool, type ToolSet } from "ai";
import { z } from "zod";
import { type FakeReply, sseFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { startGateway, testConfig } from "./support/gateway.ts";

const KEY = "sk-bf-clients-vercel-0123456789";

const withModel = async (
  reply: FakeReply,
  body: (model: ReturnType<ReturnType<typeof createOpenAI>["chat"]>) => Promise<void>,
) => {
  const upstream = startFakeUpstream(() => reply);
  const gateway = await startGateway(
    testConfig(upstream.url, { virtual_keys: [{ id: "clients", value: KEY, models: ["*"] }] }),
  );
  try {
    await body(createOpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: KEY }).chat("openai/gpt-5"));
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const sse = (name: string): FakeReply => ({ sse: sseFixture(`responses/${name}`) });

const tools = {
  get_weather: tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }) }),
  read_file: tool({ description: "Read a file", inputSchema: z.object({ path: z.string() }) }),
  list_dir: tool({ description: "List a directory", inputSchema: z.object({ dir: z.string() }) }),
};

/** Drains the full stream, so that every part (errors included) is seen before the results are read. */
const drain = async <T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>) => {
  const parts: TextStreamPart<T>[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
};

const errorsIn = <T extends ToolSet>(parts: TextStreamPart<T>[]) =>
  parts.flatMap((part) => part.type === "error" ? [part.error] : []);

Deno.test("Vercel AI SDK, streamed: parallel tool calls come out as two typed tool calls", async () => {
  await withModel(sse("parallel_tools.sse"), async (model) => {
    const result = streamText({ model, prompt: "Weather in Paris and Rome?", tools, maxRetries: 0 });
    const parts = await drain(result.fullStream);
    assert.deepEqual(errorsIn(parts), []);
    const calls = await result.toolCalls;
    assert.deepEqual(calls.map((call) => [call.toolCallId, call.toolName, call.input]), [
      ["call_weather_paris", "get_weather", { city: "Paris" }],
      ["call_weather_rome", "get_weather", { city: "Rome" }],
    ]);
    assert.equal(await result.finishReason, "tool-calls");
    const usage = await result.usage;
    assert.equal(usage.inputTokens, 80);
    assert.equal(usage.outputTokens, 40);
  });
});

Deno.test("Vercel AI SDK, streamed: tool calls interleaved upstream are tracked as two complete calls", async () => {
  await withModel(sse("interleaved_tools.sse"), async (model) => {
    const result = streamText({ model, prompt: "Read a.txt and list src", tools, maxRetries: 0 });
    const parts = await drain(result.fullStream);
    assert.deepEqual(errorsIn(parts), []);
    const calls = await result.toolCalls;
    assert.deepEqual(calls.map((call) => [call.toolCallId, call.toolName, call.input]), [
      ["call_a", "read_file", { path: "a.txt" }],
      ["call_b", "list_dir", { dir: "src" }],
    ]);
  });
});

Deno.test("Vercel AI SDK, streamed: text with url citations gives the text, url sources and usage", async () => {
  await withModel(sse("url_citations.sse"), async (model) => {
    const result = streamText({ model, prompt: "What shipped?", maxRetries: 0 });
    const parts = await drain(result.fullStream);
    assert.deepEqual(errorsIn(parts), []);
    assert.equal(await result.text, "Deno 2 shipped (deno.com). Node compat improved (nodejs.org).");
    const sources = await result.sources;
    assert.deepEqual(
      sources.map((source) => source.sourceType === "url" ? source.url : undefined),
      ["https://deno.com/blog", "https://nodejs.org/"],
    );
    assert.equal(await result.finishReason, "stop");
    assert.equal((await result.usage).inputTokens, 300);
  });
});

Deno.test("Vercel AI SDK, streamed: a reasoning answer streams its text without errors", async () => {
  await withModel(sse("reasoning_text.sse"), async (model) => {
    const result = streamText({ model, prompt: "2 + 2?", maxRetries: 0 });
    const parts = await drain(result.fullStream);
    assert.deepEqual(errorsIn(parts), []);
    assert.equal(await result.text, "2 + 2 = 4");
    assert.equal((await result.usage).outputTokenDetails?.reasoningTokens, 64);
  });
});

Deno.test("Vercel AI SDK, streamed: a mid-stream upstream error surfaces as an error with the upstream's message", async () => {
  await withModel(sse("error_mid_stream.sse"), async (model) => {
    // onError: the SDK would otherwise log the (expected) error to the console.
    const result = streamText({ model, prompt: "hi", maxRetries: 0, onError: () => {} });
    const parts = await drain(result.fullStream);
    const errors = errorsIn(parts);
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error)?.message ?? errors[0]), /The model crashed while generating the answer\./);
    assert.equal(parts.some((part) => part.type === "text-delta" && part.text === "Partial "), true);
  });
});
