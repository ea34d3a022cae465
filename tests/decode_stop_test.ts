/**
 * Chat `stop` in the canonical request: kept as a list for the APIs that take
 * it (Messages, Gemini, Chat), refused when malformed, and never sent to a
 * Responses upstream, whose API has no such field.
 */
import assert from "node:assert/strict";
import { MAX_STOP } from "../src/decode/params.ts";
import { decode, reject } from "./support/decode.ts";
import { type FakeUpstream, type Script, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig } from "./support/gateway.ts";

const stopOf = (stop: unknown) =>
  decode({ model: "gpt-5", messages: [{ role: "user", content: "hi" }], stop }).body.stop;

Deno.test("a stop string becomes a one-entry stop list", () => {
  assert.deepEqual(stopOf("\n\n"), ["\n\n"]);
});

Deno.test("a stop list is kept in order, without its empty strings", () => {
  assert.deepEqual(stopOf(["END", "", "\nUser:"]), ["END", "\nUser:"]);
});

Deno.test("a stop that leaves no sequence, or a null one, is left out", () => {
  assert.equal(stopOf(""), undefined);
  assert.equal(stopOf([]), undefined);
  assert.equal(stopOf([""]), undefined);
  assert.equal(stopOf(null), undefined);
});

Deno.test("a hybrid body keeps its stop too", () => {
  assert.deepEqual(decode({ model: "gpt-5", input: "hi", stop: ["###"] }).body, { input: "hi", stop: ["###"] });
});

Deno.test(`a stop list keeps its first ${MAX_STOP} sequences, the adapters cap it to their API's limit`, () => {
  const many = Array.from({ length: MAX_STOP + 4 }, (_, i) => `stop-${i}`);
  assert.deepEqual(stopOf(many), many.slice(0, MAX_STOP));
});

Deno.test("a stop that is not a string or an array of strings is a 400 naming stop", () => {
  for (const stop of [42, { text: "x" }, ["a", 1], [null], true]) {
    const error = reject({ model: "gpt-5", input: "hi", stop });
    assert.equal(error.status, 400);
    assert.equal(error.message, "stop: expected a string or an array of strings");
    assert.equal(error.param, "stop");
    assert.equal(error.code, "invalid_type");
  }
});

// ===== Through the gateway =====

const responsesAnswer = {
  id: "resp_1",
  object: "response",
  created_at: 1,
  status: "completed",
  model: "gpt-5",
  output: [{
    type: "message",
    id: "msg_1",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "ok", annotations: [] }],
  }],
  usage: { input_tokens: 5, output_tokens: 1, total_tokens: 6 },
};

const chatAnswer = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "mistral-small",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
};

const withGateway = async (
  script: Script,
  config: (url: string) => Record<string, unknown>,
  test: (gateway: RunningGateway, upstream: FakeUpstream) => Promise<void>,
) => {
  const upstream = startFakeUpstream(script);
  const gateway = await startGateway(config(upstream.url));
  try {
    await test(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

Deno.test("a Responses upstream is never sent stop, and still answers", async () => {
  await withGateway(() => ({ json: responsesAnswer }), testConfig, async (gateway, upstream) => {
    const response = await postJson(gateway, "/v1/chat/completions", {
      model: "gpt-5",
      messages: [{ role: "user", content: "Count to three." }],
      stop: ["4", "four"],
    });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).choices[0].message.content, "ok");
    assert.equal(upstream.requests[0].path, "/v1/responses");
    assert.equal("stop" in upstream.requests[0].body, false);
  });
});

Deno.test("a Chat Completions upstream is sent the stop list", async () => {
  const config = (url: string) =>
    testConfig(url, {
      providers: { mistral: { api: "chat", base_url: url, keys: [{ value: "sk-upstream-secret-1" }], models: ["*"] } },
      default_provider: "mistral",
    });
  await withGateway(() => ({ json: chatAnswer }), config, async (gateway, upstream) => {
    const response = await postJson(gateway, "/v1/chat/completions", {
      model: "mistral/mistral-small",
      messages: [{ role: "user", content: "Count to three." }],
      stop: "4",
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(upstream.requests[0].path, "/v1/chat/completions");
    assert.deepEqual(upstream.requests[0].body.stop, ["4"]);
  });
});
