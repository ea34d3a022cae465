/**
 * Issue 14, point 8: reasoning Cursor can see and keep. Cursor ignores `delta.reasoning`, so on Cursor
 * requests the gateway also sends `reasoning_content`; `reasoning_display: "think_tags"` mirrors the
 * reasoning into the content as `<think>…</think>` (and strips such blocks from replayed turns);
 * `reasoning_carry: "comment"` carries the encrypted reasoning through the content in an HTML comment
 * and restores it on the next turn, so a two-turn tool loop keeps its reasoning through a client that
 * replays only `content`. Strict `/v1` clients get none of it.
 */
import assert from "node:assert/strict";
import { fixtureText, withAnthropic } from "./support/anthropic_upstream.ts";
import { postJson } from "./support/gateway.ts";
import { answering, contentOf, CURSOR_PATH, type Json, post, STRICT_PATH, withGateway } from "./support/cursor.ts";

const plan = "Plan: read the file, then answer.";
const thinking = answering({ items: [{ reasoning: plan, encrypted: "gAAAAB-enc-1" }, { text: "The answer." }] });
const body = { model: "gpt-5", input: [{ role: "user", content: "What does it print?" }] };
const streamed = { ...body, stream: true };

const field = (chunks: Json[], name: string) => chunks.map((chunk) => chunk.choices?.[0]?.delta?.[name] ?? "").join("");

// ===== reasoning_content =====

Deno.test("Cursor: every reasoning delta also carries reasoning_content; the JSON message too", async () => {
  await withGateway(thinking, {}, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, streamed);
    assert.equal(field(answer.chunks, "reasoning"), plan);
    assert.equal(field(answer.chunks, "reasoning_content"), plan);
    assert.equal(contentOf(answer.chunks), "The answer.");
    const { json } = await post(gateway, CURSOR_PATH, body);
    assert.equal(json.choices[0].message.reasoning_content, plan);
    assert.equal(json.choices[0].message.content, "The answer.");
  });
});

Deno.test("strict /v1: reasoning is delta.reasoning only, whatever the switches say", async () => {
  const switches = { reasoning_display: "think_tags", reasoning_carry: "comment" };
  await withGateway(thinking, switches, async ({ gateway }) => {
    const answer = await post(gateway, STRICT_PATH, streamed);
    assert.equal(field(answer.chunks, "reasoning"), plan);
    assert.equal(field(answer.chunks, "reasoning_content"), "");
    assert.equal(contentOf(answer.chunks), "The answer.");
    const { json } = await post(gateway, STRICT_PATH, body);
    assert.equal(json.choices[0].message.reasoning_content, undefined);
    assert.equal(json.choices[0].message.content, "The answer.");
  });
});

// ===== think_tags =====

Deno.test("think_tags: Cursor sees the reasoning in the content as a <think> block, streamed and JSON alike", async () => {
  await withGateway(thinking, { reasoning_display: "think_tags" }, async ({ gateway }) => {
    const expected = `<think>\n${plan}\n</think>\n\nThe answer.`;
    assert.equal(contentOf((await post(gateway, CURSOR_PATH, streamed)).chunks), expected);
    assert.equal((await post(gateway, CURSOR_PATH, body)).json.choices[0].message.content, expected);
  });
});

Deno.test("think_tags: the block closes before a tool call, and an answer of calls only carries it", async () => {
  const script = answering({ items: [{ reasoning: plan }, { call: "call_1", name: "ReadFile", arguments: "{}" }] });
  await withGateway(script, { reasoning_display: "think_tags" }, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, streamed);
    assert.equal(contentOf(answer.chunks), `<think>\n${plan}\n</think>\n\n`);
    const callAt = answer.chunks.findIndex((chunk) => chunk.choices?.[0]?.delta?.tool_calls);
    assert.equal(contentOf(answer.chunks.slice(0, callAt)), `<think>\n${plan}\n</think>\n\n`);
    const { json } = await post(gateway, CURSOR_PATH, body);
    assert.equal(json.choices[0].message.content, `<think>\n${plan}\n</think>\n\n`);
    assert.equal(json.choices[0].finish_reason, "tool_calls");
  });
});

Deno.test("think_tags: <think> blocks in replayed assistant turns do not go upstream", async () => {
  await withGateway(thinking, { reasoning_display: "think_tags" }, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, {
      model: "gpt-5",
      messages: [
        { role: "user", content: "First?" },
        { role: "assistant", content: `<think>\n${plan}\n</think>\n\nFirst answer.` },
        { role: "user", content: "Second?" },
      ],
    });
    const input = upstream.requests[0].body.input as Json[];
    assert.deepEqual(input[1], { type: "message", role: "assistant", content: "First answer." });
  });
});

// ===== reasoning_carry =====

/** The assistant turn a client that keeps only `content` and `tool_calls` replays from a stream. */
const replayedTurn = (chunks: Json[]): Json => {
  const calls = new Map<number, Json>();
  for (const chunk of chunks) {
    for (const call of chunk.choices?.[0]?.delta?.tool_calls ?? []) {
      const entry = calls.get(call.index) ?? { id: call.id, type: "function", function: { name: "", arguments: "" } };
      if (call.function?.name) entry.function.name = call.function.name;
      entry.function.arguments += call.function?.arguments ?? "";
      calls.set(call.index, entry);
    }
  }
  return { role: "assistant", content: contentOf(chunks), tool_calls: [...calls.values()] };
};

const toolLoop = (index: number) =>
  index % 2 === 0
    ? {
      items: [
        { reasoning: "I need the file first.", encrypted: "gAAAAB-enc-turn-1" },
        { call: "call_read", name: "ReadFile", arguments: '{"path":"a.py"}' },
      ],
    }
    : { items: [{ text: "It prints 42." }] };

for (const stream of [true, false]) {
  Deno.test(
    `reasoning_carry: a two-turn tool loop keeps its reasoning through a client that replays only content (${
      stream ? "streamed" : "JSON"
    })`,
    async () => {
      await withGateway(answering(toolLoop), { reasoning_carry: "comment" }, async ({ gateway, upstream }) => {
        const first = await post(gateway, CURSOR_PATH, {
          model: "gpt-5",
          stream,
          messages: [{ role: "user", content: "What does a.py print?" }],
        });
        const assistant = stream ? replayedTurn(first.chunks) : {
          role: "assistant",
          content: first.json.choices[0].message.content,
          tool_calls: first.json.choices[0].message.tool_calls,
        };
        // The comment Markdown hides, and nothing of the reasoning's text in sight.
        assert.equal(assistant.content, "<!--gw-reasoning gAAAAB-enc-turn-1-->\n\n");
        assert.equal(assistant.tool_calls[0].id, "call_read");

        await post(gateway, CURSOR_PATH, {
          model: "gpt-5",
          stream,
          messages: [
            { role: "user", content: "What does a.py print?" },
            assistant,
            { role: "tool", tool_call_id: "call_read", content: "print(42)" },
          ],
        });
        assert.deepEqual(upstream.requests[1].body.input, [
          { type: "message", role: "user", content: "What does a.py print?" },
          { type: "reasoning", summary: [], encrypted_content: "gAAAAB-enc-turn-1" },
          { type: "function_call", call_id: "call_read", name: "ReadFile", arguments: '{"path":"a.py"}' },
          { type: "function_call_output", call_id: "call_read", output: "print(42)" },
        ]);
      });
    },
  );
}

Deno.test("reasoning_carry: a hybrid replay (assistant output_text before the call) restores it too", async () => {
  await withGateway(answering(toolLoop), { reasoning_carry: "comment" }, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, {
      model: "gpt-5",
      messages: [],
      input: [
        { role: "user", content: [{ type: "input_text", text: "Go." }] },
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "<!--gw-reasoning gAAAAB-enc-7-->\n\nReading it." }],
        },
        { type: "function_call", call_id: "call_1", name: "ReadFile", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "ok" },
      ],
    });
    assert.deepEqual((upstream.requests[0].body.input as Json[]).slice(1, 3), [
      { type: "reasoning", summary: [], encrypted_content: "gAAAAB-enc-7" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Reading it." }] },
    ]);
  });
});

Deno.test("reasoning_carry off (the default): no comment in the content", async () => {
  await withGateway(answering(toolLoop), {}, async ({ gateway }) => {
    const first = await post(gateway, CURSOR_PATH, { ...body, stream: true });
    assert.equal(contentOf(first.chunks), "");
  });
});

Deno.test("reasoning_carry with think_tags: the block, then the comment, then the answer", async () => {
  const switches = { reasoning_carry: "comment", reasoning_display: "think_tags" };
  await withGateway(thinking, switches, async ({ gateway }) => {
    const expected = `<think>\n${plan}\n</think>\n\n<!--gw-reasoning gAAAAB-enc-1-->\n\nThe answer.`;
    assert.equal(contentOf((await post(gateway, CURSOR_PATH, streamed)).chunks), expected);
    assert.equal((await post(gateway, CURSOR_PATH, body)).json.choices[0].message.content, expected);
  });
});

Deno.test("reasoning_carry: Claude's signed thinking comes back to Claude through Cursor's content", async () => {
  const answers = [
    { body: fixtureText("anthropic/thinking_tool_use.sse") },
    {
      body: JSON.stringify({
        id: "msg_2",
        type: "message",
        role: "assistant",
        model: "claude-haiku-4-5",
        content: [{ type: "text", text: "All green." }],
        stop_reason: "end_turn",
        usage: { input_tokens: 700, output_tokens: 4 },
      }),
    },
  ];
  await withAnthropic((_request, index) => answers[index], { config: { reasoning_carry: "comment" } }, async ({
    gateway,
    upstream,
  }) => {
    const messages = [{ role: "user", content: "Run the tests." }];
    const first = await postJson(gateway, CURSOR_PATH, { model: "anthropic/claude-haiku-4-5", messages, stream: true });
    const text = await first.text();
    const chunks = text.split("\n\n").filter((frame) => frame.startsWith("data: {")).map((frame) =>
      JSON.parse(frame.slice(6))
    );
    const assistant = replayedTurn(chunks);
    assert.match(assistant.content, /^<!--gw-reasoning gw1\.anthropic\.[\w-]+-->\n\nRunning the tests now\.$/);
    const second = await postJson(gateway, CURSOR_PATH, {
      model: "anthropic/claude-haiku-4-5",
      messages: [...messages, assistant, { role: "tool", tool_call_id: assistant.tool_calls[0].id, content: "ok" }],
    });
    assert.equal(second.status, 200);
    await second.text();
    const replayed = upstream.requests[1].body.messages[1];
    assert.equal(replayed.role, "assistant");
    assert.deepEqual(replayed.content[0], {
      type: "thinking",
      thinking: "The user wants the tests run. I should call Shell with deno test.",
      signature: "RXFzaWduYXR1cmUtb25lLWZvci10ZXN0cw==",
    });
    assert.deepEqual(replayed.content[1], { type: "text", text: "Running the tests now." });
  });
});
