import assert from "node:assert/strict";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, startGateway, testConfig } from "./support/gateway.ts";

Deno.test("a hybrid body is answered as a chat.completion from the upstream's response", async () => {
  const upstream = startFakeUpstream(() => ({
    json: {
      id: "resp_1",
      object: "response",
      created_at: 1,
      status: "completed",
      model: "gpt-5-2025-08-07",
      output: [{
        type: "message",
        id: "msg_1",
        role: "assistant",
        content: [{ type: "output_text", text: "hello", annotations: [] }],
      }],
      usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 },
    },
  }));
  const gateway = await startGateway(testConfig(upstream.url));
  try {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", { model: "openai/gpt-5", input: "hi" });
    const body = await response.json();
    assert.equal(response.status, 200);
    assert.equal(body.choices[0].message.content, "hello");
    assert.equal(upstream.requests[0].path, "/v1/responses");
    assert.equal(upstream.requests[0].body.model, "gpt-5");
    assert.equal(upstream.requests[0].headers.get("authorization"), "Bearer sk-upstream-secret-1");
  } finally {
    await gateway.close();
    await upstream.close();
  }
});
