/**
 * The Gemini adapter's answer side: SSE streams and JSON answers (fixtures/gemini/, written from the protocol)
 * into canonical events, then through the real encoders into what the chat client gets; and Gemini's errors
 * as typed reasons.
 *
 * Every stream is fed through `eventsource-parser` as bytes cut at 1, 7 and 61 bytes and whole: the events
 * must not depend on where the network split the stream (CRLF framing, multi-byte characters).
 *
 * With `GATEWAY_RECORDINGS` pointing at the recordings folder, the real Gemini recordings in `gemini/` are
 * replayed too (ignored otherwise).
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import type { EncodeContext } from "../src/encode/context.ts";
import type { FailureReason } from "../src/errors/reasons.ts";
import type { ChatCompletionChunk, ReasoningDetail } from "../src/protocol/chat.ts";
import type { ResponsesEvent, ResponsesResponse } from "../src/protocol/responses.ts";
import { adapter, type GeminiAnswerContext, signatureOfCallId } from "../src/upstream/adapters/gemini/index.ts";
import { openReasoning, sealReasoning } from "../src/upstream/adapters/reasoning_envelope.ts";
import { isFailureEvent } from "../src/upstream/adapters/types.ts";
import { MalformedEventError } from "../src/upstream/sse_events.ts";
import { decode } from "./support/decode.ts";
import { encodeContext, PATCH } from "./support/encode.ts";

const NOW = 1767225600000;

const context = (model: string, extra: Partial<GeminiAnswerContext> = {}): GeminiAnswerContext => ({
  provider: "gemini",
  model,
  keyOrigin: "gateway",
  now: NOW,
  ...extra,
});

const fixture = (name: string): string => Deno.readTextFileSync(new URL(`../fixtures/gemini/${name}`, import.meta.url));

/** The made-up signatures the fixtures carry (standard base64 with `+`, `/` and padding, as the API sends). */
const SIG_TEXT = "++++/2d3LWZpeHR1cmUtdGV4dC1zaWduYXR1cmX+/Q==";
const SIG_CALL = "++++/2d3LWZpeHR1cmUtY2FsbC1zaWduYXR1cmX+/Q==";
const SIG_PATCH = "++++/2d3LWZpeHR1cmUtcGF0Y2gtc2ln/v0=";
const SIG_LAST = "++++/2d3LWZpeHR1cmUtbGFzdC1wYXJ0/v0=";
/** What a signature looks like inside a call id: base64url, no padding. */
const url = (signature: string) => signature.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

// ===== Driving a stream =====

/** The stream's bytes cut every `size` bytes, through a real SSE parser, into a fresh translator. */
const translate = (text: string, ctx: GeminiAnswerContext, size: number): ResponsesEvent[] => {
  const translator = adapter.stream(ctx);
  const out: ResponsesEvent[] = [];
  const parser = createParser({
    onEvent: (message) => translator.push({ event: message.event, data: message.data }, out),
  });
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  for (let i = 0; i < bytes.length; i += size) {
    parser.feed(decoder.decode(bytes.subarray(i, i + size), { stream: true }));
  }
  parser.feed(decoder.decode());
  translator.end(out);
  return out;
};

/** A fixture's events, the same whatever the cuts. */
const eventsOf = (name: string, ctx: GeminiAnswerContext): ResponsesEvent[] => {
  const text = fixture(name);
  const whole = translate(text, ctx, text.length + 1);
  for (const size of [1, 7, 61]) assert.deepEqual(translate(text, ctx, size), whole, `${name} cut every ${size} bytes`);
  return whole;
};

type Frame = ChatCompletionChunk | "[DONE]" | { error: { message: string; type: string; code: string | null } };

/** Events through the real stream encoder, as the client's frames. */
const encode = (events: ResponsesEvent[], ctx: EncodeContext = encodeContext("chatcmpl-gemini")): Frame[] => {
  const encoder = new ChunkEncoder(ctx);
  let text = "";
  for (const event of events) text += encoder.push(event);
  text += encoder.end();
  return text.split("\n\n").filter((frame) => frame !== "").map((frame): Frame => {
    assert.ok(frame.startsWith("data: "), frame);
    const data = frame.slice("data: ".length);
    return data === "[DONE]" ? "[DONE]" : JSON.parse(data);
  });
};

interface ChatAnswer {
  content: string;
  refusal: string;
  reasoning: string;
  details: ReasoningDetail[];
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finish: string | null;
  usage: ChatCompletionChunk["usage"];
  error?: { message: string; type: string; code: string | null };
  done: boolean;
}

/** What a chat client accumulates from the frames. */
const accumulate = (frames: Frame[]): ChatAnswer => {
  const answer: ChatAnswer = {
    content: "",
    refusal: "",
    reasoning: "",
    details: [],
    toolCalls: [],
    finish: null,
    usage: undefined,
    done: false,
  };
  for (const frame of frames) {
    if (frame === "[DONE]") {
      answer.done = true;
      continue;
    }
    if ("error" in frame) {
      answer.error = frame.error;
      continue;
    }
    if (frame.usage) answer.usage = frame.usage;
    for (const choice of frame.choices) {
      const delta = choice.delta;
      if (delta.content) answer.content += delta.content;
      if (delta.refusal) answer.refusal += delta.refusal;
      if (delta.reasoning) answer.reasoning += delta.reasoning;
      if (delta.reasoning_details) answer.details.push(...delta.reasoning_details);
      for (const call of delta.tool_calls ?? []) {
        answer.toolCalls[call.index] ??= { id: "", name: "", arguments: "" };
        const into = answer.toolCalls[call.index];
        if (call.id) into.id = call.id;
        if (call.function?.name) into.name = call.function.name;
        if (call.function?.arguments) into.arguments += call.function.arguments;
      }
      if (choice.finish_reason !== null) {
        assert.equal(answer.finish, null, "one finish");
        answer.finish = choice.finish_reason;
      }
    }
  }
  return answer;
};

const usage = (prompt: number, completion: number, total: number, cached = 0, reasoning = 0) => ({
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

const terminal = (events: ResponsesEvent[]): ResponsesResponse => {
  const last = events.at(-1)!;
  assert.ok(last.type === "response.completed" || last.type === "response.incomplete", last.type);
  return last.response as ResponsesResponse;
};

const failureOf = (events: ResponsesEvent[]): FailureReason => {
  const last = events.at(-1)!;
  assert.ok(isFailureEvent(last), `a failure event, got ${last.type}`);
  return last.reason;
};

// ===== Streams =====

Deno.test("a text stream (CRLF framing, no candidate index): its text, stop and usage, thoughts as reasoning tokens", () => {
  const events = eventsOf("text_stream.sse", context("gemini-2.5-flash"));
  assert.deepEqual(events.map((event) => event.type), [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.deepEqual(events[0].response, {
    id: "resp_txtRESP01",
    object: "response",
    created_at: NOW / 1000,
    model: "gemini-2.5-flash",
    status: "in_progress",
    output: [],
  });
  assert.deepEqual(terminal(events).output, [{
    type: "message",
    id: "msg_txtRESP01_0",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: "Hello, world! ☀", annotations: [] }],
  }]);
  const answer = accumulate(encode(events));
  assert.equal(answer.content, "Hello, world! ☀");
  assert.equal(answer.finish, "stop");
  assert.ok(answer.done);
  assert.deepEqual(answer.usage, usage(12, 31, 43, 0, 27));
});

Deno.test("thought parts are reasoning summary text; a text part's signature rides back in a gemini envelope", () => {
  const events = eventsOf("thoughts_stream.sse", context("gemini-2.5-pro"));
  const answer = accumulate(encode(events));
  assert.equal(
    answer.reasoning,
    "**Planning the poem**\n\nA haiku about autumn: five, seven, five.\n\n**Choosing an image**\n\nMoonlight and a chestnut.\n\n",
  );
  assert.equal(answer.content, "Autumn moonlight—\na worm digs silently\ninto the chestnut.");
  const encrypted = answer.details.filter((detail) => detail.type === "reasoning.encrypted");
  assert.equal(encrypted.length, 1);
  assert.deepEqual(openReasoning(encrypted[0].data), { api: "gemini", payload: { text: SIG_TEXT } });
  assert.equal(answer.finish, "stop");
  assert.deepEqual(answer.usage, usage(20, 135, 155, 8, 120));
  // The reasoning item comes first in the output (it was opened first) and is finished last.
  const output = terminal(events).output!;
  assert.deepEqual(output.map((item) => item.type), ["reasoning", "message"]);
  assert.deepEqual(output[0], {
    type: "reasoning",
    id: "rs_thkRESP02_0",
    summary: [{
      type: "summary_text",
      text:
        "**Planning the poem**\n\nA haiku about autumn: five, seven, five.\n\n**Choosing an image**\n\nMoonlight and a chestnut.\n\n",
    }],
    encrypted_content: sealReasoning("gemini", { text: SIG_TEXT }),
  });
});

Deno.test("Gemini 3 parallel calls: whole calls, the first call's id carries its signature, tool_calls finish", () => {
  const events = eventsOf("g3_parallel_calls_stream.sse", context("gemini-3-pro-preview"));
  const answer = accumulate(encode(events));
  assert.deepEqual(answer.toolCalls, [
    { id: `call_g3RESP03_0__thought__${url(SIG_CALL)}`, name: "get_weather", arguments: '{"city":"Paris"}' },
    { id: "call_g3RESP03_1", name: "get_weather", arguments: '{"city":"London","unit":"celsius"}' },
  ]);
  assert.equal(signatureOfCallId(answer.toolCalls[0].id), SIG_CALL);
  assert.equal(signatureOfCallId(answer.toolCalls[1].id), undefined);
  assert.equal(answer.reasoning, "**Checking both cities**\n\nI will look up Paris and London at once.\n\n");
  assert.equal(answer.content, "");
  assert.equal(answer.finish, "tool_calls");
  // toolUsePromptTokenCount counts as input.
  assert.deepEqual(answer.usage, usage(55, 100, 155, 0, 80));
  const calls = terminal(events).output!.filter((item) => item.type === "function_call");
  assert.deepEqual(calls[1], {
    type: "function_call",
    id: "fc_g3RESP03_2",
    call_id: "call_g3RESP03_1",
    name: "get_weather",
    arguments: '{"city":"London","unit":"celsius"}',
    status: "completed",
  });
});

Deno.test("a call of a custom tool (ApplyPatch) is a custom_tool_call with the raw patch as input", () => {
  const events = eventsOf(
    "apply_patch_stream.sse",
    context("gemini-2.5-flash", { customTools: new Set(["ApplyPatch"]) }),
  );
  const call = terminal(events).output!.find((item) => item.type === "custom_tool_call");
  assert.deepEqual(call, {
    type: "custom_tool_call",
    id: "fc_patRESP04_1",
    call_id: `call_patRESP04_0__thought__${url(SIG_PATCH)}`,
    name: "ApplyPatch",
    input: PATCH,
    status: "completed",
  });
  assert.ok(events.some((event) => event.type === "response.custom_tool_call_input.delta" && event.delta === PATCH));
  const answer = accumulate(encode(events, encodeContext("chatcmpl-gemini", { customTools: new Set(["ApplyPatch"]) })));
  assert.equal(answer.content, "Updating the constant.");
  assert.deepEqual(answer.toolCalls, [{ id: call!.call_id, name: "ApplyPatch", arguments: PATCH }]);
  assert.equal(answer.finish, "tool_calls");
  assert.deepEqual(answer.usage, usage(300, 90, 390, 0, 50));
});

Deno.test("without the custom tool names, the call is a function call the encoder still unwraps to the raw patch", () => {
  const events = eventsOf("apply_patch_stream.sse", context("gemini-2.5-flash"));
  const call = terminal(events).output!.find((item) => item.type === "function_call");
  assert.equal(call?.arguments, JSON.stringify({ input: PATCH }));
  const answer = accumulate(encode(events, encodeContext("chatcmpl-gemini", { customTools: new Set(["ApplyPatch"]) })));
  assert.deepEqual(answer.toolCalls.map((c) => c.arguments), [PATCH]);
});

Deno.test("MAX_TOKENS is length, SAFETY is content_filter", () => {
  const cut = eventsOf("max_tokens_stream.sse", context("gemini-2.5-flash"));
  assert.deepEqual(terminal(cut).incomplete_details, { reason: "max_output_tokens" });
  const long = accumulate(encode(cut));
  assert.equal(long.content, "Once upon a time, there was");
  assert.equal(long.finish, "length");

  const filtered = eventsOf("safety_stream.sse", context("gemini-2.5-flash"));
  assert.equal(terminal(filtered).status, "incomplete");
  assert.deepEqual(terminal(filtered).incomplete_details, { reason: "content_filter" });
  const answer = accumulate(encode(filtered));
  assert.equal(answer.content, "Here is how");
  assert.equal(answer.finish, "content_filter");
});

Deno.test("a blocked prompt is content_filter, and the block reason reaches the client as a refusal", () => {
  const events = eventsOf("prompt_blocked_stream.sse", context("gemini-2.5-flash"));
  assert.deepEqual(terminal(events).incomplete_details, { reason: "content_filter" });
  const answer = accumulate(encode(events));
  assert.equal(answer.refusal, "Gemini blocked the prompt (PROHIBITED_CONTENT).");
  assert.equal(answer.finish, "content_filter");
  assert.deepEqual(answer.usage, usage(9, 0, 9));
});

Deno.test("MALFORMED_FUNCTION_CALL is a failure event (MalformedAnswer), so routing may retry or fall back", () => {
  const events = eventsOf("malformed_call_stream.sse", context("gemini-2.5-flash"));
  assert.deepEqual(events.map((event) => event.type), ["response.created", "error"]);
  assert.deepEqual(failureOf(events), {
    _tag: "MalformedAnswer",
    provider: "gemini",
    outcome: "stream_error",
    detail:
      "stopped its answer with MALFORMED_FUNCTION_CALL: Malformed function call: print(default_api.Shell(command=ls",
  });
  const answer = accumulate(encode(events));
  assert.ok(answer.error, "the client gets an error frame");
  assert.equal(answer.finish, null);
});

Deno.test("an error chunk inside a 200 stream is a failure event with its typed reason", () => {
  const overloaded = eventsOf("error_midstream.sse", context("gemini-2.5-pro"));
  assert.deepEqual(failureOf(overloaded), {
    _tag: "Overloaded",
    provider: "gemini",
    outcome: "stream_error",
    message: "The model is overloaded. Please try again later.",
  });
  const answer = accumulate(encode(overloaded));
  assert.equal(answer.content, "Let me think");
  assert.ok(answer.error);

  const limited = eventsOf("rate_limited_stream.sse", context("gemini-2.5-pro"));
  assert.equal(limited.length, 1, "nothing before the failure: the attempt has not begun");
  assert.deepEqual(failureOf(limited), {
    _tag: "RateLimited",
    provider: "gemini",
    outcome: "stream_error",
    message: "You exceeded your current quota, please check your plan and billing details.",
    retryAfterMs: 21000,
  });
});

Deno.test("a signature on an empty last part (Gemini 3 text answer) gets a reasoning item of its own", () => {
  const events = eventsOf("g3_signature_last_part_stream.sse", context("gemini-3-flash-preview"));
  const output = terminal(events).output!;
  assert.deepEqual(output.map((item) => item.type), ["message", "reasoning"]);
  assert.deepEqual(output[1], {
    type: "reasoning",
    id: "rs_sigRESP11_1",
    summary: [],
    encrypted_content: sealReasoning("gemini", { text: SIG_LAST }),
  });
  const answer = accumulate(encode(events));
  assert.equal(answer.content, "Paris is the capital of France.");
  assert.equal(answer.reasoning, "");
  assert.deepEqual(answer.details.map((detail) => detail.type), ["reasoning.encrypted"]);
  assert.equal(answer.finish, "stop");
});

Deno.test("a stream cut before its finishReason ends with nothing terminal (routing reports a dropped answer)", () => {
  const events = eventsOf("cut_stream.sse", context("gemini-2.5-flash"));
  assert.deepEqual(events.map((event) => event.type), [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
  ]);
  const answer = accumulate(encode(events));
  assert.equal(answer.content, "The answer is");
  assert.ok(answer.error);
  assert.equal(answer.finish, null);
});

Deno.test("a payload that is not a JSON object throws MalformedEventError", () => {
  const translator = adapter.stream(context("gemini-2.5-flash"));
  assert.throws(() => translator.push({ data: "{not json" }, []), MalformedEventError);
  assert.throws(() => adapter.stream(context("gemini-2.5-flash")).push({ data: "42" }, []), MalformedEventError);
});

Deno.test("call ids are unique per answer (the responseId is their stem), generated only when Gemini gives none", () => {
  const events = eventsOf("g3_parallel_calls_stream.sse", context("gemini-3-pro-preview"));
  const ids = terminal(events).output!.map((item) => item.id);
  assert.equal(new Set(ids).size, ids.length);
  const json = adapter.response(JSON.parse(fixture("g3_parallel_calls.json")), context("gemini-3-pro-preview"));
  assert.deepEqual(
    (json as ResponsesResponse).output!.map((item) => item.call_id),
    [`fc7k2q__thought__${url(SIG_CALL)}`, "fc9m4x"],
  );
});

// ===== The signature round trip through a chat client =====

Deno.test("round trip: the ids a chat client echoes give Gemini 3 its signature back, without any reasoning replay", () => {
  const events = eventsOf("g3_parallel_calls_stream.sse", context("gemini-3-pro-preview"));
  const { toolCalls } = accumulate(encode(events));
  // What Cursor sends next: the assistant's tool calls and the tool results, nothing else of the answer.
  const body = decode({
    model: "gemini/gemini-3-pro-preview",
    messages: [
      { role: "user", content: "Weather in Paris and London?" },
      {
        role: "assistant",
        content: null,
        tool_calls: toolCalls.map((call) => ({
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: call.arguments },
        })),
      },
      { role: "tool", tool_call_id: toolCalls[1].id, content: "12°C" },
      { role: "tool", tool_call_id: toolCalls[0].id, content: "15°C" },
    ],
  }).body;
  const wire = JSON.parse(adapter.request(body, { model: "gemini-3-pro-preview", stream: true }, target).body);
  assert.deepEqual(wire.contents.slice(1), [
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
        { functionResponse: { id: "call_g3RESP03_0", name: "get_weather", response: { output: "15°C" } } },
        { functionResponse: { id: "call_g3RESP03_1", name: "get_weather", response: { output: "12°C" } } },
      ],
    },
  ]);
});

const target = { provider: "gemini", api: "gemini" as const, options: {} };

// ===== JSON answers =====

const json = (name: string, ctx: GeminiAnswerContext) => adapter.response(JSON.parse(fixture(name)), ctx);

const completion = (response: ResponsesResponse | FailureReason, ctx = encodeContext("chatcmpl-gemini")) => {
  assert.ok(!("_tag" in response), `an answer, got ${JSON.stringify(response)}`);
  return encodeCompletion(response as ResponsesResponse, ctx);
};

Deno.test("JSON: a text answer with cached and thought tokens", () => {
  const response = json("text.json", context("gemini-2.5-flash"));
  assert.equal((response as ResponsesResponse).id, "resp_jsnRESP21");
  assert.equal((response as ResponsesResponse).model, "gemini-2.5-flash");
  const chat = completion(response);
  assert.deepEqual(chat.choices[0].message, {
    role: "assistant",
    content: "The tests pass.",
    refusal: null,
    annotations: [],
  });
  assert.equal(chat.choices[0].finish_reason, "stop");
  assert.deepEqual(chat.usage, usage(1200, 50, 1250, 1024, 45));
});

Deno.test("JSON: Gemini's own call ids are kept, the signature bound to the first", () => {
  const chat = completion(json("g3_parallel_calls.json", context("gemini-3-pro-preview")));
  assert.deepEqual(chat.choices[0].message.tool_calls, [
    {
      id: `fc7k2q__thought__${url(SIG_CALL)}`,
      type: "function",
      function: { name: "ReadFile", arguments: '{"path":"src/a.ts"}' },
    },
    { id: "fc9m4x", type: "function", function: { name: "ReadFile", arguments: '{"path":"src/b.ts"}' } },
  ]);
  assert.equal(chat.choices[0].message.content, null);
  assert.equal(chat.choices[0].finish_reason, "tool_calls");
});

Deno.test("JSON: a blocked prompt is content_filter with the block reason and Google's message as the refusal", () => {
  const response = json("prompt_blocked.json", context("gemini-2.5-pro")) as ResponsesResponse;
  assert.equal(response.status, "incomplete");
  const chat = completion(response);
  assert.equal(
    chat.choices[0].message.refusal,
    "Gemini blocked the prompt (SAFETY): The prompt was blocked for safety.",
  );
  assert.equal(chat.choices[0].finish_reason, "content_filter");
  assert.deepEqual(chat.usage, usage(11, 0, 11));
});

Deno.test("JSON: MAX_TOKENS with no parts at all (thinking took the budget) is an empty length answer", () => {
  const chat = completion(json("max_tokens_empty.json", context("gemini-2.5-pro")));
  assert.equal(chat.choices[0].message.content, "");
  assert.equal(chat.choices[0].finish_reason, "length");
  assert.deepEqual(chat.usage, usage(15, 4, 19, 0, 4));
});

Deno.test("JSON: an array of responses (the non-SSE stream shape) is one answer", () => {
  const chat = completion(json("array_stream.json", context("gemini-2.5-flash")));
  assert.equal(chat.choices[0].message.reasoning, "**Naming**\n\nTwo names are needed.\n\n");
  assert.deepEqual(chat.choices[0].message.tool_calls, [{
    id: `call_arrRESP25_0__thought__${url(SIG_CALL)}`,
    type: "function",
    function: { name: "name_pet", arguments: "{}" },
  }]);
  assert.deepEqual(chat.usage, usage(30, 40, 70, 0, 30));
});

Deno.test("JSON: an error body in a 200, a malformed call, and a body that is no answer", () => {
  const ctx = context("gemini-2.5-flash");
  assert.deepEqual(adapter.response({ error: { code: 503, message: "busy", status: "UNAVAILABLE" } }, ctx), {
    _tag: "Overloaded",
    provider: "gemini",
    outcome: "200",
    message: "busy",
  });
  const malformed = adapter.response({
    candidates: [{ content: { role: "model" }, finishReason: "UNEXPECTED_TOOL_CALL" }],
    responseId: "x",
  }, ctx);
  assert.equal((malformed as FailureReason)._tag, "MalformedAnswer");
  for (const body of [{}, 42, [], { usageMetadata: { promptTokenCount: 1 } }]) {
    assert.deepEqual(adapter.response(body, ctx), {
      _tag: "MalformedAnswer",
      provider: "gemini",
      outcome: "200",
      detail: "sent an answer that is not a GenerateContentResponse",
    });
  }
});

// ===== HTTP failures =====

const failure = (
  name: string,
  status: number,
  headers: HeadersInit = {},
  keyOrigin: "gateway" | "client" = "gateway",
) =>
  adapter.failure(
    { status, headers: new Headers(headers), body: fixture(`errors/${name}`) },
    { ...context("gemini-2.5-flash"), keyOrigin },
  );

Deno.test("failures: each Google error status as its typed reason", () => {
  assert.deepEqual(failure("invalid_argument.json", 400), {
    _tag: "InvalidRequest",
    provider: "gemini",
    outcome: "400",
    status: 400,
    message: "* GenerateContentRequest.contents: contents is not specified\n",
    type: "invalid_request_error",
    code: "INVALID_ARGUMENT",
    param: null,
  });
  assert.deepEqual(failure("context_too_long.json", 400), {
    _tag: "ContextTooLong",
    provider: "gemini",
    outcome: "400",
    message: "The input token count (1205122) exceeds the maximum number of tokens allowed (1048576).",
  });
  // Gemini answers a bad key with 400 INVALID_ARGUMENT; ErrorInfo.reason says what it is. Its message is not kept.
  assert.deepEqual(failure("api_key_invalid.json", 400), {
    _tag: "KeyRejected",
    provider: "gemini",
    outcome: "400",
    status: 401,
    keyOrigin: "gateway",
  });
  assert.deepEqual(failure("permission_denied.json", 403), {
    _tag: "KeyRejected",
    provider: "gemini",
    outcome: "403",
    status: 403,
    keyOrigin: "gateway",
  });
  assert.deepEqual(failure("unavailable.json", 503, { "retry-after": "5" }), {
    _tag: "Overloaded",
    provider: "gemini",
    outcome: "503",
    message: "The model is overloaded. Please try again later.",
    retryAfterMs: 5000,
  });
  assert.deepEqual(failure("internal.json", 500), {
    _tag: "Unavailable",
    provider: "gemini",
    outcome: "500",
    status: 500,
    message:
      "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    code: "INTERNAL",
    param: null,
  });
  assert.deepEqual(failure("model_not_found.json", 404), {
    _tag: "ModelNotFound",
    provider: "gemini",
    outcome: "404",
    message:
      "models/gemini-9-ultra is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
  });
});

Deno.test("failures: a 429 waits what RetryInfo says (over Retry-After); a per-day quota is QuotaExhausted", () => {
  assert.deepEqual(failure("rate_limited.json", 429, { "retry-after": "60" }), {
    _tag: "RateLimited",
    provider: "gemini",
    outcome: "429",
    message: "Resource has been exhausted (e.g. check quota).",
    retryAfterMs: 34500,
  });
  assert.deepEqual(failure("daily_quota.json", 429), {
    _tag: "QuotaExhausted",
    provider: "gemini",
    outcome: "429",
    message: "You exceeded your current quota, please check your plan and billing details.",
    code: "RESOURCE_EXHAUSTED",
  });
  // A client's own key out of quota is the client's problem: no fallback on someone else's account.
  assert.equal(failure("daily_quota.json", 429, {}, "client")._tag, "InvalidRequest");
  assert.equal(failure("failed_precondition.json", 400)._tag, "QuotaExhausted");
});

Deno.test("failures: an error wrapped in an array, and bodies that are not Google's", () => {
  const wrapped = failure("array_wrapped.json", 400);
  assert.equal(wrapped._tag, "InvalidRequest");
  assert.match((wrapped as { message: string }).message, /Unknown name "additionalProperties"/);
  const ctx = context("gemini-2.5-flash");
  assert.deepEqual(
    adapter.failure({ status: 502, headers: new Headers(), body: "<html><body>Bad Gateway</body></html>" }, ctx),
    {
      _tag: "Unavailable",
      provider: "gemini",
      outcome: "502",
      status: 502,
      message: "<html><body>Bad Gateway</body></html>",
      code: null,
      param: null,
    },
  );
  assert.equal(adapter.failure({ status: 401, headers: new Headers(), body: "" }, ctx)._tag, "KeyRejected");
});

// ===== The official openai client =====

Deno.test("the openai SDK's stream accumulator reads the encoded Gemini streams", async () => {
  const cases: Array<[string, string, string | null, number]> = [
    ["thoughts_stream.sse", "gemini-2.5-pro", "Autumn moonlight—\na worm digs silently\ninto the chestnut.", 0],
    ["g3_parallel_calls_stream.sse", "gemini-3-pro-preview", null, 2],
  ];
  for (const [name, model, content, calls] of cases) {
    const chunks = encode(eventsOf(name, context(model)))
      .filter((frame): frame is ChatCompletionChunk => frame !== "[DONE]" && !("error" in frame));
    const lines = new TextEncoder().encode(chunks.map((chunk) => JSON.stringify(chunk)).join("\n") + "\n");
    const stream = ChatCompletionStream.fromReadableStream(new Response(lines).body!);
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, content, name);
    assert.equal(final.choices[0].message.tool_calls?.length ?? 0, calls, name);
    assert.equal(final.choices[0].finish_reason, calls > 0 ? "tool_calls" : "stop", name);
  }
});

// ===== Real recordings (optional) =====

const RECORDINGS = Deno.env.get("GATEWAY_RECORDINGS");

Deno.test({
  name: "recordings: every Gemini answer and error recorded in the wild translates (GATEWAY_RECORDINGS)",
  ignore: RECORDINGS === undefined || RECORDINGS === "",
  fn: async (t) => {
    const dir = `${RECORDINGS}/gemini`;
    for (
      const entry of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json")).sort((a, b) =>
        a.name < b.name ? -1 : 1
      )
    ) {
      await t.step(entry.name, () => {
        const recording = JSON.parse(Deno.readTextFileSync(`${dir}/${entry.name}`));
        const model = String(recording.source?.recorded_uri ?? "").match(/models\/([^:]+):/)?.[1] ?? "gemini-2.5-flash";
        const ctx = context(model);
        if (recording.status !== 200) {
          const reason = adapter.failure(
            { status: recording.status, headers: new Headers(recording.headers ?? {}), body: recording.body },
            ctx,
          );
          assert.equal(reason._tag, recording.status === 400 ? "InvalidRequest" : reason._tag);
          return;
        }
        const sse = String(recording.headers?.["content-type"] ?? "").includes("event-stream");
        const response = sse
          ? terminal(translate(recording.body, ctx, 61))
          : adapter.response(JSON.parse(recording.body), ctx) as ResponsesResponse;
        assert.ok(!("_tag" in response), JSON.stringify(response));
        // The visible text is every non-thought text part, in order; every signed call keeps its signature.
        const chunks: unknown[] = sse
          ? recording.body.split(/\r?\n\r?\n/).filter((f: string) => f.startsWith("data: ")).map((f: string) =>
            JSON.parse(f.slice(6))
          )
          : [JSON.parse(recording.body)].flat();
        let text = "";
        const signatures: string[] = [];
        for (
          const chunk of chunks as Array<
            { candidates?: Array<{ content?: { parts?: Array<Record<string, unknown>> } }> }
          >
        ) {
          for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
            if (typeof part.text === "string" && part.thought !== true) text += part.text;
            if (part.functionCall && typeof part.thoughtSignature === "string") signatures.push(part.thoughtSignature);
          }
        }
        const chat = encodeCompletion(response, encodeContext("chatcmpl-rec"));
        assert.equal(chat.choices[0].message.content ?? "", text);
        const metadata = (chunks.at(-1) as { usageMetadata?: Record<string, number> }).usageMetadata ?? {};
        assert.equal(chat.usage.total_tokens, metadata.totalTokenCount ?? 0);
        assert.equal(
          chat.usage.completion_tokens,
          (metadata.candidatesTokenCount ?? 0) + (metadata.thoughtsTokenCount ?? 0),
        );
        assert.equal(chat.usage.prompt_tokens_details.cached_tokens, metadata.cachedContentTokenCount ?? 0);
        if (sse) assert.deepEqual(translate(recording.body, ctx, 1), translate(recording.body, ctx, 61));
        const ids = (chat.choices[0].message.tool_calls ?? []).map((call) => signatureOfCallId(call.id)).filter((s) =>
          s
        );
        assert.deepEqual(ids, signatures);
      });
    }
  },
});
