/**
 * The request the bench sends: a Cursor Agent-mode "hybrid" body (a Responses API request
 * posted to `/chat/completions`), written for the bench from the shapes in
 * `shared/docs/cursor.md` §1: `instructions`, input items (messages with parts, a replayed
 * `function_call` and its output, ApplyPatch history in the function envelope with raw patch
 * text), flat function tools, the custom ApplyPatch tool with a lark grammar, `reasoning`,
 * `include`, `text.verbosity`, `metadata.cursorConversationId`, `user` and `stream_options`.
 * About 8 KB serialised: a short agent turn (real ones grow with the conversation).
 */

const instructions = [
  "You are an AI coding assistant, powered by GPT-5. You operate in Cursor.",
  "You are pair programming with a USER to solve their coding task. Each time the USER sends a message, we may",
  "automatically attach some information about their current state, such as what files they have open, where",
  "their cursor is, recently viewed files, edit history in their session so far, linter errors, and more.",
  "",
  "<communication>",
  "- Always ensure **only relevant sections** (code snippets, tables, commands, or structured data) are formatted",
  "  in valid Markdown with proper fencing.",
  "- Avoid wrapping the entire message in a single code block. Use Markdown only where semantically correct.",
  "- When communicating with the user, optimize your writing for clarity and skimmability.",
  "</communication>",
  "",
  "<tool_calling>",
  "1. Use only provided tools; follow their schemas exactly.",
  "2. Parallelize tool calls: batch read-only context reads and independent edits instead of serial calls.",
  "3. If actions are dependent or might conflict, sequence them; otherwise, run them in the same batch.",
  "4. Don't mention tool names to the user; describe actions naturally.",
  "5. If info is discoverable via tools, prefer that over asking the user.",
  "6. Read multiple files as needed; don't guess.",
  "7. Give a brief progress note before the first tool call each turn; add another before any new batch.",
  "</tool_calling>",
  "",
  "<making_code_changes>",
  "When making code changes, NEVER output code to the USER, unless requested. Instead use one of the code edit",
  "tools to implement the change. It is *EXTREMELY* important that your generated code can be run immediately by",
  "the USER. Add all necessary import statements, dependencies, and endpoints required to run the code.",
  "If you've introduced (linter) errors, fix them if clear how to. Do not loop more than 3 times on fixing them.",
  "</making_code_changes>",
].join("\n");

const stringParam = (description: string) => ({ type: "string", description });

/** Cursor sends its tools flat (`{type:"function", name, parameters}`), not nested as in Chat. */
const functionTools = [
  {
    type: "function",
    name: "Shell",
    description: "Run a terminal command on the user's machine. Commands run in the workspace root by default. " +
      "Prefer non-interactive flags; pipe pagers into cat.",
    parameters: {
      type: "object",
      properties: {
        command: stringParam("The terminal command to execute"),
        is_background: { type: "boolean", description: "Whether the command should be run in the background" },
        explanation: stringParam("One sentence explanation as to why this command needs to be run"),
      },
      required: ["command", "is_background"],
      additionalProperties: false,
    },
    strict: false,
  },
  {
    type: "function",
    name: "ReadFile",
    description: "Read the contents of a file. Lines are 1-indexed. You can optionally specify an offset and a " +
      "limit for large files; otherwise the whole file is read.",
    parameters: {
      type: "object",
      properties: {
        target_file: stringParam("The path of the file to read, relative to the workspace root"),
        offset: { type: "integer", description: "The line to start reading from" },
        limit: { type: "integer", description: "The number of lines to read" },
      },
      required: ["target_file"],
      additionalProperties: false,
    },
    strict: false,
  },
  {
    type: "function",
    name: "Grep",
    description: "A powerful search tool built on ripgrep. Supports full regex syntax; filter files with glob or " +
      "type. Output modes: content, files_with_matches, count.",
    parameters: {
      type: "object",
      properties: {
        pattern: stringParam("The regular expression pattern to search for in file contents"),
        path: stringParam("File or directory to search in"),
        glob: stringParam('Glob pattern to filter files (e.g. "*.ts")'),
        output_mode: { type: "string", enum: ["content", "files_with_matches", "count"] },
        "-i": { type: "boolean", description: "Case insensitive search" },
      },
      required: ["pattern"],
      additionalProperties: false,
    },
    strict: false,
  },
  {
    type: "function",
    name: "Glob",
    description: "Find files by name pattern, sorted by modification time.",
    parameters: {
      type: "object",
      properties: {
        glob_pattern: stringParam("The glob pattern to match files against"),
        target_directory: stringParam("Directory to search in; defaults to the workspace root"),
      },
      required: ["glob_pattern"],
      additionalProperties: false,
    },
    strict: false,
  },
  {
    type: "function",
    name: "TodoWrite",
    description: "Create and manage a structured task list for the current coding session.",
    parameters: {
      type: "object",
      properties: {
        merge: { type: "boolean", description: "Whether to merge the todos with the existing ones" },
        todos: {
          type: "array",
          items: {
            type: "object",
            properties: {
              id: stringParam("Unique identifier for the todo item"),
              content: stringParam("The description of the todo item"),
              status: { type: "string", enum: ["pending", "in_progress", "completed", "cancelled"] },
            },
            required: ["id", "content", "status"],
          },
        },
      },
      required: ["merge", "todos"],
      additionalProperties: false,
    },
    strict: false,
  },
];

/** Cursor's grammar tool: its calls carry raw patch text, never JSON (cursor.md §1.4). */
const applyPatchTool = {
  type: "custom",
  name: "ApplyPatch",
  description: "Use the `ApplyPatch` tool to edit files. Your patch language is a stripped-down, file-oriented " +
    "diff format designed to be easy to parse and safe to apply.",
  format: {
    type: "grammar",
    syntax: "lark",
    definition: [
      "start: begin_patch hunk+ end_patch",
      'begin_patch: "*** Begin Patch" LF',
      'end_patch: "*** End Patch" LF?',
      "hunk: add_hunk | delete_hunk | update_hunk",
      'add_hunk: "*** Add File: " filename LF add_line+',
      'delete_hunk: "*** Delete File: " filename LF',
      'update_hunk: "*** Update File: " filename LF change_move? change?',
      "filename: /(.+)/",
      'add_line: "+" /(.*)/ LF -> line',
      'change_move: "*** Move to: " filename LF',
      "change: (change_context | change_line)+ eof_line?",
      'change_context: ("@@" | "@@ " /(.+)/) LF',
      'change_line: ("+" | "-" | " ") /(.*)/ LF',
      'eof_line: "*** End of File" LF',
      "%import common.LF",
    ].join("\n"),
  },
};

export const tools = [...functionTools, applyPatchTool];

const fileContents = [
  'import { Effect } from "effect";',
  'import { badRequest, type GatewayError } from "../errors/GatewayError.ts";',
  "",
  "export const readJsonBody = (request: Request, limit: number): Effect.Effect<unknown, GatewayError> =>",
  "  Effect.gen(function* () {",
  '    const declared = Number(request.headers.get("content-length") ?? NaN);',
  "    if (declared > limit) return yield* Effect.fail(payloadTooLarge(limit));",
  "    const text = yield* Effect.tryPromise({ try: () => request.text(), catch: () => badRequest('unreadable') });",
  "    return JSON.parse(text) as unknown;",
  "  });",
].map((line, i) => `${String(i + 1).padStart(6)}|${line}`).join("\n");

const patch = [
  "*** Begin Patch",
  "*** Update File: src/http/body.ts",
  "@@ export const readJsonBody",
  "-    return JSON.parse(text) as unknown;",
  "+    try {",
  "+      return JSON.parse(text) as unknown;",
  "+    } catch {",
  '+      return yield* Effect.fail(badRequest("Request body is not valid JSON."));',
  "+    }",
  "*** End Patch",
].join("\n");

const input = [
  {
    role: "user",
    content: [
      {
        type: "input_text",
        text: "<user_info>\nOS Version: linux 6.8.0\nShell: /bin/bash\nWorkspace Path: /home/dev/gateway\n" +
          "Note: Prefer using absolute paths over relative paths as tool call args when possible.\n</user_info>",
      },
      {
        type: "input_text",
        text: "<user_query>\nThe body reader crashes on invalid JSON. Make it answer a 400 instead, and add a " +
          "test for it.\n</user_query>",
      },
    ],
  },
  {
    type: "message",
    role: "assistant",
    content: [{ type: "output_text", text: "I'll look at the body reader first.", annotations: [] }],
  },
  {
    type: "function_call",
    call_id: "call_8f2kq1VbDw0tR9sXy3LmN4aP",
    name: "ReadFile",
    arguments: JSON.stringify({ target_file: "/home/dev/gateway/src/http/body.ts" }),
  },
  { type: "function_call_output", call_id: "call_8f2kq1VbDw0tR9sXy3LmN4aP", output: fileContents },
  {
    type: "message",
    role: "assistant",
    content: [{ type: "output_text", text: "The parse is unguarded; wrapping it.", annotations: [] }],
  },
  // Cursor replays ApplyPatch history in the function envelope with the raw patch as `arguments`.
  { type: "function_call", call_id: "call_Qm7Zt2LxV9pR4nW1sK8dJ6bH", name: "ApplyPatch", arguments: patch },
  { type: "function_call_output", call_id: "call_Qm7Zt2LxV9pR4nW1sK8dJ6bH", output: "Success. Updated 1 file." },
  {
    role: "user",
    content: [{ type: "input_text", text: "Good. Now run the tests for it." }],
  },
];

export interface HybridBodyOptions {
  readonly model: string;
  readonly stream: boolean;
}

export const hybridBody = (options: HybridBodyOptions): Record<string, unknown> => ({
  model: options.model,
  instructions,
  input,
  tools,
  tool_choice: "auto",
  parallel_tool_calls: true,
  reasoning: { effort: "medium", summary: "auto" },
  include: ["reasoning.encrypted_content"],
  text: { verbosity: "low" },
  store: false,
  prompt_cache_retention: "24h",
  metadata: { cursorConversationId: "6f1c2d3e-8a9b-4c0d-9e1f-2a3b4c5d6e7f" },
  user: "f3a9c1e07b5d4e2a8c6b0d9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
  stream: options.stream,
  ...(options.stream ? { stream_options: { include_usage: true } } : {}),
});
