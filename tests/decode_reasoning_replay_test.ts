/**
 * Reasoning a client sends back: chat `reasoning_details`, Anthropic thinking
 * blocks and Responses reasoning items all become canonical reasoning items
 * `{type, summary, encrypted_content}`, placed before the assistant turn
 * they preceded, in the shape each adapter reads back.
 */
import assert from "node:assert/strict";
import type { JsonObject } from "../src/protocol/responses.ts";
import { encodeCompletion } from "../src/encode/completion.ts";
import { messagesBody } from "../src/upstream/adapters/anthropic/request.ts";
import { openReasoning, sealReasoning } from "../src/upstream/adapters/reasoning_envelope.ts";
import { decode } from "./support/decode.ts";
import { encodeContext } from "./support/encode.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, startGateway, testConfig } from "./support/gateway.ts";

const OPENAI_BLOB = "gAAAAABo-opaque-openai-blob==";

const inputOf = (messages: unknown[]) => decode({ model: "gpt-5", messages }).body.input as JsonObject[];

const user = { role: "user", content: "Run the tests." };
const call = { id: "call_1", type: "function", function: { name: "Shell", arguments: '{"command":"deno test"}' } };
const toolResult = { role: "tool", tool_call_id: "call_1", content: "ok | 12 passed" };

const canonicalUser = { type: "message", role: "user", content: "Run the tests." };
const canonicalCall = {
  type: "function_call",
  call_id: "call_1",
  name: "Shell",
  arguments: '{"command":"deno test"}',
};
const canonicalOutput = { type: "function_call_output", call_id: "call_1", output: "ok | 12 passed" };

const summary = (...texts: string[]) => texts.map((text) => ({ type: "summary_text", text }));

// ===== reasoning_details =====

Deno.test("an OpenAI blob in reasoning_details becomes a reasoning item right before the turn's tool calls", () => {
  const assistant = {
    role: "assistant",
    content: null,
    tool_calls: [call],
    reasoning_details: [
      { type: "reasoning.summary", summary: "**Running tests**", index: 0, id: "rs_1" },
      { type: "reasoning.encrypted", data: OPENAI_BLOB, index: 1, id: "rs_1" },
    ],
  };
  assert.deepEqual(inputOf([user, assistant, toolResult]), [
    canonicalUser,
    { type: "reasoning", summary: summary("**Running tests**"), encrypted_content: OPENAI_BLOB },
    canonicalCall,
    canonicalOutput,
  ]);
});

Deno.test("an anthropic envelope in reasoning_details comes back as it was handed out, before the turn's text", () => {
  const envelope = sealReasoning("anthropic", {
    blocks: [{ type: "thinking", thinking: "Tests first.", signature: "c2ln" }],
  });
  const assistant = {
    role: "assistant",
    content: "All 12 tests pass.",
    reasoning: "Tests first.",
    reasoning_details: [
      { type: "reasoning.text", text: "Tests first.", index: 0, id: "msg_01_0" },
      { type: "reasoning.encrypted", data: envelope, index: 1, id: "msg_01_0" },
    ],
  };
  assert.deepEqual(inputOf([user, assistant, { role: "user", content: "Thanks." }]), [
    canonicalUser,
    { type: "reasoning", summary: summary("Tests first."), encrypted_content: envelope },
    { type: "message", role: "assistant", content: "All 12 tests pass." },
    { type: "message", role: "user", content: "Thanks." },
  ]);
});

Deno.test("without ids, each encrypted entry ends an item and the texts before it are its summary", () => {
  const assistant = {
    role: "assistant",
    content: "Done.",
    reasoning_details: [
      { type: "reasoning.summary", summary: "First", index: 0 },
      { type: "reasoning.encrypted", data: "blob-1", index: 1 },
      { type: "reasoning.summary", summary: "Second", index: 2 },
      { type: "reasoning.summary", summary: "Third", index: 3 },
      { type: "reasoning.encrypted", data: "blob-2", index: 4 },
    ],
  };
  assert.deepEqual(inputOf([user, assistant]).slice(1, 3), [
    { type: "reasoning", summary: summary("First"), encrypted_content: "blob-1" },
    { type: "reasoning", summary: summary("Second", "Third"), encrypted_content: "blob-2" },
  ]);
});

Deno.test("an encrypted entry alone, without an id, still makes an item with an empty summary", () => {
  const assistant = {
    role: "assistant",
    content: "Done.",
    reasoning_details: [{ type: "reasoning.encrypted", data: OPENAI_BLOB, index: 0 }],
  };
  assert.deepEqual(inputOf([user, assistant])[1], { type: "reasoning", summary: [], encrypted_content: OPENAI_BLOB });
});

Deno.test("entries are grouped by id, whatever their order", () => {
  const assistant = {
    role: "assistant",
    content: "Done.",
    reasoning_details: [
      { type: "reasoning.summary", summary: "A", index: 0, id: "rs_a" },
      { type: "reasoning.summary", summary: "B", index: 1, id: "rs_b" },
      { type: "reasoning.encrypted", data: "blob-b", index: 2, id: "rs_b" },
      { type: "reasoning.encrypted", data: "blob-a", index: 3, id: "rs_a" },
    ],
  };
  assert.deepEqual(inputOf([user, assistant]).slice(1, 3), [
    { type: "reasoning", summary: summary("A"), encrypted_content: "blob-a" },
    { type: "reasoning", summary: summary("B"), encrypted_content: "blob-b" },
  ]);
});

Deno.test("streamed fragments of one text, replayed unmerged, make one summary part", () => {
  const assistant = {
    role: "assistant",
    content: "Done.",
    reasoning_details: [
      { type: "reasoning.summary", summary: "**Pl", index: 0, id: "rs_1" },
      { type: "reasoning.summary", summary: "an**", index: 0, id: "rs_1" },
      { type: "reasoning.summary", summary: "Check", index: 1, id: "rs_1" },
      { type: "reasoning.encrypted", data: OPENAI_BLOB, index: 2, id: "rs_1" },
    ],
  };
  assert.deepEqual(inputOf([user, assistant])[1], {
    type: "reasoning",
    summary: summary("**Plan**", "Check"),
    encrypted_content: OPENAI_BLOB,
  });
});

Deno.test("texts without encrypted data, malformed entries and reasoning_details off an assistant make no item", () => {
  assert.deepEqual(
    inputOf([
      { role: "user", content: "hi", reasoning_details: [{ type: "reasoning.encrypted", data: OPENAI_BLOB }] },
      {
        role: "assistant",
        content: "Hello.",
        reasoning_details: [
          { type: "reasoning.summary", summary: "Greet back.", index: 0 },
          { type: "reasoning.encrypted", data: 42 },
          { type: "reasoning.encrypted", data: "" },
          { type: "reasoning.future" },
          "junk",
          null,
        ],
      },
    ]),
    [
      { type: "message", role: "user", content: "hi" },
      { type: "message", role: "assistant", content: "Hello." },
    ],
  );
  assert.deepEqual(inputOf([user, { role: "assistant", content: "Hello.", reasoning_details: "x" }]).length, 2);
});

Deno.test("OpenRouter's signed Claude thinking is sealed for the anthropic adapter; another API's raw data is dropped", () => {
  const assistant = {
    role: "assistant",
    content: "Done.",
    reasoning_details: [
      { type: "reasoning.text", text: "Tests", signature: "", format: "anthropic-claude-v1", index: 0 },
      { type: "reasoning.text", text: " first.", signature: "c2ln", format: "anthropic-claude-v1", index: 0 },
      { type: "reasoning.text", text: "Then", format: "anthropic-claude-v1", index: 1 },
      { type: "reasoning.text", text: " lint.", signature: "c2lnMg==", format: "anthropic-claude-v1", index: 1 },
      { type: "reasoning.encrypted", data: "cmVkYWN0ZWQ=", format: "anthropic-claude-v1", index: 2 },
      { type: "reasoning.encrypted", data: "gemini-thought-signature", format: "google-gemini-v1", index: 3 },
    ],
  };
  const input = inputOf([user, assistant]);
  assert.equal(input.length, 3);
  assert.deepEqual(input[1].summary, summary("Tests first.", "Then lint."));
  assert.deepEqual(openReasoning(input[1].encrypted_content), {
    api: "anthropic",
    payload: {
      blocks: [
        { type: "thinking", thinking: "Tests first.", signature: "c2ln" },
        { type: "thinking", thinking: "Then lint.", signature: "c2lnMg==" },
        { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" },
      ],
    },
  });
});

Deno.test("the reasoning_details the gateway answers with come back as the reasoning item they came from", () => {
  const reasoning = {
    type: "reasoning",
    id: "rs_round",
    summary: summary("**Plan**", "**Check**"),
    encrypted_content: OPENAI_BLOB,
  };
  const completion = encodeCompletion({
    output: [reasoning, { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hi." }] }],
  }, encodeContext("chatcmpl-round"));
  const { role, content, reasoning_details } = completion.choices[0].message;
  const replayed = inputOf([user, { role, content, reasoning_details }]);
  const { id: _id, ...forwarded } = reasoning;
  assert.deepEqual(replayed[1], forwarded);
});

// ===== Anthropic thinking blocks =====

Deno.test("thinking and redacted_thinking blocks become one reasoning item sealed for the anthropic adapter", () => {
  const assistant = {
    role: "assistant",
    content: [
      { type: "thinking", thinking: "I should run the tests.", signature: "c2lnLW9uZQ==" },
      { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" },
      { type: "text", text: "Running them." },
      { type: "tool_use", id: "call_1", name: "Shell", input: { command: "deno test" } },
    ],
  };
  const input = inputOf([user, assistant, toolResult]);
  assert.deepEqual(input.map((item) => item.type), [
    "message",
    "reasoning",
    "message",
    "function_call",
    "function_call_output",
  ]);
  assert.deepEqual(Object.keys(input[1]), ["type", "summary", "encrypted_content"]);
  assert.deepEqual(input[1].summary, []);
  assert.deepEqual(openReasoning(input[1].encrypted_content), {
    api: "anthropic",
    payload: {
      blocks: [
        { type: "thinking", thinking: "I should run the tests.", signature: "c2lnLW9uZQ==" },
        { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" },
      ],
    },
  });
  assert.deepEqual(input[2], {
    type: "message",
    role: "assistant",
    content: [{ type: "output_text", text: "Running them." }],
  });
});

Deno.test("the anthropic adapter sends Cursor's thinking blocks back to Claude first in their turn, as they were", () => {
  const thinking = { type: "thinking", thinking: "I should run the tests.", signature: "c2lnLW9uZQ==" };
  const redacted = { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" };
  const canonical = decode({
    model: "anthropic/claude-sonnet-4-5",
    messages: [user, {
      role: "assistant",
      content: [thinking, redacted, {
        type: "tool_use",
        id: "toolu_1",
        name: "Shell",
        input: { command: "deno test" },
      }],
    }, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }] }],
  }).body;
  const wire = messagesBody(canonical, { model: "claude-sonnet-4-5", stream: false }, {
    provider: "claude",
    api: "anthropic",
    options: {},
  });
  const messages = wire.messages as Array<{ role: string; content: JsonObject[] }>;
  assert.equal(messages[1].role, "assistant");
  assert.deepEqual(messages[1].content.slice(0, 3), [
    thinking,
    redacted,
    { type: "tool_use", id: "toolu_1", name: "Shell", input: { command: "deno test" } },
  ]);
});

Deno.test("a run of thinking written after text sits between that text and what follows it", () => {
  const input = inputOf([user, {
    role: "assistant",
    content: [
      { type: "text", text: "Let me think." },
      { type: "thinking", thinking: "Hmm.", signature: "c2ln" },
      { type: "text", text: "Done." },
    ],
  }]);
  assert.deepEqual(input.map((item) => item.type), ["message", "message", "reasoning", "message"]);
  assert.deepEqual(input[3], { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] });
});

Deno.test("thinking without a signature, and thinking blocks outside an assistant message, are dropped", () => {
  assert.deepEqual(
    inputOf([
      { role: "user", content: [{ type: "thinking", thinking: "x", signature: "s" }, { type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "thinking", thinking: "unsigned" }, { type: "text", text: "Hello." }] },
    ]),
    [
      { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello." }] },
    ],
  );
});

Deno.test("an assistant message of thinking and tool calls leaves no empty message behind", () => {
  const input = inputOf([user, {
    role: "assistant",
    content: [{ type: "thinking", thinking: "Run it.", signature: "c2ln" }],
    tool_calls: [call],
  }, toolResult]);
  assert.deepEqual(input.map((item) => item.type), ["message", "reasoning", "function_call", "function_call_output"]);
});

Deno.test("thinking blocks flattened into the input list become reasoning items too", () => {
  const input = decode({
    model: "gpt-5",
    input: [
      canonicalUser,
      { type: "thinking", thinking: "Run it.", signature: "c2ln" },
      { type: "tool_use", id: "call_1", name: "Shell", input: { command: "deno test" } },
    ],
  }).body.input as JsonObject[];
  // The call has no output of its own: a placeholder answers it (issue 14, point 2).
  assert.deepEqual(input.map((item) => item.type), ["message", "reasoning", "function_call", "function_call_output"]);
  assert.equal(openReasoning(input[1].encrypted_content).api, "anthropic");
});

// ===== Responses reasoning items =====

const cursorReasoning = {
  type: "reasoning",
  id: "rs_68c1f0e2a9d48190b0f3a7c5e1d2b3c4",
  status: "completed",
  summary: [{ type: "summary_text", text: "**Planning the rename**" }],
  content: [{ type: "reasoning_text", text: "The helper is called total; rename it to cartTotal." }],
  encrypted_content: OPENAI_BLOB,
};

Deno.test("a Cursor reasoning item keeps only type, summary and encrypted_content", () => {
  const input = decode({ model: "gpt-5", input: [canonicalUser, cursorReasoning, canonicalCall, canonicalOutput] }).body
    .input;
  assert.deepEqual(input, [
    canonicalUser,
    { type: "reasoning", summary: cursorReasoning.summary, encrypted_content: OPENAI_BLOB },
    canonicalCall,
    canonicalOutput,
  ]);
});

Deno.test("a Cursor hybrid body's reasoning item reaches a Responses upstream without its rs_ id or content", async () => {
  const upstream = startFakeUpstream(() => ({
    json: {
      id: "resp_1",
      object: "response",
      status: "completed",
      model: "gpt-5",
      output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "ok" }] }],
      usage: { input_tokens: 5, output_tokens: 1, total_tokens: 6 },
    },
  }));
  const gateway = await startGateway(testConfig(upstream.url));
  try {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", {
      model: "openai/gpt-5",
      messages: [],
      input: [canonicalUser, cursorReasoning, canonicalCall, canonicalOutput],
      include: ["reasoning.encrypted_content"],
      store: false,
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.deepEqual((upstream.requests[0].body.input as unknown[])[1], {
      type: "reasoning",
      summary: cursorReasoning.summary,
      encrypted_content: OPENAI_BLOB,
    });
  } finally {
    await gateway.close();
    await upstream.close();
  }
});
