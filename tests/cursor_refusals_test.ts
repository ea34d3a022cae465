/**
 * Issue 14, point 7: a refusal goes to `delta.refusal` / `message.refusal`, which Cursor does not
 * render, so a Cursor user saw an empty answer. On Cursor requests the refusal text is also
 * content; strict clients get it only as `refusal`, as OpenAI sends it.
 */
import assert from "node:assert/strict";
import { answering, contentOf, CURSOR_PATH, type Json, post, STRICT_PATH, withGateway } from "./support/cursor.ts";

const refusal = "I'm sorry, I can't help with that.";
const refusing = answering({ items: [{ refusal }] });
const body = { model: "gpt-5", input: [{ role: "user", content: "Do something bad." }] };

const refusalOf = (chunks: Json[]) => chunks.map((chunk) => chunk.choices?.[0]?.delta?.refusal ?? "").join("");

Deno.test("Cursor stream: the refusal arrives as content and as refusal", async () => {
  await withGateway(refusing, {}, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, { ...body, stream: true });
    assert.equal(contentOf(answer.chunks), refusal);
    assert.equal(refusalOf(answer.chunks), refusal);
  });
});

Deno.test("Cursor JSON: message.content holds the refusal, message.refusal too", async () => {
  await withGateway(refusing, {}, async ({ gateway }) => {
    const { json } = await post(gateway, CURSOR_PATH, body);
    assert.equal(json.choices[0].message.content, refusal);
    assert.equal(json.choices[0].message.refusal, refusal);
  });
});

Deno.test("strict /v1: the refusal is refusal only, content null (OpenAI's shape)", async () => {
  await withGateway(refusing, {}, async ({ gateway }) => {
    const streamed = await post(gateway, STRICT_PATH, { ...body, stream: true });
    assert.equal(contentOf(streamed.chunks), "");
    assert.equal(refusalOf(streamed.chunks), refusal);
    const { json } = await post(gateway, STRICT_PATH, body);
    assert.equal(json.choices[0].message.content, null);
    assert.equal(json.choices[0].message.refusal, refusal);
  });
});

Deno.test("Cursor: a refusal after a commentary message is set off by a blank line, streamed and JSON alike", async () => {
  const script = answering({ items: [{ text: "Let me check." }, { refusal }] });
  await withGateway(script, {}, async ({ gateway }) => {
    const streamed = await post(gateway, CURSOR_PATH, { ...body, stream: true });
    const { json } = await post(gateway, CURSOR_PATH, body);
    assert.equal(contentOf(streamed.chunks), `Let me check.\n\n${refusal}`);
    assert.equal(json.choices[0].message.content, `Let me check.\n\n${refusal}`);
  });
});

Deno.test("Cursor: a refusal only in the finished item (no deltas) is content too", async () => {
  const doneOnly = () => ({
    sse: [
      { event: { type: "response.created", response: { id: "r", status: "in_progress", output: [] } } },
      {
        event: {
          type: "response.output_item.done",
          output_index: 0,
          item: { type: "message", id: "msg_1", role: "assistant", content: [{ type: "refusal", refusal }] },
        },
      },
      { event: { type: "response.completed", response: { id: "r", status: "completed", output: [] } } },
    ],
  });
  await withGateway(doneOnly, {}, async ({ gateway }) => {
    const streamed = await post(gateway, CURSOR_PATH, { ...body, stream: true });
    assert.equal(contentOf(streamed.chunks), refusal);
    assert.equal(refusalOf(streamed.chunks), refusal);
  });
});
