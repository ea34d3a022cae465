/**
 * The Chat Completions adapter's answer side: streams, JSON answers and HTTP failures of
 * OpenAI-compatible providers into canonical form, then through the real encoders.
 *
 * Each `fixtures/chat/*.sse` stream (written from the providers' wire formats, not copied from
 * recordings) is framed by `eventsource-parser` from its bytes split at 1, 7 and 61 bytes and
 * whole (multi-byte characters cut in half), translated, and must give the same canonical
 * events every time; those events go through `ChunkEncoder` and the chat chunks a client reads
 * are checked (text, reasoning, tool calls, finish_reason, usage), and a few through the
 * official openai SDK's stream accumulator. JSON answers go through `response()` and
 * `encodeCompletion`.
 *
 * With `GATEWAY_RECORDINGS` set, every recording in `chat-providers/` is replayed as well.
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import type { EncodeContext } from "../src/encode/context.ts";
import type { FailureReason } from "../src/errors/reasons.ts";
import type { ChatCompletion, ChatCompletionChunk, ReasoningDetail } from "../src/protocol/chat.ts";
import type { JsonObject, ResponsesEvent, ResponsesResponse } from "../src/protocol/responses.ts";
import { adapter } from "../src/upstream/adapters/chat/index.ts";
import type { ChatAnswerContext } from "../src/upstream/adapters/chat/wire.ts";
import { openReasoning } from "../src/upstream/adapters/reasoning_envelope.ts";
import { type FailureEvent, isFailureEvent } from "../src/upstream/adapters/types.ts";
import { MalformedEventError } from "../src/upstream/sse_events.ts";
import { encodeContext, PATCH } from "./support/encode.ts";

const NOW = 1767225600000;

const answerContext = (overrides: Partial<ChatAnswerContext> = {}): ChatAnswerContext => ({
  provider: "openrouter",
  model: "requested-model",
  keyOrigin: "gateway",
  now: NOW,
  ...overrides,
});

const fixtureBytes = (name: string): Uint8Array =>
  Deno.readFileSync(new URL(`../fixtures/chat/${name}`, import.meta.url));
const fixtureText = (name: string): string => new TextDecoder().decode(fixtureBytes(name));

interface Translated {
  readonly events: ResponsesEvent[];
  /** What `push` threw, if anything (then `end` was not called). */
  readonly thrown?: unknown;
}

/** Frames `bytes` (fed `size` bytes at a time) with eventsource-parser into a fresh translator, then `end()`. */
const translateBytes = (bytes: Uint8Array, size: number, context: ChatAnswerContext): Translated => {
  const translator = adapter.stream(context);
  const events: ResponsesEvent[] = [];
  let thrown: unknown;
  const parser = createParser({
    onEvent: (message) => {
      if (thrown !== undefined) return;
      try {
        translator.push({ event: message.event, data: message.data }, events);
      } catch (error) {
        thrown = error;
      }
    },
  });
  const decoder = new TextDecoder();
  for (let at = 0; at < bytes.length; at += size) {
    parser.feed(decoder.decode(bytes.subarray(at, Math.min(bytes.length, at + size)), { stream: true }));
  }
  parser.feed(decoder.decode());
  if (thrown === undefined) translator.end(events);
  return thrown === undefined ? { events } : { events, thrown };
};

const SPLITS = [1, 7, 61];

/** The fixture's canonical events, checked to be the same whatever the read sizes. */
const translate = (name: string, context = answerContext()): Translated => {
  const bytes = fixtureBytes(name);
  const whole = translateBytes(bytes, bytes.length, context);
  for (const size of SPLITS) {
    const split = translateBytes(bytes, size, context);
    assert.deepEqual(split.events, whole.events, `${name} read ${size} bytes at a time`);
    assert.equal(String(split.thrown), String(whole.thrown));
  }
  return whole;
};

const types = (events: ResponsesEvent[]) => events.map((event) => event.type);

const terminal = (events: ResponsesEvent[]): ResponsesResponse => {
  const last = events.at(-1);
  assert.ok(last && (last.type === "response.completed" || last.type === "response.incomplete"), `ends: ${last?.type}`);
  return last.response as ResponsesResponse;
};

const failureOf = (events: ResponsesEvent[]): FailureReason => {
  const last = events.at(-1);
  assert.ok(last && isFailureEvent(last), `ends with a failure event, got ${last?.type}`);
  return (last as FailureEvent).reason;
};

// ===== Through the chunk encoder =====

type Frame = ChatCompletionChunk | "[DONE]" | { error: { message: string; type: string; code: string | null } };

const encodeEvents = (events: ResponsesEvent[], overrides: Partial<EncodeContext> = {}): Frame[] => {
  const encoder = new ChunkEncoder(encodeContext("chatcmpl-chat", overrides));
  let text = "";
  for (const event of events) text += encoder.push(event);
  text += encoder.end();
  return text.split("\n\n").filter((frame) => frame !== "").map((frame): Frame => {
    assert.ok(frame.startsWith("data: "), frame);
    const data = frame.slice(6);
    return data === "[DONE]" ? "[DONE]" : JSON.parse(data);
  });
};

const chunksOf = (frames: Frame[]) =>
  frames.filter((frame): frame is ChatCompletionChunk => frame !== "[DONE]" && !("error" in frame));

interface Message {
  content: string;
  reasoning: string;
  details: ReasoningDetail[];
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finish: string | null;
  usage: ChatCompletionChunk["usage"];
  frames: Frame[];
}

/** A streamed answer as a client rebuilds it; checks the shape strict clients rely on. */
const clientView = (events: ResponsesEvent[], overrides: Partial<EncodeContext> = {}): Message => {
  const frames = encodeEvents(events, overrides);
  const message: Message = {
    content: "",
    reasoning: "",
    details: [],
    toolCalls: [],
    finish: null,
    usage: undefined,
    frames,
  };
  for (const chunk of chunksOf(frames)) {
    if (chunk.usage) message.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta;
    if (typeof delta.content === "string") message.content += delta.content;
    if (typeof delta.reasoning === "string") message.reasoning += delta.reasoning;
    for (const detail of delta.reasoning_details ?? []) message.details.push(detail);
    for (const call of delta.tool_calls ?? []) {
      if (call.id !== undefined) {
        assert.equal(call.index, message.toolCalls.length, "tool call indexes are dense");
        message.toolCalls.push({ id: call.id, name: call.function?.name ?? "", arguments: "" });
      }
      message.toolCalls[call.index].arguments += call.function?.arguments ?? "";
    }
    if (choice.finish_reason !== null) {
      assert.equal(message.finish, null, "one finish chunk");
      message.finish = choice.finish_reason;
    }
  }
  return message;
};

/** A successful stream: role first, one finish, then a usage chunk and [DONE]. */
const assertFinished = (message: Message) => {
  const { frames } = message;
  assert.equal(frames.at(-1), "[DONE]");
  const chunks = chunksOf(frames);
  assert.equal(chunks.length, frames.length - 1, "no error frame");
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  assert.deepEqual(chunks.at(-1)!.choices, []);
  assert.ok(message.finish !== null);
};

const usage = (prompt: number, completion: number, total: number, cached: number, reasoning: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: total,
  prompt_tokens_details: {
    cached_tokens: cached,
    cache_write_tokens: 0,
    cached_read_tokens: cached,
    cached_write_tokens: 0,
  },
  completion_tokens_details: { reasoning_tokens: reasoning },
});

/** The chunk frames through the official openai SDK's accumulator (`ChatCompletionStream`). */
const sdkFinal = async (frames: Frame[]) => {
  const lines = chunksOf(frames).map((chunk) => JSON.stringify(chunk) + "\n").join("");
  const stream = ChatCompletionStream.fromReadableStream(new Response(lines).body!);
  return await stream.finalChatCompletion();
};

// ===== Streams =====

Deno.test("chat stream: text, then usage in a separate choices:[] chunk after the finish", async () => {
  const { events } = translate("text_usage_chunk.sse");
  assert.deepEqual(types(events), [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_item.done",
    "response.completed",
  ]);
  const response = terminal(events);
  assert.equal(response.model, "gpt-4.1-mini");
  assert.equal(response.created_at, 1767225600);
  assert.deepEqual(response.output, [{
    type: "message",
    id: "msg_0",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "Hello, wörld ✓", annotations: [] }],
  }]);
  assert.deepEqual(response.usage, {
    input_tokens: 1200,
    input_tokens_details: { cached_tokens: 1024 },
    output_tokens: 4,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 1204,
  });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.content, "Hello, wörld ✓");
  assert.equal(message.finish, "stop");
  assert.deepEqual({ ...message.usage, cost: undefined }, { ...usage(1200, 4, 1204, 1024, 0), cost: undefined });
  const final = await sdkFinal(message.frames);
  assert.equal(final.choices[0].message.content, "Hello, wörld ✓");
  assert.equal(final.choices[0].finish_reason, "stop");
});

Deno.test("chat stream: the terminal event waits for the usage chunk that follows the finish", () => {
  const translator = adapter.stream(answerContext());
  const out: ResponsesEvent[] = [];
  const chunk = (body: JsonObject) => translator.push({ data: JSON.stringify(body) }, out);
  chunk({ id: "a", created: 1, model: "m", choices: [{ index: 0, delta: { content: "x" }, finish_reason: null }] });
  chunk({ id: "a", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
  assert.ok(!types(out).includes("response.completed"), "held after the finish");
  chunk({ id: "a", created: 1, model: "m", choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } });
  assert.equal(out.at(-1)!.type, "response.completed");
  assert.equal(terminal(out).usage?.total_tokens, 4);
  const count = out.length;
  translator.push({ data: "[DONE]" }, out);
  translator.end(out);
  assert.equal(out.length, count, "nothing after the terminal event");
});

Deno.test("chat stream: DeepSeek reasoning_content, usage with prompt_cache_hit_tokens on the finish chunk", async () => {
  const { events } = translate("deepseek_reasoning_content.sse", answerContext({ provider: "deepseek" }));
  assert.deepEqual(types(events), [
    "response.created",
    "response.output_item.added",
    "response.reasoning_text.delta",
    "response.reasoning_text.delta",
    "response.output_item.done",
    "response.output_item.added",
    "response.output_text.delta",
    "response.output_item.done",
    "response.completed",
  ]);
  const response = terminal(events);
  const { encrypted_content, ...reasoning } = response.output![0];
  assert.deepEqual(reasoning, {
    type: "reasoning",
    id: "rs_0",
    summary: [],
    content: [{ type: "reasoning_text", text: "The user greets. Reply briefly." }],
  });
  // Sealed for DeepSeek alone, for `replayReasoningContent`.
  assert.deepEqual(openReasoning(encrypted_content), {
    api: "chat",
    payload: { provider: "deepseek", reasoning_content: "The user greets. Reply briefly." },
  });
  assert.equal(response.usage?.input_tokens_details?.cached_tokens, 64);
  assert.equal(response.usage?.output_tokens_details?.reasoning_tokens, 9);
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "The user greets. Reply briefly.");
  assert.deepEqual(message.details.map((detail) => detail.type), [
    "reasoning.text",
    "reasoning.text",
    "reasoning.encrypted",
  ]);
  assert.equal(message.content, "Hi!");
  assert.deepEqual({ ...message.usage, cost: undefined }, { ...usage(70, 12, 82, 64, 9), cost: undefined });
  const final = await sdkFinal(message.frames);
  assert.equal(final.choices[0].message.content, "Hi!");
});

Deno.test("chat stream: Groq gpt-oss `reasoning`, a whole tool call in one chunk, usage only in x_groq", async () => {
  const { events } = translate("groq_reasoning_whole_tool_call.sse", answerContext({ provider: "groq" }));
  const response = terminal(events);
  assert.equal(response.status, "completed");
  // Text from `reasoning` has no confirmed way back (providers.md §3.2): nothing is sealed.
  assert.equal(response.output![0].encrypted_content, undefined);
  assert.deepEqual(response.output![1], {
    type: "function_call",
    id: "fc_1",
    call_id: "fc_g1",
    name: "get_weather",
    arguments: '{"city":"Paris"}',
    status: "completed",
  });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "Need the weather tool.");
  assert.deepEqual(message.toolCalls, [{ id: "fc_g1", name: "get_weather", arguments: '{"city":"Paris"}' }]);
  assert.equal(message.finish, "tool_calls");
  assert.deepEqual({ ...message.usage, cost: undefined }, { ...usage(300, 40, 340, 0, 20), cost: undefined });
  const final = await sdkFinal(message.frames);
  assert.deepEqual(
    final.choices[0].message.tool_calls?.map((call) => call.type === "function" ? call.function : call),
    [
      { name: "get_weather", arguments: '{"city":"Paris"}' },
    ],
  );
});

Deno.test("chat stream: OpenRouter reasoning + reasoning_details are read once; the signature rides in an envelope", () => {
  const { events } = translate("openrouter_reasoning_details.sse");
  const response = terminal(events);
  const reasoning = response.output![0];
  assert.equal(reasoning.type, "reasoning");
  assert.deepEqual(reasoning.content, [{ type: "reasoning_text", text: "Two plus two is four." }]);
  const opened = openReasoning(reasoning.encrypted_content);
  assert.equal(opened.api, "chat");
  assert.deepEqual((opened as { payload: unknown }).payload, {
    provider: "openrouter",
    reasoning_details: [{
      type: "reasoning.text",
      text: "Two plus two is four.",
      format: "anthropic-claude-v1",
      index: 0,
      signature: "c2lnbmF0dXJlLTE=",
    }],
  });
  // Cache reads and writes (OpenRouter `prompt_tokens_details.cache_write_tokens`).
  assert.deepEqual(response.usage?.input_tokens_details, { cached_tokens: 10, cache_write_tokens: 20 });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "Two plus two is four.");
  assert.equal(message.content, "2 + 2 = 4");
  assert.equal(message.finish, "stop");
  assert.deepEqual(message.details.map((detail) => detail.type), [
    "reasoning.text",
    "reasoning.text",
    "reasoning.encrypted",
  ]);
  assert.equal(message.details.at(-1)!.data, reasoning.encrypted_content);
  assert.equal(message.usage?.prompt_tokens_details.cached_tokens, 10);
});

Deno.test("chat stream: an OpenRouter error chunk after output is a failure event, not a finish", () => {
  const { events } = translate("openrouter_error_after_output.sse");
  assert.deepEqual(types(events), [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
    "error",
  ]);
  const reason = failureOf(events);
  assert.equal(reason._tag, "Unavailable");
  assert.equal(reason.outcome, "stream_error");
  assert.equal((reason as { status?: number }).status, 502);
  assert.equal((reason as { message?: string }).message, "Provider returned error");
  // The encoder answers with an error frame and never a finish (its wording of typed reasons is routing's to do).
  const frames = encodeEvents(events);
  assert.ok("error" in (frames.at(-1) as object));
  assert.ok(chunksOf(frames).every((chunk) => chunk.choices[0]?.finish_reason === null));
});

Deno.test("chat stream: an OpenRouter error chunk before any output is a rate limit (its numeric code)", () => {
  const { events } = translate("openrouter_error_before_output.sse");
  assert.deepEqual(types(events), ["error"]);
  const reason = failureOf(events);
  assert.equal(reason._tag, "RateLimited");
  assert.match((reason as { message?: string }).message ?? "", /temporarily rate-limited/);
});

Deno.test("chat stream: finish_reason 'error' without an error object fails the answer", () => {
  const { events } = translate("finish_error_without_error_object.sse", answerContext({ provider: "mistral" }));
  const reason = failureOf(events);
  assert.equal(reason._tag, "Unavailable");
  assert.equal((reason as { code?: string }).code, "error");
  assert.equal(reason.provider, "mistral");
});

Deno.test("chat stream: vLLM's top-level {object:'error'} chunk over the context window is ContextTooLong", () => {
  const reason = failureOf(translate("vllm_error_object.sse", answerContext({ provider: "vllm" })).events);
  assert.equal(reason._tag, "ContextTooLong");
  assert.match((reason as { message: string }).message, /maximum context length is 32768/);
});

Deno.test("chat stream: Mistral Magistral thinking parts are reasoning, text parts and strings are text", () => {
  const { events } = translate("mistral_magistral_thinking_parts.sse", answerContext({ provider: "mistral" }));
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "Square of 12 is 144.");
  assert.equal(message.content, "12² = 144");
  assert.equal(message.usage?.prompt_tokens_details.cached_tokens, 5);
  assert.deepEqual(terminal(events).output!.map((item) => item.type), ["reasoning", "message"]);
});

Deno.test("chat stream: parallel calls streamed by index; a call without arguments carries {}", async () => {
  const { events } = translate("parallel_tool_calls_fragments.sse", answerContext({ provider: "openai" }));
  const response = terminal(events);
  assert.deepEqual(response.output!.map((item) => [item.type, item.call_id, item.arguments]), [
    ["message", undefined, undefined],
    ["function_call", "call_a", '{"path":"a.ts"}'],
    ["function_call", "call_b", "{}"],
    ["function_call", "call_c", '{"path":"b.ts"}'],
  ]);
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.content, "Checking both.");
  assert.deepEqual(message.toolCalls, [
    { id: "call_a", name: "ReadFile", arguments: '{"path":"a.ts"}' },
    { id: "call_b", name: "ListDir", arguments: "{}" },
    { id: "call_c", name: "ReadFile", arguments: '{"path":"b.ts"}' },
  ]);
  assert.equal(message.finish, "tool_calls");
  const final = await sdkFinal(message.frames);
  assert.deepEqual(
    final.choices[0].message.tool_calls?.map((call) => [
      call.id,
      call.type === "function" ? call.function.arguments : call,
    ]),
    [
      ["call_a", '{"path":"a.ts"}'],
      ["call_b", "{}"],
      ["call_c", '{"path":"b.ts"}'],
    ],
  );
  assert.equal(final.usage?.prompt_tokens, 500);
});

Deno.test("chat stream: calls without an index are told apart by id (Gemini's endpoint, old Ollama)", () => {
  const { events } = translate("tool_calls_without_index.sse", answerContext({ provider: "gemini-openai" }));
  const message = clientView(events);
  assertFinished(message);
  assert.deepEqual(message.toolCalls, [
    { id: "call_x1", name: "ReadFile", arguments: '{"path":"x.ts"}' },
    { id: "call_x2", name: "ReadFile", arguments: '{"path":"y.ts"}' },
  ]);
  assert.deepEqual({ ...message.usage, cost: undefined }, { ...usage(80, 20, 100, 0, 0), cost: undefined });
});

Deno.test("chat stream: an ApplyPatch call is a custom_tool_call with the raw patch when the answer knows its custom tools", () => {
  const customTools = new Set(["ApplyPatch"]);
  const { events } = translate("apply_patch_call.sse", answerContext({ provider: "deepseek", customTools }));
  const response = terminal(events);
  assert.deepEqual(response.output, [{
    type: "custom_tool_call",
    id: "ctc_0",
    call_id: "call_patch_9",
    name: "ApplyPatch",
    input: PATCH,
    status: "completed",
  }]);
  assert.ok(types(events).includes("response.custom_tool_call_input.delta"));
  assert.ok(!types(events).includes("response.function_call_arguments.delta"), "the JSON wrapper never leaks");
  assert.equal(response.usage?.input_tokens_details?.cached_tokens, 768);
  const message = clientView(events, { customTools });
  assertFinished(message);
  assert.deepEqual(message.toolCalls, [{ id: "call_patch_9", name: "ApplyPatch", arguments: PATCH }]);
});

Deno.test("chat stream: without custom tool names the call stays a function_call, and encode unwraps it", () => {
  const { events } = translate("apply_patch_call.sse", answerContext({ provider: "deepseek" }));
  assert.equal(terminal(events).output![0].type, "function_call");
  const message = clientView(events, { customTools: new Set(["ApplyPatch"]) });
  assertFinished(message);
  assert.deepEqual(message.toolCalls, [{ id: "call_patch_9", name: "ApplyPatch", arguments: PATCH }]);
});

Deno.test("chat stream: Mistral's model_length is incomplete (max_output_tokens), finish 'length'", () => {
  const { events } = translate("length_model_length.sse", answerContext({ provider: "mistral" }));
  const response = terminal(events);
  assert.equal(events.at(-1)!.type, "response.incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.content, "The sky is blue because of Rayleigh");
  assert.equal(message.finish, "length");
});

Deno.test("chat stream: content_filter is incomplete (content_filter)", () => {
  const { events } = translate("content_filter.sse", answerContext({ provider: "azure" }));
  assert.deepEqual(terminal(events).incomplete_details, { reason: "content_filter" });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.finish, "content_filter");
});

Deno.test("chat stream: no finish_reason at all, then [DONE], completes", () => {
  const { events } = translate("no_finish_reason_then_done.sse", answerContext({ provider: "zai" }));
  assert.equal(terminal(events).status, "completed");
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "Simple sum.");
  assert.equal(message.content, "4");
  // The provider reported no usage: the client gets the estimate of what came back, 12 characters
  // in 3 tokens (no prompt was counted here) (issue 14, point 5).
  assert.deepEqual({ ...message.usage, cost: undefined }, { ...usage(0, 3, 3, 0, 0), cost: undefined });
});

Deno.test("chat stream: llama.cpp arguments before the name are held; usage from timings", () => {
  const { events } = translate("llamacpp_timings_args_before_name.sse", answerContext({ provider: "llamacpp" }));
  const response = terminal(events);
  assert.deepEqual(response.usage, {
    input_tokens: 327,
    input_tokens_details: { cached_tokens: 100 },
    output_tokens: 31,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 358,
  });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "Call run_me.");
  assert.deepEqual(message.toolCalls, [
    { id: "Xq7LmZ0pAbCdEfGhIjKlMnOpQrStUvWx", name: "run_me", arguments: '{"bar":["foo"]}' },
  ]);
});

Deno.test("chat stream: xAI's reasoning tokens outside completion_tokens are added to the output count", () => {
  const { events } = translate("xai_reasoning_outside_completion.sse", answerContext({ provider: "xai" }));
  assert.deepEqual(terminal(events).usage, {
    input_tokens: 291,
    input_tokens_details: { cached_tokens: 290 },
    output_tokens: 222,
    output_tokens_details: { reasoning_tokens: 196 },
    total_tokens: 513,
  });
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.reasoning, "User wants the weather.");
  assert.deepEqual(message.toolCalls, [{ id: "call_77", name: "weather", arguments: '{"location":"Oslo"}' }]);
});

Deno.test("chat stream: with n>1 only choice 0 is used", () => {
  const { events } = translate("two_choices.sse", answerContext({ provider: "openai" }));
  const message = clientView(events);
  assertFinished(message);
  assert.equal(message.content, "First");
  assert.equal(message.finish, "stop");
});

Deno.test("chat stream: a finish and then the close, without [DONE], completes at end()", () => {
  const { events } = translate("finish_without_done.sse", answerContext({ provider: "ollama" }));
  assert.equal(terminal(events).status, "completed");
  assert.equal(clientView(events).content, "Done.");
});

Deno.test("chat stream: a stream cut short (no finish, no [DONE]) gets no terminal event", () => {
  const { events } = translate("cut_short.sse", answerContext({ provider: "deepseek" }));
  assert.deepEqual(types(events), ["response.created", "response.output_item.added", "response.output_text.delta"]);
  const frames = encodeEvents(events);
  assert.ok("error" in (frames.at(-1) as object), "the encoder reports the dropped stream");
});

Deno.test("chat stream: a payload that is not JSON throws MalformedEventError", () => {
  const { thrown } = translate("malformed_chunk.sse", answerContext({ provider: "deepseek" }));
  assert.ok(thrown instanceof MalformedEventError);
  assert.throws(() => adapter.stream(answerContext()).push({ data: "[1,2]" }, []), MalformedEventError);
});

Deno.test("chat stream: a call without an id gets one from the answer's time, unique across turns", () => {
  const ids = [NOW, NOW + 1].map((now) => {
    const translator = adapter.stream(answerContext({ now }));
    const out: ResponsesEvent[] = [];
    translator.push({
      data: JSON.stringify({
        choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: "ls", arguments: "{}" } }] } }],
      }),
    }, out);
    translator.push({ data: "[DONE]" }, out);
    return terminal(out).output![0].call_id;
  });
  assert.deepEqual(ids, [`call_${NOW.toString(36)}0`, `call_${(NOW + 1).toString(36)}0`]);
});

Deno.test("chat stream: sealed reasoning goes back on the next turn to the provider that made it (round trip)", () => {
  const nextTurn = (name: string, provider: string, options: Record<string, unknown>) => {
    const output = terminal(translate(name, answerContext({ provider })).events).output!;
    const history = output.map(({ id: _id, status: _status, ...item }) => item as JsonObject);
    const request = adapter.request(
      { input: [{ type: "message", role: "user", content: "q" }, ...history] },
      { model: "m", stream: false },
      { provider, api: "chat", options },
    );
    return (JSON.parse(request.body).messages as JsonObject[])[1];
  };
  const openrouter = nextTurn("openrouter_reasoning_details.sse", "openrouter", {});
  assert.equal(openrouter.content, "2 + 2 = 4");
  assert.equal((openrouter.reasoning_details as JsonObject[])[0].signature, "c2lnbmF0dXJlLTE=");
  const deepseek = nextTurn("deepseek_reasoning_content.sse", "deepseek", { replayReasoningContent: true });
  assert.deepEqual(deepseek, {
    role: "assistant",
    content: "Hi!",
    reasoning_content: "The user greets. Reply briefly.",
  });
});

// ===== JSON answers =====

const answer = (name: string, context = answerContext(), asText = false): ResponsesResponse => {
  const body = fixtureText(name);
  const result = adapter.response(asText ? body : JSON.parse(body), context);
  assert.ok(!("_tag" in result), `an answer, got ${JSON.stringify(result)}`);
  return result as ResponsesResponse;
};

const completion = (response: ResponsesResponse, overrides: Partial<EncodeContext> = {}): ChatCompletion =>
  encodeCompletion(response, encodeContext("chatcmpl-json", overrides));

Deno.test("chat JSON: a text answer with cached prompt tokens", () => {
  const response = answer("text_answer.json", answerContext({ provider: "openai" }));
  assert.equal(response.status, "completed");
  const chat = completion(response);
  assert.equal(chat.choices[0].message.content, "Paris is the capital of France.");
  assert.equal(chat.choices[0].finish_reason, "stop");
  assert.deepEqual({ ...chat.usage, cost: undefined }, { ...usage(2048, 8, 2056, 1920, 0), cost: undefined });
});

Deno.test("chat JSON: OpenRouter's body padded with leading whitespace parses; reasoning read once", () => {
  const response = answer("openrouter_leading_whitespace.json", answerContext(), true);
  const chat = completion(response);
  assert.equal(chat.choices[0].message.content, "The capital of France is **Paris**.");
  assert.equal(chat.choices[0].message.reasoning, "Easy one.");
  assert.equal(chat.usage.completion_tokens_details.reasoning_tokens, 3);
  // Plain reasoning text needs nothing sealed.
  assert.equal(response.output![0].encrypted_content, undefined);
});

Deno.test("chat JSON: tool calls (ApplyPatch raw, an empty-argument call as {}), reasoning_content, DeepSeek cache hits", () => {
  const customTools = new Set(["ApplyPatch"]);
  const response = answer("tool_calls_answer.json", answerContext({ provider: "deepseek", customTools }));
  assert.deepEqual(response.output!.map((item) => item.type), [
    "reasoning",
    "message",
    "function_call",
    "custom_tool_call",
    "function_call",
  ]);
  assert.equal(response.output![3].input, PATCH);
  const chat = completion(response, { customTools });
  const message = chat.choices[0].message;
  assert.equal(message.content, "I'll read it, then patch it.");
  assert.equal(message.reasoning, "Read first.");
  assert.deepEqual(message.tool_calls, [
    { id: "call_r1", type: "function", function: { name: "ReadFile", arguments: '{"path":"src/app.ts"}' } },
    { id: "call_p1", type: "function", function: { name: "ApplyPatch", arguments: PATCH } },
    { id: "call_l1", type: "function", function: { name: "ListDir", arguments: "{}" } },
  ]);
  assert.equal(chat.choices[0].finish_reason, "tool_calls");
  assert.equal(chat.usage.prompt_tokens_details.cached_tokens, 896);
});

Deno.test("chat JSON: Magistral content parts", () => {
  const chat = completion(answer("magistral_answer.json", answerContext({ provider: "mistral" })));
  assert.equal(chat.choices[0].message.reasoning, "7 times 6 is 42.");
  assert.equal(chat.choices[0].message.content, "42");
});

Deno.test("chat JSON: finish 'length' is incomplete", () => {
  const response = answer("length_answer.json", answerContext({ provider: "mistral" }));
  assert.equal(response.status, "incomplete");
  assert.equal(completion(response).choices[0].finish_reason, "length");
});

Deno.test("chat JSON: a 200 carrying an error is its failure; an unreadable 200 is MalformedAnswer", () => {
  const limited = adapter.response(JSON.parse(fixtureText("error_in_200.json")), answerContext());
  assert.equal((limited as FailureReason)._tag, "RateLimited");
  for (const body of ["<html>bad gateway</html>", JSON.stringify({ id: "x", choices: [] }), "[1]"]) {
    const reason = adapter.response(body, answerContext()) as FailureReason;
    assert.equal(reason._tag, "MalformedAnswer", body);
  }
});

// ===== HTTP failures =====

const fail = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  keyOrigin: "gateway" | "client" = "gateway",
) =>
  adapter.failure(
    { status, headers: new Headers(headers), body: typeof body === "string" ? body : JSON.stringify(body) },
    answerContext({ keyOrigin }),
  );

Deno.test("chat failures: context-overflow texts of each provider are ContextTooLong", () => {
  const cases: Array<[string, number, unknown]> = [
    ["OpenAI/DeepSeek", 400, {
      error: {
        message: "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens.",
        type: "invalid_request_error",
        code: "context_length_exceeded",
      },
    }],
    ["Groq", 400, {
      error: { message: "Please reduce the length of the messages or completion.", type: "invalid_request_error" },
    }],
    ["Cerebras", 400, {
      message: "Please reduce the length of the messages or completion. Current length is 10325 while limit is 8192",
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    }],
    ["Mistral", 400, {
      object: "error",
      message: "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
      type: "invalid_request_error",
    }],
    ["llama.cpp 500", 500, {
      error: {
        code: 500,
        message:
          "the request exceeds the available context size. try increasing the context size or enable context shift",
        type: "exceed_context_size_error",
        n_prompt_tokens: 1407,
        n_ctx: 256,
      },
    }],
    ["llama.cpp", 400, {
      error: {
        code: 400,
        message: "request (25837 tokens) exceeds the available context size (25088 tokens), try increasing it",
        type: "exceed_context_size_error",
      },
    }],
    ["xAI", 400, {
      code: "Client specified an invalid argument",
      error: "This model's maximum prompt length is 131072 but the request contains 136973 tokens.",
    }],
    ["LM Studio", 400, {
      error: "Trying to keep the first 15857 tokens when context the overflows. However, the model is loaded with " +
        "context length of only 4096 tokens, which is not enough.",
    }],
    ["Ollama", 400, { error: "input length exceeds context length" }],
    ["Together/TGI", 422, {
      error: {
        message:
          "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 32769. Given: 40000 `inputs` tokens and 2000 `max_new_tokens`",
        type: "invalid_request_error",
      },
    }],
    ["OpenRouter", 400, {
      error: {
        message: "This endpoint's maximum context length is 200000 tokens. However, you requested about 250000 tokens",
        code: 400,
      },
    }],
  ];
  for (const [name, status, body] of cases) {
    const reason = fail(status, body);
    assert.equal(reason._tag, "ContextTooLong", name);
  }
});

Deno.test("chat failures: the usual statuses and these providers' own shapes", () => {
  const limited = fail(
    429,
    { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
    {
      "retry-after": "7",
    },
  );
  assert.equal(limited._tag, "RateLimited");
  assert.equal((limited as { retryAfterMs?: number }).retryAfterMs, 7000);

  assert.equal(fail(402, { error: { message: "Insufficient Balance", type: "unknown_error" } })._tag, "QuotaExhausted");
  assert.equal(
    fail(401, { error: { message: "Invalid API key sk-abc", code: "invalid_api_key" } })._tag,
    "KeyRejected",
  );
  assert.equal(fail(503, { detail: "Service temporarily unavailable" })._tag, "Unavailable");
  assert.equal(fail(404, { error: 'model "llama9" not found, try pulling it first' })._tag, "ModelNotFound");

  // Groq: a request over the key's tokens-per-minute can never pass on this tier: another key or candidate.
  const tooLarge = {
    error: {
      message:
        "Request too large for model `llama-3.3-70b-versatile` on tokens per minute (TPM): Limit 6000, Requested 12000",
      type: "tokens",
      code: "rate_limit_exceeded",
    },
  };
  assert.equal(fail(413, tooLarge)._tag, "QuotaExhausted");
  assert.equal(fail(413, tooLarge, {}, "client")._tag, "InvalidRequest");

  // Mistral: the validation detail in an object-valued message.
  const mistral = fail(422, {
    object: "error",
    message: { detail: [{ type: "extra_forbidden", loc: ["body", "user"], msg: "Extra inputs are not permitted" }] },
    type: "invalid_request_error",
    param: null,
    code: null,
  });
  assert.equal(mistral._tag, "InvalidRequest");
  assert.match((mistral as { message: string }).message, /extra_forbidden/);
});

// ===== Recordings (optional) =====

const RECORDINGS = Deno.env.get("GATEWAY_RECORDINGS");

Deno.test({
  name: "chat recordings: every chat-providers/ exchange translates and encodes",
  ignore: RECORDINGS === undefined || RECORDINGS === "",
  fn: () => {
    const dir = `${RECORDINGS}/chat-providers`;
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.name.endsWith(".json")) continue;
      const recording = JSON.parse(Deno.readTextFileSync(`${dir}/${entry.name}`));
      const context = answerContext({ provider: String(recording.provider ?? "recorded") });
      const failing = /error/.test(entry.name);
      if (!recording.stream) {
        const result = adapter.response(recording.body, context);
        assert.equal("_tag" in result, failing, entry.name);
        if (!failing) assert.ok(completion(result as ResponsesResponse).choices[0].message, entry.name);
        continue;
      }
      const bytes = new TextEncoder().encode(recording.body);
      const { events, thrown } = translateBytes(bytes, 61, context);
      assert.equal(thrown, undefined, entry.name);
      if (failing) {
        failureOf(events);
        continue;
      }
      const message = clientView(events);
      assertFinished(message);
      assert.ok(message.content !== "" || message.toolCalls.length > 0 || message.reasoning !== "", entry.name);
    }
  },
});
