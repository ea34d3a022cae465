/**
 * What the Cursor specs (`tests/cursor_*_test.ts`) share: the real gateway in front of a fake
 * Responses API, answers written from the protocol, SSE read back into chunks, and the real
 * Cursor bodies of the recordings folder when `GATEWAY_RECORDINGS` names it (never copied here).
 */
import { type FakeReply, type FakeUpstream, type Script, startFakeUpstream } from "./fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig } from "./gateway.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

/** One item of a scripted Responses answer. */
export type AnswerItem =
  | { readonly text: string; readonly refusal?: undefined }
  | { readonly refusal: string; readonly text?: undefined }
  | { readonly reasoning: string; readonly encrypted?: string }
  | { readonly call: string; readonly name: string; readonly arguments: string };

export interface Answer {
  readonly items: ReadonlyArray<AnswerItem>;
  /** `null` for an upstream that reports none. */
  readonly usage?: Record<string, unknown> | null;
  readonly status?: "completed" | "incomplete";
}

const outputItem = (item: AnswerItem, index: number): Json => {
  if ("call" in item) {
    return {
      type: "function_call",
      id: `fc_${index}`,
      call_id: item.call,
      name: item.name,
      arguments: item.arguments,
      status: "completed",
    };
  }
  if ("reasoning" in item) {
    return {
      type: "reasoning",
      id: `rs_${index}`,
      summary: item.reasoning === "" ? [] : [{ type: "summary_text", text: item.reasoning }],
      ...(item.encrypted !== undefined ? { encrypted_content: item.encrypted } : {}),
    };
  }
  const part = item.refusal !== undefined
    ? { type: "refusal", refusal: item.refusal }
    : { type: "output_text", text: item.text, annotations: [] };
  return { type: "message", id: `msg_${index}`, role: "assistant", status: "completed", content: [part] };
};

const DEFAULT_USAGE = { input_tokens: 12, output_tokens: 5, total_tokens: 17 };

/** The whole Responses `response` of an answer. */
export const responseOf = (answer: Answer): Json => ({
  id: "resp_1",
  object: "response",
  created_at: 1,
  status: answer.status ?? "completed",
  model: "gpt-5-2025-08-07",
  output: answer.items.map(outputItem),
  ...(answer.status === "incomplete" ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
  usage: answer.usage === undefined ? DEFAULT_USAGE : answer.usage,
});

/** The answer as a Responses stream: each item added, its deltas, done; then the terminal event. */
export const eventsOf = (answer: Answer): Json[] => {
  const response = responseOf(answer);
  const events: Json[] = [{ type: "response.created", response: { ...response, status: "in_progress", output: [] } }];
  response.output.forEach((item: Json, index: number) => {
    const source = answer.items[index];
    // Added as the API adds items: nothing written yet.
    const added = "call" in source
      ? { ...item, arguments: "" }
      : "reasoning" in source
      ? { ...item, summary: [] }
      : { ...item, content: [] };
    events.push({ type: "response.output_item.added", output_index: index, item: { ...added, status: "in_progress" } });
    const ref = { item_id: item.id, output_index: index };
    if ("call" in source) {
      events.push({ type: "response.function_call_arguments.delta", ...ref, delta: source.arguments });
    } else if ("reasoning" in source) {
      if (source.reasoning !== "") {
        events.push({
          type: "response.reasoning_summary_text.delta",
          ...ref,
          summary_index: 0,
          delta: source.reasoning,
        });
      }
    } else if (source.refusal !== undefined) {
      events.push({ type: "response.refusal.delta", ...ref, content_index: 0, delta: source.refusal });
    } else {
      events.push({ type: "response.output_text.delta", ...ref, content_index: 0, delta: source.text });
    }
    events.push({ type: "response.output_item.done", output_index: index, item });
  });
  events.push({ type: answer.status === "incomplete" ? "response.incomplete" : "response.completed", response });
  return events;
};

/** A script that answers every request with `answer`, streamed or JSON as the request asks. */
export const answering = (answer: Answer | ((index: number) => Answer)): Script => (request, index) => {
  const chosen = typeof answer === "function" ? answer(index) : answer;
  return request.body.stream === true
    ? { sse: eventsOf(chosen).map((event) => ({ event })) }
    : { json: responseOf(chosen) };
};

/** An upstream HTTP error answer in OpenAI's envelope. */
export const upstreamError = (
  status: number,
  message: string,
  code: string | null,
  type = "invalid_request_error",
): FakeReply => ({ status, json: { error: { message, type, param: null, code } } });

export interface CursorGateway {
  readonly gateway: RunningGateway;
  readonly upstream: FakeUpstream;
}

/**
 * The real gateway (`testConfig` plus `overrides`, or what `overrides` makes of the upstream's URL)
 * in front of a fake Responses API running `script`.
 */
export const withGateway = async (
  script: Script,
  overrides: Record<string, unknown> | ((url: string) => Record<string, unknown>),
  test: (running: CursorGateway) => Promise<void>,
): Promise<void> => {
  const upstream = startFakeUpstream(script);
  const gateway = await startGateway(
    testConfig(upstream.url, typeof overrides === "function" ? overrides(upstream.url) : overrides),
  );
  try {
    await test({ gateway, upstream });
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

export const CURSOR_PATH = "/cursor/v1/chat/completions";
export const STRICT_PATH = "/v1/chat/completions";

/** POSTs a body and reads the answer: chunks (with `done`) for a stream, the JSON otherwise. */
export const post = async (
  gateway: RunningGateway,
  path: string,
  body: Json,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json?: Json; chunks: Json[]; done: boolean; text: string }> => {
  const response = await postJson(gateway, path, body, headers);
  const text = await response.text();
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    return {
      status: response.status,
      headers: response.headers,
      json: JSON.parse(text),
      chunks: [],
      done: false,
      text,
    };
  }
  const datas = text.split("\n\n").filter((frame) => frame.startsWith("data: ")).map((frame) => frame.slice(6));
  return {
    status: response.status,
    headers: response.headers,
    chunks: datas.filter((data) => data !== "[DONE]").map((data) => JSON.parse(data)),
    done: datas[datas.length - 1] === "[DONE]",
    text,
  };
};

/** The streamed `content` joined, as a client accumulates it. */
export const contentOf = (chunks: ReadonlyArray<Json>): string =>
  chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("");

/** The final usage chunk of a stream. */
export const usageChunkOf = (chunks: ReadonlyArray<Json>): Json =>
  chunks.find((chunk) => Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== undefined);

export const finishOf = (chunks: ReadonlyArray<Json>): string | undefined =>
  chunks.map((chunk) => chunk.choices?.[0]?.finish_reason).find((reason) => typeof reason === "string");

// ===== Real Cursor bodies (optional) =====

const RECORDINGS = Deno.env.get("GATEWAY_RECORDINGS");

/** Whether the recordings folder is there: recording specs are registered ignored otherwise. */
export const noRecordings = RECORDINGS === undefined || RECORDINGS === "";

/**
 * The JSON request bodies of `cursor/` in the recordings folder, by file name. Each file opens with
 * a `//` SOURCE line, which is dropped; bodies a note says were elided stay as they are.
 */
export const cursorBodies = (): Array<{ readonly name: string; readonly body: Json }> => {
  const dir = `${RECORDINGS}/cursor`;
  const bodies: Array<{ name: string; body: Json }> = [];
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.name.endsWith(".json")) continue;
    const text = Deno.readTextFileSync(`${dir}/${entry.name}`).split("\n").filter((line) => !line.startsWith("//"))
      .join("\n");
    const body = JSON.parse(text);
    // Tool-definition fragments (03) are not requests.
    if (typeof body.model === "string" && (body.input !== undefined || body.messages !== undefined)) {
      bodies.push({ name: entry.name, body });
    }
  }
  return bodies;
};
