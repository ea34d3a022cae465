/**
 * The bench's upstream: a fast mock of the four APIs the gateway speaks, in its own process.
 *
 * The path picks the answer, so the gateway (one provider per mode and API) and the floor
 * (which forwards the path as it is) get the same bytes. The prefix picks the mode:
 * - `/json/...`: the API's small non-streamed answer, at once;
 * - `/sse-<N>/...`: a stream of N text deltas and then a `ReadFile` call and usage, every
 *   event its own chunk, no pauses;
 * - `/hold-<N>/...`: the same stream, paused after the first text delta until
 *   `POST /control/release` (or `holdMs`), so the bench can keep a thousand streams open.
 *
 * The rest of the path picks the API (the wire formats are in `mock_wires.ts`):
 * `/v1/responses`, `/v1/chat/completions`, `/v1/messages`, and Gemini's
 * `/v1/models/{model}:streamGenerateContent` or `:generateContent` (the prefix decides whether
 * it streams, as for the others; the query string is ignored).
 *
 * Every answer is encoded once at start-up (or on first use of an N) and reused.
 * Usage: `deno run --allow-net bench/mock_upstream.ts [holdMs]`; prints `{"port":P}` when ready.
 */
import { type Api, apis, frame, holdAfter, jsonAnswer, streamMessages } from "./mock_wires.ts";

const encoder = new TextEncoder();

const route =
  /^\/(json|sse|hold)(?:-(\d+))?\/v1\/(responses|chat\/completions|messages|models\/[^/:?]+:(?:streamG|g)enerateContent)(?:\?.*)?$/;

const apiOf = (rest: string): Api =>
  rest === "responses"
    ? "responses"
    : rest === "chat/completions"
    ? "chat"
    : rest === "messages"
    ? "anthropic"
    : "gemini";

if (import.meta.main) {
  const holdMs = Number(Deno.args[0] ?? 60_000);
  const jsonBytes = new Map(apis.map((api) => [api, encoder.encode(JSON.stringify(jsonAnswer(api)))]));
  const jsonHeaders = { "content-type": "application/json" };
  const sseHeaders = { "content-type": "text/event-stream; charset=utf-8" };
  const framesByStream = new Map<string, Uint8Array[]>();
  const framesFor = (api: Api, n: number) => {
    const key = `${api}:${n}`;
    let cached = framesByStream.get(key);
    if (!cached) framesByStream.set(key, cached = streamMessages(api, n).map((m) => encoder.encode(frame(m))));
    return cached;
  };
  // Streams in hold mode wait on this gate; a release opens it and arms a fresh one.
  let release!: () => void;
  let gate!: Promise<void>;
  const arm = () => {
    gate = new Promise<void>((resolve) => (release = resolve));
  };
  arm();

  const stream = (all: Uint8Array[], holdAt: number, signal: AbortSignal) => {
    let i = 0;
    let held = false;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i === holdAt && !held) {
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
    const match = route.exec(path);
    if (!match) return new Response("not found", { status: 404 });
    const api = apiOf(match[3]);
    if (match[1] === "json") return new Response(jsonBytes.get(api), { headers: jsonHeaders });
    const all = framesFor(api, Number(match[2] ?? 100));
    return new Response(stream(all, match[1] === "hold" ? holdAfter(api) : -1, request.signal), {
      headers: sseHeaders,
    });
  });
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  await server.finished;
}
