import assert from "node:assert/strict";
import { decode, reject } from "./support/decode.ts";

const withTools = (tools: unknown[], extra: Record<string, unknown> = {}) =>
  decode({ model: "gpt-5", input: "hi", tools, ...extra });

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/requests/${name}`, import.meta.url)));

const schema = { type: "object", properties: { path: { type: "string" } }, required: ["path"] };

Deno.test("flat Responses function tools pass through unchanged", () => {
  const tool = { type: "function", name: "ReadFile", description: "Read.", parameters: schema, strict: true };
  const decoded = withTools([tool]);
  assert.deepEqual(decoded.body.tools, [tool]);
  assert.equal(decoded.body.tools?.[0], tool);
});

Deno.test("nested chat function tools are flattened, strict false unless the client set it", () => {
  assert.deepEqual(
    withTools([
      { type: "function", function: { name: "read_file", description: "Read.", parameters: schema } },
      { type: "function", function: { name: "strict_one", parameters: schema, strict: true } },
      { type: "function", function: { name: "no_args" } },
    ]).body.tools,
    [
      { type: "function", name: "read_file", description: "Read.", parameters: schema, strict: false },
      { type: "function", name: "strict_one", parameters: schema, strict: true },
      { type: "function", name: "no_args", parameters: { type: "object", properties: {} }, strict: false },
    ],
  );
});

Deno.test("type-less tools with input_schema become function tools", () => {
  assert.deepEqual(
    withTools([{ name: "Shell", description: "Run.", input_schema: schema }]).body.tools,
    [{ type: "function", name: "Shell", description: "Run.", parameters: schema, strict: false }],
  );
});

Deno.test("custom grammar tools stay custom and their names are reported in customTools", () => {
  const applyPatch = {
    type: "custom",
    name: "ApplyPatch",
    description: "Use this tool to edit files.",
    format: { type: "grammar", syntax: "lark", definition: "start: begin_patch" },
  };
  const decoded = withTools([applyPatch, { type: "function", name: "Shell", parameters: {} }]);
  assert.deepEqual(decoded.body.tools?.[0], applyPatch);
  assert.deepEqual([...decoded.customTools], ["ApplyPatch"]);
});

Deno.test("chat custom tools with a nested grammar become flat Responses custom tools", () => {
  const decoded = withTools([{
    type: "custom",
    custom: {
      name: "ApplyPatch",
      description: "Edit files.",
      format: { type: "grammar", grammar: { syntax: "lark", definition: "start: x" } },
    },
  }]);
  assert.deepEqual(decoded.body.tools, [{
    type: "custom",
    name: "ApplyPatch",
    description: "Edit files.",
    format: { type: "grammar", syntax: "lark", definition: "start: x" },
  }]);
  assert.deepEqual([...decoded.customTools], ["ApplyPatch"]);
});

Deno.test("hosted tools pass through and Anthropic dated built-in tools are dropped", () => {
  const decoded = decode(fixture("typeless_input_schema_tools.json"));
  assert.deepEqual(decoded.body.tools, [
    {
      type: "function",
      name: "Glob",
      description: "Find files by pattern.",
      parameters: { type: "object", properties: { pattern: { type: "string" } }, required: [] },
      strict: false,
    },
    { type: "function", name: "LS", parameters: { type: "object", properties: {} }, strict: false },
    { type: "web_search", search_context_size: "low" },
  ]);
  assert.equal(decoded.customTools.size, 0);
});

Deno.test("a tool_choice in chat form becomes Responses form", () => {
  const tools = [{ type: "function", function: { name: "read_file", parameters: schema } }];
  assert.deepEqual(
    withTools(tools, { tool_choice: { type: "function", function: { name: "read_file" } } }).body.tool_choice,
    { type: "function", name: "read_file" },
  );
});

Deno.test("a tool_choice naming a custom tool becomes a custom choice", () => {
  const tools = [{ type: "custom", name: "ApplyPatch" }];
  assert.deepEqual(
    withTools(tools, { tool_choice: { type: "function", function: { name: "ApplyPatch" } } }).body.tool_choice,
    { type: "custom", name: "ApplyPatch" },
  );
});

Deno.test("string tool_choice values and Responses-form choices pass through", () => {
  const tools = [{ type: "function", name: "Shell", parameters: {} }];
  for (const choice of ["auto", "none", "required"]) {
    assert.equal(withTools(tools, { tool_choice: choice }).body.tool_choice, choice);
  }
  assert.deepEqual(withTools(tools, { tool_choice: { type: "function", name: "Shell" } }).body.tool_choice, {
    type: "function",
    name: "Shell",
  });
  assert.deepEqual(withTools(tools, { tool_choice: { type: "web_search_preview" } }).body.tool_choice, {
    type: "web_search_preview",
  });
});

Deno.test("an empty tools list is not forwarded", () => {
  assert.equal("tools" in withTools([]).body, false);
});

Deno.test("a tool without a name is a 400 naming its path", () => {
  const error = reject({
    model: "gpt-5",
    input: "hi",
    tools: [
      { type: "function", name: "ok", parameters: {} },
      { type: "function", parameters: {} },
      { type: "function", function: { parameters: {} } },
      "Shell",
    ],
  });
  assert.equal(error.status, 400);
  assert.equal(error.param, "tools[1].name");
  assert.equal(
    error.message,
    "tools[1].name: expected a non-empty string; tools[2].function.name: expected a non-empty string; " +
      "tools[3]: expected an object",
  );
});
