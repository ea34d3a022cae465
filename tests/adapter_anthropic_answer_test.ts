/**
 * The Anthropic adapter's answer side: Messages SSE streams and JSON answers (fixtures/anthropic/,
 * written from the protocol, providers.md §1.6-1.9) through the translator, then through the real
 * chat encoders, as a client would read them; and HTTP / in-stream failures as typed reasons.
 *
 * Every stream is framed by `eventsource-parser` from its text cut at 1, 7 and 61 bytes and whole:
 * the canonical events must not depend on where the network cut the bytes.
 *
 * With `GATEWAY_RECORDINGS` naming the recordings folder, the real streams in `anthropic/` are
 * replayed too (registered with `ignore: true` otherwise).
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import type { EncodeContext } from "../src/encode/context.ts";
import type { FailureReason } from "../src/errors/reasons.ts";
import type { ChatCompletionChunk, ChatToolCall, ReasoningDetail } from "../src/protocol/chat.ts";
import type { JsonObject, ResponsesEvent, ResponsesResponse } from "../src/protocol/responses.ts";
import { CustomInputReader } from "../src/upstream/adapters/custom_input.ts";
import { adapter, type AnthropicAnswerContext } from "../src/upstream/adapters/anthropic/index.ts";
import { openReasoning } from "../src/upstream/adapters/reasoning_envelope.ts";
import { isFailureEvent, type SseMessage } from "../src/upstream/adapters/types.ts";
import { MalformedEventError } from "../src/upstream/sse_events.ts";
import { encodeContext } from "./support/encode.ts";

const NOW = 1767225600000;
const CTX: AnthropicAnswerContext = {
  provider: "claude",
  model: "claude-sonnet-4-5",
  keyOrigin: "gateway",
  now: NOW,
  customTools: new Set(["ApplyPatch"]),
};

const fixture = (name: string) => Deno.readTextFile(new URL(`../fixtures/anthropic/${name}`, import.meta.url));

/** SSE text as the messages an upstream reader hands over, the bytes cut every `size` characters. */
const messagesOf = (text: string, size: number): SseMessage[] => {
  const messages: SseMessage[] = [];
  const parser = createParser({
    onEvent: (event) => messages.push(event.event === undefined ? { data: event.data } : event),
  });
  for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size));
  return messages.map(({ event, data }) => event === undefined ? { data } : { event, data });
};

const translate = (messages: SseMessage[], ctx: AnthropicAnswerContext = CTX): ResponsesEvent[] => {
  const translator = adapter.stream(ctx);
  const out: ResponsesEvent[] = [];
  for (const message of messages) translator.push(message, out);
  translator.end(out);
  return out;
};

const SIZES = [1, 7, 61, Number.MAX_SAFE_INTEGER];

/** The canonical events of a fixture, checked to be the same whatever the framing. */
const eventsOf = async (name: string, ctx: AnthropicAnswerContext = CTX): Promise<ResponsesEvent[]> => {
  const text = await fixture(name);
  const runs = SIZES.map((size) => translate(messagesOf(text, size), ctx));
  for (const run of runs.slice(1)) assert.deepEqual(run, runs[0], `${name}: the same events at every framing`);
  return runs[0];
};

type Frame = ChatCompletionChunk | "[DONE]" | { error: { message: string; type: string; code: string | null } };

const encodeCtx = (overrides: Partial<EncodeContext> = {}) =>
  encodeContext("chatcmpl-anthropic", { customTools: new Set(["ApplyPatch"]), ...overrides });

const encode = (events: ResponsesEvent[], ctx = encodeCtx()): { frames: Frame[]; text: string } => {
  const encoder = new ChunkEncoder(ctx);
  let text = "";
  for (const event of events) text += encoder.push(event);
  text += encoder.end();
  const frames = text.split("\n\n").filter((frame) => frame !== "").map((frame): Frame => {
    assert.ok(frame.startsWith("data: "), frame);
    const data = frame.slice(6);
    return data === "[DONE]" ? "[DONE]" : JSON.parse(data);
  });
  return { frames, text };
};

const chunksOf = (frames: Frame[]) =>
  frames.filter((frame): frame is ChatCompletionChunk => frame !== "[DONE]" && !("error" in frame));

interface Accumulated {
  content: string | null;
  reasoning?: string;
  reasoning_details: ReasoningDetail[];
  tool_calls: ChatToolCall[];
  annotations: unknown[];
  finish_reason: string | null;
  usage?: ChatCompletionChunk["usage"];
}

/** The message a Chat client rebuilds from the chunks. */
const accumulate = (frames: Frame[]): Accumulated => {
  const message: Accumulated = {
    content: null,
    reasoning_details: [],
    tool_calls: [],
    annotations: [],
    finish_reason: null,
  };
  for (const chunk of chunksOf(frames)) {
    if (chunk.usage) message.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta;
    if (typeof delta.content === "string") message.content = (message.content ?? "") + delta.content;
    if (delta.reasoning !== undefined) message.reasoning = (message.reasoning ?? "") + delta.reasoning;
    for (const detail of delta.reasoning_details ?? []) {
      const known = message.reasoning_details[detail.index];
      if (!known) message.reasoning_details[detail.index] = { ...detail };
      else if (detail.text !== undefined) known.text = (known.text ?? "") + detail.text;
    }
    for (const call of delta.tool_calls ?? []) {
      const known = message.tool_calls[call.index];
      if (!known) {
        assert.equal(call.function.arguments, "", "a call opens with empty arguments");
        message.tool_calls[call.index] = {
          id: call.id!,
          type: "function",
          function: { name: call.function.name!, arguments: "" },
        };
      } else known.function.arguments += call.function.arguments;
    }
    if (delta.annotations) message.annotations.push(...delta.annotations);
    if (choice.finish_reason) {
      assert.equal(message.finish_reason, null, "one finish chunk");
      message.finish_reason = choice.finish_reason;
    }
  }
  return message;
};

/** What the official openai client accumulates from the same chunks. */
const openaiFinal = async (frames: Frame[]) => {
  const lines = chunksOf(frames).map((chunk) => JSON.stringify(chunk)).join("\n") + "\n";
  const stream = ChatCompletionStream.fromReadableStream(new Response(lines).body!);
  return await stream.finalChatCompletion();
};

const terminal = (events: ResponsesEvent[]) => {
  const last = events.at(-1)!;
  assert.ok(last.type === "response.completed" || last.type === "response.incomplete", last.type);
  return last.response as ResponsesResponse;
};

const usageOf = (response: ResponsesResponse) => response.usage as unknown as JsonObject;

// ===== Streams =====

Deno.test("text: deltas, pings and padded payloads, usage with cache reads and writes", async () => {
  const events = await eventsOf("text.sse");
  assert.deepEqual(events[0], {
    type: "response.created",
    response: {
      id: "msg_01TextAnswer",
      object: "response",
      created_at: NOW / 1000,
      model: "claude-sonnet-4-5-20250929",
      status: "in_progress",
      output: [],
    },
  });
  assert.deepEqual(events.map((event) => event.type), [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_item.done",
    "response.completed",
  ]);
  const response = terminal(events);
  assert.equal(response.status, "completed");
  assert.deepEqual(response.output, [{
    type: "message",
    id: "msg_01TextAnswer_0",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: "Two names: Pelly and Sir Scoops-a-lot 🐦.", annotations: [] }],
  }]);
  assert.deepEqual(usageOf(response), {
    input_tokens: 21 + 3400 + 1200,
    input_tokens_details: { cached_tokens: 3400, cache_write_tokens: 1200 },
    output_tokens: 14,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 21 + 3400 + 1200 + 14,
  });

  const { frames } = encode(events);
  assert.equal(frames.at(-1), "[DONE]");
  const message = accumulate(frames);
  assert.equal(message.content, "Two names: Pelly and Sir Scoops-a-lot 🐦.");
  assert.equal(message.finish_reason, "stop");
  assert.equal(message.usage?.prompt_tokens, 4621);
  assert.equal(message.usage?.prompt_tokens_details.cached_tokens, 3400);
  assert.equal(message.usage?.completion_tokens, 14);

  const final = await openaiFinal(frames);
  assert.equal(final.choices[0].message.content, "Two names: Pelly and Sir Scoops-a-lot 🐦.");
  assert.equal(final.choices[0].finish_reason, "stop");
});

Deno.test("thinking then a tool call: reasoning text, sealed signature, streamed arguments", async () => {
  const events = await eventsOf("thinking_tool_use.sse");
  const response = terminal(events);
  assert.equal(response.status, "completed");
  const [reasoning, text, call] = response.output!;
  assert.equal(reasoning.type, "reasoning");
  assert.deepEqual(reasoning.content, [{
    type: "reasoning_text",
    text: "The user wants the tests run. I should call Shell with deno test.",
  }]);
  assert.deepEqual(reasoning.summary, []);
  assert.deepEqual(openReasoning(reasoning.encrypted_content), {
    api: "anthropic",
    payload: {
      blocks: [{
        type: "thinking",
        thinking: "The user wants the tests run. I should call Shell with deno test.",
        signature: "RXFzaWduYXR1cmUtb25lLWZvci10ZXN0cw==",
      }],
    },
  });
  assert.equal(text.type, "message");
  assert.deepEqual(call, {
    type: "function_call",
    id: "fc_01ThinkThenCall_2",
    call_id: "toolu_01ShellRun",
    name: "Shell",
    arguments: '{"command": "deno test -A"}',
    status: "completed",
  });
  const argumentDeltas = events.filter((event) => event.type === "response.function_call_arguments.delta");
  assert.deepEqual(argumentDeltas.map((event) => event.delta), ['{"comm', 'and": "deno test', ' -A"}']);

  const { frames } = encode(events);
  const message = accumulate(frames);
  assert.equal(message.reasoning, "The user wants the tests run. I should call Shell with deno test.");
  assert.equal(message.content, "Running the tests now.");
  assert.equal(message.finish_reason, "tool_calls");
  assert.deepEqual(message.tool_calls, [{
    id: "toolu_01ShellRun",
    type: "function",
    function: { name: "Shell", arguments: '{"command": "deno test -A"}' },
  }]);
  const encrypted = message.reasoning_details.find((detail) => detail.type === "reasoning.encrypted");
  assert.equal(encrypted?.data, reasoning.encrypted_content, "the client gets the sealed blocks to send back");

  const final = await openaiFinal(frames);
  assert.equal(final.choices[0].message.tool_calls?.[0].id, "toolu_01ShellRun");
});

Deno.test("parallel calls: a call without arguments carries {}", async () => {
  const events = await eventsOf("parallel_tools_no_args.sse");
  const calls = terminal(events).output!;
  assert.deepEqual(calls.map((call) => [call.call_id, call.name, call.arguments]), [
    ["toolu_01ListOne", "list_dir", "{}"],
    ["toolu_01ReadTwo", "read_file", '{"path": "main.py"}'],
  ]);
  const message = accumulate(encode(events).frames);
  assert.deepEqual(message.tool_calls.map((call) => [call.id, call.function.arguments]), [
    ["toolu_01ListOne", "{}"],
    ["toolu_01ReadTwo", '{"path": "main.py"}'],
  ]);
  assert.equal(message.finish_reason, "tool_calls");
  const final = await openaiFinal(encode(events).frames);
  assert.deepEqual(
    final.choices[0].message.tool_calls?.map((call) =>
      call.type === "function" ? JSON.parse(call.function.arguments) : undefined
    ),
    [
      {},
      { path: "main.py" },
    ],
  );
});

const PATCH_WITH_ESCAPES =
  '*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const a = 1;\n+const a = "é😀";\n*** End Patch';

Deno.test("a custom tool's call streams its raw text, escapes and surrogate pairs decoded across fragments", async () => {
  const events = await eventsOf("custom_tool.sse");
  const call = terminal(events).output![1];
  assert.deepEqual(call, {
    type: "custom_tool_call",
    id: "ctc_01PatchCall_1",
    call_id: "toolu_01ApplyPatch",
    name: "ApplyPatch",
    input: PATCH_WITH_ESCAPES,
    status: "completed",
  });
  const deltas = events.filter((event) => event.type === "response.custom_tool_call_input.delta")
    .map((event) => event.delta as string);
  assert.ok(deltas.length >= 3, "the raw text streams as it arrives");
  assert.equal(deltas.join(""), PATCH_WITH_ESCAPES);
  for (const delta of deltas) assert.ok(!/[\ud800-\udbff]$/.test(delta), "never ends on half a surrogate pair");

  const { frames } = encode(events);
  const message = accumulate(frames);
  assert.deepEqual(message.tool_calls, [{
    id: "toolu_01ApplyPatch",
    type: "function",
    function: { name: "ApplyPatch", arguments: PATCH_WITH_ESCAPES },
  }]);
  assert.equal(message.content, "Updating the constant.");
});

Deno.test("the custom input reader: split escapes, other key orders and cut-short JSON", () => {
  const read = (fragments: string[]) => {
    const reader = new CustomInputReader();
    const streamed = fragments.map((fragment) => reader.push(fragment)).join("");
    return { streamed, final: reader.finish() };
  };
  assert.deepEqual(read(['{ "input" : "a\\', "\\b\\", "tc\\u00", 'e9"}']), { streamed: "a\\b\tcé", final: "a\\b\tcé" });
  // Another key first: nothing can be streamed safely; the whole value comes at the end.
  assert.deepEqual(read(['{"why": "x", ', '"input": "patch"}']), { streamed: "", final: "patch" });
  // No `input` at all: the JSON itself is the text.
  assert.deepEqual(read(['{"patch": "p"}']), { streamed: "", final: '{"patch": "p"}' });
  // Cut short inside the value: what was decoded is all there is.
  assert.deepEqual(read(['{"input": "half a pat']), { streamed: "half a pat", final: "half a pat" });
  assert.deepEqual(read([]), { streamed: "", final: "" });
});

Deno.test("without customTools in the context, a custom tool's call is a function call encode unwraps", async () => {
  const { customTools: _, ...plain } = CTX;
  const events = await eventsOf("custom_tool.sse", plain);
  const call = terminal(events).output![1];
  assert.equal(call.type, "function_call");
  assert.equal(JSON.parse(call.arguments as string).input, PATCH_WITH_ESCAPES);
  const message = accumulate(encode(events).frames);
  assert.equal(message.tool_calls[0].function.arguments, PATCH_WITH_ESCAPES);
});

Deno.test("max_tokens after thinking and redacted thinking: incomplete, both blocks sealed in order", async () => {
  const events = await eventsOf("max_tokens_thinking.sse");
  const response = terminal(events);
  assert.equal(events.at(-1)!.type, "response.incomplete");
  assert.equal(response.status, "incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
  const reasoning = response.output![0];
  assert.deepEqual(openReasoning(reasoning.encrypted_content), {
    api: "anthropic",
    payload: {
      blocks: [
        { type: "thinking", thinking: "An explainer on kirigami parachutes.", signature: "S2lyaWdhbWktc2lnbmF0dXJl" },
        { type: "redacted_thinking", data: "UmVkYWN0ZWQtYmxvY2stZGF0YQ==" },
      ],
    },
  });
  const message = accumulate(encode(events).frames);
  assert.equal(message.finish_reason, "length");
  assert.equal(message.content, "# Kirigami parachutes\n\nCut paper");
  assert.equal(message.usage?.completion_tokens, 1152);
});

Deno.test("refusal: no content, incomplete content_filter, thinking tokens read", async () => {
  const events = await eventsOf("refusal.sse");
  const response = terminal(events);
  assert.deepEqual(response.incomplete_details, { reason: "content_filter" });
  assert.deepEqual(response.output, []);
  const message = accumulate(encode(events).frames);
  assert.equal(message.finish_reason, "content_filter");
  assert.equal(message.usage?.prompt_tokens, 97);
});

Deno.test("server tools and compaction are skipped; url citations become annotations; unknown events ignored", async () => {
  const events = await eventsOf("server_tools_citations.sse");
  const response = terminal(events);
  assert.equal(response.status, "completed");
  assert.deepEqual(response.output, [{
    type: "message",
    id: "msg_01WebSearch_0",
    status: "completed",
    role: "assistant",
    content: [
      { type: "output_text", text: "Let me search. ", annotations: [] },
      {
        type: "output_text",
        text: "Deno 2.9 made npm installs faster.",
        annotations: [{
          type: "url_citation",
          start_index: 0,
          end_index: 34,
          title: "Deno 2.9",
          url: "https://deno.com/blog/v2.9",
        }],
      },
    ],
  }]);
  const message = accumulate(encode(events).frames);
  assert.equal(message.content, "Let me search. Deno 2.9 made npm installs faster.");
  assert.deepEqual(message.annotations, [{
    type: "url_citation",
    url_citation: { start_index: 15, end_index: 49, title: "Deno 2.9", url: "https://deno.com/blog/v2.9" },
  }]);
  assert.equal(message.finish_reason, "stop");
});

Deno.test("an error event after output is one failure event carrying Overloaded; the encoder ends with an error frame", async () => {
  const events = await eventsOf("error_after_output.sse");
  assert.deepEqual(events.slice(0, 3).map((event) => event.type), [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
  ]);
  const last = events.at(-1)!;
  assert.ok(isFailureEvent(last));
  assert.deepEqual(last.reason, {
    _tag: "Overloaded",
    provider: "claude",
    outcome: "stream_error",
    message: "Overloaded",
    type: "overloaded_error",
  });
  assert.equal(events.length, 4, "nothing after the failure");
  const { frames } = encode(events);
  assert.ok(typeof frames.at(-1) === "object" && "error" in (frames.at(-1) as object));
});

Deno.test("an error event before any output: the failure alone (routing may still fail over)", async () => {
  const events = await eventsOf("error_before_output.sse");
  assert.equal(events.length, 1);
  assert.ok(isFailureEvent(events[0]));
  assert.equal(events[0].reason._tag, "RateLimited");
  assert.equal(events[0].reason.outcome, "stream_error");
});

Deno.test("a stream cut before its stop reason ends without a terminal event", async () => {
  const events = await eventsOf("truncated.sse");
  assert.equal(events.at(-1)!.type, "response.output_text.delta");
  const { frames } = encode(events);
  assert.ok(typeof frames.at(-1) === "object" && "error" in (frames.at(-1) as object));
});

Deno.test("a stream whose stop reason came but message_stop did not is finished by end()", async () => {
  const events = await eventsOf("stop_without_message_stop.sse");
  const response = terminal(events);
  assert.equal(response.status, "completed");
  assert.equal(accumulate(encode(events).frames).content, "Done.");
});

Deno.test("a payload that is not JSON is a MalformedEventError", () => {
  const translator = adapter.stream(CTX);
  assert.throws(() => translator.push({ event: "content_block_delta", data: "{not json" }, []), MalformedEventError);
  assert.throws(() => translator.push({ data: "[1,2]" }, []), MalformedEventError);
});

Deno.test("ids and created_at are deterministic: the same stream translates to the same events", async () => {
  const text = await fixture("thinking_tool_use.sse");
  assert.deepEqual(translate(messagesOf(text, 13)), translate(messagesOf(text, 13)));
});

// ===== JSON answers =====

const jsonAnswer = async (name: string, ctx: AnthropicAnswerContext = CTX) => {
  const result = adapter.response(JSON.parse(await fixture(name)), ctx);
  assert.ok(!("_tag" in result), `${name} is an answer`);
  return result as ResponsesResponse;
};

Deno.test("JSON: text and tool calls, a custom tool's raw text, then the chat completion", async () => {
  const response = await jsonAnswer("tool_use.json");
  assert.deepEqual(response.output, [
    {
      type: "message",
      id: "msg_01JsonToolUse_0",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: "I'll check the weather.", annotations: [] }],
    },
    {
      type: "function_call",
      id: "fc_01JsonToolUse_1",
      call_id: "toolu_01Weather",
      name: "get_weather",
      arguments: '{"location":"San Francisco, CA","unit":"c"}',
      status: "completed",
    },
    {
      type: "custom_tool_call",
      id: "ctc_01JsonToolUse_2",
      call_id: "toolu_01Patch",
      name: "ApplyPatch",
      input: "*** Begin Patch\n*** Add File: notes.md\n+weather\n*** End Patch",
      status: "completed",
    },
  ]);
  const completion = encodeCompletion(response, encodeCtx());
  const choice = completion.choices[0];
  assert.equal(choice.finish_reason, "tool_calls");
  assert.equal(choice.message.content, "I'll check the weather.");
  assert.deepEqual(choice.message.tool_calls?.map((call) => call.function.arguments), [
    '{"location":"San Francisco, CA","unit":"c"}',
    "*** Begin Patch\n*** Add File: notes.md\n+weather\n*** End Patch",
  ]);
  assert.equal(completion.usage.prompt_tokens, 599);
  assert.equal(completion.usage.completion_tokens, 152);
});

Deno.test("JSON: thinking and redacted thinking sealed, text, cache usage", async () => {
  const response = await jsonAnswer("redacted_thinking.json");
  const [reasoning, message] = response.output!;
  assert.deepEqual(openReasoning(reasoning.encrypted_content), {
    api: "anthropic",
    payload: {
      blocks: [
        { type: "thinking", thinking: "Check the magic string.", signature: "VGhpbmtpbmctc2lnbmF0dXJl" },
        { type: "redacted_thinking", data: "UmVkYWN0ZWQtZGF0YQ==" },
      ],
    },
  });
  assert.equal(message.type, "message");
  assert.deepEqual(usageOf(response), {
    input_tokens: 92 + 2055 + 10,
    input_tokens_details: { cached_tokens: 2055, cache_write_tokens: 10 },
    output_tokens: 194,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 92 + 2055 + 10 + 194,
  });
  const completion = encodeCompletion(response, encodeCtx());
  assert.equal(completion.choices[0].message.reasoning, "Check the magic string.");
  assert.equal(completion.choices[0].message.content, "I can't help with that string, but ask me anything else.");
  assert.equal(completion.choices[0].finish_reason, "stop");
  assert.equal(completion.usage.prompt_tokens_details.cached_tokens, 2055);
});

Deno.test("JSON: max_tokens is an incomplete answer, finish_reason length", async () => {
  const response = await jsonAnswer("max_tokens.json");
  assert.equal(response.status, "incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(encodeCompletion(response, encodeCtx()).choices[0].finish_reason, "length");
});

Deno.test("JSON: an error body in a 200 is its failure; a body that is no message is MalformedAnswer", () => {
  const overloaded = adapter.response(
    { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    CTX,
  ) as FailureReason;
  assert.equal(overloaded._tag, "Overloaded");
  const malformed = adapter.response({ hello: "world" }, CTX) as FailureReason;
  assert.equal(malformed._tag, "MalformedAnswer");
});

Deno.test("the streamed and the JSON forms of one answer give the same chat message", async () => {
  const events = await eventsOf("thinking_tool_use.sse");
  const streamed = accumulate(encode(events).frames);
  const json = encodeCompletion(terminal(events), encodeCtx()).choices[0].message;
  assert.equal(streamed.content, json.content);
  assert.equal(streamed.reasoning, json.reasoning);
  assert.deepEqual(streamed.tool_calls, json.tool_calls);
});

// ===== HTTP failures =====

const failure = (status: number, body: unknown, headers: Record<string, string> = {}, ctx = CTX) =>
  adapter.failure(
    { status, headers: new Headers(headers), body: typeof body === "string" ? body : JSON.stringify(body) },
    ctx,
  );

const errorBody = (type: string, message: string) => ({
  type: "error",
  error: { type, message },
  request_id: "req_011TestFailure",
});

Deno.test("529 and overloaded_error are Overloaded (retried)", () => {
  assert.deepEqual(failure(529, errorBody("overloaded_error", "Overloaded")), {
    _tag: "Overloaded",
    provider: "claude",
    outcome: "529",
    message: "Overloaded",
    type: "overloaded_error",
  });
  assert.equal(failure(503, errorBody("overloaded_error", "Overloaded"))._tag, "Overloaded");
});

Deno.test("429 rate_limit_error is RateLimited with retry-after; the spend cap is QuotaExhausted", () => {
  assert.deepEqual(
    failure(429, errorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), {
      "retry-after": "12",
    }),
    {
      _tag: "RateLimited",
      provider: "claude",
      outcome: "429",
      message: "Number of request tokens has exceeded your per-minute rate limit",
      type: "rate_limit_error",
      code: null,
      param: null,
      retryAfterMs: 12000,
    },
  );
  const cap = {
    type: "error",
    error: {
      type: "rate_limit_error",
      message: "You have reached your specified workspace API usage limits.",
      details: { error_code: "enforced_spend_limit_reached" },
    },
  };
  assert.equal(failure(429, cap)._tag, "QuotaExhausted");
  assert.equal(failure(429, cap, {}, { ...CTX, keyOrigin: "client" })._tag, "InvalidRequest");
});

Deno.test("401 and 403 are KeyRejected, never keeping the message", () => {
  assert.deepEqual(failure(401, errorBody("authentication_error", "invalid x-api-key")), {
    _tag: "KeyRejected",
    provider: "claude",
    outcome: "401",
    status: 401,
    keyOrigin: "gateway",
  });
  assert.equal(failure(403, errorBody("permission_error", "no access"))._tag, "KeyRejected");
});

Deno.test("400 invalid_request_error is InvalidRequest with its message; 'prompt is too long' is ContextTooLong", () => {
  const message = "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01.";
  assert.deepEqual(failure(400, errorBody("invalid_request_error", message)), {
    _tag: "InvalidRequest",
    provider: "claude",
    outcome: "400",
    status: 400,
    message,
    type: "invalid_request_error",
    code: null,
    param: null,
  });
  assert.deepEqual(
    failure(400, errorBody("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum")),
    {
      _tag: "ContextTooLong",
      provider: "claude",
      outcome: "400",
      message: "prompt is too long: 208310 tokens > 200000 maximum",
      type: "invalid_request_error",
      code: null,
      param: null,
    },
  );
});

Deno.test("404 naming the model is ModelNotFound; 413 is InvalidRequest 413; 500 is Unavailable", () => {
  assert.equal(failure(404, errorBody("not_found_error", "model: claude-sonnet-9"))._tag, "ModelNotFound");
  const tooLarge = failure(413, errorBody("request_too_large", "Request exceeds the maximum allowed number of bytes."));
  assert.equal(tooLarge._tag, "InvalidRequest");
  assert.equal((tooLarge as { status: number }).status, 413);
  assert.equal(failure(500, errorBody("api_error", "Internal server error"))._tag, "Unavailable");
  assert.equal(failure(502, "<html>Bad gateway</html>")._tag, "Unavailable");
});

Deno.test("in-stream errors map by their type", () => {
  const push = (type: string, message: string) => {
    const out: ResponsesEvent[] = [];
    adapter.stream(CTX).push({ event: "error", data: JSON.stringify(errorBody(type, message)) }, out);
    assert.ok(isFailureEvent(out[0]));
    return out[0].reason;
  };
  assert.equal(push("api_error", "Internal server error")._tag, "Unavailable");
  assert.deepEqual(push("authentication_error", "invalid x-api-key"), {
    _tag: "KeyRejected",
    provider: "claude",
    outcome: "stream_error",
    status: 401,
    keyOrigin: "gateway",
    inStream: true,
  });
  assert.equal(
    push("invalid_request_error", "prompt is too long: 300000 tokens > 200000 maximum")._tag,
    "ContextTooLong",
  );
});

// ===== Recordings (optional) =====

const DIR = Deno.env.get("GATEWAY_RECORDINGS");

Deno.test({
  name: "recorded Anthropic answers translate and encode without a failure",
  ignore: DIR === undefined || DIR === "",
  fn: async () => {
    for await (const entry of Deno.readDir(`${DIR}/anthropic`)) {
      if (!entry.name.endsWith(".json")) continue;
      const recording = JSON.parse(await Deno.readTextFile(`${DIR}/anthropic/${entry.name}`));
      if (recording.status !== 200) {
        const reason = failure(recording.status, recording.body, recording.headers ?? {});
        assert.notEqual(reason._tag, "MalformedAnswer", entry.name);
        continue;
      }
      let response: ResponsesResponse;
      let chunks: Accumulated;
      if (recording.stream) {
        const runs = [1, 61, Number.MAX_SAFE_INTEGER].map((size) => translate(messagesOf(recording.body, size)));
        for (const run of runs) assert.deepEqual(run, runs[0], entry.name);
        const events = runs[0];
        response = terminal(events);
        chunks = accumulate(encode(events).frames);
      } else {
        response = adapter.response(JSON.parse(recording.body), CTX) as ResponsesResponse;
        const completion = encodeCompletion(response, encodeCtx());
        chunks = {
          content: completion.choices[0].message.content,
          reasoning_details: [],
          tool_calls: completion.choices[0].message.tool_calls ?? [],
          annotations: [],
          finish_reason: completion.choices[0].finish_reason,
        };
      }
      const stop = /"stop_reason":"(\w+)"/.exec(recording.body)?.[1];
      const expected = stop === "max_tokens"
        ? "length"
        : stop === "refusal"
        ? "content_filter"
        : stop === "tool_use"
        ? "tool_calls"
        : "stop";
      assert.equal(chunks.finish_reason, expected, entry.name);
      for (const call of chunks.tool_calls) JSON.parse(call.function.arguments);
      for (const item of response.output ?? []) {
        if (item.type === "reasoning" && item.encrypted_content !== undefined) {
          assert.equal(openReasoning(item.encrypted_content).api, "anthropic", entry.name);
        }
      }
    }
  },
});
