/**
 * Prompt-cache reads and writes in the chat usage: Anthropic's cache creation and
 * OpenRouter's writes (canonical `input_tokens_details.cache_write_tokens`) reach the client
 * under every name a client reads them by, in the JSON answer and the stream's usage chunk
 * alike, and the openai SDK and the Vercel AI SDK read them back.
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import { chatUsage } from "../src/encode/usage.ts";
import type { ChatCompletionChunk } from "../src/protocol/chat.ts";
import type { ResponsesResponse, ResponsesUsage } from "../src/protocol/responses.ts";
import { encodeContext } from "./support/encode.ts";
import { type FakeReply, startFakeUpstream } from "./support/fake_upstream.ts";
import { startGateway, testConfig } from "./support/gateway.ts";

/** An answer from Claude that read 1,500 prompt tokens from its cache and wrote 400 to it. */
const cachedUsage = {
  input_tokens: 2000,
  input_tokens_details: { cached_tokens: 1500, cache_write_tokens: 400 },
  output_tokens: 20,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 2020,
} as ResponsesUsage;

const expectedUsage = {
  prompt_tokens: 2000,
  completion_tokens: 20,
  total_tokens: 2020,
  prompt_tokens_details: {
    cached_tokens: 1500,
    cache_write_tokens: 400,
    cached_read_tokens: 1500,
    cached_write_tokens: 400,
  },
  completion_tokens_details: { reasoning_tokens: 0 },
};

const answer: ResponsesResponse = {
  id: "resp_cache",
  object: "response",
  created_at: 1767225600,
  status: "completed",
  model: "gpt-5",
  output: [{
    type: "message",
    id: "msg_1",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "Cached.", annotations: [] }],
  }],
  usage: cachedUsage,
};

const events = [
  { type: "response.created", response: { ...answer, status: "in_progress", output: [], usage: null } },
  { type: "response.output_text.delta", item_id: "msg_1", output_index: 0, content_index: 0, delta: "Cached." },
  { type: "response.completed", response: answer },
];

Deno.test("cache reads and writes fill cached_tokens, cache_write_tokens and their cached_read/write mirrors", () => {
  assert.deepEqual(chatUsage(cachedUsage), expectedUsage);
});

Deno.test("an answer without cache writes reports them as zero, reads in both read fields", () => {
  const details = chatUsage({ input_tokens: 10, input_tokens_details: { cached_tokens: 6 } }).prompt_tokens_details;
  assert.deepEqual(details, { cached_tokens: 6, cache_write_tokens: 0, cached_read_tokens: 6, cached_write_tokens: 0 });
  assert.deepEqual(chatUsage(null).prompt_tokens_details, {
    cached_tokens: 0,
    cache_write_tokens: 0,
    cached_read_tokens: 0,
    cached_write_tokens: 0,
  });
});

Deno.test("a cache-write count that is not a number counts as zero", () => {
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 2, cache_write_tokens: "7" } };
  assert.equal(chatUsage(usage as unknown as ResponsesUsage).prompt_tokens_details.cached_write_tokens, 0);
});

Deno.test("the JSON answer and the stream's usage chunk carry the same cache usage", () => {
  assert.deepEqual(encodeCompletion(answer, encodeContext("chatcmpl-cache")).usage, expectedUsage);
  const encoder = new ChunkEncoder(encodeContext("chatcmpl-cache"));
  const text = events.map((event) => encoder.push(event)).join("");
  const frames = text.split("\n\n").filter((frame) => frame.startsWith("data: {"));
  const last = JSON.parse(frames.at(-1)!.slice("data: ".length)) as ChatCompletionChunk;
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, expectedUsage);
});

// ===== Through the gateway, read by client SDKs =====

const KEY = "sk-bf-usage-cache-0123456789";

const withGateway = async (reply: FakeReply, body: (url: string) => Promise<void>) => {
  const upstream = startFakeUpstream(() => reply);
  const gateway = await startGateway(
    testConfig(upstream.url, { virtual_keys: [{ id: "clients", value: KEY, models: ["*"] }] }),
  );
  try {
    await body(`${gateway.url}/cursor/v1`);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const streamed: FakeReply = { sse: events.map((event) => ({ event })) };
const messages = [{ role: "user" as const, content: "hi" }];

Deno.test("openai client: cache writes read as prompt_tokens_details.cache_write_tokens, JSON and streamed", async () => {
  await withGateway({ json: answer }, async (baseURL) => {
    const client = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
    const completion = await client.chat.completions.create({ model: "openai/gpt-5", messages });
    assert.deepEqual(completion.usage?.prompt_tokens_details, expectedUsage.prompt_tokens_details);
  });
  await withGateway(streamed, async (baseURL) => {
    const client = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
    const stream = client.chat.completions.stream({
      model: "openai/gpt-5",
      messages,
      stream_options: { include_usage: true },
    });
    const completion = await stream.finalChatCompletion();
    assert.equal(completion.choices[0].message.content, "Cached.");
    assert.equal(completion.usage?.prompt_tokens_details?.cache_write_tokens, 400);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 1500);
  });
});

const inputDetails = { noCacheTokens: 100, cacheReadTokens: 1500, cacheWriteTokens: 400 };

Deno.test("Vercel AI SDK: usage splits the prompt into uncached, cache-read and cache-write tokens", async () => {
  await withGateway({ json: answer }, async (baseURL) => {
    const model = createOpenAI({ baseURL, apiKey: KEY }).chat("openai/gpt-5");
    const result = await generateText({ model, prompt: "hi", maxRetries: 0 });
    assert.equal(result.text, "Cached.");
    assert.equal(result.usage.inputTokens, 2000);
    assert.deepEqual(result.usage.inputTokenDetails, inputDetails);
  });
  await withGateway(streamed, async (baseURL) => {
    const model = createOpenAI({ baseURL, apiKey: KEY }).chat("openai/gpt-5");
    const result = streamText({ model, prompt: "hi", maxRetries: 0 });
    const parts = [];
    for await (const part of result.fullStream) parts.push(part);
    assert.deepEqual(parts.filter((part) => part.type === "error"), []);
    assert.deepEqual((await result.usage).inputTokenDetails, inputDetails);
  });
});
