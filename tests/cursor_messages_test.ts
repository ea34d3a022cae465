/**
 * Issue 14, point 11, at the HTTP level: a reasoning model writes a commentary message before its
 * final one; their texts reach the client joined by a blank line, streamed and JSON alike, on every
 * route ("...links.Here are..." before). The encoder's own specs are in encode_chunks_test.ts.
 */
import assert from "node:assert/strict";
import { answering, contentOf, CURSOR_PATH, post, STRICT_PATH, withGateway } from "./support/cursor.ts";

const body = { model: "gpt-5", input: [{ role: "user", content: "Find the docs." }] };

Deno.test("a commentary message and the final one are joined by a blank line, streamed and JSON, on both routes", async () => {
  const script = answering({
    items: [
      { text: "I'll look up the docs links." },
      { reasoning: "Found them.", encrypted: "gAAAAB-enc" },
      { text: "Here are the links." },
    ],
  });
  await withGateway(script, {}, async ({ gateway }) => {
    for (const path of [CURSOR_PATH, STRICT_PATH]) {
      const streamed = await post(gateway, path, { ...body, stream: true });
      const json = await post(gateway, path, body);
      const expected = "I'll look up the docs links.\n\nHere are the links.";
      assert.equal(contentOf(streamed.chunks), expected, path);
      assert.equal(json.json.choices[0].message.content, expected, path);
    }
  });
});

Deno.test("one message's parts stay as they are: no separator inside a message", async () => {
  await withGateway(answering({ items: [{ text: "Only one message." }] }), {}, async ({ gateway }) => {
    const streamed = await post(gateway, CURSOR_PATH, { ...body, stream: true });
    assert.equal(contentOf(streamed.chunks), "Only one message.");
  });
});
