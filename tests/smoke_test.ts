import assert from "node:assert/strict";
import { jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, startGateway, testConfig } from "./support/gateway.ts";

Deno.test("a hybrid body is answered as a chat.completion from the upstream's response", async () => {
  const upstream = startFakeUpstream(() => ({ json: jsonFixture("responses/text.json") }));
  const gateway = await startGateway(testConfig(upstream.url));
  try {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", { model: "openai/gpt-5", input: "hi" });
    const body = await response.json();
    assert.equal(response.status, 200);
    assert.equal(body.choices[0].message.content, "Hello, world!");
    assert.equal(upstream.requests[0].path, "/v1/responses");
    assert.equal(upstream.requests[0].body.model, "gpt-5");
    assert.equal(upstream.requests[0].headers.get("authorization"), "Bearer sk-upstream-secret-1");
  } finally {
    await gateway.close();
    await upstream.close();
  }
});
