/**
 * Issue 14, point 4: on Cursor requests, an upstream "context too long" before any output becomes a
 * successful empty answer (role chunk, finish `length`, usage with 1,000,000 prompt tokens, `[DONE]`;
 * JSON alike) marked `extra_fields.context_overflow`, so Cursor compacts the conversation instead of
 * ending the session on an error it cannot classify. `cursor_context_overflow: "error"` keeps the 400;
 * strict `/v1` clients always get the 400.
 */
import assert from "node:assert/strict";
import type { Script } from "./support/fake_upstream.ts";
import { jsonFixture, sseFixture } from "./support/fake_upstream.ts";
import { VK } from "./support/gateway.ts";
import {
  answering,
  contentOf,
  CURSOR_PATH,
  cursorBodies,
  finishOf,
  type Json,
  noRecordings,
  post,
  STRICT_PATH,
  usageChunkOf,
  withGateway,
} from "./support/cursor.ts";

const tooLong: Script = () => ({ status: 400, json: jsonFixture("cursor/context_too_long.json") });
const tooLongInStream: Script = () => ({ sse: sseFixture("cursor/context_too_long_in_stream.sse") });
const body = { model: "gpt-5", input: [{ role: "user", content: "A very long session." }] };
const streamed = { ...body, stream: true, stream_options: { include_usage: true } };

/** The stream Cursor compacts on: role, finish `length`, the usage, `[DONE]`, nothing written. */
const assertOverflowStream = (answer: { status: number; chunks: Json[]; done: boolean }) => {
  assert.equal(answer.status, 200);
  assert.ok(answer.done);
  assert.equal(answer.chunks.length, 3);
  assert.deepEqual(answer.chunks[0].choices[0].delta, { role: "assistant" });
  assert.equal(finishOf(answer.chunks), "length");
  assert.equal(contentOf(answer.chunks), "");
  const usage = usageChunkOf(answer.chunks);
  assert.equal(usage.usage.prompt_tokens, 1_000_000);
  assert.equal(usage.usage.completion_tokens, 0);
  assert.equal(usage.usage.cost, undefined);
  for (const chunk of answer.chunks) assert.equal(chunk.extra_fields.context_overflow, true);
};

Deno.test("Cursor stream: an upstream 400 context_length_exceeded becomes the empty answer Cursor compacts on", async () => {
  await withGateway(tooLong, {}, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, streamed);
    assertOverflowStream(answer);
    assert.equal(answer.headers.get("x-gateway-provider"), "openai");
  });
});

Deno.test("Cursor JSON: the same answer as one chat.completion", async () => {
  await withGateway(tooLong, {}, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, body);
    assert.equal(answer.status, 200);
    const choice = answer.json.choices[0];
    assert.equal(choice.finish_reason, "length");
    assert.equal(choice.message.content, "");
    assert.equal(answer.json.usage.prompt_tokens, 1_000_000);
    assert.equal(answer.json.usage.cost, undefined);
    assert.equal(answer.json.extra_fields.context_overflow, true);
    assert.equal(answer.json.model, "gpt-5");
  });
});

Deno.test("Cursor stream: a 200 stream that fails for the context before output ends the same way", async () => {
  await withGateway(tooLongInStream, {}, async ({ gateway }) => {
    assertOverflowStream(await post(gateway, CURSOR_PATH, streamed));
  });
});

Deno.test("a message that says the context is too long (no code) counts too", async () => {
  const script: Script = () => ({
    status: 400,
    json: {
      error: {
        message:
          "This model's maximum context length is 272000 tokens. However, your messages resulted in 300512 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: null,
      },
    },
  });
  await withGateway(script, {}, async ({ gateway }) => {
    assertOverflowStream(await post(gateway, CURSOR_PATH, streamed));
  });
});

Deno.test("strict /v1: the 400 context_length_exceeded stays, streamed and JSON", async () => {
  await withGateway(tooLong, {}, async ({ gateway }) => {
    for (const sent of [body, streamed]) {
      const answer = await post(gateway, STRICT_PATH, sent);
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error.code, "context_length_exceeded");
    }
  });
});

Deno.test('cursor_context_overflow: "error" keeps the 400 on Cursor requests', async () => {
  await withGateway(tooLong, { cursor_context_overflow: "error" }, async ({ gateway }) => {
    for (const sent of [body, streamed]) {
      const answer = await post(gateway, CURSOR_PATH, sent);
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error.code, "context_length_exceeded");
    }
  });
});

Deno.test("Cursor's own requests on /v1 (cursorConversationId) get the compaction answer", async () => {
  await withGateway(tooLong, {}, async ({ gateway }) => {
    const answer = await post(gateway, STRICT_PATH, { ...streamed, metadata: { cursorConversationId: "conv-9" } });
    assertOverflowStream(answer);
  });
});

Deno.test("other failures are not taken for an overflow: a 400 of another kind stays a 400", async () => {
  const script: Script = () => ({
    status: 400,
    json: { error: { message: "Unknown parameter: 'foo'.", type: "invalid_request_error", param: "foo", code: null } },
  });
  await withGateway(script, {}, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, streamed);
    assert.equal(answer.status, 400);
  });
});

Deno.test("the overflow answer charges nothing: a tight budget and a token limit still admit the next turn", async () => {
  let calls = 0;
  const script: Script = (request, index) => {
    calls++;
    return index === 0 ? tooLong(request, index) : answering({ items: [{ text: "compacted" }] })(request, index);
  };
  const keys = {
    virtual_keys: [{
      id: "tight",
      value: VK,
      models: ["*"],
      budget: { max_usd: 0.01, period: "1d" },
      rate_limit: { tokens_per_minute: 1000 },
    }],
  };
  await withGateway(script, keys, async ({ gateway }) => {
    assert.equal((await post(gateway, CURSOR_PATH, body)).status, 200);
    const next = await post(gateway, CURSOR_PATH, body);
    assert.equal(next.status, 200);
    assert.equal(next.json.choices[0].message.content, "compacted");
    assert.equal(calls, 2);
  });
});

// ===== Real Cursor bodies (GATEWAY_RECORDINGS) =====

Deno.test({
  name: "recordings: every Cursor body that meets a context overflow gets the compaction answer",
  ignore: noRecordings,
  fn: async () => {
    await withGateway(tooLong, {}, async ({ gateway }) => {
      for (const { name, body: recorded } of cursorBodies()) {
        const answer = await post(gateway, CURSOR_PATH, recorded);
        assert.equal(answer.status, 200, name);
        if (recorded.stream === true) assertOverflowStream(answer);
        else assert.equal(answer.json.usage.prompt_tokens, 1_000_000, name);
      }
    });
  },
});
