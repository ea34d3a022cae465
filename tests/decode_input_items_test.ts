import assert from "node:assert/strict";
import { MISSING_RESULT } from "../src/upstream/adapters/anthropic/messages.ts";
import { decode } from "./support/decode.ts";

/** The canonical input for a hybrid body with these items (and these tools). */
const inputOf = (input: unknown[], tools?: unknown[]) =>
  decode({ model: "gpt-5", input, ...(tools ? { tools } : {}) }).body.input;

const applyPatchTool = {
  type: "custom",
  name: "ApplyPatch",
  format: { type: "grammar", syntax: "lark", definition: "start: begin_patch" },
};

/** What a call without an output of its own is answered with (issue 14, point 2). */
const placeholder = (callId: string) => ({ type: "function_call_output", call_id: callId, output: MISSING_RESULT });

Deno.test("message items with and without type:message become canonical message items", () => {
  assert.deepEqual(
    inputOf([
      { role: "user", content: "plain" },
      { type: "message", role: "developer", content: "rules" },
      { type: "message", role: "assistant", id: "msg_1", status: "completed", content: "done" },
    ]),
    [
      { type: "message", role: "user", content: "plain" },
      { type: "message", role: "developer", content: "rules" },
      { type: "message", role: "assistant", content: "done" },
    ],
  );
});

Deno.test("text, input_text and output_text parts become input_text in user, system and developer messages", () => {
  const parts = [
    { type: "text", text: "a" },
    { type: "input_text", text: "b" },
    { type: "output_text", text: "c", annotations: [] },
  ];
  const expected = [
    { type: "input_text", text: "a" },
    { type: "input_text", text: "b" },
    { type: "input_text", text: "c" },
  ];
  assert.deepEqual(
    inputOf(["user", "system", "developer"].map((role) => ({ role, content: parts }))),
    ["user", "system", "developer"].map((role) => ({ type: "message", role, content: expected })),
  );
});

Deno.test("text, input_text and output_text parts become output_text in assistant messages", () => {
  assert.deepEqual(
    inputOf([{
      role: "assistant",
      content: [{ type: "text", text: "a" }, { type: "input_text", text: "b" }, { type: "output_text", text: "c" }],
    }]),
    [{
      type: "message",
      role: "assistant",
      content: [
        { type: "output_text", text: "a" },
        { type: "output_text", text: "b" },
        { type: "output_text", text: "c" },
      ],
    }],
  );
});

Deno.test("input_image and input_file parts are kept and an assistant refusal part stays a refusal", () => {
  const image = { type: "input_image", image_url: "data:image/png;base64,iVBOR", detail: "low" };
  const file = { type: "input_file", file_id: "file_1" };
  assert.deepEqual(
    inputOf([
      { role: "user", content: [{ type: "input_text", text: "see" }, image, file] },
      { role: "assistant", content: [{ type: "refusal", refusal: "I can't help with that." }] },
    ]),
    [
      { type: "message", role: "user", content: [{ type: "input_text", text: "see" }, image, file] },
      { type: "message", role: "assistant", content: [{ type: "refusal", refusal: "I can't help with that." }] },
    ],
  );
});

Deno.test("a function_call item is forwarded with its call_id, name and arguments, without its item id", () => {
  assert.deepEqual(
    inputOf([{
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: "Shell",
      arguments: '{"command":"ls"}',
      status: "completed",
    }]),
    [{ type: "function_call", call_id: "call_1", name: "Shell", arguments: '{"command":"ls"}' }, placeholder("call_1")],
  );
});

Deno.test("a function_call_output with a string output is forwarded as it is", () => {
  assert.deepEqual(
    inputOf([
      { type: "function_call", call_id: "call_1", name: "Shell", arguments: "{}" },
      { type: "function_call_output", call_id: "call_1", output: "file.txt\n" },
    ])[1],
    { type: "function_call_output", call_id: "call_1", output: "file.txt\n" },
  );
});

Deno.test("text and output_text parts in a function_call_output become input_text", () => {
  const image = { type: "input_image", image_url: "https://example.test/a.png", detail: "auto" };
  assert.deepEqual(
    inputOf([
      { type: "function_call", call_id: "call_1", name: "Screenshot", arguments: "{}" },
      {
        type: "function_call_output",
        call_id: "call_1",
        output: [{ type: "text", text: "one" }, { type: "output_text", text: "two" }, image],
      },
    ])[1],
    {
      type: "function_call_output",
      call_id: "call_1",
      output: [{ type: "input_text", text: "one" }, { type: "input_text", text: "two" }, image],
    },
  );
});

Deno.test("custom_tool_call and custom_tool_call_output items are kept", () => {
  assert.deepEqual(
    inputOf([
      { type: "custom_tool_call", id: "ctc_1", call_id: "call_p", name: "ApplyPatch", input: "*** Begin Patch\n" },
      { type: "custom_tool_call_output", call_id: "call_p", output: "ok" },
    ], [applyPatchTool]),
    [
      { type: "custom_tool_call", call_id: "call_p", name: "ApplyPatch", input: "*** Begin Patch\n" },
      { type: "custom_tool_call_output", call_id: "call_p", output: "ok" },
    ],
  );
});

Deno.test("a function_call in history for a custom tool becomes a custom_tool_call with the raw patch as input", () => {
  const patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-old\n+new\n*** End Patch\n";
  assert.deepEqual(
    inputOf([
      { type: "function_call", call_id: "call_p", name: "ApplyPatch", arguments: patch },
      { type: "function_call_output", call_id: "call_p", output: "Success." },
      { type: "function_call", call_id: "call_s", name: "Shell", arguments: "{}" },
      { type: "function_call_output", call_id: "call_s", output: "ok" },
    ], [applyPatchTool, { type: "function", name: "Shell", parameters: {} }]),
    [
      { type: "custom_tool_call", call_id: "call_p", name: "ApplyPatch", input: patch },
      { type: "custom_tool_call_output", call_id: "call_p", output: "Success." },
      { type: "function_call", call_id: "call_s", name: "Shell", arguments: "{}" },
      { type: "function_call_output", call_id: "call_s", output: "ok" },
    ],
  );
});

Deno.test("a function_call named like a custom tool stays a function_call when the request declares no such custom tool", () => {
  assert.deepEqual(
    inputOf([{ type: "function_call", call_id: "call_p", name: "ApplyPatch", arguments: "{}" }]),
    [{ type: "function_call", call_id: "call_p", name: "ApplyPatch", arguments: "{}" }, placeholder("call_p")],
  );
});

Deno.test("a reasoning item with encrypted_content is forwarded together with the item that follows it", () => {
  const reasoning = { type: "reasoning", summary: [], encrypted_content: "gAAAA-opaque" };
  const call = { type: "function_call", call_id: "call_1", name: "Shell", arguments: "{}" };
  assert.deepEqual(inputOf([{ role: "user", content: "go" }, { ...reasoning, id: "rs_1" }, call]), [
    { type: "message", role: "user", content: "go" },
    reasoning,
    call,
    placeholder("call_1"),
  ]);
});

Deno.test("a reasoning item that nothing follows is dropped", () => {
  const reasoning = { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "gAAAA-opaque" };
  assert.deepEqual(inputOf([{ role: "user", content: "go" }, reasoning]), [
    { type: "message", role: "user", content: "go" },
  ]);
});

Deno.test("a reasoning item without encrypted_content is dropped", () => {
  assert.deepEqual(
    inputOf([
      { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "thinking" }] },
      { role: "assistant", content: "answer" },
    ]),
    [{ type: "message", role: "assistant", content: "answer" }],
  );
});

Deno.test("a reasoning item without a summary gets the empty summary the API requires", () => {
  assert.deepEqual(
    inputOf([
      { type: "reasoning", id: "rs_1", encrypted_content: "gAAAA" },
      { role: "assistant", content: "answer" },
    ])[0],
    { type: "reasoning", summary: [], encrypted_content: "gAAAA" },
  );
});

Deno.test("tool_use blocks in an assistant message become function_call items placed after the rest of the message", () => {
  assert.deepEqual(
    inputOf([{
      role: "assistant",
      content: [
        { type: "text", text: "Listing." },
        { type: "tool_use", id: "toolu_1", name: "Shell", input: { command: "ls" } },
        { type: "tool_use", id: "toolu_2", name: "Shell", input: { command: "pwd" } },
      ],
    }]),
    [
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Listing." }] },
      { type: "function_call", call_id: "toolu_1", name: "Shell", arguments: '{"command":"ls"}' },
      { type: "function_call", call_id: "toolu_2", name: "Shell", arguments: '{"command":"pwd"}' },
      placeholder("toolu_1"),
      placeholder("toolu_2"),
    ],
  );
});

Deno.test("tool_result blocks in a user message become function_call_output items, in the order written", () => {
  assert.deepEqual(
    inputOf([{
      role: "assistant",
      content: [{ type: "tool_use", id: "toolu_1", name: "LS", input: {} }],
    }, {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "a.txt" }] },
        { type: "text", text: "And now?" },
      ],
    }]).slice(1),
    [
      { type: "function_call_output", call_id: "toolu_1", output: [{ type: "input_text", text: "a.txt" }] },
      { type: "message", role: "user", content: [{ type: "input_text", text: "And now?" }] },
    ],
  );
});

Deno.test("a message that only carried tool_result blocks leaves only the outputs", () => {
  assert.deepEqual(
    inputOf([
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Count", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "12" }] },
    ]).slice(1),
    [{ type: "function_call_output", call_id: "toolu_1", output: "12" }],
  );
});

Deno.test("an assistant message with content null is never forwarded as null", () => {
  assert.deepEqual(
    inputOf([
      { role: "assistant", content: null },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "Shell", arguments: "{}" } }],
      },
    ]),
    [
      { type: "message", role: "assistant", content: "" },
      { type: "function_call", call_id: "c1", name: "Shell", arguments: "{}" },
      placeholder("c1"),
    ],
  );
});

Deno.test("hosted-tool items and unknown item types pass through unchanged", () => {
  const search = {
    type: "web_search_call",
    id: "ws_1",
    status: "completed",
    action: { type: "search", query: "deno" },
  };
  const future = { type: "some_future_item", payload: { x: 1 } };
  const reference = { id: "msg_stored" };
  const out = inputOf([search, future, reference]) as unknown[];
  assert.deepEqual(out, [search, future, reference]);
  assert.equal(out[0], search);
});

Deno.test("strings in a content parts array become text parts", () => {
  assert.deepEqual(inputOf([{ role: "user", content: ["hello"] }]), [
    { type: "message", role: "user", content: [{ type: "input_text", text: "hello" }] },
  ]);
});

Deno.test("a client's cache_control breakpoint stays on its text, image and file parts", () => {
  const cache_control = { type: "ephemeral" };
  assert.deepEqual(
    inputOf([
      {
        role: "user",
        content: [
          { type: "text", text: "the spec", cache_control },
          { type: "image_url", image_url: { url: "https://x.test/a.png" }, cache_control },
          { type: "image", source: { type: "url", url: "https://x.test/b.png" }, cache_control },
          { type: "file", file: { file_id: "file-1" }, cache_control },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "read", cache_control }] },
    ]),
    [
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: "the spec", cache_control },
          { type: "input_image", image_url: "https://x.test/a.png", detail: "auto", cache_control },
          { type: "input_image", image_url: "https://x.test/b.png", detail: "auto", cache_control },
          { type: "input_file", file_id: "file-1", cache_control },
        ],
      },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "read", cache_control }] },
    ],
  );
});

Deno.test("a cache_control that is not an object is not kept", () => {
  assert.deepEqual(inputOf([{ role: "user", content: [{ type: "text", text: "hi", cache_control: "yes" }] }]), [
    { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
  ]);
});
