/**
 * The decode stage through the real handler: what a client posts and the
 * exact body the (fake, real-HTTP) upstream receives, and the 400 a bad body
 * gets before anything is sent upstream.
 */
import assert from "node:assert/strict";
import { type FakeUpstream, type Script, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig } from "./support/gateway.ts";

const completed = {
  id: "resp_1",
  object: "response",
  created_at: 1,
  status: "completed",
  model: "gpt-5-2025-08-07",
  output: [{
    type: "message",
    id: "msg_1",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "ok", annotations: [] }],
  }],
  usage: { input_tokens: 5, output_tokens: 1, total_tokens: 6 },
};

/** Answers JSON or a short SSE stream, as the request asked. */
const answer: Script = (request) =>
  request.body.stream === true
    ? {
      sse: [
        { event: { type: "response.created", response: { ...completed, status: "in_progress", output: [] } } },
        {
          event: {
            type: "response.output_text.delta",
            item_id: "msg_1",
            output_index: 0,
            content_index: 0,
            delta: "ok",
          },
        },
        { event: { type: "response.completed", response: completed } },
      ],
    }
    : { json: completed };

const withGateway = async (test: (gateway: RunningGateway, upstream: FakeUpstream) => Promise<void>) => {
  const upstream = startFakeUpstream(answer);
  const gateway = await startGateway(testConfig(upstream.url));
  try {
    await test(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n";

Deno.test("a streamed hybrid body reaches the upstream as the canonical Responses request", async () => {
  await withGateway(async (gateway, upstream) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", {
      model: "openai/gpt-5",
      stream: true,
      stream_options: { include_usage: true },
      messages: [],
      input: [
        { role: "user", content: [{ type: "input_text", text: "Add hello.txt" }] },
        { type: "function_call", call_id: "call_p", name: "ApplyPatch", arguments: patch },
        { type: "function_call_output", call_id: "call_p", output: "Done" },
      ],
      tools: [
        { type: "custom", name: "ApplyPatch", format: { type: "grammar", syntax: "lark", definition: "start: x" } },
        { type: "function", name: "Shell", parameters: { type: "object", properties: {} }, strict: false },
      ],
      reasoning: { effort: "low", summary: "auto" },
      metadata: { cursorConversationId: "conv-42" },
      previous_response_id: null,
    });
    assert.equal(response.status, 200);
    await response.text();
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0].path, "/v1/responses");
    assert.deepEqual(upstream.requests[0].body, {
      model: "gpt-5",
      stream: true,
      input: [
        { type: "message", role: "user", content: [{ type: "input_text", text: "Add hello.txt" }] },
        { type: "custom_tool_call", call_id: "call_p", name: "ApplyPatch", input: patch },
        { type: "custom_tool_call_output", call_id: "call_p", output: "Done" },
      ],
      tools: [
        { type: "custom", name: "ApplyPatch", format: { type: "grammar", syntax: "lark", definition: "start: x" } },
        { type: "function", name: "Shell", parameters: { type: "object", properties: {} }, strict: false },
      ],
      reasoning: { effort: "low", summary: "auto" },
      metadata: { cursorConversationId: "conv-42" },
      prompt_cache_key: "conv-42",
    });
  });
});

Deno.test("a chat body reaches the upstream as the canonical Responses request", async () => {
  await withGateway(async (gateway, upstream) => {
    const response = await postJson(gateway, "/v1/chat/completions", {
      model: "gpt-4.1",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "What is in a.py?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "call_1",
            type: "function",
            function: { name: "read_file", arguments: '{"path":"a.py"}' },
          }],
        },
        { role: "tool", tool_call_id: "call_1", content: "print(42)" },
      ],
      tools: [{ type: "function", function: { name: "read_file", parameters: { type: "object", properties: {} } } }],
      tool_choice: { type: "function", function: { name: "read_file" } },
      max_tokens: 256,
      temperature: 0.2,
      response_format: { type: "json_object" },
      seed: 1,
    });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).choices[0].message.content, "ok");
    assert.deepEqual(upstream.requests[0].body, {
      model: "gpt-4.1",
      stream: false,
      input: [
        { type: "message", role: "system", content: "Be brief." },
        { type: "message", role: "user", content: "What is in a.py?" },
        { type: "function_call", call_id: "call_1", name: "read_file", arguments: '{"path":"a.py"}' },
        { type: "function_call_output", call_id: "call_1", output: "print(42)" },
      ],
      tools: [{
        type: "function",
        name: "read_file",
        parameters: { type: "object", properties: {} },
        strict: false,
      }],
      tool_choice: { type: "function", name: "read_file" },
      max_output_tokens: 256,
      temperature: 0.2,
      text: { format: { type: "json_object" } },
    });
  });
});

Deno.test("a bad body gets a 400 envelope naming every bad field, and nothing is sent upstream", async () => {
  await withGateway(async (gateway, upstream) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", {
      model: "gpt-5",
      temperature: 9,
      input: [{ type: "function_call_output", output: "x" }],
      tools: [{ type: "function", description: "nameless" }],
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      error: {
        message:
          "temperature: must be between 0 and 2; tools[0].name: expected a non-empty string; input[0].call_id: expected a string",
        type: "invalid_request_error",
        param: "temperature",
        code: "invalid_value",
      },
    });
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("a JSON body that is not an object gets a 400 envelope", async () => {
  await withGateway(async (gateway, upstream) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", "[1, 2, 3]");
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(body.error.message, "Request body must be a JSON object.");
    assert.equal(upstream.requests.length, 0);
  });
});
