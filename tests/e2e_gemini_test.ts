/**
 * End to end, Gemini: Cursor's route (`POST /cursor/v1/chat/completions`) on the real gateway over HTTP, its
 * provider `gemini` configured by preset with `base_url` at a fake Gemini API (tests/support/gemini_upstream.ts),
 * judged by the official `openai` client (its stream accumulator throws on malformed chunk sequences, and
 * `APIError` on error frames and statuses) and by the Vercel AI SDK (`@ai-sdk/openai`'s chat model).
 *
 * Every answer is served streamed (`:streamGenerateContent?alt=sse`, Google's CRLF framing) and as JSON
 * (`:generateContent`), its bytes split into 1-, 7- and 61-byte pieces and whole. Each spec asserts what the
 * client got (text, tool calls, reasoning, finish_reason, usage with cached and reasoning tokens) and what the
 * upstream was sent (path and query, `x-goog-api-key` and no `authorization`, body fields).
 *
 * With `GATEWAY_RECORDINGS` naming the recordings folder, the real Gemini recordings in its `gemini/` are
 * replayed through the gateway too (ignored otherwise; they are never copied into the project).
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, generateText, stepCountIs, streamText, type TextStreamPart, tool, type ToolSet } from "ai";
import OpenAI, { APIError } from "openai";
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionTool } from "openai/resources/chat/completions";
import { z } from "zod";
import { FILTERED } from "../src/upstream/adapters/gemini/answer.ts";
import { SCHEMA_KEYS } from "../src/upstream/adapters/gemini/schema.ts";
import { signatureOfCallId } from "../src/upstream/adapters/gemini/signatures.ts";
import {
  chunksOf,
  crlfFixture,
  fixtureText,
  type GeminiReply,
  type GeminiRequest,
  type GeminiUpstream,
  googleSse,
  mergedAnswer,
  startGeminiUpstream,
} from "./support/gemini_upstream.ts";
import { type RunningGateway, startGateway, testConfig } from "./support/gateway.ts";
import { fast } from "./support/routing.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const VK_E2E = "sk-bf-e2e-gemini-0123456789";
const GOOGLE_KEY = "AIzaSyE2E-gemini-upstream-secret-0001";
const GOOGLE_KEY_2 = "AIzaSyE2E-gemini-upstream-secret-0002";
const BACKUP_KEY = "AIzaSyE2E-gemini-backup-secret-0003";
/** Bytes per piece of every upstream body; 0 is the whole body in one write. */
const SIZES: ReadonlyArray<number> = [1, 7, 61, 0];
const PATCH = "*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const a = 1;\n+const a = 2;\n*** End Patch";
/** Google's documented stand-in for a lost signature (src/upstream/adapters/gemini/model.ts). */
const STAND_IN = "skip_thought_signature_validator";

/** The made-up signatures of the fixtures: standard base64 with `+`, `/` and padding, as the API sends. */
const SIG_E2E = "++++/2d3LWUyZS1nMy1jYWxsLXNpZ25hdHVyZf79/w==";
const SIG_CALL = "++++/2d3LWZpeHR1cmUtY2FsbC1zaWduYXR1cmX+/Q==";
const SIG_PATCH = "++++/2d3LWZpeHR1cmUtcGF0Y2gtc2ln/v0=";
/** A call id as the client sees it when Gemini signed the call: the signature in base64url after `__thought__`. */
const signed = (id: string, signature: string) =>
  `${id}__thought__${signature.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;

// ===== The gateway, its fakes and its clients =====

interface Env {
  readonly gateway: RunningGateway;
  readonly gemini: GeminiUpstream;
  readonly backup: GeminiUpstream;
  readonly client: OpenAI;
  /** The Vercel SDK's chat model; `extra` fields are added to every body it sends (the gateway's `fallbacks`). */
  readonly vercel: (
    model: string,
    extra?: Record<string, unknown>,
  ) => ReturnType<ReturnType<typeof createOpenAI>["chat"]>;
  /** From now on the primary answers `replies` in turn (the last one for every request after). */
  readonly serve: (...replies: GeminiReply[]) => void;
}

/** A gateway whose provider `gemini` (preset) and `backup` (preset too) are fake Gemini APIs. */
const withGemini = async (
  body: (env: Env) => Promise<void>,
  keys: ReadonlyArray<{ value: string; weight?: number }> = [{ value: GOOGLE_KEY }],
  config: Record<string, unknown> = {},
) => {
  const gemini = startGeminiUpstream(() => ({ status: 500, body: "{}" }));
  const fallbackAnswer = crlfFixture("e2e/gemini/text_after_fallback_stream.sse");
  const backup = startGeminiUpstream((request) => ({
    body: request.search === "?alt=sse" ? fallbackAnswer : JSON.stringify(mergedAnswer(chunksOf(fallbackAnswer))),
  }));
  const gateway = await startGateway(testConfig(gemini.url, {
    providers: {
      gemini: { preset: "gemini", base_url: gemini.url, keys, ...fast },
      backup: { preset: "gemini", base_url: backup.url, keys: [{ value: BACKUP_KEY }], ...fast },
    },
    default_provider: "gemini",
    virtual_keys: [{ id: "e2e-gemini", value: VK_E2E, models: ["*"] }],
    ...config,
  }));
  const baseURL = `${gateway.url}/cursor/v1`;
  const vercel = (model: string, extra: Record<string, unknown> = {}) =>
    createOpenAI({
      baseURL,
      apiKey: VK_E2E,
      fetch: (url, init) =>
        fetch(url, { ...init, body: JSON.stringify({ ...JSON.parse(String(init?.body ?? "{}")), ...extra }) }),
    }).chat(model);
  try {
    await body({
      gateway,
      gemini,
      backup,
      client: new OpenAI({ baseURL, apiKey: VK_E2E, maxRetries: 0, timeout: 10_000 }),
      vercel,
      serve: (...replies) => {
        const from = gemini.requests.length;
        gemini.script = (_request, index) => replies[Math.min(index - from, replies.length - 1)];
      },
    });
  } finally {
    await gateway.close();
    await gemini.close();
    await backup.close();
  }
};

/** The request reached Gemini's method for `model`, its key in `x-goog-api-key` and no `authorization`. */
const assertSentToGemini = (request: GeminiRequest, model: string, streamed: boolean, key = GOOGLE_KEY) => {
  assert.equal(request.path, `/v1beta/models/${model}:${streamed ? "streamGenerateContent" : "generateContent"}`);
  assert.equal(request.search, streamed ? "?alt=sse" : "");
  assert.equal(request.headers.get("x-goog-api-key"), key);
  assert.equal(request.headers.get("authorization"), null);
  assert.equal(request.headers.get("content-type"), "application/json");
};

const sizeName = (size: number) => size === 0 ? "whole" : `${size}-byte pieces`;

// ===== What the clients got =====

interface Usage {
  readonly prompt: number;
  readonly completion: number;
  readonly total: number;
  readonly cached: number;
  readonly reasoning: number;
}

interface Seen {
  readonly content: string | null;
  readonly refusal: string | null;
  readonly reasoning: string;
  readonly toolCalls: Array<{ id: string; name: string; arguments: string }>;
  readonly finish: string;
  readonly usage: Usage;
}

const seenOf = (completion: ChatCompletion, reasoning: string): Seen => {
  const choice = completion.choices[0];
  const usage = completion.usage;
  return {
    content: choice.message.content,
    refusal: choice.message.refusal ?? null,
    reasoning,
    toolCalls: (choice.message.tool_calls ?? []).map((call) =>
      call.type === "function"
        ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
        : assert.fail(`a function tool call, got ${call.type}`)
    ),
    finish: choice.finish_reason,
    usage: {
      prompt: usage?.prompt_tokens ?? -1,
      completion: usage?.completion_tokens ?? -1,
      total: usage?.total_tokens ?? -1,
      cached: usage?.prompt_tokens_details?.cached_tokens ?? -1,
      reasoning: usage?.completion_tokens_details?.reasoning_tokens ?? -1,
    },
  };
};

// deno-lint-ignore no-explicit-any
type Params = any;

/**
 * Streamed through the openai client's accumulator (`stream()` + `finalChatCompletion()`). A hybrid body (no
 * `messages`, which `stream()` reads) goes through `create()`, its chunks into the same accumulator.
 */
const openaiStreamed = async (client: OpenAI, params: Params): Promise<Seen & { chunks: ChatCompletionChunk[] }> => {
  const stream = params.messages !== undefined
    ? client.chat.completions.stream({ ...params, stream_options: { include_usage: true } })
    : ChatCompletionStream.fromReadableStream(
      (await client.chat.completions.create({ ...params, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming))
        .toReadableStream(),
    );
  const chunks: ChatCompletionChunk[] = [];
  let reasoning = "";
  stream.on("chunk", (chunk: ChatCompletionChunk) => {
    chunks.push(chunk);
    reasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
  });
  const completion = await stream.finalChatCompletion();
  assert.equal(new Set(chunks.map((chunk) => chunk.id)).size, 1, "one id on every chunk");
  assert.equal(completion.choices[0].message.role, "assistant");
  return { ...seenOf(completion, reasoning), chunks };
};

/** Not streamed, through the openai client. */
const openaiJson = async (client: OpenAI, params: Params): Promise<Seen> => {
  const completion = await client.chat.completions.create({ ...params, stream: false }) as ChatCompletion;
  assert.equal(completion.object, "chat.completion");
  return seenOf(completion, (completion.choices[0].message as { reasoning?: string }).reasoning ?? "");
};

/** Drains the Vercel SDK's full stream, so that every part (errors included) is seen. */
const drain = async <T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>) => {
  const parts: TextStreamPart<T>[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
};

const errorsIn = <T extends ToolSet>(parts: TextStreamPart<T>[]) =>
  parts.flatMap((part) => part.type === "error" ? [part.error] : []);

/** The tools the fixtures call, for the Vercel SDK (which refuses a call of a tool it was not given). */
const vercelTools = {
  get_weather: tool({
    description: "Weather for a city",
    inputSchema: z.object({ city: z.string(), unit: z.string().optional() }),
  }),
  ReadFile: tool({ description: "Read a file", inputSchema: z.object({ path: z.string() }) }),
};

const openaiTools: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: {
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
        required: ["city"],
        additionalProperties: false,
      },
    },
  },
  {
    type: "function",
    function: {
      name: "ReadFile",
      description: "Read a file",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    },
  },
];

const VERCEL_FINISH: Record<string, string> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  content_filter: "content-filter",
};

interface VercelSeen {
  readonly text: string;
  readonly toolCalls: Array<[string, string, unknown]>;
  readonly finish: string;
  readonly usage: Usage;
}

const vercelUsage = (
  usage: {
    inputTokens?: number;
    outputTokens?: number;
    totalTokens?: number;
    inputTokenDetails?: { cacheReadTokens?: number };
    outputTokenDetails?: { reasoningTokens?: number };
  },
): Usage => ({
  prompt: usage.inputTokens ?? -1,
  completion: usage.outputTokens ?? -1,
  total: usage.totalTokens ?? -1,
  cached: usage.inputTokenDetails?.cacheReadTokens ?? -1,
  reasoning: usage.outputTokenDetails?.reasoningTokens ?? -1,
});

const vercelStreamed = async (env: Env, model: string, extra?: Record<string, unknown>): Promise<VercelSeen> => {
  const result = streamText({ model: env.vercel(model, extra), prompt: "hi", tools: vercelTools, maxRetries: 0 });
  const parts = await drain(result.fullStream);
  assert.deepEqual(errorsIn(parts), []);
  return {
    text: await result.text,
    toolCalls: (await result.toolCalls).map((call) => [call.toolCallId, call.toolName, call.input]),
    finish: await result.finishReason,
    usage: vercelUsage(await result.usage),
  };
};

const vercelJson = async (env: Env, model: string, extra?: Record<string, unknown>): Promise<VercelSeen> => {
  const result = await generateText({
    model: env.vercel(model, extra),
    prompt: "hi",
    tools: vercelTools,
    maxRetries: 0,
  });
  return {
    text: result.text,
    toolCalls: result.toolCalls.map((call) => [call.toolCallId, call.toolName, call.input]),
    finish: result.finishReason,
    usage: vercelUsage(result.usage),
  };
};

// ===== Answers: every scenario, streamed and JSON, at every split =====

interface Expected {
  readonly content: string | null;
  readonly refusal?: string;
  readonly reasoning: string;
  readonly toolCalls: ReadonlyArray<{ id: string; name: string; arguments: string }>;
  readonly finish: "stop" | "length" | "tool_calls" | "content_filter";
  readonly usage: Usage;
}

interface Scenario {
  /** The model asked for (after `gemini/`). */
  readonly model: string;
  /** The streamed answer, Google's CRLF framing. */
  readonly sse: string;
  /** The JSON answer's body. */
  readonly json: string;
  readonly expected: Expected;
}

const usage = (prompt: number, completion: number, total: number, cached = 0, reasoning = 0): Usage => ({
  prompt,
  completion,
  total,
  cached,
  reasoning,
});

/** A streamed fixture; its JSON twin is its chunks merged into one answer, as `:generateContent` gives it. */
const fromStream = (name: string, model: string, expected: Expected): Scenario => {
  const sse = crlfFixture(name);
  return { model, sse, json: JSON.stringify(mergedAnswer(chunksOf(sse)), null, 2), expected };
};

/** A JSON fixture; its streamed twin is one SSE chunk holding the whole answer. */
const fromJson = (name: string, model: string, expected: Expected): Scenario => {
  const json = fixtureText(name);
  return { model, sse: googleSse([JSON.parse(json)]), json, expected };
};

/** Runs `scenario` streamed and as JSON at every split, through both clients, and checks what Gemini was sent. */
const runScenario = async (scenario: Scenario) => {
  await withGemini(async (env) => {
    const { expected, model } = scenario;
    const params = { model: `gemini/${model}`, messages: [{ role: "user", content: "hi" }], tools: openaiTools };
    for (const size of SIZES) {
      const where = `${model}, ${sizeName(size)}`;
      for (const streamed of [true, false]) {
        env.serve({ body: streamed ? scenario.sse : scenario.json, split: size });
        const how = `${where}, ${streamed ? "streamed" : "JSON"}`;
        const before = env.gemini.requests.length;

        const seen = streamed ? await openaiStreamed(env.client, params) : await openaiJson(env.client, params);
        // A JSON answer with no text, calls nor refusal has content "" (as OpenAI's); the accumulator leaves null.
        const empty = !streamed && expected.toolCalls.length === 0 && expected.refusal === undefined;
        assert.equal(seen.content, expected.content ?? (empty ? "" : null), `content, ${how}`);
        assert.equal(seen.refusal, expected.refusal ?? null, `refusal, ${how}`);
        assert.equal(seen.reasoning, expected.reasoning, `reasoning, ${how}`);
        assert.deepEqual(seen.toolCalls, expected.toolCalls, `tool calls, ${how}`);
        assert.equal(seen.finish, expected.finish, `finish_reason, ${how}`);
        assert.deepEqual(seen.usage, expected.usage, `usage, ${how}`);

        const vercel = streamed
          ? await vercelStreamed(env, `gemini/${model}`)
          : await vercelJson(env, `gemini/${model}`);
        // The chat model shows a refusal as text (and reads no reasoning text), after the content: on
        // Cursor's route a refusal is content as well (issue 14, point 7), so this client shows it twice.
        assert.equal(vercel.text, (expected.content ?? "") + (expected.refusal ?? ""), `Vercel text, ${how}`);
        assert.deepEqual(
          vercel.toolCalls,
          expected.toolCalls.map((call) => [call.id, call.name, JSON.parse(call.arguments)]),
          `Vercel tool calls, ${how}`,
        );
        assert.equal(vercel.finish, VERCEL_FINISH[expected.finish], `Vercel finish, ${how}`);
        assert.deepEqual(vercel.usage, expected.usage, `Vercel usage, ${how}`);

        const sent = env.gemini.requests.slice(before);
        assert.equal(sent.length, 2, `one upstream request per client request, ${how}`);
        for (const request of sent) {
          assertSentToGemini(request, model, streamed);
          assert.deepEqual(request.body.contents, [{ role: "user", parts: [{ text: "hi" }] }]);
          assert.deepEqual(
            request.body.tools[0].functionDeclarations.map((d: Json) => d.name),
            ["get_weather", "ReadFile"],
          );
        }
      }
    }
  });
};

Deno.test("a text answer (thinking on, thoughts hidden): text, stop, and thoughts counted as reasoning tokens", async () => {
  await runScenario(fromStream("gemini/text_stream.sse", "gemini-2.5-flash", {
    content: "Hello, world! ☀",
    reasoning: "",
    toolCalls: [],
    finish: "stop",
    usage: usage(12, 31, 43, 0, 27),
  }));
});

Deno.test("a text answer over cached content: cachedContentTokenCount is the client's cached_tokens", async () => {
  await runScenario(fromJson("gemini/text.json", "gemini-2.5-flash", {
    content: "The tests pass.",
    reasoning: "",
    toolCalls: [],
    finish: "stop",
    usage: usage(1200, 50, 1250, 1024, 45),
  }));
});

Deno.test("thought parts are the client's reasoning, the answer its content, with cached and reasoning tokens", async () => {
  await runScenario(fromStream("gemini/thoughts_stream.sse", "gemini-2.5-pro", {
    content: "Autumn moonlight—\na worm digs silently\ninto the chestnut.",
    reasoning:
      "**Planning the poem**\n\nA haiku about autumn: five, seven, five.\n\n**Choosing an image**\n\nMoonlight and a chestnut.\n\n",
    toolCalls: [],
    finish: "stop",
    usage: usage(20, 135, 155, 8, 120),
  }));
});

Deno.test("a Gemini 3 function call with a thoughtSignature: one tool call whose id carries the signature, tool_calls", async () => {
  await runScenario(fromStream("e2e/gemini/g3_call_stream.sse", "gemini-3-pro-preview", {
    content: null,
    reasoning: "**Looking up the weather**\n\nThe user asks about Paris, so I call get_weather.\n\n",
    toolCalls: [{ id: signed("call_g3cRESP31_0", SIG_E2E), name: "get_weather", arguments: '{"city":"Paris"}' }],
    finish: "tool_calls",
    usage: usage(40, 72, 112, 16, 60),
  }));
});

Deno.test("Gemini 3 parallel calls: two tool calls in order, only the first signed, tool-use prompt tokens counted", async () => {
  await runScenario(fromStream("gemini/g3_parallel_calls_stream.sse", "gemini-3-pro-preview", {
    content: null,
    reasoning: "**Checking both cities**\n\nI will look up Paris and London at once.\n\n",
    toolCalls: [
      { id: signed("call_g3RESP03_0", SIG_CALL), name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_g3RESP03_1", name: "get_weather", arguments: '{"city":"London","unit":"celsius"}' },
    ],
    finish: "tool_calls",
    usage: usage(55, 100, 155, 0, 80),
  }));
});

Deno.test("Gemini 3 parallel calls with Gemini's own ids: the ids are kept, the first one carries the signature", async () => {
  await runScenario(fromJson("gemini/g3_parallel_calls.json", "gemini-3-pro-preview", {
    content: null,
    reasoning: "",
    toolCalls: [
      { id: signed("fc7k2q", SIG_CALL), name: "ReadFile", arguments: '{"path":"src/a.ts"}' },
      { id: "fc9m4x", name: "ReadFile", arguments: '{"path":"src/b.ts"}' },
    ],
    finish: "tool_calls",
    usage: usage(400, 130, 530, 0, 100),
  }));
});

Deno.test("a Gemini 3 text answer signed on an empty last part: the text and stop, the signature kept out of the text", async () => {
  await runScenario(fromStream("gemini/g3_signature_last_part_stream.sse", "gemini-3-flash-preview", {
    content: "Paris is the capital of France.",
    reasoning: "",
    toolCalls: [],
    finish: "stop",
    usage: usage(8, 25, 33, 0, 18),
  }));
});

Deno.test("MAX_TOKENS: the text so far, finish_reason length", async () => {
  await runScenario(fromStream("gemini/max_tokens_stream.sse", "gemini-2.5-flash", {
    content: "Once upon a time, there was",
    reasoning: "",
    toolCalls: [],
    finish: "length",
    usage: usage(7, 8, 15),
  }));
});

Deno.test("MAX_TOKENS with no part at all (thinking took the budget): an empty answer, finish_reason length", async () => {
  await runScenario(fromJson("gemini/max_tokens_empty.json", "gemini-2.5-pro", {
    content: null,
    reasoning: "",
    toolCalls: [],
    finish: "length",
    usage: usage(15, 4, 19, 0, 4),
  }));
});

Deno.test("SAFETY: the text before the block, finish_reason content_filter", async () => {
  await runScenario(fromStream("gemini/safety_stream.sse", "gemini-2.5-flash", {
    content: "Here is how",
    reasoning: "",
    toolCalls: [],
    finish: "content_filter",
    usage: usage(9, 3, 12),
  }));
});

Deno.test("a blocked prompt (promptFeedback.blockReason): a refusal naming the reason, finish_reason content_filter", async () => {
  // On Cursor's route the refusal is content too, since Cursor renders no refusal (issue 14, point 7).
  await runScenario(fromStream("gemini/prompt_blocked_stream.sse", "gemini-2.5-flash", {
    content: "Gemini blocked the prompt (PROHIBITED_CONTENT).",
    refusal: "Gemini blocked the prompt (PROHIBITED_CONTENT).",
    reasoning: "",
    toolCalls: [],
    finish: "content_filter",
    usage: usage(9, 0, 9),
  }));
  await runScenario(fromJson("gemini/prompt_blocked.json", "gemini-2.5-pro", {
    content: "Gemini blocked the prompt (SAFETY): The prompt was blocked for safety.",
    refusal: "Gemini blocked the prompt (SAFETY): The prompt was blocked for safety.",
    reasoning: "",
    toolCalls: [],
    finish: "content_filter",
    usage: usage(11, 0, 11),
  }));
});

Deno.test("the upstream key travels in x-goog-api-key only: no authorization header, nothing in the URL, no client key", async () => {
  await withGemini(async (env) => {
    env.serve({ body: crlfFixture("gemini/text_stream.sse") }, { body: fixtureText("gemini/text.json") });
    await openaiStreamed(env.client, { model: "gemini/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] });
    await openaiJson(env.client, { model: "gemini/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] });
    assert.equal(env.gemini.requests.length, 2);
    for (const [i, request] of env.gemini.requests.entries()) {
      assertSentToGemini(request, "gemini-2.5-flash", i === 0);
      assert.ok(!`${request.path}${request.search}`.includes(GOOGLE_KEY), "the key is not in the URL (no ?key=)");
      for (const [name, value] of request.headers) {
        assert.ok(!value.includes(VK_E2E), `the client's virtual key is not sent upstream (${name})`);
        if (name !== "x-goog-api-key") {
          assert.ok(!value.includes(GOOGLE_KEY), `the key is only in x-goog-api-key (${name})`);
        }
      }
    }
  });
});

// ===== HTTP errors =====

/** What a client was told of a failed request. */
interface Failed {
  readonly status: number;
  readonly message: string;
  readonly type: string | undefined;
  readonly code: string | null | undefined;
  readonly retryAfter: string | null;
  /** The whole error body as the client received it. */
  readonly body: string;
}

/** The openai client's error for a request that the gateway failed (streamed or not). */
const openaiFailure = async (client: OpenAI, params: Params, streamed: boolean): Promise<Failed> => {
  try {
    if (streamed) await client.chat.completions.stream(params).finalChatCompletion();
    else await client.chat.completions.create({ ...params, stream: false });
  } catch (error) {
    assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
    const body = error.error as { message: string; type?: string; code?: string | null };
    return {
      status: error.status ?? -1,
      message: body.message,
      type: body.type,
      code: body.code,
      retryAfter: error.headers?.get("retry-after") ?? null,
      body: JSON.stringify(error.error),
    };
  }
  return assert.fail("the request should have failed");
};

/** The Vercel SDK's error for the same request. */
const vercelFailure = async (env: Env, model: string, streamed: boolean): Promise<Failed> => {
  let caught: unknown;
  if (streamed) {
    const result = streamText({ model: env.vercel(model), prompt: "hi", maxRetries: 0, onError: () => {} });
    const errors = errorsIn(await drain(result.fullStream));
    assert.equal(errors.length, 1, "one error part");
    caught = errors[0];
  } else {
    try {
      await generateText({ model: env.vercel(model), prompt: "hi", maxRetries: 0 });
    } catch (error) {
      caught = error;
    }
  }
  assert.ok(APICallError.isInstance(caught), `expected APICallError, got ${caught}`);
  const body = JSON.parse(caught.responseBody ?? "{}").error ?? {};
  return {
    status: caught.statusCode ?? -1,
    message: body.message,
    type: body.type,
    code: body.code,
    retryAfter: caught.responseHeaders?.["retry-after"] ?? null,
    body: caught.responseBody ?? "",
  };
};

/**
 * Every split, streamed and JSON, both clients: the upstream answers `replies` in turn for each client request
 * (the last one again for any further attempt); `check` judges what the client was told, and each client request
 * must have cost `attempts` upstream requests.
 */
const runFailure = async (
  replies: ReadonlyArray<Omit<GeminiReply, "split">>,
  attempts: number,
  check: (failed: Failed, how: string) => void,
  config: Record<string, unknown> = {},
) => {
  await withGemini(
    async (env) => {
      const model = "gemini-2.5-flash";
      const params = { model: `gemini/${model}`, messages: [{ role: "user", content: "hi" }] };
      for (const size of SIZES) {
        for (const streamed of [true, false]) {
          for (const client of ["openai", "Vercel"]) {
            const how = `${client}, ${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
            env.serve(...replies.map((reply) => ({ ...reply, split: size })));
            const before = env.gemini.requests.length;
            const failed = client === "openai"
              ? await openaiFailure(env.client, params, streamed)
              : await vercelFailure(env, `gemini/${model}`, streamed);
            check(failed, how);
            const sent = env.gemini.requests.slice(before);
            assert.equal(sent.length, attempts, `upstream attempts, ${how}`);
            for (const request of sent) assertSentToGemini(request, model, streamed);
            assert.equal(env.backup.requests.length, 0, "no fallback was configured");
          }
        }
      }
    },
    undefined,
    config,
  );
};

const googleError = (name: string, status: number): Omit<GeminiReply, "split"> => ({
  status,
  body: fixtureText(`gemini/errors/${name}`),
});

Deno.test("429 RESOURCE_EXHAUSTED with a retryDelay is retried, and the answer after it reaches the client", async () => {
  await withGemini(async (env) => {
    const params = { model: "gemini/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] };
    for (const size of SIZES) {
      for (const streamed of [true, false]) {
        const how = `${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
        const answer = crlfFixture("gemini/text_stream.sse");
        env.serve(
          { ...googleError("rate_limited.json", 429), split: size },
          { body: streamed ? answer : JSON.stringify(mergedAnswer(chunksOf(answer))), split: size },
        );
        const before = env.gemini.requests.length;
        const seen = streamed ? await openaiStreamed(env.client, params) : await openaiJson(env.client, params);
        assert.equal(seen.content, "Hello, world! ☀", how);
        assert.equal(seen.finish, "stop", how);
        assert.deepEqual(seen.usage, usage(12, 31, 43, 0, 27), how);
        const sent = env.gemini.requests.slice(before);
        assert.equal(sent.length, 2, `the 429, then the retry that was answered, ${how}`);
        for (const request of sent) assertSentToGemini(request, "gemini-2.5-flash", streamed);

        env.serve(
          { ...googleError("rate_limited.json", 429), split: size },
          { body: streamed ? answer : JSON.stringify(mergedAnswer(chunksOf(answer))), split: size },
        );
        const vercel = streamed
          ? await vercelStreamed(env, "gemini/gemini-2.5-flash")
          : await vercelJson(env, "gemini/gemini-2.5-flash");
        assert.equal(vercel.text, "Hello, world! ☀", `Vercel, ${how}`);
        assert.equal(env.gemini.requests.length, before + 4, `Vercel, ${how}`);
      }
    }
  });
});

Deno.test("429 RESOURCE_EXHAUSTED on every attempt: retried once, then a 429 whose Retry-After is Google's retryDelay", async () => {
  await runFailure([googleError("rate_limited.json", 429)], 2, (failed, how) => {
    assert.equal(failed.status, 429, how);
    // RetryInfo.retryDelay "34.5s", rounded up to whole seconds.
    assert.equal(failed.retryAfter, "35", how);
    assert.equal(
      failed.message,
      "Resource has been exhausted (e.g. check quota). (gave up after 2 upstream attempts)",
      how,
    );
    assert.equal(failed.code, "rate_limit_exceeded", how);
  });
});

Deno.test("400 API_KEY_INVALID: the key is rejected, and the client gets a 502 that names the provider and no key", async () => {
  await runFailure([googleError("api_key_invalid.json", 400)], 1, (failed, how) => {
    assert.equal(failed.status, 502, how);
    assert.equal(failed.code, "upstream_auth_failed", how);
    assert.equal(
      failed.message,
      "Provider 'gemini' rejected the gateway's credentials (HTTP 401). (gave up after 1 upstream attempt)",
      how,
    );
    assert.ok(!failed.body.includes(GOOGLE_KEY) && !failed.body.includes("AIza"), `no key in ${failed.body}`);
    assert.ok(!failed.body.includes("API key not valid"), "Google's words about the key are not passed on");
  });
});

Deno.test("400 API_KEY_INVALID on one of two keys: the request moves to the other key and is answered", async () => {
  await withGemini(async (env) => {
    env.gemini.script = (request) =>
      request.headers.get("x-goog-api-key") === GOOGLE_KEY
        ? googleError("api_key_invalid.json", 400)
        : { body: crlfFixture("gemini/text_stream.sse"), split: 7 };
    const seen = await openaiStreamed(env.client, {
      model: "gemini/gemini-2.5-flash",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(seen.content, "Hello, world! ☀");
    assert.equal(env.gemini.requests.length, 2);
    assertSentToGemini(env.gemini.requests[0], "gemini-2.5-flash", true, GOOGLE_KEY);
    assertSentToGemini(env.gemini.requests[1], "gemini-2.5-flash", true, GOOGLE_KEY_2);
    // The rejected key cools down: the next request goes straight to the other one.
    await openaiStreamed(env.client, { model: "gemini/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] });
    assert.equal(env.gemini.requests.length, 3);
    assertSentToGemini(env.gemini.requests[2], "gemini-2.5-flash", true, GOOGLE_KEY_2);
  }, [
    // The first pick is weighted: the rejected key comes first but for one request in a billion.
    { value: GOOGLE_KEY, weight: 1e9 },
    { value: GOOGLE_KEY_2, weight: 1 },
  ]);
});

Deno.test("503 UNAVAILABLE: overloaded, retried once, then a 502 upstream_overloaded with Google's message", async () => {
  await runFailure([googleError("unavailable.json", 503)], 2, (failed, how) => {
    assert.equal(failed.status, 502, how);
    assert.equal(failed.code, "upstream_overloaded", how);
    assert.equal(
      failed.message,
      "Upstream error: The model is overloaded. Please try again later. (gave up after 2 upstream attempts)",
      how,
    );
  });
});

Deno.test("400 INVALID_ARGUMENT: a 400 with Google's message, not retried", async () => {
  await runFailure([googleError("invalid_argument.json", 400)], 1, (failed, how) => {
    assert.equal(failed.status, 400, how);
    assert.equal(failed.type, "invalid_request_error", how);
    assert.equal(failed.code, "INVALID_ARGUMENT", how);
    assert.equal(failed.message, "* GenerateContentRequest.contents: contents is not specified\n", how);
  });
});

Deno.test("input over the model's limit: a 400 context_length_exceeded with Google's message, not retried", async () => {
  // The error itself, as strict clients get it: on Cursor's route a context overflow is otherwise the
  // answer Cursor compacts on (issue 14, point 4; tests/cursor_context_overflow_test.ts).
  await runFailure([googleError("context_too_long.json", 400)], 1, (failed, how) => {
    assert.equal(failed.status, 400, how);
    assert.equal(failed.code, "context_length_exceeded", how);
    assert.equal(
      failed.message,
      "The input token count (1205122) exceeds the maximum number of tokens allowed (1048576).",
      how,
    );
  }, { cursor_context_overflow: "error" });
});

Deno.test("Google's other errors: per-day quota, INTERNAL, PERMISSION_DENIED, NOT_FOUND, an array-wrapped 400, FAILED_PRECONDITION", async () => {
  const cases: Array<[string, number, number, (failed: Failed, how: string) => void]> = [
    ["daily_quota.json", 429, 1, (failed, how) => {
      // Waiting will not help today: the gateway's key is out of quota (another key or provider may serve).
      assert.equal(failed.status, 502, how);
      assert.equal(failed.type, "insufficient_quota", how);
      assert.equal(failed.code, "RESOURCE_EXHAUSTED", how);
      assert.equal(failed.retryAfter, null, how);
    }],
    ["internal.json", 500, 2, (failed, how) => {
      assert.equal(failed.status, 502, how);
      assert.equal(failed.code, "INTERNAL", how);
      assert.match(failed.message, /^Upstream error: An internal error has occurred\./, how);
    }],
    ["permission_denied.json", 403, 1, (failed, how) => {
      assert.equal(failed.status, 502, how);
      assert.equal(failed.code, "upstream_auth_failed", how);
      assert.match(failed.message, /^Provider 'gemini' rejected the gateway's credentials \(HTTP 403\)\./, how);
    }],
    ["model_not_found.json", 404, 1, (failed, how) => {
      assert.equal(failed.status, 404, how);
      assert.equal(failed.code, "model_not_found", how);
      assert.match(failed.message, /^models\/gemini-9-ultra is not found for API version v1beta/, how);
    }],
    ["array_wrapped.json", 400, 1, (failed, how) => {
      assert.equal(failed.status, 400, how);
      assert.equal(failed.code, "INVALID_ARGUMENT", how);
      assert.match(failed.message, /^Invalid JSON payload received\. Unknown name "additionalProperties"/, how);
    }],
    ["failed_precondition.json", 400, 1, (failed, how) => {
      assert.equal(failed.status, 502, how);
      assert.equal(failed.type, "insufficient_quota", how);
      assert.equal(failed.code, "FAILED_PRECONDITION", how);
      assert.match(failed.message, /User location is not supported for the API use\./, how);
    }],
  ];
  for (const [name, status, attempts, check] of cases) {
    await runFailure([googleError(name, status)], attempts, (failed, how) => check(failed, `${name}, ${how}`));
  }
});

Deno.test({
  name:
    "a 200 JSON answer whose body is not JSON is reported as an answer that is not JSON, not as a dropped connection",
  fn: async () => {
    await withGemini(async (env) => {
      env.serve({ body: "<html><body>Gateway Timeout</body></html>" });
      const failed = await openaiFailure(
        env.client,
        { model: "gemini/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] },
        false,
      );
      assert.equal(failed.status, 502);
      assert.doesNotMatch(failed.message, /dropped the connection/);
      assert.match(failed.message, /not JSON/);
    });
  },
});

// ===== Errors inside a 200 answer =====

/** A 200 that fails before any output: Gemini's in-stream error chunks, a broken call, and nothing at all. */
const failedBeforeOutput = (name: string, sse: string): [string, string, string] => {
  // The JSON twin: the same as the whole body of a 200 (Google's error object, or the unusable answer).
  const chunks = chunksOf(sse);
  const json = chunks.length === 0 ? "" : JSON.stringify(chunks[0].error ? chunks[0] : mergedAnswer(chunks));
  return [name, sse, json];
};

Deno.test("a 200 that fails before any output (error chunk, broken call, empty body): retried, then the fallback answers", async () => {
  const fallbacks = ["backup/gemini-2.5-flash-lite"];
  for (
    const [name, sse, json] of [
      failedBeforeOutput("an error chunk, 503 UNAVAILABLE", crlfFixture("e2e/gemini/error_before_output_stream.sse")),
      failedBeforeOutput("an error chunk, 429 RESOURCE_EXHAUSTED", crlfFixture("gemini/rate_limited_stream.sse")),
      failedBeforeOutput("MALFORMED_FUNCTION_CALL", crlfFixture("gemini/malformed_call_stream.sse")),
      failedBeforeOutput("an empty body", ""),
    ]
  ) {
    await withGemini(async (env) => {
      const params = { model: "gemini/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }], fallbacks };
      for (const size of SIZES) {
        for (const streamed of [true, false]) {
          env.serve({ body: streamed ? sse : json, split: size });
          const how = `${name}, ${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
          const before = { gemini: env.gemini.requests.length, backup: env.backup.requests.length };

          if (streamed) {
            const seen = await openaiStreamed(env.client, params);
            assert.equal(seen.content, "Answer from the fallback model.", how);
            assert.deepEqual(seen.usage, usage(6, 6, 12), how);
            const extra = seen.chunks.map((chunk) => (chunk as { extra_fields?: Json }).extra_fields);
            assert.ok(extra.every((fields) => fields.provider === "backup" && fields.fallback_index === 1), how);
            assert.ok(extra.every((fields) => fields.attempts === 3), how);
          } else {
            const seen = await openaiJson(env.client, params);
            assert.equal(seen.content, "Answer from the fallback model.", how);
          }
          const vercel = streamed
            ? await vercelStreamed(env, "gemini/gemini-2.5-flash", { fallbacks })
            : await vercelJson(env, "gemini/gemini-2.5-flash", { fallbacks });
          assert.equal(vercel.text, "Answer from the fallback model.", `Vercel, ${how}`);
          assert.equal(vercel.finish, "stop", `Vercel, ${how}`);

          const primary = env.gemini.requests.slice(before.gemini);
          const backup = env.backup.requests.slice(before.backup);
          assert.equal(primary.length, 4, `the primary and its retry, for each client, ${how}`);
          for (const request of primary) assertSentToGemini(request, "gemini-2.5-flash", streamed);
          assert.equal(backup.length, 2, `one fallback request per client, ${how}`);
          for (const request of backup) assertSentToGemini(request, "gemini-2.5-flash-lite", streamed, BACKUP_KEY);
        }
      }
    });
  }
});

Deno.test("an error chunk after output: the client keeps the text and gets Google's message as an error, no fallback", async () => {
  await withGemini(async (env) => {
    const fallbacks = ["backup/gemini-2.5-flash-lite"];
    for (const size of SIZES) {
      const how = sizeName(size);
      env.serve({ body: crlfFixture("gemini/error_midstream.sse"), split: size });
      const stream = env.client.chat.completions.stream({
        model: "gemini/gemini-2.5-pro",
        messages: [{ role: "user", content: "hi" }],
        fallbacks,
      } as Params);
      let content = "";
      stream.on("content", (delta: string) => content += delta);
      await assert.rejects(stream.finalChatCompletion(), (error: unknown) => {
        assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
        assert.match(error.message, /The model is overloaded\. Please try again later\./);
        return true;
      });
      assert.equal(content, "Let me think", how);

      const result = streamText({
        model: env.vercel("gemini/gemini-2.5-pro", { fallbacks }),
        prompt: "hi",
        maxRetries: 0,
        onError: () => {},
      });
      const parts = await drain(result.fullStream);
      const errors = errorsIn(parts);
      assert.equal(errors.length, 1, how);
      assert.match(
        String((errors[0] as Error)?.message ?? errors[0]),
        /The model is overloaded\. Please try again later\./,
      );
      assert.ok(parts.some((part) => part.type === "text-delta" && part.text === "Let me think"), how);
    }
    assert.equal(env.gemini.requests.length, SIZES.length * 2, "one attempt each: output was committed");
    for (const request of env.gemini.requests) assertSentToGemini(request, "gemini-2.5-pro", true);
    assert.equal(env.backup.requests.length, 0);
  });
});

Deno.test("a stream that ends without a finishReason after text: the client keeps the text and gets upstream_stream_incomplete", async () => {
  await withGemini(async (env) => {
    for (const size of SIZES) {
      env.serve({ body: crlfFixture("gemini/cut_stream.sse"), split: size });
      const stream = env.client.chat.completions.stream({
        model: "gemini/gemini-2.5-flash",
        messages: [{ role: "user", content: "hi" }],
      });
      let content = "";
      stream.on("content", (delta: string) => content += delta);
      await assert.rejects(stream.finalChatCompletion(), (error: unknown) => {
        assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
        assert.equal((error.error as { code?: string }).code, "upstream_stream_incomplete");
        return true;
      });
      assert.equal(content, "The answer is", sizeName(size));
    }
    assert.equal(env.gemini.requests.length, SIZES.length, "output was committed: no retry");
  });
});

// ===== Thought signatures across turns =====

/** Turn 2 as Cursor builds it: the assistant's tool calls with the ids as received, the tool results, nothing else. */
const cursorTurn2 = (
  question: string,
  calls: ReadonlyArray<{ id: string; name: string; arguments: string }>,
  results: ReadonlyArray<[id: string, output: string]>,
) => [
  { role: "user", content: question },
  {
    role: "assistant",
    content: null,
    tool_calls: calls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    })),
  },
  ...results.map(([id, output]) => ({ role: "tool", tool_call_id: id, content: output })),
];

Deno.test("signature round trip: Cursor's replay of a Gemini 3 call by its id gives the functionCall its thoughtSignature back", async () => {
  await withGemini(async (env) => {
    const model = "gemini-3-pro-preview";
    const answer = crlfFixture("e2e/gemini/g3_call_stream.sse");
    for (const size of SIZES) {
      for (const streamed of [true, false]) {
        const how = `turn 1 ${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
        env.serve(
          { body: streamed ? answer : JSON.stringify(mergedAnswer(chunksOf(answer))), split: size },
          { body: crlfFixture("gemini/text_stream.sse"), split: size },
        );
        const before = env.gemini.requests.length;
        const question = [{ role: "user", content: "Weather in Paris?" }];
        const turn1 = streamed
          ? await openaiStreamed(env.client, { model: `gemini/${model}`, messages: question, tools: openaiTools })
          : await openaiJson(env.client, { model: `gemini/${model}`, messages: question, tools: openaiTools });
        assert.deepEqual(turn1.toolCalls.map((call) => call.id), [signed("call_g3cRESP31_0", SIG_E2E)], how);

        const turn2 = await openaiStreamed(env.client, {
          model: `gemini/${model}`,
          messages: cursorTurn2("Weather in Paris?", turn1.toolCalls, [[turn1.toolCalls[0].id, "18°C and sunny"]]),
          tools: openaiTools,
        });
        assert.equal(turn2.content, "Hello, world! ☀", how);

        const sent = env.gemini.requests.slice(before);
        assert.equal(sent.length, 2, how);
        assertSentToGemini(sent[0], model, streamed);
        assertSentToGemini(sent[1], model, true);
        assert.deepEqual(sent[1].body.contents, [
          { role: "user", parts: [{ text: "Weather in Paris?" }] },
          {
            role: "model",
            parts: [{
              functionCall: { id: "call_g3cRESP31_0", name: "get_weather", args: { city: "Paris" } },
              // Exactly as Gemini sent it: standard base64, padding and all.
              thoughtSignature: SIG_E2E,
            }],
          },
          {
            role: "user",
            parts: [{
              functionResponse: {
                id: "call_g3cRESP31_0",
                name: "get_weather",
                response: { output: "18°C and sunny" },
              },
            }],
          },
        ], how);
      }
    }
  });
});

Deno.test("signature round trip, parallel calls: the first call gets its signature, results go back in call order", async () => {
  await withGemini(async (env) => {
    const model = "gemini-3-pro-preview";
    env.serve(
      { body: crlfFixture("gemini/g3_parallel_calls_stream.sse"), split: 7 },
      { body: crlfFixture("gemini/text_stream.sse") },
    );
    const question = "Weather in Paris and London?";
    const turn1 = await openaiStreamed(env.client, {
      model: `gemini/${model}`,
      messages: [{ role: "user", content: question }],
      tools: openaiTools,
    });
    const [paris, london] = turn1.toolCalls;
    // Cursor may send the results in the order the tools finished.
    await openaiStreamed(env.client, {
      model: `gemini/${model}`,
      messages: cursorTurn2(question, turn1.toolCalls, [[london.id, "12°C"], [paris.id, "18°C"]]),
      tools: openaiTools,
    });
    assert.deepEqual(env.gemini.requests[1].body.contents.slice(1), [
      {
        role: "model",
        parts: [
          {
            functionCall: { id: "call_g3RESP03_0", name: "get_weather", args: { city: "Paris" } },
            thoughtSignature: SIG_CALL,
          },
          { functionCall: { id: "call_g3RESP03_1", name: "get_weather", args: { city: "London", unit: "celsius" } } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { id: "call_g3RESP03_0", name: "get_weather", response: { output: "18°C" } } },
          { functionResponse: { id: "call_g3RESP03_1", name: "get_weather", response: { output: "12°C" } } },
        ],
      },
    ]);
  });
});

Deno.test("signature round trip through the Vercel SDK's own tool loop: step 2 sends the signed functionCall back", async () => {
  await withGemini(async (env) => {
    const model = "gemini-3-pro-preview";
    const answer = crlfFixture("e2e/gemini/g3_call_stream.sse");
    env.serve(
      { body: JSON.stringify(mergedAnswer(chunksOf(answer))), split: 7 },
      { body: fixtureText("gemini/text.json") },
    );
    const result = await generateText({
      model: env.vercel(`gemini/${model}`),
      prompt: "Weather in Paris?",
      tools: {
        get_weather: tool({
          description: "Weather for a city",
          inputSchema: z.object({ city: z.string(), unit: z.string().optional() }),
          execute: ({ city }) => Promise.resolve(`18°C and sunny in ${city}`),
        }),
      },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    assert.equal(result.text, "The tests pass.");
    assert.equal(result.steps.length, 2);
    assert.equal(env.gemini.requests.length, 2);
    const [model1, result1] = env.gemini.requests[1].body.contents.slice(1);
    assert.deepEqual(model1, {
      role: "model",
      parts: [{
        functionCall: { id: "call_g3cRESP31_0", name: "get_weather", args: { city: "Paris" } },
        thoughtSignature: SIG_E2E,
      }],
    });
    assert.equal(result1.parts[0].functionResponse.id, "call_g3cRESP31_0");
    assert.equal(result1.parts[0].functionResponse.name, "get_weather");
  });
});

Deno.test("a replayed call without a signature gets Google's documented stand-in on Gemini 3, and nothing on Gemini 2.5", async () => {
  await withGemini(async (env) => {
    env.serve({ body: crlfFixture("gemini/text_stream.sse") });
    // A history from another model: its call ids carry no signature.
    const calls = [
      { id: "call_from_gpt5_a", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_from_gpt5_b", name: "get_weather", arguments: '{"city":"Rome"}' },
    ];
    const messages = cursorTurn2("Weather?", calls, [["call_from_gpt5_a", "18°C"], ["call_from_gpt5_b", "21°C"]]);
    for (const model of ["gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-2.5-flash"]) {
      const before = env.gemini.requests.length;
      await openaiStreamed(env.client, { model: `gemini/${model}`, messages, tools: openaiTools });
      const sent = env.gemini.requests[before];
      assertSentToGemini(sent, model, true);
      const [call1, call2] = sent.body.contents[1].parts;
      if (model.startsWith("gemini-3")) {
        // Only the first call of a step is checked (parallel calls are signed on the first).
        assert.equal(call1.thoughtSignature, STAND_IN, model);
        assert.equal(call1.functionCall.id, "call_from_gpt5_a", model);
      } else {
        assert.equal(call1.thoughtSignature, undefined, model);
        assert.equal(call1.functionCall.id, undefined, "Gemini 2.x rejects ids");
      }
      assert.equal(call2.thoughtSignature, undefined, model);
    }
  });
});

// ===== The Cursor Agent body =====

/** Every key anywhere in `value`, with its path. */
const keysIn = (value: unknown, path = "$"): Array<[string, string]> => {
  if (Array.isArray(value)) return value.flatMap((item, i) => keysIn(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) => [[key, path], ...keysIn(child, `${path}.${key}`)]);
};

/** Every key of a rewritten schema, at any depth (`properties` maps names, so its keys are not schema keys). */
const schemaKeys = (schema: Json): string[] => {
  if (schema === null || typeof schema !== "object") return [];
  return Object.entries(schema).flatMap(([key, child]: [string, Json]) => [
    key,
    ...(key === "properties"
      ? Object.values(child).flatMap(schemaKeys)
      : key === "items"
      ? schemaKeys(child)
      : key === "anyOf"
      ? child.flatMap(schemaKeys)
      : []),
  ]);
};

const hybridBody = (model: string, stream: boolean): Json => ({
  ...JSON.parse(fixtureText("requests/cursor_agent_hybrid.json")),
  model: `gemini/${model}`,
  stream,
});

const READ_FILE_SCHEMA = { type: "object", properties: { path: { type: "string" } }, required: ["path"] };

Deno.test("the Cursor Agent hybrid body reaches Gemini in its schema subset, and ApplyPatch comes back as raw patch text", async () => {
  await withGemini(async (env) => {
    const model = "gemini-3-pro-preview";
    const answer = crlfFixture("gemini/apply_patch_stream.sse");
    for (const size of SIZES) {
      for (const streamed of [true, false]) {
        const how = `${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
        env.serve({ body: streamed ? answer : JSON.stringify(mergedAnswer(chunksOf(answer))), split: size });
        const before = env.gemini.requests.length;
        const body = hybridBody(model, streamed);
        const seen = streamed ? await openaiStreamed(env.client, body) : await openaiJson(env.client, body);
        // As from a custom tool: the raw patch as the call's arguments, never {"input": ...}.
        assert.deepEqual(seen.toolCalls, [
          { id: signed("call_patRESP04_0", SIG_PATCH), name: "ApplyPatch", arguments: PATCH },
        ], how);
        assert.equal(seen.content, "Updating the constant.", how);
        assert.equal(seen.finish, "tool_calls", how);
        assert.deepEqual(seen.usage, usage(300, 90, 390, 0, 50), how);

        const sent = env.gemini.requests.slice(before);
        assert.equal(sent.length, 1, how);
        assertSentToGemini(sent[0], model, streamed);
        const wire = sent[0].body;
        const forbidden = keysIn(wire).filter(([key]) => ["$schema", "additionalProperties", "strict"].includes(key));
        assert.deepEqual(forbidden, [], how);
        const declarations = wire.tools[0].functionDeclarations;
        assert.deepEqual(declarations.map((d: Json) => d.name), ["ReadFile", "Shell", "ApplyPatch"], how);
        for (const declaration of declarations) {
          const stray = schemaKeys(declaration.parameters).filter((key) => !SCHEMA_KEYS.has(key));
          assert.deepEqual(stray, [], `${declaration.name}, ${how}`);
        }
        assert.deepEqual(declarations[0].parameters, READ_FILE_SCHEMA, how);
        assert.deepEqual(declarations[2].parameters, {
          type: "object",
          properties: { input: { type: "string" } },
          required: ["input"],
        }, how);
        assert.match(
          declarations[2].description,
          /^Use this tool to edit files\.\n\n.*lark grammar:\nstart: begin_patch/s,
        );
        assert.deepEqual(wire.toolConfig, { functionCallingConfig: { mode: "AUTO" } }, how);
        // reasoning.effort "medium" on Pro (low or high only) rounds up; summary "auto" asks for thoughts.
        assert.deepEqual(wire.generationConfig, { thinkingConfig: { thinkingLevel: "high", includeThoughts: true } });
        assert.deepEqual(wire.systemInstruction, {
          parts: [{ text: "You are a coding agent working in the user's repository." }, {
            text: "Workspace: /home/dev/shop",
          }],
        }, how);
        assert.deepEqual(wire.contents, [
          { role: "user", parts: [{ text: "Rename the cart total helper." }] },
          {
            role: "model",
            parts: [
              { text: "Let me look at the file first." },
              {
                functionCall: { id: "call_read_1", name: "ReadFile", args: { path: "src/cart.ts" } },
                // A history without signatures: each step's first call gets the stand-in.
                thoughtSignature: STAND_IN,
              },
            ],
          },
          {
            role: "user",
            parts: [{
              functionResponse: {
                id: "call_read_1",
                name: "ReadFile",
                response: { output: "export const total = (items) => 0;\n" },
              },
            }],
          },
          {
            role: "model",
            parts: [{
              functionCall: {
                id: "call_patch_1",
                name: "ApplyPatch",
                args: {
                  input:
                    "*** Begin Patch\n*** Update File: src/cart.ts\n@@\n-export const total = (items) => 0;\n+export const cartTotal = (items) => 0;\n*** End Patch\n",
                },
              },
              thoughtSignature: STAND_IN,
            }],
          },
          {
            role: "user",
            parts: [
              {
                functionResponse: {
                  id: "call_patch_1",
                  name: "ApplyPatch",
                  response: { output: "Success. Updated src/cart.ts" },
                },
              },
              { text: "Now run the tests." },
            ],
          },
        ], how);
      }
    }
  });
});

Deno.test("ApplyPatch round trip: Cursor's replay of the patch call reaches Gemini as {input: patch} with its signature", async () => {
  await withGemini(async (env) => {
    const model = "gemini-2.5-flash";
    env.serve({ body: crlfFixture("gemini/apply_patch_stream.sse"), split: 7 }, {
      body: crlfFixture("gemini/text_stream.sse"),
    });
    const turn1 = await openaiStreamed(env.client, hybridBody(model, true));
    const [call] = turn1.toolCalls;
    const turn2 = hybridBody(model, true);
    turn2.input.push(
      { type: "function_call", call_id: call.id, name: call.name, arguments: call.arguments },
      { type: "function_call_output", call_id: call.id, output: "Success. Updated src/app.ts" },
    );
    await openaiStreamed(env.client, turn2);
    const sent = env.gemini.requests[1];
    assertSentToGemini(sent, model, true);
    assert.deepEqual(sent.body.contents.slice(-2), [
      {
        role: "model",
        // Gemini 2.x takes no ids on calls; the signature comes back all the same.
        parts: [{ functionCall: { name: "ApplyPatch", args: { input: PATCH } }, thoughtSignature: SIG_PATCH }],
      },
      {
        role: "user",
        parts: [{ functionResponse: { name: "ApplyPatch", response: { output: "Success. Updated src/app.ts" } } }],
      },
    ]);
  });
});

Deno.test("the hybrid body's tools with $schema, strict and nested additionalProperties reach Gemini without them", async () => {
  await withGemini(async (env) => {
    env.serve({ body: crlfFixture("gemini/text_stream.sse") });
    const body = hybridBody("gemini-2.5-flash", true);
    body.tools.push({
      type: "function",
      name: "mcp_docs_search",
      description: "Search the docs (an MCP tool, its schema as zod-to-json-schema writes it).",
      strict: true,
      parameters: {
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: {
          query: { type: "string", minLength: 1 },
          filters: {
            type: "object",
            properties: { tags: { type: "array", items: { type: "string" } }, since: { type: ["string", "null"] } },
            additionalProperties: false,
            required: ["tags", "since"],
          },
          limit: { type: "integer", exclusiveMinimum: 0, default: 10 },
        },
        required: ["query", "filters", "limit"],
        additionalProperties: false,
      },
    });
    await openaiStreamed(env.client, body);
    const wire = env.gemini.requests[0].body;
    assert.deepEqual(keysIn(wire).filter(([key]) => ["$schema", "additionalProperties", "strict"].includes(key)), []);
    const declaration = wire.tools[0].functionDeclarations.find((d: Json) => d.name === "mcp_docs_search");
    assert.deepEqual(declaration.parameters, {
      type: "object",
      properties: {
        query: { type: "string", minLength: 1 },
        filters: {
          type: "object",
          properties: { tags: { type: "array", items: { type: "string" } }, since: { type: "string", nullable: true } },
          required: ["tags", "since"],
        },
        limit: { type: "integer" },
      },
      required: ["query", "filters", "limit"],
    });
  });
});

// ===== Real recordings (optional) =====

const RECORDINGS = Deno.env.get("GATEWAY_RECORDINGS");

/** What a client must get for an answer made of these `GenerateContentResponse` chunks. */
const expectedOf = (chunks: ReadonlyArray<Json>) => {
  let text = "";
  const runs: string[] = [];
  let inThought = false;
  const calls: Array<{ name: string; args: unknown; signature?: string }> = [];
  let finishReason: string | undefined;
  let blocked = false;
  let metadata: Json = {};
  for (const chunk of chunks) {
    const candidate = chunk.candidates?.[0];
    if (candidate === undefined && chunk.promptFeedback?.blockReason) blocked = true;
    for (const part of candidate?.content?.parts ?? []) {
      if (part.functionCall) {
        calls.push({
          name: part.functionCall.name,
          args: part.functionCall.args ?? {},
          signature: part.thoughtSignature,
        });
        inThought = false;
      } else if (typeof part.text === "string" && part.text !== "") {
        if (part.thought === true) {
          if (inThought) runs[runs.length - 1] += part.text;
          else runs.push(part.text);
          inThought = true;
        } else {
          text += part.text;
          inThought = false;
        }
      }
    }
    if (candidate?.finishReason) finishReason = candidate.finishReason;
    if (chunk.usageMetadata) metadata = chunk.usageMetadata;
  }
  const finish = blocked || FILTERED.has(finishReason ?? "")
    ? "content_filter"
    : finishReason === "MAX_TOKENS"
    ? "length"
    : calls.length > 0
    ? "tool_calls"
    : "stop";
  const n = (value: unknown) => typeof value === "number" ? value : 0;
  const thoughts = n(metadata.thoughtsTokenCount);
  return {
    text,
    reasoning: runs.join("\n\n"),
    calls,
    blocked,
    finish,
    usage: usage(
      n(metadata.promptTokenCount) + n(metadata.toolUsePromptTokenCount),
      n(metadata.candidatesTokenCount) + thoughts,
      n(metadata.totalTokenCount),
      n(metadata.cachedContentTokenCount),
      thoughts,
    ),
  };
};

Deno.test({
  name:
    "recordings: every real Gemini answer and error, streamed and JSON at every split, reaches the openai client whole",
  ignore: RECORDINGS === undefined || RECORDINGS === "",
  fn: async (t) => {
    const dir = `${RECORDINGS}/gemini`;
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) => name.endsWith(".json")).sort();
    assert.ok(names.length > 0, `no recordings in ${dir}`);
    await withGemini(async (env) => {
      for (const name of names) {
        await t.step(name, async () => {
          const recording = JSON.parse(Deno.readTextFileSync(`${dir}/${name}`));
          const body = String(recording.body);
          const model = String(recording.source?.recorded_uri ?? "").match(/models\/([^:/?]+):/)?.[1] ??
            "gemini-2.5-flash";
          const params = { model: `gemini/${model}`, messages: [{ role: "user", content: "hi" }] };

          if (recording.status !== 200) {
            const google = JSON.parse(body).error;
            for (const size of SIZES) {
              for (const streamed of [true, false]) {
                const how = `${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
                env.serve({ status: recording.status, body, split: size });
                const failed = await openaiFailure(env.client, params, streamed);
                if (recording.status === 400 && google.status === "INVALID_ARGUMENT") {
                  assert.equal(failed.status, 400, how);
                  assert.equal(failed.message, google.message, how);
                } else {
                  assert.ok(failed.status >= 400, how);
                }
              }
            }
            return;
          }

          // An SSE stream is served as recorded; a JSON answer (or the non-SSE stream's array) as the
          // JSON answer, and as a stream of its chunks.
          const sse = String(recording.headers?.["content-type"] ?? "").includes("event-stream");
          const chunks: Json[] = sse ? chunksOf(body) : [JSON.parse(body)].flat();
          const streamedBody = sse ? body : googleSse(chunks);
          const jsonBody = sse ? JSON.stringify(mergedAnswer(chunks)) : body;
          const expected = expectedOf(chunks);
          for (const size of SIZES) {
            for (const streamed of [true, false]) {
              const how = `${streamed ? "streamed" : "JSON"}, ${sizeName(size)}`;
              env.serve({ body: streamed ? streamedBody : jsonBody, split: size });
              const before = env.gemini.requests.length;
              const seen = streamed ? await openaiStreamed(env.client, params) : await openaiJson(env.client, params);
              const empty = expected.calls.length > 0 || streamed ? null : "";
              // On Cursor's route a refusal is content too (issue 14, point 7): a blocked prompt's is.
              if (expected.blocked) assert.equal(seen.content, seen.refusal, `content, ${how}`);
              else assert.equal(seen.content, expected.text === "" ? empty : expected.text, `content, ${how}`);
              assert.equal(seen.reasoning, expected.reasoning, `reasoning, ${how}`);
              assert.deepEqual(
                seen.toolCalls.map((call) => [call.name, JSON.parse(call.arguments), signatureOfCallId(call.id)]),
                expected.calls.map((call) => [call.name, call.args, call.signature]),
                `tool calls, ${how}`,
              );
              assert.equal(seen.finish, expected.finish, `finish_reason, ${how}`);
              assert.deepEqual(seen.usage, expected.usage, `usage, ${how}`);
              if (expected.blocked) assert.match(seen.refusal ?? "", /^Gemini blocked the prompt \(/, how);
              assert.equal(env.gemini.requests.length, before + 1, how);
              assertSentToGemini(env.gemini.requests[before], model, streamed);
            }
          }
        });
      }
    });
  },
});
