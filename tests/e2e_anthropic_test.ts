/**
 * End to end through the real gateway, over HTTP, for a provider that speaks the Anthropic
 * Messages API: `anthropic` by preset (x-api-key, `anthropic-version`), its `base_url` at a fake
 * Messages API that serves hand-written streams split at 1, 7 and 61 bytes and whole (each part
 * its own HTTP chunk, so cuts fall inside JSON strings, `\uXXXX` escapes and UTF-8 characters),
 * and their JSON twins. The judges are the clients: the official `openai` SDK's stream
 * accumulator (`chat.completions.stream()` + `finalChatCompletion()`, which throws on malformed
 * chunk sequences) and the Vercel AI SDK (`streamText` / `generateText` on the chat model). Each
 * spec also reads what the fake was sent.
 *
 * With GATEWAY_RECORDINGS set, the last spec replays the real recorded Anthropic traffic in
 * `$GATEWAY_RECORDINGS/anthropic/` the same way (ignored otherwise; recordings stay outside).
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, generateText, streamText, type TextStreamPart, tool, type ToolSet } from "ai";
import OpenAI, { APIError } from "openai";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionTool } from "openai/resources/chat/completions";
import { z } from "zod";
import { sseFixture } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, VK } from "./support/gateway.ts";
import { parseStream } from "./support/routing.ts";
import {
  BETA,
  errorBody,
  type ExpectedAnswer,
  expectedAnswer,
  fixtureText,
  foldMessage,
  openSealed,
  type Reply,
  type SentRequest,
  UPSTREAM_KEY,
  withAnthropic,
} from "./support/anthropic_upstream.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const MODEL = "anthropic/claude-sonnet-4-5";
/** Byte sizes the upstream's body is cut at; `undefined` is the whole body in one write. */
const SPLITS = [1, 7, 61, undefined] as const;
const splitName = (split: number | undefined) => split === undefined ? "whole" : `${split}-byte parts`;

const openai = (gateway: RunningGateway) =>
  new OpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: VK, maxRetries: 0, timeout: 10_000 });
const vercel = (gateway: RunningGateway) =>
  createOpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: VK }).chat(MODEL);

const messages = [{ role: "user" as const, content: "hi" }];

// ===== What the clients received =====

interface Received {
  readonly content: string | null;
  readonly toolCalls: Array<{ id: string; name: string; arguments: string }>;
  /** `delta.reasoning` joined (streamed), or `message.reasoning` (JSON). */
  readonly reasoning: string;
  /** Every `reasoning_details` entry, in order. */
  readonly details: Json[];
  readonly finish: string | null;
  readonly usage: { prompt: number; completion: number; cached: number; total: number };
  readonly completion: ChatCompletion;
  readonly streamed: boolean;
}

const receivedOf = (completion: ChatCompletion, reasoning: string, details: Json[], streamed: boolean): Received => {
  const choice = completion.choices[0];
  return {
    content: choice.message.content,
    toolCalls: (choice.message.tool_calls ?? []).map((call) => {
      assert.equal(call.type, "function");
      return call.type === "function"
        ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
        : assert.fail();
    }),
    reasoning,
    details,
    finish: choice.finish_reason,
    usage: {
      prompt: completion.usage?.prompt_tokens ?? -1,
      completion: completion.usage?.completion_tokens ?? -1,
      cached: completion.usage?.prompt_tokens_details?.cached_tokens ?? -1,
      total: completion.usage?.total_tokens ?? -1,
    },
    completion,
    streamed,
  };
};

/** Streams through the openai SDK's accumulator, collecting the reasoning deltas it does not accumulate. */
const openaiStreamed = async (gateway: RunningGateway, params: Json = {}): Promise<Received> => {
  const stream = openai(gateway).chat.completions.stream({
    model: MODEL,
    messages,
    stream_options: { include_usage: true },
    ...params,
  });
  let reasoning = "";
  const details: Json[] = [];
  const ids = new Set<string>();
  stream.on("chunk", (chunk: ChatCompletionChunk) => {
    ids.add(chunk.id);
    const delta = chunk.choices[0]?.delta as { reasoning?: string; reasoning_details?: Json[] } | undefined;
    reasoning += delta?.reasoning ?? "";
    details.push(...delta?.reasoning_details ?? []);
  });
  const completion = await stream.finalChatCompletion();
  assert.equal(ids.size, 1, "one chunk id for the whole answer");
  assert.equal(completion.choices[0].message.role, "assistant");
  return receivedOf(completion, reasoning, details, true);
};

const openaiJson = async (gateway: RunningGateway, params: Json = {}): Promise<Received> => {
  const completion = await openai(gateway).chat.completions.create({
    model: MODEL,
    messages,
    ...params,
    stream: false,
  });
  assert.equal(completion.object, "chat.completion");
  const message = completion.choices[0].message as unknown as { reasoning?: string; reasoning_details?: Json[] };
  return receivedOf(completion, message.reasoning ?? "", message.reasoning_details ?? [], false);
};

/** The client got the answer `expected` describes: text, calls, reasoning, the sealed thinking, finish, usage. */
const assertAnswer = (got: Received, expected: ExpectedAnswer, label: string) => {
  // A streamed answer without text never gets `content`; the JSON answer says "" (encode/completion.ts:
  // null only beside tool calls or a refusal part).
  const content = !got.streamed && expected.content === null && expected.toolCalls.length === 0 ? "" : expected.content;
  assert.equal(got.content, content, `${label}: content`);
  assert.deepEqual(
    got.toolCalls.map((call) => ({ id: call.id, name: call.name, input: JSON.parse(call.arguments) })),
    expected.toolCalls,
    `${label}: tool calls`,
  );
  assert.equal(got.reasoning, expected.reasoning, `${label}: reasoning`);
  const sealed = got.details.filter((detail) => detail.type === "reasoning.encrypted");
  if (expected.sealed.length === 0) assert.deepEqual(sealed, [], `${label}: no sealed reasoning`);
  else {
    assert.equal(sealed.length, 1, `${label}: one reasoning.encrypted entry`);
    assert.deepEqual(openSealed(sealed[0].data), { blocks: expected.sealed }, `${label}: the sealed thinking`);
    // The readable entries, joined per `index` (one per thinking block), are the reasoning's paragraphs.
    const parts = new Map<number, string>();
    for (const detail of got.details) {
      if (detail.type === "reasoning.text") parts.set(detail.index, (parts.get(detail.index) ?? "") + detail.text);
    }
    assert.equal([...parts.values()].join("\n\n"), expected.reasoning, `${label}: reasoning.text entries`);
  }
  assert.equal(got.finish, expected.finish, `${label}: finish_reason`);
  assert.deepEqual(
    got.usage,
    { ...expected.usage, total: expected.usage.prompt + expected.usage.completion },
    `${label}: usage`,
  );
};

// ===== The Vercel AI SDK =====

const tools = {
  list_dir: tool({ description: "List a directory", inputSchema: z.object({}) }),
  read_file: tool({ description: "Read a file", inputSchema: z.object({ path: z.string() }) }),
  Shell: tool({ description: "Run a shell command", inputSchema: z.object({ command: z.string() }) }),
  get_weather: tool({
    description: "Weather for a place",
    inputSchema: z.object({ location: z.string(), unit: z.string() }),
  }),
};

const drain = async <T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>) => {
  const parts: TextStreamPart<T>[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
};

const vercelFinish = { stop: "stop", length: "length", tool_calls: "tool-calls", content_filter: "content-filter" };

interface VercelResult {
  readonly text: string;
  readonly toolCalls: ReadonlyArray<{ toolCallId: string; toolName: string; input: unknown }>;
  readonly finishReason: string;
  readonly usage: {
    inputTokens: number | undefined;
    outputTokens: number | undefined;
    inputTokenDetails: { cacheReadTokens: number | undefined };
  };
}

const assertVercel = (result: VercelResult, expected: ExpectedAnswer, label: string) => {
  assert.equal(result.text, expected.content ?? "", `${label}: text`);
  assert.deepEqual(
    result.toolCalls.map((call) => ({ id: call.toolCallId, name: call.toolName, input: call.input })),
    expected.toolCalls,
    `${label}: tool calls`,
  );
  assert.equal(result.finishReason, vercelFinish[expected.finish], `${label}: finish reason`);
  assert.equal(result.usage.inputTokens, expected.usage.prompt, `${label}: input tokens`);
  assert.equal(result.usage.outputTokens, expected.usage.completion, `${label}: output tokens`);
  assert.equal(result.usage.inputTokenDetails.cacheReadTokens, expected.usage.cached, `${label}: cache read tokens`);
};

const vercelStreamed = async (gateway: RunningGateway, expected: ExpectedAnswer, label: string) => {
  const result = streamText({ model: vercel(gateway), prompt: "hi", tools, maxRetries: 0 });
  const parts = await drain(result.fullStream);
  assert.deepEqual(parts.flatMap((part) => part.type === "error" ? [part.error] : []), [], `${label}: no errors`);
  assertVercel(
    {
      text: await result.text,
      toolCalls: await result.toolCalls,
      finishReason: await result.finishReason,
      usage: await result.usage,
    },
    expected,
    label,
  );
  return result;
};

const vercelJson = async (gateway: RunningGateway, expected: ExpectedAnswer, label: string) => {
  const result = await generateText({ model: vercel(gateway), prompt: "hi", tools, maxRetries: 0 });
  assertVercel(result, expected, label);
  return result;
};

// ===== Answers: every scenario streamed at every split, and as JSON =====

interface Scenario {
  readonly name: string;
  /** A hand-written stream in fixtures/anthropic/; its JSON twin is the message it folds into. */
  readonly sse: string;
  readonly expected: ExpectedAnswer;
}

const NO_USAGE_CACHE = { cached: 0 };

const scenarios: Scenario[] = [
  {
    name: "a text answer with cache reads and writes",
    sse: "text.sse",
    expected: {
      content: "Two names: Pelly and Sir Scoops-a-lot 🐦.",
      toolCalls: [],
      reasoning: "",
      sealed: [],
      finish: "stop",
      // prompt = 21 uncached + 3,400 read + 1,200 written; cached = the reads.
      usage: { prompt: 4621, completion: 14, cached: 3400 },
    },
  },
  {
    name: "parallel tool use, one call without arguments",
    sse: "parallel_tools_no_args.sse",
    expected: {
      content: null,
      toolCalls: [
        { id: "toolu_01ListOne", name: "list_dir", input: {} },
        { id: "toolu_01ReadTwo", name: "read_file", input: { path: "main.py" } },
      ],
      reasoning: "",
      sealed: [],
      finish: "tool_calls",
      usage: { prompt: 512, completion: 58, ...NO_USAGE_CACHE },
    },
  },
  {
    name: "thinking with its signature, then text and a tool call",
    sse: "thinking_tool_use.sse",
    expected: {
      content: "Running the tests now.",
      toolCalls: [{ id: "toolu_01ShellRun", name: "Shell", input: { command: "deno test -A" } }],
      reasoning: "The user wants the tests run. I should call Shell with deno test.",
      sealed: [{
        type: "thinking",
        thinking: "The user wants the tests run. I should call Shell with deno test.",
        signature: "RXFzaWduYXR1cmUtb25lLWZvci10ZXN0cw==",
      }],
      finish: "tool_calls",
      usage: { prompt: 640, completion: 97, ...NO_USAGE_CACHE },
    },
  },
  {
    name: "thinking and redacted thinking, cut at max_tokens",
    sse: "max_tokens_thinking.sse",
    expected: {
      content: "# Kirigami parachutes\n\nCut paper",
      toolCalls: [],
      reasoning: "An explainer on kirigami parachutes.",
      sealed: [
        { type: "thinking", thinking: "An explainer on kirigami parachutes.", signature: "S2lyaWdhbWktc2lnbmF0dXJl" },
        { type: "redacted_thinking", data: "UmVkYWN0ZWQtYmxvY2stZGF0YQ==" },
      ],
      finish: "length",
      usage: { prompt: 56, completion: 1152, ...NO_USAGE_CACHE },
    },
  },
  {
    name: "a refusal",
    sse: "refusal.sse",
    expected: {
      content: null,
      toolCalls: [],
      reasoning: "",
      sealed: [],
      finish: "content_filter",
      usage: { prompt: 97, completion: 0, ...NO_USAGE_CACHE },
    },
  },
  {
    name: "server tools (web search) with a url citation, a compaction block and an unknown event",
    sse: "server_tools_citations.sse",
    expected: {
      content: "Let me search. Deno 2.9 made npm installs faster.",
      toolCalls: [],
      reasoning: "",
      sealed: [],
      finish: "stop",
      usage: { prompt: 2100, completion: 120, ...NO_USAGE_CACHE },
    },
  },
];

const scenario = (sse: string): ExpectedAnswer => scenarios.find((s) => s.sse === sse)!.expected;

/** A script whose reply each step of a spec sets (body and split) before its requests. */
const serving = () => {
  let next: Reply = { body: "" };
  return { script: () => next, set: (reply: Reply) => next = reply };
};

/** What every Messages request of these specs must look like. */
const assertMessagesRequest = (sent: SentRequest, stream: boolean) => {
  assert.equal(sent.path, "/v1/messages");
  assert.equal(sent.headers.get("x-api-key"), UPSTREAM_KEY);
  assert.equal(sent.headers.get("authorization"), null);
  assert.equal(sent.headers.get("anthropic-version"), "2023-06-01");
  assert.equal(sent.body.model, "claude-sonnet-4-5");
  assert.equal(sent.body.stream, stream ? true : undefined);
  assert.deepEqual(sent.body.messages.at(-1).content.map((block: Json) => block.text), ["hi"]);
};

for (const scenario of scenarios) {
  Deno.test(`${scenario.name}: streamed at 1, 7, 61 bytes and whole, the openai accumulator and the Vercel AI SDK get the answer`, async () => {
    const sse = fixtureText(`anthropic/${scenario.sse}`);
    // The fixture and the expectation agree (the same fold gives the JSON twin below).
    assert.deepEqual(expectedAnswer(foldMessage(sse)), scenario.expected);
    const { script, set } = serving();
    await withAnthropic(script, {}, async ({ gateway, upstream }) => {
      for (const split of SPLITS) {
        set({ body: sse, split });
        const label = `${scenario.sse}, ${splitName(split)}`;
        assertAnswer(await openaiStreamed(gateway), scenario.expected, `openai ${label}`);
        assertMessagesRequest(upstream.requests.at(-1)!, true);
        await vercelStreamed(gateway, scenario.expected, `vercel ${label}`);
        assertMessagesRequest(upstream.requests.at(-1)!, true);
      }
    });
  });

  Deno.test(`${scenario.name}: as a JSON message (whole and in 7-byte parts), both clients get the same answer`, async () => {
    const message = foldMessage(fixtureText(`anthropic/${scenario.sse}`));
    const { script, set } = serving();
    await withAnthropic(script, {}, async ({ gateway, upstream }) => {
      for (const split of [undefined, 7]) {
        set({ body: message, split });
        const label = `${scenario.sse} as JSON, ${splitName(split)}`;
        assertAnswer(await openaiJson(gateway), scenario.expected, `openai ${label}`);
        assertMessagesRequest(upstream.requests.at(-1)!, false);
        await vercelJson(gateway, scenario.expected, `vercel ${label}`);
        assertMessagesRequest(upstream.requests.at(-1)!, false);
      }
    });
  });
}

Deno.test("server tools: the url citation reaches the openai client as an annotation and Vercel as a source", async () => {
  const sse = fixtureText("anthropic/server_tools_citations.sse");
  await withAnthropic(() => ({ body: sse, split: 7 }), {}, async ({ gateway }) => {
    const got = await openaiStreamed(gateway);
    const annotations = (got.completion.choices[0].message as Json).annotations;
    assert.deepEqual(annotations.map((a: Json) => [a.type, a.url_citation.url, a.url_citation.title]), [
      ["url_citation", "https://deno.com/blog/v2.9", "Deno 2.9"],
    ]);
    const result = await vercelStreamed(gateway, scenario("server_tools_citations.sse"), "vercel citations");
    const sources = await result.sources;
    assert.deepEqual(sources.map((source) => source.sourceType === "url" ? source.url : undefined), [
      "https://deno.com/blog/v2.9",
    ]);
  });
});

Deno.test("JSON fixtures: redacted thinking with cache reads and writes, and a max_tokens cut with cache reads", async () => {
  const cases: Array<[string, ExpectedAnswer]> = [
    ["redacted_thinking.json", {
      content: "I can't help with that string, but ask me anything else.",
      toolCalls: [],
      reasoning: "Check the magic string.",
      sealed: [
        { type: "thinking", thinking: "Check the magic string.", signature: "VGhpbmtpbmctc2lnbmF0dXJl" },
        { type: "redacted_thinking", data: "UmVkYWN0ZWQtZGF0YQ==" },
      ],
      finish: "stop",
      usage: { prompt: 92 + 2055 + 10, completion: 194, cached: 2055 },
    }],
    ["max_tokens.json", {
      content: "A system is an organized collection of",
      toolCalls: [],
      reasoning: "",
      sealed: [],
      finish: "length",
      usage: { prompt: 11 + 2055, completion: 100, cached: 2055 },
    }],
  ];
  const { script, set } = serving();
  await withAnthropic(script, {}, async ({ gateway }) => {
    for (const [name, expected] of cases) {
      for (const split of [undefined, 1]) {
        set({ body: fixtureText(`anthropic/${name}`), split });
        assertAnswer(await openaiJson(gateway), expected, `openai ${name}, ${splitName(split)}`);
        await vercelJson(gateway, expected, `vercel ${name}, ${splitName(split)}`);
      }
    }
  });
});

// ===== Failures inside the stream =====

const textAnswer = scenario("text.sse");

Deno.test("an error event before any output is retried on the same provider, invisibly", async () => {
  await withAnthropic(
    (_request, index) =>
      index % 2 === 0
        ? { body: fixtureText("anthropic/error_before_output.sse"), split: 7 }
        : { body: fixtureText("anthropic/text.sse"), split: 7 },
    {},
    async ({ gateway, upstream }) => {
      assertAnswer(await openaiStreamed(gateway), textAnswer, "openai");
      assert.equal(upstream.requests.length, 2);
      await vercelStreamed(gateway, textAnswer, "vercel");
      assert.equal(upstream.requests.length, 4);
      for (const sent of upstream.requests) assertMessagesRequest(sent, true);
    },
  );
});

/** An `event: error` as the first and only event of a 200 stream. */
const frameOverloaded = "event: error\n" +
  'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011E2e"}\n\n';

Deno.test("an error event before any output on every attempt falls back to an OpenAI Responses provider", async () => {
  const fallbackText = sseFixture("routing/fallback_text.sse").map((step) => "raw" in step ? step.raw : "").join("");
  await withAnthropic(
    () => ({ body: frameOverloaded, split: 1 }),
    { backupScript: () => ({ body: fallbackText, split: 7 }) },
    async ({ gateway, upstream, backup }) => {
      const got = await openaiStreamed(gateway, { fallbacks: ["openai/gpt-4.1"] });
      assert.equal(got.content, "Answer from the fallback.");
      assert.equal(got.finish, "stop");
      // The primary's retry budget (1 retry), then the fallback.
      assert.equal(upstream.requests.length, 2);
      assert.equal(backup!.requests.length, 1);
      assert.equal(backup!.requests[0].path, "/v1/responses");
      assert.equal(backup!.requests[0].headers.get("authorization"), "Bearer sk-openai-backup-secret");
      assert.equal(backup!.requests[0].headers.get("x-api-key"), null);
      assert.equal(backup!.requests[0].body.model, "gpt-4.1");
    },
  );
});

Deno.test("an error event after output ends the stream with an error frame the clients surface", async () => {
  const sse = fixtureText("anthropic/error_after_output.sse");
  const { script, set } = serving();
  await withAnthropic(script, {}, async ({ gateway, upstream }) => {
    for (const split of SPLITS) {
      set({ body: sse, split });
      const label = splitName(split);
      const raw = parseStream(
        await (await postJson(gateway, "/cursor/v1/chat/completions", {
          model: MODEL,
          messages,
          stream: true,
        })).text(),
      );
      assert.equal(raw.content, "Partial answ", label);
      assert.deepEqual(raw.errors.map((e) => [e.error.code, e.error.message]), [
        ["upstream_overloaded", "Upstream error: Overloaded"],
      ], label);

      const stream = openai(gateway).chat.completions.stream({ model: MODEL, messages });
      let content = "";
      stream.on("content", (delta: string) => content += delta);
      await assert.rejects(stream.finalChatCompletion(), (error: unknown) => {
        assert.ok(error instanceof APIError, `${label}: expected APIError, got ${error}`);
        assert.match(error.message, /Overloaded/);
        return true;
      });
      assert.equal(content, "Partial answ", label);

      const result = streamText({ model: vercel(gateway), prompt: "hi", maxRetries: 0, onError: () => {} });
      const parts = await drain(result.fullStream);
      const errors = parts.flatMap((part) => part.type === "error" ? [part.error] : []);
      assert.equal(errors.length, 1, label);
      assert.match(String((errors[0] as Error)?.message ?? errors[0]), /Overloaded/);
      assert.equal(
        parts.filter((part) => part.type === "text-delta").map((part) => part.text).join(""),
        "Partial answ",
      );
    }
    // Output had reached the client: never retried.
    assert.equal(upstream.requests.length, SPLITS.length * 3);
  });
});

Deno.test("a stream that ends after message_delta without message_stop still completes for both clients", async () => {
  const expected: ExpectedAnswer = {
    content: "Done.",
    toolCalls: [],
    reasoning: "",
    sealed: [],
    finish: "stop",
    usage: { prompt: 30, completion: 3, cached: 0 },
  };
  await withAnthropic(
    () => ({ body: fixtureText("anthropic/stop_without_message_stop.sse"), split: 7 }),
    {},
    async ({ gateway, upstream }) => {
      assertAnswer(await openaiStreamed(gateway), expected, "openai");
      await vercelStreamed(gateway, expected, "vercel");
      assert.equal(upstream.requests.length, 2, "nothing retried");
    },
  );
});

Deno.test("a stream cut short after output ends with an error frame, never a made-up finish", async () => {
  await withAnthropic(
    () => ({ body: fixtureText("anthropic/truncated.sse"), split: 7 }),
    {},
    async ({ gateway, upstream }) => {
      const stream = openai(gateway).chat.completions.stream({ model: MODEL, messages });
      let content = "";
      stream.on("content", (delta: string) => content += delta);
      await assert.rejects(stream.finalChatCompletion(), (error: unknown) => {
        assert.ok(error instanceof APIError, `expected APIError, got ${error}`);
        assert.match(error.message, /ended before the response was complete/);
        return true;
      });
      assert.equal(content, "Half a sent");
      assert.equal(upstream.requests.length, 1);
    },
  );
});

// ===== HTTP failures =====

interface HttpCase {
  readonly name: string;
  readonly reply: Reply;
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly message: RegExp;
  /** Upstream requests one client request costs. */
  readonly attempts: number;
  readonly headers?: Record<string, string>;
}

const httpCases: HttpCase[] = [
  {
    name: "529 overloaded is retried, then answered 502",
    reply: { status: 529, body: errorBody("overloaded_error", "Overloaded") },
    status: 502,
    type: "upstream_error",
    code: "upstream_overloaded",
    message: /^Upstream error: Overloaded \(gave up after 2 upstream attempts\)$/,
    attempts: 2,
  },
  {
    name: "429 with retry-after is retried, then answered 429 with the wait",
    reply: {
      status: 429,
      headers: { "retry-after": "7" },
      body: errorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    },
    status: 429,
    type: "rate_limit_error",
    code: "rate_limit_exceeded",
    message: /^Number of request tokens has exceeded your per-minute rate limit/,
    attempts: 2,
    headers: { "retry-after": "7" },
  },
  {
    name: "401 is answered 502 without the key",
    reply: { status: 401, body: errorBody("authentication_error", `invalid x-api-key ${UPSTREAM_KEY}`) },
    status: 502,
    type: "upstream_error",
    code: "upstream_auth_failed",
    message: /^Provider 'anthropic' rejected the gateway's credentials \(HTTP 401\)/,
    attempts: 1,
  },
  {
    name: "400 invalid_request_error is answered 400 with Anthropic's message",
    reply: {
      status: 400,
      body: errorBody("invalid_request_error", "messages.0.content.0.text: text content blocks must be non-empty"),
    },
    status: 400,
    type: "invalid_request_error",
    code: null,
    message: /^messages\.0\.content\.0\.text: text content blocks must be non-empty$/,
    attempts: 1,
  },
  {
    name: "400 prompt is too long is answered 400 context_length_exceeded",
    reply: {
      status: 400,
      body: errorBody("invalid_request_error", "prompt is too long: 210394 tokens > 200000 maximum"),
    },
    status: 400,
    type: "invalid_request_error",
    code: "context_length_exceeded",
    message: /^prompt is too long: 210394 tokens > 200000 maximum$/,
    attempts: 1,
  },
];

for (const c of httpCases) {
  Deno.test(`HTTP ${c.name}, streamed and JSON, to the raw client, the openai SDK and the Vercel AI SDK`, async () => {
    // The error itself, as strict clients get it: on Cursor's route a context overflow is otherwise the
    // answer Cursor compacts on (issue 14, point 4; tests/cursor_context_overflow_test.ts).
    const config = { cursor_context_overflow: "error" };
    await withAnthropic(() => ({ ...c.reply, split: 7 }), { config }, async ({ gateway, upstream }) => {
      for (const stream of [true, false]) {
        const label = `${c.name}, ${stream ? "streamed" : "JSON"}`;
        const before = upstream.requests.length;
        const response = await postJson(gateway, "/cursor/v1/chat/completions", { model: MODEL, messages, stream });
        const text = await response.text();
        assert.equal(response.status, c.status, label);
        for (const [name, value] of Object.entries(c.headers ?? {})) assert.equal(response.headers.get(name), value);
        const { error } = JSON.parse(text);
        assert.equal(error.type, c.type, label);
        assert.equal(error.code, c.code, label);
        assert.match(error.message, c.message, label);
        assert.ok(!text.includes(UPSTREAM_KEY), `${label}: the key never reaches the client`);
        assert.equal(upstream.requests.length - before, c.attempts, `${label}: upstream attempts`);

        const call = stream
          ? openai(gateway).chat.completions.stream({ model: MODEL, messages }).finalChatCompletion()
          : openai(gateway).chat.completions.create({ model: MODEL, messages });
        await assert.rejects(call, (e: unknown) => {
          assert.ok(e instanceof APIError, `${label}: APIError, got ${e}`);
          assert.equal(e.status, c.status);
          assert.match(e.message, new RegExp(c.message.source.replace(/^\^/, "")));
          return true;
        });
      }
      const vercelCall = generateText({ model: vercel(gateway), prompt: "hi", maxRetries: 0 });
      await assert.rejects(vercelCall, (e: unknown) => {
        assert.ok(APICallError.isInstance(e), `APICallError, got ${e}`);
        assert.equal(e.statusCode, c.status);
        assert.match(e.message, new RegExp(c.message.source.replace(/^\^/, "")));
        return true;
      });
      const streamed = streamText({ model: vercel(gateway), prompt: "hi", maxRetries: 0, onError: () => {} });
      const errors = (await drain(streamed.fullStream)).flatMap((part) => part.type === "error" ? [part.error] : []);
      assert.equal(errors.length, 1);
      assert.ok(APICallError.isInstance(errors[0]));
      assert.equal((errors[0] as APICallError).statusCode, c.status);
    });
  });
}

Deno.test("HTTP 529 once, then an answer: the retry serves the client", async () => {
  await withAnthropic(
    (_request, index) =>
      index === 0
        ? { status: 529, body: errorBody("overloaded_error", "Overloaded") }
        : { body: fixtureText("anthropic/text.sse"), split: 61 },
    {},
    async ({ gateway, upstream }) => {
      assertAnswer(await openaiStreamed(gateway), textAnswer, "openai");
      assert.equal(upstream.requests.length, 2);
    },
  );
});

Deno.test("HTTP 429 with retry-after 0, then an answer: the retry serves the client", async () => {
  await withAnthropic(
    (_request, index) =>
      index === 0
        ? { status: 429, headers: { "retry-after": "0" }, body: errorBody("rate_limit_error", "Slow down") }
        : { body: foldMessage(fixtureText("anthropic/text.sse")) },
    {},
    async ({ gateway, upstream }) => {
      assertAnswer(await openaiJson(gateway), textAnswer, "openai");
      assert.equal(upstream.requests.length, 2);
    },
  );
});

// ===== Thinking continuity =====

const SHELL: ChatCompletionTool = {
  type: "function",
  function: {
    name: "Shell",
    description: "Run a shell command.",
    parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
  },
};

const SIGNED_THINKING = {
  type: "thinking",
  thinking: "The user wants the tests run. I should call Shell with deno test.",
  signature: "RXFzaWduYXR1cmUtb25lLWZvci10ZXN0cw==",
};

/** Turn 1: thinking and a Shell call, streamed; turn 2 is built from what the client received. */
const thinkingTurns = async (
  keepDetails: boolean,
  check: (turn1: SentRequest, turn2: SentRequest) => void,
) => {
  await withAnthropic(
    (_request, index) =>
      index === 0
        ? { body: fixtureText("anthropic/thinking_tool_use.sse"), split: 7 }
        : { body: fixtureText("anthropic/text.sse"), split: 7 },
    {},
    async ({ gateway, upstream }) => {
      const first = [{ role: "user" as const, content: "Run the tests." }];
      const turn1 = await openaiStreamed(gateway, { messages: first, tools: [SHELL], reasoning_effort: "medium" });
      const message = turn1.completion.choices[0].message;
      const assistant: Json = {
        role: "assistant",
        content: message.content,
        tool_calls: message.tool_calls,
      };
      // As a chat client keeps it: every reasoning_details entry received, the sealed one included.
      if (keepDetails) assistant.reasoning_details = turn1.details;
      await openaiStreamed(gateway, {
        messages: [...first, assistant, { role: "tool", tool_call_id: "toolu_01ShellRun", content: "12 passed" }],
        tools: [SHELL],
        reasoning_effort: "medium",
      });
      assert.equal(upstream.requests.length, 2);
      check(upstream.requests[0], upstream.requests[1]);
    },
  );
};

Deno.test({
  name: "thinking round trip: reasoning_details sent back put the signed thinking block first in the assistant turn",
  // Relies on decode turning a chat assistant message's `reasoning_details` (reasoning.encrypted) into a
  // canonical reasoning item (src/decode/reasoning.ts).
  fn: async () => {
    await thinkingTurns(true, (turn1, turn2) => {
      assert.deepEqual(turn1.body.thinking, { type: "enabled", budget_tokens: 8192 });
      const assistant = turn2.body.messages[1];
      assert.equal(assistant.role, "assistant");
      assert.deepEqual(assistant.content.map((block: Json) => block.type), ["thinking", "text", "tool_use"]);
      assert.deepEqual(assistant.content[0], SIGNED_THINKING);
      assert.deepEqual(assistant.content[2], {
        type: "tool_use",
        id: "toolu_01ShellRun",
        name: "Shell",
        input: { command: "deno test -A" },
      });
      assert.equal(turn2.body.messages[2].content[0].type, "tool_result");
      assert.equal(turn2.body.messages[2].content[0].tool_use_id, "toolu_01ShellRun");
      // The tool-use turn opens with its thinking, so thinking stays on.
      assert.deepEqual(turn2.body.thinking, { type: "enabled", budget_tokens: 8192 });
    });
  },
});

Deno.test("thinking round trip without reasoning_details (Cursor drops them): turn 2 goes without thinking, no 400", async () => {
  await thinkingTurns(false, (turn1, turn2) => {
    assert.deepEqual(turn1.body.thinking, { type: "enabled", budget_tokens: 8192 });
    const assistant = turn2.body.messages[1];
    assert.deepEqual(assistant.content.map((block: Json) => block.type), ["text", "tool_use"]);
    assert.equal(turn2.body.thinking, undefined);
    assert.ok(!JSON.stringify(turn2.body).includes('"thinking"'), "no thinking block nor field");
  });
});

// ===== Cursor Agent with ApplyPatch =====

const HYBRID = JSON.parse(fixtureText("requests/cursor_agent_hybrid.json"));
const PATCH = '*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const a = 1;\n+const a = "é😀";\n*** End Patch';

Deno.test("Cursor Agent hybrid body served by Claude: ApplyPatch comes back as Cursor expects, with the raw patch", async () => {
  const sse = fixtureText("anthropic/custom_tool.sse");
  const { script, set } = serving();
  await withAnthropic(script, {}, async ({ gateway, upstream }) => {
    for (const split of SPLITS) {
      set({ body: sse, split });
      const label = splitName(split);
      const response = await postJson(gateway, "/cursor/v1/chat/completions", { ...HYBRID, model: MODEL });
      assert.equal(response.status, 200);
      const raw = parseStream(await response.text());
      assert.ok(raw.done, label);
      const calls = (raw.chunks as Json[]).flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
      // One call, as the Responses path presents a custom tool call: a function call whose arguments are the raw text.
      assert.deepEqual(calls[0], {
        index: 0,
        id: "toolu_01ApplyPatch",
        type: "function",
        function: { name: "ApplyPatch", arguments: calls[0].function.arguments },
      }, label);
      assert.ok(calls.slice(1).every((call: Json) => call.index === 0 && call.id === undefined), label);
      assert.equal(calls.map((call: Json) => call.function.arguments).join(""), PATCH, label);
      assert.equal(raw.content, "Updating the constant.", label);
      assert.equal(raw.chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason, "tool_calls");

      // The openai SDK's accumulator, given the same hybrid body.
      const stream = openai(gateway).chat.completions.stream({ model: MODEL, messages: [] }, {
        body: { ...HYBRID, model: MODEL, stream: true },
      });
      const completion = await stream.finalChatCompletion();
      const call = completion.choices[0].message.tool_calls![0];
      assert.deepEqual(call, {
        id: "toolu_01ApplyPatch",
        type: "function",
        function: { name: "ApplyPatch", arguments: PATCH },
      });
      assert.equal(completion.choices[0].finish_reason, "tool_calls");
      assert.equal(completion.usage?.prompt_tokens, 900 + 4096);
      assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 4096);
    }
    // What Claude was sent: ApplyPatch as a tool taking {input}, its history call as a tool_use with the raw patch.
    const sent = upstream.requests[0].body;
    const applyPatch = sent.tools.find((t: Json) => t.name === "ApplyPatch");
    assert.deepEqual(applyPatch.input_schema, {
      type: "object",
      properties: { input: { type: "string" } },
      required: ["input"],
    });
    assert.match(applyPatch.description, /lark grammar/);
    const history = sent.messages.flatMap((m: Json) => m.content).find((b: Json) => b.id === "call_patch_1");
    assert.deepEqual(history.input, { input: HYBRID.input[5].arguments });
    assert.equal(sent.metadata.user_id, "user-hash-5d41402abc");
    assert.equal(sent.thinking, undefined, "the last tool-use turn came back without thinking");
  });
});

Deno.test("Cursor Agent hybrid body, JSON: Claude's whole ApplyPatch input comes back as the raw patch", async () => {
  await withAnthropic(
    () => ({ body: fixtureText("anthropic/tool_use.json"), split: 7 }),
    {},
    async ({ gateway }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", {
        ...HYBRID,
        model: MODEL,
        stream: false,
      });
      assert.equal(response.status, 200);
      const completion = await response.json();
      assert.deepEqual(completion.choices[0].message.tool_calls, [
        {
          id: "toolu_01Weather",
          type: "function",
          function: { name: "get_weather", arguments: '{"location":"San Francisco, CA","unit":"c"}' },
        },
        {
          id: "toolu_01Patch",
          type: "function",
          function: {
            name: "ApplyPatch",
            arguments: "*** Begin Patch\n*** Add File: notes.md\n+weather\n*** End Patch",
          },
        },
      ]);
      assert.equal(completion.choices[0].finish_reason, "tool_calls");
    },
  );
});

// ===== Prompt caching =====

const breakpoints = (body: Json): string[] => {
  const out: string[] = [];
  (body.system ?? []).forEach((block: Json, i: number) => block.cache_control && out.push(`system[${i}]`));
  (body.tools ?? []).forEach((block: Json, i: number) => block.cache_control && out.push(`tools[${i}]`));
  body.messages.forEach((message: Json, m: number) =>
    message.content.forEach((block: Json, b: number) => block.cache_control && out.push(`messages[${m}][${b}]`))
  );
  return out;
};

const cachingTurns = async (provider: Record<string, unknown>, check: (turns: SentRequest[]) => void) => {
  const answer = foldMessage(fixtureText("anthropic/text.sse"));
  await withAnthropic(() => ({ body: answer }), { provider }, async ({ gateway, upstream }) => {
    const system = { role: "system" as const, content: "You are terse." };
    const first = [system, { role: "user" as const, content: "Name a pelican." }];
    const tools = [SHELL, { ...SHELL, function: { ...SHELL.function, name: "ReadFile" } }];
    const turn1 = await openaiJson(gateway, { messages: first, tools });
    await openaiJson(gateway, {
      messages: [...first, { role: "assistant", content: turn1.content }, { role: "user", content: "Another one." }],
      tools,
    });
    check(upstream.requests);
  });
};

Deno.test("prompt caching: a two-turn conversation marks system, the last tool and the newest user turns, at most 4", async () => {
  await cachingTurns({}, ([turn1, turn2]) => {
    assert.deepEqual(breakpoints(turn1.body), ["system[0]", "tools[1]", "messages[0][0]"]);
    // Turn 2 reads what turn 1 wrote (the same block of messages[0]) and writes the newest turn.
    assert.deepEqual(breakpoints(turn2.body), ["system[0]", "tools[1]", "messages[0][0]", "messages[2][0]"]);
    for (const turn of [turn1, turn2]) {
      const marks = JSON.stringify(turn.body).match(/"cache_control":\{"type":"ephemeral"\}/g) ?? [];
      assert.equal(marks.length, breakpoints(turn.body).length);
    }
  });
});

Deno.test('prompt caching: prompt_caching "off" on the provider sends no cache_control at all', async () => {
  await cachingTurns({ prompt_caching: "off" }, (turns) => {
    assert.equal(turns.length, 2);
    for (const turn of turns) assert.ok(!JSON.stringify(turn.body).includes("cache_control"));
  });
});

// ===== Request headers =====

Deno.test("request headers: x-api-key carries the key (no authorization), anthropic-version and the configured anthropic-beta", async () => {
  await withAnthropic(() => ({ body: fixtureText("anthropic/text.sse") }), {}, async ({ gateway, upstream }) => {
    await openaiStreamed(gateway);
    const sent = upstream.requests[0];
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers.get("x-api-key"), UPSTREAM_KEY);
    assert.equal(sent.headers.get("authorization"), null);
    assert.equal(sent.headers.get("anthropic-version"), "2023-06-01");
    assert.equal(sent.headers.get("anthropic-beta"), BETA);
    assert.equal(sent.headers.get("content-type"), "application/json");
    assert.ok(![...sent.headers.values()].some((value) => value.includes(VK)), "the virtual key stays at the gateway");
  });
});

// ===== Recordings =====

const RECORDINGS = Deno.env.get("GATEWAY_RECORDINGS");

Deno.test({
  name:
    "recordings: every real Anthropic exchange, split at 1, 7, 61 bytes and whole, is accepted by the openai client",
  ignore: RECORDINGS === undefined || RECORDINGS === "",
  fn: async (t) => {
    const dir = `${RECORDINGS}/anthropic`;
    const files = [...Deno.readDirSync(dir)].filter((entry) => entry.name.endsWith(".json")).map((e) => e.name).sort();
    assert.ok(files.length > 0, `no recordings in ${dir}`);
    for (const file of files) {
      const recording = JSON.parse(Deno.readTextFileSync(`${dir}/${file}`));
      await t.step(file, async () => {
        const { script, set } = serving();
        await withAnthropic(script, {}, async ({ gateway, upstream }) => {
          for (const split of SPLITS) {
            const label = `${file}, ${splitName(split)}`;
            set({ status: recording.status, headers: recording.headers, body: recording.body, split });
            if (recording.status !== 200) {
              const error = errorBodyOf(recording.body);
              await assert.rejects(
                openai(gateway).chat.completions.create({ model: MODEL, messages }),
                (e: unknown) => {
                  assert.ok(e instanceof APIError, `${label}: APIError, got ${e}`);
                  if (recording.status === 401) {
                    assert.equal(e.status, 502);
                    assert.match(e.message, /rejected the gateway's credentials/);
                  } else {
                    assert.equal(e.status, recording.status);
                    assert.match(e.message, new RegExp(escape(error.message)));
                  }
                  return true;
                },
              );
              continue;
            }
            const expected = expectedAnswer(
              recording.stream ? foldMessage(recording.body) : JSON.parse(recording.body),
            );
            const got = recording.stream ? await openaiStreamed(gateway) : await openaiJson(gateway);
            assertAnswer(got, expected, label);
            assertMessagesRequest(upstream.requests.at(-1)!, recording.stream);
          }
        });
      });
    }
  },
});

const errorBodyOf = (body: string): { type: string; message: string } => JSON.parse(body).error;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
