/**
 * Issue 14, point 9: small values the upstream rejects are made to fit, on every route (the upstream
 * answers 400 to them whoever sent them): `max_output_tokens` below 16 is 16, a `user` over 64
 * characters is hashed to fit, `metadata` values become strings, a repeated tool name keeps its last
 * definition, chat's legacy `functions`/`function_call`/`role:"function"` become tools, calls and
 * outputs, and a flat `{type:"error", code, message}` stream event keeps its code as the error type.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Script } from "./support/fake_upstream.ts";
import { answering, CURSOR_PATH, type Json, post, STRICT_PATH, withGateway } from "./support/cursor.ts";

const hello = answering({ items: [{ text: "ok" }] });
const user = [{ role: "user", content: "hi" }];

Deno.test("max_output_tokens (or max_tokens) below 16 goes up as 16; larger values stay", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "gpt-5", input: user, max_output_tokens: 1 });
    await post(gateway, STRICT_PATH, { model: "gpt-5", messages: user, max_tokens: 5 });
    await post(gateway, STRICT_PATH, { model: "gpt-5", messages: user, max_completion_tokens: 400 });
    assert.deepEqual(upstream.requests.map((request) => request.body.max_output_tokens), [16, 16, 400]);
  });
});

Deno.test("a user over 64 characters goes up as its SHA-256 (64 hex characters); a short one as it is", async () => {
  const long = `cursor-user-${"x".repeat(80)}`;
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "gpt-5", input: user, user: long });
    await post(gateway, STRICT_PATH, { model: "gpt-5", messages: user, user: "dev-42" });
    assert.equal(upstream.requests[0].body.user, createHash("sha256").update(long).digest("hex"));
    assert.equal((upstream.requests[0].body.user as string).length, 64);
    assert.equal(upstream.requests[1].body.user, "dev-42");
  });
});

Deno.test("metadata values that are not strings go up as strings; null ones are dropped", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, {
      model: "gpt-5",
      input: user,
      metadata: { cursorConversationId: "conv-1", turn: 3, agent: true, window: { lines: 40 }, none: null },
    });
    assert.deepEqual(upstream.requests[0].body.metadata, {
      cursorConversationId: "conv-1",
      turn: "3",
      agent: "true",
      window: '{"lines":40}',
    });
    assert.equal(upstream.requests[0].body.prompt_cache_key, "conv-1");
  });
});

Deno.test("a repeated tool name keeps its last definition, where it stood", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, STRICT_PATH, {
      model: "gpt-5",
      messages: user,
      tools: [
        { type: "function", function: { name: "Shell", description: "old", parameters: { type: "object" } } },
        { type: "function", name: "Read", parameters: { type: "object" } },
        { type: "web_search" },
        { type: "function", name: "Shell", description: "new", parameters: { type: "object" } },
      ],
    });
    const tools = upstream.requests[0].body.tools as Json[];
    assert.deepEqual(tools.map((tool) => [tool.type, tool.name, tool.description]), [
      ["function", "Read", undefined],
      ["web_search", undefined, undefined],
      ["function", "Shell", "new"],
    ]);
  });
});

Deno.test("chat's legacy functions, function_call and role:function messages become tools, calls and outputs", async () => {
  const parameters = { type: "object", properties: { city: { type: "string" } } };
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    const answer = await post(gateway, STRICT_PATH, {
      model: "gpt-5",
      functions: [{ name: "get_weather", description: "Weather now", parameters }],
      function_call: { name: "get_weather" },
      messages: [
        { role: "user", content: "Weather in Paris and Oslo?" },
        { role: "assistant", content: null, function_call: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { role: "function", name: "get_weather", content: "18C" },
        { role: "assistant", content: "", function_call: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
        { role: "function", name: "get_weather", content: "9C" },
      ],
    });
    assert.equal(answer.status, 200);
    const body = upstream.requests[0].body as Json;
    assert.deepEqual(body.tools, [
      { type: "function", name: "get_weather", description: "Weather now", parameters, strict: false },
    ]);
    assert.deepEqual(body.tool_choice, { type: "function", name: "get_weather" });
    assert.deepEqual(body.input.slice(1), [
      { type: "function_call", call_id: "call_legacy_0", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "function_call_output", call_id: "call_legacy_0", output: "18C" },
      { type: "function_call", call_id: "call_legacy_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
      { type: "function_call_output", call_id: "call_legacy_1", output: "9C" },
    ]);
  });
});

Deno.test('function_call: "none" and tool_choice winning over function_call', async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    const functions = [{ name: "f", parameters: { type: "object" } }];
    await post(gateway, STRICT_PATH, { model: "gpt-5", messages: user, functions, function_call: "none" });
    await post(gateway, STRICT_PATH, {
      model: "gpt-5",
      messages: user,
      functions,
      function_call: "none",
      tool_choice: "auto",
    });
    assert.equal(upstream.requests[0].body.tool_choice, "none");
    assert.equal(upstream.requests[1].body.tool_choice, "auto");
  });
});

Deno.test("a malformed legacy function is a 400 naming functions[i]", async () => {
  await withGateway(hello, {}, async ({ gateway }) => {
    const answer = await post(gateway, STRICT_PATH, {
      model: "gpt-5",
      messages: user,
      functions: [{ description: "x" }],
    });
    assert.equal(answer.status, 400);
    assert.match(answer.json.error.message, /^functions\[0\]\.name: expected a non-empty string/);
  });
});

Deno.test("a flat {type:'error', code, message} stream event keeps its code as the error's type", async () => {
  const script: Script = () => ({
    sse: [
      { event: { type: "response.created", response: { id: "r", status: "in_progress", output: [] } } },
      {
        event: {
          type: "response.output_text.delta",
          item_id: "msg_1",
          output_index: 0,
          content_index: 0,
          delta: "Par",
        },
      },
      { event: { type: "error", code: "server_error", message: "The model crashed.", param: null } },
    ],
  });
  await withGateway(script, {}, async ({ gateway }) => {
    for (const path of [CURSOR_PATH, STRICT_PATH]) {
      const answer = await post(gateway, path, { model: "gpt-5", input: user, stream: true });
      const frame = answer.chunks[answer.chunks.length - 1];
      assert.deepEqual(frame.error, {
        message: "The model crashed.",
        type: "server_error",
        param: null,
        code: "server_error",
      });
    }
  });
});
