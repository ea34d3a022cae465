/**
 * ChunkEncoder: Responses stream events into `chat.completion.chunk` SSE frames (pure, plain data).
 *
 * Fixtures are read through the gateway's own upstream SSE reader, so framing quirks
 * (data-only frames, a trailing `[DONE]`, no `sequence_number`) are exercised as on the wire.
 */
import assert from "node:assert/strict";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import { isOutputEvent } from "../src/protocol/events.ts";
import { adapter as responses } from "../src/upstream/adapters/responses/index.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import type { EncodeContext } from "../src/encode/context.ts";
import { encodeContext, PATCH } from "./support/encode.ts";
import type { ChatCompletionChunk, ChatToolCall, ReasoningDetail, UrlCitation } from "../src/protocol/chat.ts";
import type { ResponsesEvent, ResponsesResponse } from "../src/protocol/responses.ts";
import { readEvents } from "../src/upstream/sse_events.ts";

const context = (overrides: Partial<EncodeContext> = {}): EncodeContext => encodeContext("chatcmpl-stream", overrides);

const eventsOf = async (name: string): Promise<ResponsesEvent[]> => {
  const text = await Deno.readTextFile(new URL(`../fixtures/responses/${name}`, import.meta.url));
  const reader = readEvents(
    new Response(text).body!,
    responses.stream({ provider: "openai", model: "gpt-5", keyOrigin: "gateway", now: 0 }),
  );
  const events: ResponsesEvent[] = [];
  for (let event = await reader.next(); event !== undefined; event = await reader.next()) events.push(event);
  return events;
};

type Frame = ChatCompletionChunk | "[DONE]" | { error: { message: string; type: string; code: string | null } };

interface Encoded {
  readonly encoder: ChunkEncoder;
  readonly outputs: string[];
  readonly frames: Frame[];
}

/** Pushes every event, then `end()` as sse_body does when the upstream closes. */
const encode = (events: ResponsesEvent[], ctx = context()): Encoded => {
  const encoder = new ChunkEncoder(ctx);
  const outputs = events.map((event) => encoder.push(event));
  outputs.push(encoder.end());
  const text = outputs.join("");
  const frames = text.split("\n\n").filter((frame) => frame !== "").map((frame): Frame => {
    assert.ok(frame.startsWith("data: "), `frame is a data line: ${frame}`);
    const data = frame.slice("data: ".length);
    return data === "[DONE]" ? "[DONE]" : JSON.parse(data);
  });
  return { encoder, outputs, frames };
};

const encodeFixture = async (name: string, ctx = context()) => encode(await eventsOf(name), ctx);

const chunksOf = (frames: Frame[]): ChatCompletionChunk[] =>
  frames.filter((frame): frame is ChatCompletionChunk => frame !== "[DONE]" && !("error" in frame));

/**
 * Everything a strict client checks on a successful stream (protocol.md §3.6): one id,
 * created and model; role first; a delta and logprobs null on every choice; dense,
 * non-interleaved tool calls opened with id, type, name and arguments ""; one finish;
 * then the usage chunk and [DONE]; chunk_index counting from 0.
 */
const assertWellFormed = (frames: Frame[], ctx = context()) => {
  assert.equal(frames.at(-1), "[DONE]");
  assert.equal(frames.filter((frame) => frame === "[DONE]").length, 1);
  const chunks = chunksOf(frames);
  assert.equal(chunks.length, frames.length - 1, "no error frame in a successful stream");
  chunks.forEach((chunk, i) => {
    assert.equal(chunk.id, ctx.id);
    assert.equal(chunk.object, "chat.completion.chunk");
    assert.equal(chunk.created, ctx.created);
    assert.equal(chunk.model, ctx.model);
    assert.equal(chunk.extra_fields.chunk_index, i);
    assert.equal(chunk.extra_fields.request_type, "responses_stream");
  });
  const usageChunk = chunks.at(-1)!;
  assert.deepEqual(usageChunk.choices, []);
  assert.ok(usageChunk.usage);
  assert.equal(typeof usageChunk.usage.prompt_tokens_details.cached_tokens, "number");
  assert.equal(typeof usageChunk.usage.completion_tokens_details.reasoning_tokens, "number");
  const body = chunks.slice(0, -1);
  assert.ok(body.length >= 2, "at least a role chunk and a finish chunk");
  assert.equal(body[0].choices[0].delta.role, "assistant");
  for (const chunk of body) {
    assert.equal(chunk.choices.length, 1);
    const choice = chunk.choices[0];
    assert.equal(choice.index, 0);
    assert.equal(typeof choice.delta, "object");
    assert.equal(choice.logprobs, null);
    assert.equal("usage" in chunk, false);
  }
  const finishes = body.filter((chunk) => chunk.choices[0].finish_reason !== null);
  assert.equal(finishes.length, 1, "exactly one finish chunk");
  assert.equal(finishes[0], body.at(-1), "the finish chunk comes after every delta");
  assert.deepEqual(finishes[0].choices[0].delta, {});
  let current = -1;
  for (const chunk of body) {
    for (const call of chunk.choices[0].delta.tool_calls ?? []) {
      if (call.index !== current) {
        assert.equal(call.index, current + 1, "tool call indexes are dense and never go back");
        current = call.index;
        assert.equal(typeof call.id, "string");
        assert.ok(call.id!.length > 0);
        assert.equal(call.type, "function");
        assert.equal(typeof call.function.name, "string");
        assert.equal(call.function.arguments, "");
      } else {
        assert.deepEqual(Object.keys(call).sort(), ["function", "index"]);
        assert.deepEqual(Object.keys(call.function), ["arguments"]);
      }
    }
  }
};

interface Accumulated {
  role?: string;
  content: string | null;
  refusal: string | null;
  reasoning?: string;
  reasoning_details: ReasoningDetail[];
  tool_calls: ChatToolCall[];
  annotations: UrlCitation[];
  finish_reason: string | null;
}

/** Rebuilds the message the way a Chat client does: strings appended, tool calls by index, details by index. */
const accumulate = (frames: Frame[]): Accumulated => {
  const message: Accumulated = {
    content: null,
    refusal: null,
    reasoning_details: [],
    tool_calls: [],
    annotations: [],
    finish_reason: null,
  };
  for (const chunk of chunksOf(frames)) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta;
    if (delta.role) message.role = delta.role;
    if (typeof delta.content === "string") message.content = (message.content ?? "") + delta.content;
    if (typeof delta.refusal === "string") message.refusal = (message.refusal ?? "") + delta.refusal;
    if (delta.reasoning !== undefined) message.reasoning = (message.reasoning ?? "") + delta.reasoning;
    for (const detail of delta.reasoning_details ?? []) {
      const known = message.reasoning_details[detail.index];
      if (!known) message.reasoning_details[detail.index] = { ...detail };
      else if (detail.summary !== undefined) known.summary = (known.summary ?? "") + detail.summary;
      else if (detail.text !== undefined) known.text = (known.text ?? "") + detail.text;
    }
    for (const call of delta.tool_calls ?? []) {
      const known = message.tool_calls[call.index];
      if (!known) {
        message.tool_calls[call.index] = {
          id: call.id!,
          type: call.type!,
          function: { name: call.function.name!, arguments: call.function.arguments },
        };
      } else known.function.arguments += call.function.arguments;
    }
    if (delta.annotations) message.annotations.push(...delta.annotations);
    if (choice.finish_reason) message.finish_reason = choice.finish_reason;
  }
  return message;
};

const finalResponse = (events: ResponsesEvent[]) =>
  events.find((event) => event.type === "response.completed" || event.type === "response.incomplete")!
    .response as ResponsesResponse;

const successes = [
  "text.sse",
  "reasoning_text.sse",
  "parallel_tools.sse",
  "interleaved_tools.sse",
  "custom_tool_deltas.sse",
  "custom_tool_no_deltas.sse",
  "custom_tool_wrapped.sse",
  "refusal.sse",
  "url_citations.sse",
  "incomplete_max_tokens.sse",
  "incomplete_content_filter.sse",
  "out_of_order.sse",
  "unknown_types.sse",
  "zero_output.sse",
];

for (const name of successes) {
  Deno.test(`the stream for ${name} is well formed for strict clients`, async () => {
    const ctx = context({ customTools: new Set(["ApplyPatch"]) });
    const { frames, encoder } = await encodeFixture(name, ctx);
    assertWellFormed(frames, ctx);
    assert.equal(encoder.finished, true);
    assert.equal(encoder.failed, false);
  });
}

for (const name of ["text", "reasoning_text", "parallel_tools", "custom_tool_deltas", "refusal", "url_citations"]) {
  Deno.test(`the stream for ${name}.sse accumulates to the same message as the JSON answer`, async () => {
    const events = await eventsOf(`${name}.sse`);
    const streamed = accumulate(encode(events).frames);
    const json = encodeCompletion(finalResponse(events), context()).choices[0];
    assert.equal(streamed.content, json.message.content);
    assert.equal(streamed.refusal, json.message.refusal);
    assert.equal(streamed.reasoning, json.message.reasoning);
    assert.deepEqual(streamed.reasoning_details, json.message.reasoning_details ?? []);
    assert.deepEqual(streamed.tool_calls, json.message.tool_calls ?? []);
    assert.deepEqual(streamed.annotations, json.message.annotations);
    assert.equal(streamed.finish_reason, json.finish_reason);
  });
}

Deno.test("text deltas become delta.content after a role chunk, all with the same id, created and model", async () => {
  const { frames } = await encodeFixture("text.sse");
  const chunks = chunksOf(frames);
  assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant" });
  assert.deepEqual(chunks.slice(1, 4).map((chunk) => chunk.choices[0].delta), [
    { content: "Hello" },
    { content: ", wor" },
    { content: "ld!" },
  ]);
  assert.equal(chunks[4].choices[0].finish_reason, "stop");
});

Deno.test("start-up events produce nothing; the role chunk comes with the first output", async () => {
  const events = await eventsOf("text.sse");
  const { outputs } = encode(events);
  assert.deepEqual(outputs.slice(0, 4), ["", "", "", ""]);
  assert.match(outputs[4], /"role":"assistant"/);
  assert.match(outputs[4], /"content":"Hello"/);
});

Deno.test("the final chunk has choices [] and the full usage, then [DONE], always", async () => {
  const { frames } = await encodeFixture("text.sse");
  const usage = chunksOf(frames).at(-1)!;
  assert.deepEqual(usage.usage, {
    prompt_tokens: 12,
    completion_tokens: 5,
    total_tokens: 17,
    prompt_tokens_details: { cached_tokens: 4, cache_write_tokens: 0, cached_read_tokens: 4, cached_write_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  assert.equal(usage.id, "chatcmpl-stream");
  assert.equal(frames.at(-1), "[DONE]");
});

Deno.test("the usage chunk carries usage.cost when the served model has a price", async () => {
  const cost = { input_tokens_cost: 0.001, output_tokens_cost: 0.002, reasoning_tokens_cost: 0, total_cost: 0.003 };
  const { frames, encoder } = await encodeFixture("text.sse", context({ price: () => cost }));
  assert.deepEqual(chunksOf(frames).at(-1)!.usage!.cost, cost);
  assert.equal(encoder.usage?.input_tokens, 12);
});

Deno.test("a zero-output success with null usage still gets a role chunk, a stop finish and zero usage", async () => {
  const { frames } = await encodeFixture("zero_output.sse");
  const chunks = chunksOf(frames);
  assert.equal(chunks.length, 3);
  assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant" });
  assert.equal(chunks[1].choices[0].finish_reason, "stop");
  assert.deepEqual(chunks[2].usage, {
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0, cached_read_tokens: 0, cached_write_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
});

Deno.test("parallel function calls get indexes 0 and 1, never the Responses output_index", async () => {
  const { frames } = await encodeFixture("parallel_tools.sse");
  const calls = chunksOf(frames).flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
  assert.deepEqual(calls[0], {
    index: 0,
    id: "call_weather_paris",
    type: "function",
    function: { name: "get_weather", arguments: "" },
  });
  assert.deepEqual(calls[1], { index: 0, function: { arguments: '{"ci' } });
  const opening = calls.find((call) => call.index === 1 && call.id);
  assert.deepEqual(opening, {
    index: 1,
    id: "call_weather_rome",
    type: "function",
    function: { name: "get_weather", arguments: "" },
  });
  const message = accumulate(frames);
  assert.equal(message.finish_reason, "tool_calls");
  assert.equal(message.content, null);
  assert.deepEqual(message.tool_calls.map((call) => call.function.arguments), ['{"city":"Paris"}', '{"city":"Rome"}']);
});

Deno.test("interleaved tool-call deltas are held back so each call is written whole and in order", async () => {
  const { frames } = await encodeFixture("interleaved_tools.sse");
  const calls = chunksOf(frames).flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
  const order = calls.map((call) => call.index);
  assert.deepEqual(order, [...order].sort(), "all of call 0 before any of call 1");
  const message = accumulate(frames);
  assert.deepEqual(message.tool_calls, [
    { id: "call_a", type: "function", function: { name: "read_file", arguments: '{"path":"a.txt"}' } },
    { id: "call_b", type: "function", function: { name: "list_dir", arguments: '{"dir":"src"}' } },
  ]);
});

Deno.test("a custom tool call streams as a function call whose arguments are the raw input text", async () => {
  const { frames } = await encodeFixture("custom_tool_deltas.sse");
  const message = accumulate(frames);
  assert.equal(message.content, "Updating the constant.");
  assert.deepEqual(message.tool_calls, [{
    id: "call_patch_1",
    type: "function",
    function: { name: "ApplyPatch", arguments: PATCH },
  }]);
  assert.equal(message.finish_reason, "tool_calls");
});

Deno.test("a custom tool call without input deltas gets its input from output_item.done", async () => {
  const { frames } = await encodeFixture("custom_tool_no_deltas.sse");
  const message = accumulate(frames);
  assert.deepEqual(message.tool_calls, [{
    id: "call_apply",
    type: "function",
    function: { name: "ApplyPatch", arguments: "*** Begin Patch\n*** End Patch" },
  }]);
  assert.equal(message.finish_reason, "tool_calls");
});

Deno.test('a function call to a custom tool is held whole and its {"input":...} wrapper removed', async () => {
  const events = await eventsOf("custom_tool_wrapped.sse");
  const unwrapped = encode(events, context({ customTools: new Set(["ApplyPatch"]) }));
  const argumentDeltas = chunksOf(unwrapped.frames)
    .flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])
    .filter((call) => !call.id);
  assert.deepEqual(argumentDeltas, [{ index: 0, function: { arguments: PATCH } }]);
  // Without the tool being declared custom, the JSON arguments pass through as streamed.
  const plain = accumulate(encode(events).frames);
  assert.deepEqual(JSON.parse(plain.tool_calls[0].function.arguments), { input: PATCH });
});

Deno.test("reasoning summaries stream as delta.reasoning with reasoning.summary details, parts separated", async () => {
  const { frames } = await encodeFixture("reasoning_text.sse");
  const chunks = chunksOf(frames);
  assert.deepEqual(chunks[1].choices[0].delta, {
    reasoning: "**Plan**",
    reasoning_details: [{ type: "reasoning.summary", summary: "**Plan**", index: 0, id: "rs_reason_1" }],
  });
  const secondPart = chunks.find((chunk) => chunk.choices[0]?.delta.reasoning_details?.[0].index === 1)!;
  assert.equal(secondPart.choices[0].delta.reasoning, "\n\n**Check**");
  assert.equal(secondPart.choices[0].delta.reasoning_details?.[0].summary, "**Check**");
  const message = accumulate(frames);
  assert.equal(message.reasoning, "**Plan**\n\nAdd the numbers.\n\n**Check**\n\n2 + 2 is 4.");
  assert.deepEqual(message.reasoning_details.at(-1), {
    type: "reasoning.encrypted",
    data: "gAAAAABencrypted-blob==",
    index: 2,
    id: "rs_reason_1",
  });
  assert.equal(message.content, "2 + 2 = 4");
});

Deno.test("raw reasoning text streams as reasoning.text details even when its item closes after the next one", async () => {
  const { frames } = await encodeFixture("out_of_order.sse");
  const message = accumulate(frames);
  assert.equal(message.reasoning, "The user greets me. Reply briefly.");
  assert.deepEqual(message.reasoning_details, [
    { type: "reasoning.text", text: "The user greets me. Reply briefly.", index: 0, id: "rs_ooo_1" },
  ]);
  assert.equal(message.content, "Hi there!");
  assert.equal(message.finish_reason, "stop");
  const usage = chunksOf(frames).at(-1)!;
  assert.equal(usage.usage?.completion_tokens_details.reasoning_tokens, 8);
  assert.equal(usage.extra_fields.model_deployment, "deepseek/deepseek-r1");
});

Deno.test("a refusal streams as delta.refusal", async () => {
  const { frames } = await encodeFixture("refusal.sse");
  const deltas = chunksOf(frames).map((chunk) => chunk.choices[0]?.delta);
  assert.deepEqual(deltas.slice(1, 3), [{ refusal: "I'm sorry, " }, { refusal: "I can't help with that." }]);
  assert.equal(accumulate(frames).content, null);
});

Deno.test("url citations are sent once, as delta.annotations before the finish chunk", async () => {
  const { frames } = await encodeFixture("url_citations.sse");
  const chunks = chunksOf(frames);
  const withAnnotations = chunks.filter((chunk) => chunk.choices[0]?.delta.annotations);
  assert.equal(withAnnotations.length, 1);
  const annotations = withAnnotations[0].choices[0].delta.annotations!;
  const content = accumulate(frames).content!;
  assert.deepEqual(
    annotations.map(({ url_citation }) => content.slice(url_citation.start_index, url_citation.end_index)),
    ["(deno.com)", "(nodejs.org)"],
  );
  assert.equal(chunks.indexOf(withAnnotations[0]), chunks.length - 3);
});

/** A reasoning model's answer: a commentary message, reasoning, then the final message (issue 14, point 11). */
const commentaryThenFinal = (): ResponsesEvent[] => {
  const commentary = {
    type: "message",
    id: "msg_commentary",
    role: "assistant",
    phase: "commentary",
    content: [
      { type: "output_text", text: "I'll look up the ", annotations: [] },
      { type: "output_text", text: "docs links.", annotations: [] },
    ],
  };
  const final = {
    type: "message",
    id: "msg_final",
    role: "assistant",
    phase: "final_answer",
    content: [{
      type: "output_text",
      text: "Here are the links (deno.com).",
      annotations: [{ type: "url_citation", start_index: 19, end_index: 29, title: "Deno", url: "https://deno.com" }],
    }],
  };
  const delta = (item_id: string, output_index: number, content_index: number, delta: string) => ({
    type: "response.output_text.delta",
    item_id,
    output_index,
    content_index,
    delta,
  });
  return [
    delta("msg_commentary", 0, 0, "I'll look up the "),
    delta("msg_commentary", 0, 1, "docs "),
    delta("msg_commentary", 0, 1, "links."),
    { type: "response.output_item.done", output_index: 0, item: commentary },
    { type: "response.output_item.done", output_index: 1, item: { type: "reasoning", id: "rs_1", summary: [] } },
    delta("msg_final", 2, 0, "Here are the links"),
    delta("msg_final", 2, 0, " (deno.com)."),
    { type: "response.output_item.done", output_index: 2, item: final },
    {
      type: "response.completed",
      response: { status: "completed", output: [commentary, { type: "reasoning", summary: [] }, final] },
    },
  ];
};

const JOINED = "I'll look up the docs links.\n\nHere are the links (deno.com).";

Deno.test("the text of a second message item streams after a blank line, as in the JSON answer", () => {
  const events = commentaryThenFinal();
  const { frames } = encode(events);
  const deltas = chunksOf(frames).flatMap((chunk) => chunk.choices[0]?.delta.content ?? []);
  assert.deepEqual(deltas, ["I'll look up the ", "docs ", "links.", "\n\nHere are the links", " (deno.com)."]);
  const message = accumulate(frames);
  assert.equal(message.content, JOINED);
  assert.equal(encodeCompletion(finalResponse(events), context()).choices[0].message.content, JOINED);
  const [{ url_citation }] = message.annotations;
  assert.equal(JOINED.slice(url_citation.start_index, url_citation.end_index), "(deno.com)");
});

Deno.test("message items that arrive only whole are joined by a blank line too", () => {
  const whole = commentaryThenFinal().filter((event) => event.type !== "response.output_text.delta");
  const message = accumulate(encode(whole).frames);
  assert.equal(message.content, JOINED);
  const [{ url_citation }] = message.annotations;
  assert.equal(JOINED.slice(url_citation.start_index, url_citation.end_index), "(deno.com)");
});

Deno.test("an answer cut by max_output_tokens finishes with length, by the filter with content_filter", async () => {
  assert.equal(accumulate((await encodeFixture("incomplete_max_tokens.sse")).frames).finish_reason, "length");
  assert.equal(
    accumulate((await encodeFixture("incomplete_content_filter.sse")).frames).finish_reason,
    "content_filter",
  );
});

Deno.test("an error event after output becomes one error frame and the stream ends, with no finish and no [DONE]", async () => {
  const events = await eventsOf("error_mid_stream.sse");
  const { frames, encoder, outputs } = encode(events);
  assert.equal(encoder.finished, true);
  assert.equal(encoder.failed, true);
  const last = frames.at(-1) as { error: Record<string, unknown> };
  assert.deepEqual(last, {
    error: {
      message: "The model crashed while generating the answer.",
      type: "server_error",
      param: null,
      code: "server_error",
    },
  });
  assert.equal(frames.includes("[DONE]"), false);
  assert.equal(chunksOf(frames).some((chunk) => chunk.choices[0]?.finish_reason), false);
  assert.deepEqual(accumulate(frames).content, "Partial answer");
  // The response.failed that follows the error event adds nothing.
  assert.equal(outputs.at(-2), "");
});

Deno.test("response.failed alone becomes an error frame with the upstream's message, even mid tool call", async () => {
  const { frames, encoder } = await encodeFixture("failed_mid_tool_call.sse");
  assert.equal(encoder.failed, true);
  const last = frames.at(-1) as { error: { message: string; code: string } };
  assert.equal(last.error.message, "Rate limit reached for requests.");
  assert.equal(last.error.code, "rate_limit_exceeded");
  assert.equal(frames.includes("[DONE]"), false);
  assert.equal(encoder.usage?.input_tokens, 10);
});

Deno.test("a mid-stream key error is reworded so no part of a key can reach the client", () => {
  const { frames } = encode([
    { type: "response.output_text.delta", item_id: "m", output_index: 0, content_index: 0, delta: "Hi" },
    {
      type: "error",
      error: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key: sk-upst****ret1" },
    },
  ]);
  const last = frames.at(-1) as { error: { message: string } };
  assert.doesNotMatch(last.error.message, /sk-/);
  assert.match(last.error.message, /openai/);
});

Deno.test("an upstream that closes without a terminal event ends with an error frame from end()", async () => {
  const { frames, encoder } = await encodeFixture("truncated.sse");
  assert.equal(encoder.failed, true);
  const last = frames.at(-1) as { error: { message: string; type: string } };
  assert.equal(last.error.type, "upstream_error");
  assert.match(last.error.message, /ended before the response was complete/);
  assert.equal(frames.includes("[DONE]"), false);
  assert.equal(encoder.end(), "", "end() after the end adds nothing");
});

Deno.test("events after the terminal frame are ignored", async () => {
  const events = await eventsOf("text.sse");
  const { encoder } = encode(events);
  assert.equal(encoder.push(events[4]), "");
  assert.equal(encoder.push({ type: "error", message: "late" }), "");
  assert.equal(encoder.failed, false);
});

Deno.test("unknown event and item types are skipped and the text around them comes through", async () => {
  const { frames } = await encodeFixture("unknown_types.sse");
  const message = accumulate(frames);
  assert.equal(message.content, "Listed the files.");
  assert.deepEqual(message.tool_calls, []);
  assert.equal(message.finish_reason, "stop");
});

Deno.test("data-only frames without sequence_number and a trailing [DONE] from the upstream are accepted", async () => {
  const events = await eventsOf("out_of_order.sse");
  assert.equal(events.some((event) => "sequence_number" in event), false);
  assert.equal(events.at(-1)?.type, "response.completed");
  assertWellFormed(encode(events).frames);
});

Deno.test("every chunk carries extra_fields with model_deployment as the upstream reported it", async () => {
  const { frames } = await encodeFixture("text.sse", context({ model: "my-alias" }));
  for (const chunk of chunksOf(frames)) {
    assert.equal(chunk.model, "my-alias");
    assert.equal(chunk.extra_fields.model_requested, "my-alias");
    assert.equal(chunk.extra_fields.model_deployment, "gpt-5-2025-08-07");
    assert.equal(chunk.extra_fields.provider, "openai");
    assert.equal(chunk.extra_fields.fallback_index, 0);
  }
});

Deno.test("a text message that arrives only in output_item.done is still written", () => {
  const { frames } = encode([
    {
      type: "response.output_item.done",
      output_index: 0,
      item: {
        id: "m1",
        type: "message",
        content: [{
          type: "output_text",
          text: "Whole text.",
          annotations: [{ type: "url_citation", start_index: 0, end_index: 5, title: "t", url: "https://x.test/" }],
        }],
      },
    },
    { type: "response.completed", response: { status: "completed", output: [] } },
  ]);
  const message = accumulate(frames);
  assert.equal(message.content, "Whole text.");
  assert.equal(message.annotations[0].url_citation.url, "https://x.test/");
});

Deno.test("a function call finished without argument deltas gets its arguments from the done event", () => {
  const { frames } = encode([
    {
      type: "response.output_item.added",
      output_index: 0,
      item: { id: "fc", type: "function_call", call_id: "c", name: "f" },
    },
    { type: "response.function_call_arguments.done", item_id: "fc", output_index: 0, arguments: '{"a":1}' },
    { type: "response.completed", response: { status: "completed" } },
  ]);
  assertWellFormed(frames);
  assert.deepEqual(accumulate(frames).tool_calls, [{
    id: "c",
    type: "function",
    function: { name: "f", arguments: '{"a":1}' },
  }]);
});

Deno.test("a tool call still open at the terminal event is flushed before the finish chunk", () => {
  const { frames } = encode([
    {
      type: "response.output_item.added",
      output_index: 0,
      item: { id: "a", type: "function_call", call_id: "ca", name: "f" },
    },
    {
      type: "response.output_item.added",
      output_index: 1,
      item: { id: "b", type: "function_call", call_id: "cb", name: "g" },
    },
    { type: "response.function_call_arguments.delta", item_id: "a", output_index: 0, delta: "{}" },
    { type: "response.function_call_arguments.delta", item_id: "b", output_index: 1, delta: '{"x":' },
    { type: "response.function_call_arguments.delta", item_id: "b", output_index: 1, delta: "2}" },
    {
      type: "response.incomplete",
      response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } },
    },
  ]);
  assertWellFormed(frames);
  const message = accumulate(frames);
  assert.deepEqual(message.tool_calls.map((call) => call.function.arguments), ["{}", '{"x":2}']);
  assert.equal(message.finish_reason, "length");
});

Deno.test("isOutputEvent is true for deltas, tool-call openings and the end, false for start-up events", () => {
  const yes: ResponsesEvent[] = [
    { type: "response.output_text.delta", delta: "a" },
    { type: "response.refusal.delta", delta: "a" },
    { type: "response.reasoning_summary_text.delta", delta: "a" },
    { type: "response.reasoning_text.delta", delta: "a" },
    { type: "response.output_item.added", item: { type: "function_call" } },
    { type: "response.output_item.added", item: { type: "custom_tool_call" } },
    { type: "response.completed", response: {} },
    { type: "response.incomplete", response: {} },
  ];
  const no: ResponsesEvent[] = [
    { type: "response.created", response: {} },
    { type: "response.in_progress", response: {} },
    { type: "response.output_item.added", item: { type: "message", content: [] } },
    { type: "response.output_item.added", item: { type: "reasoning", summary: [] } },
    { type: "response.content_part.added", part: { type: "output_text", text: "" } },
    { type: "response.reasoning_summary_part.added" },
    { type: "error", message: "x" },
    { type: "response.failed", response: {} },
  ];
  for (const event of yes) assert.equal(isOutputEvent(event), true, event.type);
  for (const event of no) assert.equal(isOutputEvent(event), false, event.type);
});
