/**
 * Issue 14, point 5: an upstream that reports no usage (or zeros) no longer gives all-zero usage.
 * The gateway estimates it, a token per 4 characters of what was sent and received, marks it
 * `extra_fields.usage_estimated`, and budgets charge the estimate. The same on every route: the
 * usage chunk is the one Cursor reads for its context meter, and any client's budget needs it.
 */
import assert from "node:assert/strict";
import { answering, CURSOR_PATH, finishOf, post, STRICT_PATH, usageChunkOf, withGateway } from "./support/cursor.ts";
import { VK } from "./support/gateway.ts";

/** 400 characters of instructions and 40 of input: 110 tokens; the 20-character answer: 5. */
const body = {
  model: "gpt-5",
  instructions: "i".repeat(400),
  input: [{ role: "user", content: "u".repeat(40) }],
};
const answer = "a".repeat(20);

for (const [what, usage] of [["no usage", null], ["zeros", { input_tokens: 0, output_tokens: 0, total_tokens: 0 }]]) {
  Deno.test(`an upstream that reports ${what}: the stream's usage chunk carries the marked estimate`, async () => {
    await withGateway(answering({ items: [{ text: answer }], usage: usage as null }), {}, async ({ gateway }) => {
      for (const path of [CURSOR_PATH, STRICT_PATH]) {
        const result = await post(gateway, path, { ...body, stream: true, stream_options: { include_usage: true } });
        assert.equal(finishOf(result.chunks), "stop");
        const chunk = usageChunkOf(result.chunks);
        assert.equal(chunk.usage.prompt_tokens, 110, path);
        assert.equal(chunk.usage.completion_tokens, 5, path);
        assert.equal(chunk.usage.total_tokens, 115, path);
        assert.equal(chunk.extra_fields.usage_estimated, true, path);
        assert.ok(result.done);
      }
    });
  });

  Deno.test(`an upstream that reports ${what}: the JSON answer carries the marked estimate`, async () => {
    await withGateway(answering({ items: [{ text: answer }], usage: usage as null }), {}, async ({ gateway }) => {
      for (const path of [CURSOR_PATH, STRICT_PATH]) {
        const result = await post(gateway, path, body);
        assert.equal(result.json.usage.prompt_tokens, 110, path);
        assert.equal(result.json.usage.completion_tokens, 5, path);
        assert.equal(result.json.extra_fields.usage_estimated, true, path);
      }
    });
  });
}

Deno.test("tool-call arguments and reasoning count as received; tools count as sent", async () => {
  const script = answering({
    items: [{ reasoning: "r".repeat(8) }, { call: "call_1", name: "Shell", arguments: "x".repeat(12) }],
    usage: null,
  });
  await withGateway(script, {}, async ({ gateway }) => {
    const tools = [{ type: "function", name: "Shell", description: "d".repeat(40), parameters: { type: "object" } }];
    const streamed = await post(gateway, CURSOR_PATH, { ...body, tools, stream: true });
    const json = await post(gateway, CURSOR_PATH, { ...body, tools });
    // Sent: 440 + "Shell" + 40 + "function" + "object" = 499 characters: 125 tokens; received: 20: 5 tokens.
    for (const usage of [usageChunkOf(streamed.chunks).usage, json.json.usage]) {
      assert.equal(usage.prompt_tokens, 125);
      assert.equal(usage.completion_tokens, 5);
    }
  });
});

Deno.test("an upstream that reports usage is reported as it is, unmarked", async () => {
  await withGateway(answering({ items: [{ text: answer }] }), {}, async ({ gateway }) => {
    const streamed = await post(gateway, CURSOR_PATH, { ...body, stream: true });
    const json = await post(gateway, CURSOR_PATH, body);
    assert.equal(usageChunkOf(streamed.chunks).usage.prompt_tokens, 12);
    assert.equal(usageChunkOf(streamed.chunks).extra_fields.usage_estimated, undefined);
    assert.equal(json.json.usage.prompt_tokens, 12);
    assert.equal(json.json.extra_fields.usage_estimated, undefined);
  });
});

Deno.test("budgets charge the estimate: a key over its budget by estimated usage is refused (402)", async () => {
  // gpt-5 is priced: 115 estimated tokens cost more than this budget; all-zero usage cost nothing.
  const keys = {
    virtual_keys: [{ id: "tight", value: VK, models: ["*"], budget: { max_usd: 0.0000001, period: "1d" } }],
  };
  await withGateway(answering({ items: [{ text: answer }], usage: null }), keys, async ({ gateway, upstream }) => {
    const first = await post(gateway, CURSOR_PATH, body);
    assert.equal(first.status, 200);
    assert.ok(first.json.usage.cost.total_cost > 0);
    const second = await post(gateway, CURSOR_PATH, body);
    assert.equal(second.status, 402);
    assert.equal(upstream.requests.length, 1);
  });
});

Deno.test("tokens-per-minute limits count the estimate", async () => {
  const keys = {
    virtual_keys: [{ id: "tpm", value: VK, models: ["*"], rate_limit: { tokens_per_minute: 100 } }],
  };
  await withGateway(answering({ items: [{ text: answer }], usage: null }), keys, async ({ gateway }) => {
    assert.equal((await post(gateway, STRICT_PATH, body)).status, 200);
    const second = await post(gateway, STRICT_PATH, body);
    assert.equal(second.status, 429);
  });
});
