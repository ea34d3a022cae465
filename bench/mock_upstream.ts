/**
 * The bench's upstream: a fast mock of `POST /v1/responses`, in its own process.
 *
 * The path picks the answer, so the gateway (one provider per mode) and the floor (which
 * forwards the path as it is) get the same bytes:
 * - `/json/v1/responses`: a small `response` object, at once;
 * - `/sse-<N>/v1/responses`: a stream of N `output_text.delta` events and then a
 *   `function_call` with its argument deltas, every event its own chunk, no pauses;
 * - `/hold-<N>/v1/responses`: the same stream, paused after the first text delta until
 *   `POST /control/release` (or `holdMs`), so the bench can keep a thousand streams open.
 *
 * Every answer is encoded once at start-up (or on first use of an N) and reused.
 * Usage: `deno run --allow-net bench/mock_upstream.ts [holdMs]`; prints `{"port":P}` when ready.
 */

export const argumentDeltas = ['{"target_file":', '"/home/dev/gateway/', "tests/http/body", '_test.ts"}'];

const encoder = new TextEncoder();
const created = 1_767_000_000;
const responseId = "resp_0b5e1c2a9f8d4e3b00692f4e1d2c3b4a5968778695a4b3c2";
const messageId = "msg_0b5e1c2a9f8d4e3b00692f4e1e5f6a7b8c9d0e1f2a3b4c5d";
const callItemId = "fc_0b5e1c2a9f8d4e3b00692f4e1f0a1b2c3d4e5f6a7b8c9d0e";
const callId = "call_Hx3mP9vK2qL7wR4tY8nB1cZ5";

const words = ["I'll", " run", " the", " body", " reader", " tests", " now", ";", " the", " new", " case", " sends"];
const deltaText = (i: number) => words[i % words.length];

const usage = {
  input_tokens: 2512,
  input_tokens_details: { cached_tokens: 2048 },
  output_tokens: 96,
  output_tokens_details: { reasoning_tokens: 64 },
  total_tokens: 2608,
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
  usage: withUsage ? usage : null,
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
  name: "ReadFile",
});

/** The events of a stream with `n` text deltas, in order, without `sequence_number`. */
export const streamEvents = (n: number): Record<string, unknown>[] => {
  let text = "";
  for (let i = 0; i < n; i++) text += deltaText(i);
  const args = argumentDeltas.join("");
  const final = [messageItem(text, "completed"), callItem(args, "completed")];
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
    { type: "response.function_call_arguments.done", item_id: callItemId, output_index: 1, arguments: args },
    { type: "response.output_item.done", output_index: 1, item: final[1] },
    { type: "response.completed", response: snapshot("completed", final, true) },
  ];
};

/** Upstream events in one stream of `n` text deltas. */
export const eventsPerStream = (n: number): number => streamEvents(n).length;

/** OpenAI's framing: `event: <type>` then `data: <json>`, numbered from 0. */
const frames = (n: number): Uint8Array[] =>
  streamEvents(n).map((event, i) => {
    const numbered = { type: event.type, sequence_number: i, ...event };
    return encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(numbered)}\n\n`);
  });

export const jsonResponse = snapshot("completed", [messageItem("Running the tests now.", "completed")], true);

if (import.meta.main) {
  const holdMs = Number(Deno.args[0] ?? 60_000);
  const jsonBytes = encoder.encode(JSON.stringify(jsonResponse));
  const jsonHeaders = { "content-type": "application/json" };
  const sseHeaders = { "content-type": "text/event-stream; charset=utf-8" };
  const framesByN = new Map<number, Uint8Array[]>();
  const framesFor = (n: number) => {
    let cached = framesByN.get(n);
    if (!cached) framesByN.set(n, cached = frames(n));
    return cached;
  };
  // Streams in hold mode wait on this gate; a release opens it and arms a fresh one.
  let release!: () => void;
  let gate!: Promise<void>;
  const arm = () => {
    gate = new Promise<void>((resolve) => (release = resolve));
  };
  arm();

  const stream = (all: Uint8Array[], holdAfter: number, signal: AbortSignal) => {
    let i = 0;
    let held = false;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i === holdAfter && !held) {
          held = true;
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([gate, new Promise<void>((resolve) => (timer = setTimeout(resolve, holdMs)))]);
          clearTimeout(timer);
          if (signal.aborted) return controller.close();
        }
        controller.enqueue(all[i++]);
        if (i === all.length) controller.close();
      },
    }, { highWaterMark: 0 });
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  }, async (request) => {
    const url = request.url;
    const path = url.slice(url.indexOf("/", 8));
    await request.arrayBuffer();
    if (path === "/control/release") {
      release();
      arm();
      return new Response(null, { status: 204 });
    }
    const match = /^\/(json|sse|hold)(?:-(\d+))?\/v1\/responses$/.exec(path);
    if (!match) return new Response("not found", { status: 404 });
    if (match[1] === "json") return new Response(jsonBytes, { headers: jsonHeaders });
    const all = framesFor(Number(match[2] ?? 100));
    // Pause after response.created, in_progress, output_item.added, content_part.added and one delta.
    const holdAfter = match[1] === "hold" ? 5 : -1;
    return new Response(stream(all, holdAfter, request.signal), { headers: sseHeaders });
  });
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  await server.finished;
}
