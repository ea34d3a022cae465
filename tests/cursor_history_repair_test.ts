/**
 * Issue 14, point 2: broken call/output pairs in a session's history. An output without an earlier
 * call is dropped, a call without output before the next turn gets one short placeholder, in every
 * spelling (Responses items, chat `tool_calls`/`role:"tool"`, Anthropic blocks), on every route: the
 * upstream answered 400 to such a history on this and every later turn. When `input` and `messages`
 * both carry tool results, each result comes from whichever list has it non-empty.
 */
import assert from "node:assert/strict";
import { MISSING_RESULT } from "../src/upstream/adapters/anthropic/messages.ts";
import { jsonFixture } from "./support/fake_upstream.ts";
import { withAnthropic } from "./support/anthropic_upstream.ts";
import { postJson } from "./support/gateway.ts";
import {
  answering,
  CURSOR_PATH,
  cursorBodies,
  type Json,
  noRecordings,
  post,
  STRICT_PATH,
  withGateway,
} from "./support/cursor.ts";

const hello = answering({ items: [{ text: "ok" }] });

/** The tool items of what the upstream received, as `type call_id output`. */
const toolItems = (input: Json[]): string[] =>
  input.filter((item) => item.type !== "message").map((item) =>
    item.type.endsWith("_output")
      ? `${item.type} ${item.call_id} ${JSON.stringify(item.output)}`
      : `${item.type} ${item.call_id}`
  );

Deno.test("a Cursor history with a cancelled call, an orphan output and a repeated output reaches the upstream whole", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    const body = jsonFixture("cursor/broken_pairs_hybrid.json") as Json;
    const answer = await post(gateway, CURSOR_PATH, body);
    assert.equal(answer.status, 200);
    assert.ok(answer.done);
    const input = upstream.requests[0].body.input as Json[];
    assert.deepEqual(toolItems(input), [
      "function_call call_cancelled",
      "function_call call_ok",
      'function_call_output call_ok "deno.json\\nsrc\\n"',
      // Placed before the user turn that followed, after the turn's own output.
      `function_call_output call_cancelled ${JSON.stringify(MISSING_RESULT)}`,
    ]);
    // The placeholder sits right before the next user message.
    const placeholderAt = input.findIndex((item) => item.call_id === "call_cancelled" && item.output !== undefined);
    assert.equal(input[placeholderAt + 1].role, "user");
    // The next turn replays the same history: still one placeholder, nothing doubled.
    await post(gateway, CURSOR_PATH, body);
    assert.deepEqual(upstream.requests[1].body.input, input);
  });
});

Deno.test("strict /v1 chat: an orphan tool message is dropped and an unanswered tool_call answered", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    const answer = await post(gateway, STRICT_PATH, {
      model: "gpt-5",
      messages: [
        { role: "user", content: "List and count." },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_ls", type: "function", function: { name: "Shell", arguments: '{"command":"ls"}' } },
            { id: "call_wc", type: "function", function: { name: "Shell", arguments: '{"command":"wc"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_ls", content: "a.txt" },
        { role: "tool", tool_call_id: "call_gone", content: "from a deleted turn" },
        { role: "user", content: "Go on." },
      ],
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(toolItems(upstream.requests[0].body.input as Json[]), [
      "function_call call_ls",
      "function_call call_wc",
      'function_call_output call_ls "a.txt"',
      `function_call_output call_wc ${JSON.stringify(MISSING_RESULT)}`,
    ]);
  });
});

Deno.test("Anthropic blocks: a tool_use without its tool_result is answered, an orphan tool_result dropped", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, {
      model: "gpt-5",
      messages: [],
      input: [
        { role: "user", content: "Check it." },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "toolu_1", name: "Grep", input: { pattern: "x" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_stale", content: "old" },
            { type: "text", text: "Never mind." },
          ],
        },
      ],
    });
    assert.deepEqual(toolItems(upstream.requests[0].body.input as Json[]), [
      "function_call toolu_1",
      `function_call_output toolu_1 ${JSON.stringify(MISSING_RESULT)}`,
    ]);
  });
});

Deno.test("a custom ApplyPatch call without output gets a custom_tool_call_output placeholder", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, {
      model: "gpt-5",
      input: [
        { role: "user", content: "Edit it." },
        {
          type: "function_call",
          call_id: "call_patch",
          name: "ApplyPatch",
          arguments: "*** Begin Patch\n*** End Patch",
        },
        { role: "user", content: "Actually, stop." },
      ],
      tools: [{
        type: "custom",
        name: "ApplyPatch",
        format: { type: "grammar", syntax: "lark", definition: "start: x" },
      }],
    });
    assert.deepEqual(toolItems(upstream.requests[0].body.input as Json[]), [
      "custom_tool_call call_patch",
      `custom_tool_call_output call_patch ${JSON.stringify(MISSING_RESULT)}`,
    ]);
  });
});

Deno.test("input and messages both with tool results: each result from the list that has it non-empty", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    const answer = await post(gateway, CURSOR_PATH, jsonFixture("cursor/input_and_messages_partial_results.json"));
    assert.equal(answer.status, 200);
    assert.deepEqual(toolItems(upstream.requests[0].body.input as Json[]), [
      "function_call call_a",
      "function_call call_b",
      // Empty in input, filled from messages.
      'function_call_output call_a "export const a = 1;"',
      // Missing from input, taken from messages.
      'function_call_output call_b "export const b = 2;"',
    ]);
  });
});

Deno.test("a request that continues stored state (previous_response_id) keeps outputs whose calls it does not hold", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, STRICT_PATH, {
      model: "gpt-5",
      previous_response_id: "resp_stored",
      input: [{ type: "function_call_output", call_id: "call_stored", output: "42" }],
    });
    assert.deepEqual(toolItems(upstream.requests[0].body.input as Json[]), ['function_call_output call_stored "42"']);
  });
});

Deno.test("the anthropic adapter receives the repaired history: one tool_result per tool_use, the same placeholder", async () => {
  const message = {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [{ type: "text", text: "ok" }],
    stop_reason: "end_turn",
    usage: { input_tokens: 10, output_tokens: 1 },
  };
  await withAnthropic(() => ({ body: message }), {}, async ({ gateway, upstream }) => {
    const response = await postJson(gateway, CURSOR_PATH, {
      model: "anthropic/claude-sonnet-4-5",
      input: [
        { role: "user", content: "Two things." },
        { type: "function_call", call_id: "call_1", name: "Shell", arguments: "{}" },
        { type: "function_call", call_id: "call_2", name: "Shell", arguments: "{}" },
        { type: "function_call_output", call_id: "call_2", output: "done" },
        { type: "function_call_output", call_id: "call_9", output: "orphan" },
        { role: "user", content: "Next." },
      ],
    });
    assert.equal(response.status, 200);
    await response.text();
    const messages = upstream.requests[0].body.messages as Json[];
    const results = messages.flatMap((m) => Array.isArray(m.content) ? m.content : [])
      .filter((block: Json) => block.type === "tool_result");
    assert.deepEqual(results.map((block: Json) => [block.tool_use_id, block.content]), [
      ["call_1", MISSING_RESULT],
      ["call_2", "done"],
    ]);
  });
});

// ===== Real Cursor bodies (GATEWAY_RECORDINGS) =====

Deno.test({
  name: "recordings: every Cursor body reaches the upstream with exactly one output per call, and none without one",
  ignore: noRecordings,
  fn: async () => {
    await withGateway(hello, {}, async ({ gateway, upstream }) => {
      for (const { name, body } of cursorBodies()) {
        const before = upstream.requests.length;
        const answer = await post(gateway, CURSOR_PATH, body);
        assert.equal(answer.status, 200, name);
        const input = upstream.requests[before].body.input;
        if (!Array.isArray(input)) continue;
        const calls = input.filter((item: Json) => item.type.endsWith("_call")).map((item: Json) => item.call_id);
        const outputs = input.filter((item: Json) => item.type.endsWith("_call_output")).map((item: Json) =>
          item.call_id
        );
        assert.deepEqual([...outputs].sort(), [...calls].sort(), name);
      }
    });
  },
});
