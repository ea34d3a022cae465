/**
 * The one answer the bench's mock upstream gives, in the wire format of each API the gateway
 * speaks: N text deltas, then a `ReadFile` call, then usage. Every API carries the same text
 * bytes per delta, the same call and the same token counts, so that the per-API phase of the
 * bench measures the gateway's translation of each wire format, not a different answer.
 *
 * Each stream is a list of SSE messages, one upstream event each (the mock sends every one as
 * its own chunk); the JSON answer is the short non-streamed answer ("Running the tests now.").
 * The shapes follow the recorded streams in `fixtures/` (OpenAI's, Anthropic's and Google's,
 * November 2026) without the fields no adapter reads (`obfuscation`).
 */

// ===== The answer =====

export type Api = "responses" | "chat" | "anthropic" | "gemini";

export const apis: ReadonlyArray<Api> = ["responses", "chat", "anthropic", "gemini"];

const words = ["I'll", " run", " the", " body", " reader", " tests", " now", ";", " the", " new", " case", " sends"];

/** The text of delta `i`: the same bytes in every API. */
export const deltaText = (i: number): string => words[i % words.length];

/** The whole text of a stream of `n` deltas. */
export const answerText = (n: number): string => Array.from({ length: n }, (_, i) => deltaText(i)).join("");

/** The call's arguments as the streaming APIs send them (Gemini sends them whole). */
export const argumentDeltas = ['{"target_file":', '"/home/dev/gateway/', "tests/http/body", '_test.ts"}'];
export const callName = "ReadFile";
export const callArguments = argumentDeltas.join("");

/** The non-streamed answer's text. */
export const jsonText = "Running the tests now.";

/** Token counts of every answer: 2,512 in (2,048 of them cached), 96 out (64 of them reasoning). */
export const tokens = { input: 2512, cached: 2048, output: 96, reasoning: 64 } as const;

/** One server-sent event: an `event:` name where the API sends one, and its `data:` payload. */
export interface SseMessage {
  readonly event?: string;
  readonly data: string;
}

const created = 1_767_000_000;

// ===== Responses (POST /responses) =====

const responseId = "resp_0b5e1c2a9f8d4e3b00692f4e1d2c3b4a5968778695a4b3c2";
const messageId = "msg_0b5e1c2a9f8d4e3b00692f4e1e5f6a7b8c9d0e1f2a3b4c5d";
const callItemId = "fc_0b5e1c2a9f8d4e3b00692f4e1f0a1b2c3d4e5f6a7b8c9d0e";
const callId = "call_Hx3mP9vK2qL7wR4tY8nB1cZ5";

const responsesUsage = {
  input_tokens: tokens.input,
  input_tokens_details: { cached_tokens: tokens.cached },
  output_tokens: tokens.output,
  output_tokens_details: { reasoning_tokens: tokens.reasoning },
  total_tokens: tokens.input + tokens.output,
};

const snapshot = (status: string, output: unknown[], withUsage: boolean) => ({
  id: responseId,
  object: "response",
  created_at: created,
  status,
  background: false,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model: "gpt-5-2025-08-07",
  output,
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: "medium", summary: null },
  service_tier: "default",
  store: false,
  temperature: 1,
  text: { format: { type: "text" }, verbosity: "low" },
  tool_choice: "auto",
  tools: [],
  top_p: 1,
  truncation: "disabled",
  usage: withUsage ? responsesUsage : null,
  user: null,
  metadata: {},
});

const messageItem = (text: string, status: string) => ({
  id: messageId,
  type: "message",
  status,
  role: "assistant",
  content: status === "in_progress" ? [] : [{ type: "output_text", annotations: [], logprobs: [], text }],
});

const callItem = (args: string, status: string) => ({
  id: callItemId,
  type: "function_call",
  status,
  arguments: args,
  call_id: callId,
  name: callName,
});

/** The Responses events of a stream with `n` text deltas, in order, without `sequence_number`. */
export const responsesEvents = (n: number): Record<string, unknown>[] => {
  const text = answerText(n);
  const final = [messageItem(text, "completed"), callItem(callArguments, "completed")];
  const textRef = { item_id: messageId, output_index: 0, content_index: 0 };
  return [
    { type: "response.created", response: snapshot("in_progress", [], false) },
    { type: "response.in_progress", response: snapshot("in_progress", [], false) },
    { type: "response.output_item.added", output_index: 0, item: messageItem("", "in_progress") },
    {
      type: "response.content_part.added",
      ...textRef,
      part: { type: "output_text", annotations: [], logprobs: [], text: "" },
    },
    ...Array.from({ length: n }, (_, i) => ({
      type: "response.output_text.delta",
      ...textRef,
      delta: deltaText(i),
      logprobs: [],
    })),
    { type: "response.output_text.done", ...textRef, text, logprobs: [] },
    {
      type: "response.content_part.done",
      ...textRef,
      part: { type: "output_text", annotations: [], logprobs: [], text },
    },
    { type: "response.output_item.done", output_index: 0, item: final[0] },
    { type: "response.output_item.added", output_index: 1, item: callItem("", "in_progress") },
    ...argumentDeltas.map((delta) => ({
      type: "response.function_call_arguments.delta",
      item_id: callItemId,
      output_index: 1,
      delta,
    })),
    { type: "response.function_call_arguments.done", item_id: callItemId, output_index: 1, arguments: callArguments },
    { type: "response.output_item.done", output_index: 1, item: final[1] },
    { type: "response.completed", response: snapshot("completed", final, true) },
  ];
};

/** OpenAI's framing: `event: <type>` then `data: <json>`, numbered from 0. */
const responsesStream = (n: number): SseMessage[] =>
  responsesEvents(n).map((event, i) => ({
    event: event.type as string,
    data: JSON.stringify({ type: event.type, sequence_number: i, ...event }),
  }));

export const responsesJson = snapshot("completed", [messageItem(jsonText, "completed")], true);

// ===== Chat Completions (POST /chat/completions) =====

const chatId = "chatcmpl-CkTq8vR2mX5nB7wL1pZ9sD4fH6jY0";
const chatModel = "gpt-4.1-2025-04-14";

const chatUsage = {
  prompt_tokens: tokens.input,
  completion_tokens: tokens.output,
  total_tokens: tokens.input + tokens.output,
  prompt_tokens_details: { cached_tokens: tokens.cached, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: tokens.reasoning,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
};

/** With `stream_options.include_usage`, OpenAI puts `"usage": null` on every chunk before the usage chunk. */
const chatChunk = (delta: unknown, finish: string | null) => ({
  id: chatId,
  object: "chat.completion.chunk",
  created,
  model: chatModel,
  service_tier: "default",
  system_fingerprint: "fp_b3f1157249",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  usage: null,
});

/** The role chunk, a chunk per delta, the call's chunks, the finish chunk, the usage chunk, `[DONE]`. */
const chatStream = (n: number): SseMessage[] => {
  const chunks: unknown[] = [
    chatChunk({ role: "assistant", content: "", refusal: null }, null),
    ...Array.from({ length: n }, (_, i) => chatChunk({ content: deltaText(i) }, null)),
    chatChunk({
      tool_calls: [{ index: 0, id: callId, type: "function", function: { name: callName, arguments: "" } }],
    }, null),
    ...argumentDeltas.map((delta) => chatChunk({ tool_calls: [{ index: 0, function: { arguments: delta } }] }, null)),
    chatChunk({}, "tool_calls"),
    { ...chatChunk({}, null), choices: [], usage: chatUsage },
  ];
  return [...chunks.map((chunk) => ({ data: JSON.stringify(chunk) })), { data: "[DONE]" }];
};

export const chatJson = {
  id: chatId,
  object: "chat.completion",
  created,
  model: chatModel,
  choices: [{
    index: 0,
    message: { role: "assistant", content: jsonText, refusal: null, annotations: [] },
    logprobs: null,
    finish_reason: "stop",
  }],
  usage: chatUsage,
  service_tier: "default",
  system_fingerprint: "fp_b3f1157249",
};

// ===== Anthropic Messages (POST /messages) =====

const anthropicModel = "claude-sonnet-4-5-20250929";

/** Anthropic counts cache reads apart from `input_tokens`: the same 2,512 in as the other APIs. */
const anthropicUsage = {
  input_tokens: tokens.input - tokens.cached,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: tokens.cached,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  output_tokens: tokens.output,
  service_tier: "standard",
};

const anthropicMessage = (content: unknown[], stopReason: string | null, usage: unknown) => ({
  id: "msg_01Bench7vQ2mX5nB7wL1pZ9sD",
  type: "message",
  role: "assistant",
  model: anthropicModel,
  content,
  stop_reason: stopReason,
  stop_sequence: null,
  usage,
});

/** message_start, a text block of `n` deltas (a ping after its start), a tool_use block, message_delta, message_stop. */
const anthropicStream = (n: number): SseMessage[] => {
  const events: Record<string, unknown>[] = [
    { type: "message_start", message: anthropicMessage([], null, { ...anthropicUsage, output_tokens: 1 }) },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "ping" },
    ...Array.from({ length: n }, (_, i) => ({
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: deltaText(i) },
    })),
    { type: "content_block_stop", index: 0 },
    {
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "toolu_01Bench4fH6jY0CkTq8vR2m", name: callName, input: {} },
    },
    ...argumentDeltas.map((partial_json) => ({
      type: "content_block_delta",
      index: 1,
      delta: { type: "input_json_delta", partial_json },
    })),
    { type: "content_block_stop", index: 1 },
    {
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: tokens.output },
    },
    { type: "message_stop" },
  ];
  return events.map((event) => ({ event: event.type as string, data: JSON.stringify(event) }));
};

export const anthropicJson = anthropicMessage([{ type: "text", text: jsonText }], "end_turn", anthropicUsage);

// ===== Gemini (POST /models/{model}:streamGenerateContent?alt=sse, :generateContent) =====

const geminiModel = "gemini-2.5-flash";
const geminiOutput = tokens.output - tokens.reasoning;

/** Google counts thoughts apart from candidates, and sends the usage so far on every chunk. */
const geminiUsage = (candidates: number) => ({
  promptTokenCount: tokens.input,
  candidatesTokenCount: candidates,
  totalTokenCount: tokens.input + tokens.reasoning + candidates,
  cachedContentTokenCount: tokens.cached,
  promptTokensDetails: [{ modality: "TEXT", tokenCount: tokens.input }],
  thoughtsTokenCount: tokens.reasoning,
});

const geminiResponse = (parts: unknown[], finishReason: string | undefined, candidates: number) => ({
  candidates: [{
    content: { parts, role: "model" },
    ...(finishReason ? { finishReason } : {}),
    index: 0,
  }],
  usageMetadata: geminiUsage(candidates),
  modelVersion: geminiModel,
  responseId: "bEnCh2mX5nB7wL1pZ9sD4fH6",
});

/** A chunk per delta, then the call (whole: Gemini never streams arguments) with the finish reason and the usage. */
const geminiStream = (n: number): SseMessage[] => {
  const chunks = [
    ...Array.from(
      { length: n },
      (_, i) => geminiResponse([{ text: deltaText(i) }], undefined, Math.min(i + 1, geminiOutput)),
    ),
    geminiResponse([{ functionCall: { name: callName, args: JSON.parse(callArguments) } }], "STOP", geminiOutput),
  ];
  return chunks.map((chunk) => ({ data: JSON.stringify(chunk) }));
};

export const geminiJson = geminiResponse([{ text: jsonText }], "STOP", geminiOutput);

// ===== Per API =====

/** The SSE messages of a stream of `n` text deltas in `api`'s wire format. */
export const streamMessages = (api: Api, n: number): SseMessage[] =>
  api === "responses"
    ? responsesStream(n)
    : api === "chat"
    ? chatStream(n)
    : api === "anthropic"
    ? anthropicStream(n)
    : geminiStream(n);

/** The non-streamed answer in `api`'s wire format. */
export const jsonAnswer = (api: Api): unknown =>
  api === "responses" ? responsesJson : api === "chat" ? chatJson : api === "anthropic" ? anthropicJson : geminiJson;

/** Upstream events in one stream of `n` text deltas (`[DONE]` counts as one). */
export const eventsPerStream = (n: number, api: Api = "responses"): number => streamMessages(api, n).length;

/**
 * Where a held stream pauses: after its first text delta (and whatever opens the answer before it),
 * so that every held stream has sent the client something.
 */
export const holdAfter = (api: Api): number =>
  api === "responses" ? 5 : api === "chat" ? 2 : api === "anthropic" ? 4 : 1;

/** `data:`, with `event:` first where the API names its events; every message its own frame. */
export const frame = (message: SseMessage): string =>
  `${message.event === undefined ? "" : `event: ${message.event}\n`}data: ${message.data}\n\n`;
