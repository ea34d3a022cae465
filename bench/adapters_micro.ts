/**
 * The gateway's CPU per streamed event for each upstream API, without a server, a socket or a
 * noisy neighbour: each API's mock answer (mock_wires.ts) as the bytes the mock upstream sends,
 * one frame per read, through what the stream path runs on them, in a tight loop:
 *
 * - framing: `TextDecoder` and `eventsource-parser`, as `upstream/sse_events.ts` reads a body;
 * - translation: the API's adapter `StreamTranslator` (`push` per message, `end` at the close);
 * - encoding: `ChunkEncoder.push` per canonical event and `end`, as `http/sse_body.ts` writes.
 *
 * Every API is warmed up, then the APIs take turns, round by round; the figures are the median round
 * and the fastest (the least disturbed by the rest of the machine). `--phase translate`
 * leaves the encoder out; `--digest` prints a hash of each API's encoded output (with a fixed
 * clock), to check that a change in a translator leaves its output byte for byte the same.
 *
 * Usage: `deno run -A bench/adapters_micro.ts [--deltas N] [--rounds N] [--streams N]
 * [--warmup N] [--apis a,b] [--phase all|translate] [--digest]`
 */
import { parseArgs } from "node:util";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import type { EncodeContext } from "../src/encode/context.ts";
import type { ResponsesEvent } from "../src/protocol/responses.ts";
import { adapterFor } from "../src/upstream/adapters/index.ts";
import type { AnswerContext } from "../src/upstream/adapters/types.ts";
import { type Api, apis, frame, streamMessages } from "./mock_wires.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    deltas: { type: "string", default: "100" },
    rounds: { type: "string", default: "25" },
    streams: { type: "string", default: "200" },
    warmup: { type: "string", default: "2000" },
    apis: { type: "string", default: apis.join(",") },
    phase: { type: "string", default: "all" },
    digest: { type: "boolean", default: false },
  },
});
const deltas = Number(flags.deltas);
const rounds = Number(flags.rounds);
const streamsPerRound = Number(flags.streams);
const warmup = Number(flags.warmup);
const selected = flags.apis.split(",") as Api[];
const encode = flags.phase !== "translate";

const textEncoder = new TextEncoder();

/** Each upstream event as the bytes of one read (the mock upstream sends every frame as its own chunk). */
const readsOf = (api: Api): Uint8Array[] => streamMessages(api, deltas).map((m) => textEncoder.encode(frame(m)));

const answerContext: AnswerContext = {
  provider: "bench",
  model: "bench-model",
  keyOrigin: "gateway",
  now: 1_767_000_000_000,
};

const encodeContext = (startedAt: number): EncodeContext => ({
  id: "chatcmpl-bench0123456789",
  created: 1_767_000_000,
  model: "bench/model",
  attempt: () => attempt,
  startedAt,
  price: () => undefined,
});
const attempt = {
  ref: { provider: "bench", model: "bench-model", label: "bench/bench-model" },
  fallbackIndex: 0,
  attempts: 1,
};

/**
 * One stream, start to end, as the gateway runs it; returns the SSE text (when encoding) and counts
 * the canonical events. `now` fixed makes the output deterministic (`latency` in every chunk).
 */
const runStream = (api: Api, reads: ReadonlyArray<Uint8Array>, now?: number): { text: string; events: number } => {
  const translator = adapterFor(api).stream(answerContext);
  const encoder = encode ? new ChunkEncoder(encodeContext(now ?? performance.now())) : undefined;
  const decoder = new TextDecoder();
  const queue: ResponsesEvent[] = [];
  let done = false;
  let ended = false;
  let text = "";
  let events = 0;
  const finish = () => {
    if (ended) return;
    ended = true;
    translator.end(queue);
  };
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      if (done) return;
      translator.push(message, queue);
      if (message.data === "[DONE]") {
        done = true;
        finish();
      }
    },
  });
  /** What sse_body does with the events one read brought: encoded into one piece of text. */
  const drain = () => {
    events += queue.length;
    if (encoder !== undefined) {
      const at = now ?? performance.now();
      for (let i = 0; i < queue.length && !encoder.finished; i++) text += encoder.push(queue[i], at);
    }
    queue.length = 0;
  };
  for (const read of reads) {
    if (done) break;
    parser.feed(decoder.decode(read, { stream: true }));
    drain();
  }
  if (!done) {
    parser.feed(decoder.decode());
    parser.reset({ consume: true });
    done = true;
    finish();
    drain();
  }
  if (encoder !== undefined && !encoder.finished) text += encoder.end();
  return { text, events };
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

interface Result {
  readonly api: Api;
  readonly upstreamEvents: number;
  readonly canonicalEvents: number;
  /** µs per stream of each round. */
  readonly rounds: number[];
}

/**
 * Every API warmed up, then measured round by round in turn (responses, chat, ..., responses, ...),
 * so that a busy moment of the machine falls on every API alike rather than on one.
 */
const measure = (): Result[] => {
  const runs = selected.map((api) => {
    const reads = readsOf(api);
    return { api, reads, events: runStream(api, reads, 0).events };
  });
  let sink = 0;
  for (const { api, reads } of runs) for (let i = 0; i < warmup; i++) sink += runStream(api, reads).text.length;
  const perStream = runs.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    runs.forEach(({ api, reads }, k) => {
      const start = performance.now();
      for (let i = 0; i < streamsPerRound; i++) sink += runStream(api, reads).text.length;
      perStream[k].push(((performance.now() - start) * 1000) / streamsPerRound);
    });
  }
  if (sink < 0) console.log(sink);
  return runs.map(({ api, reads, events }, k) => ({
    api,
    upstreamEvents: reads.length,
    canonicalEvents: events,
    rounds: perStream[k],
  }));
};

const digest = async (api: Api): Promise<string> => {
  // The usage chunk's `latency` reads the clock whatever `now` says.
  const text = runStream(api, readsOf(api), 0).text.replaceAll(/"latency":\d+/g, '"latency":0');
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", textEncoder.encode(text)));
  return `${Array.from(hash.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")} (${text.length} chars)`;
};

if (flags.digest) {
  for (const api of selected) console.log(`${api.padEnd(10)} ${await digest(api)}`);
  Deno.exit(0);
}

console.log(
  `${deltas} deltas, ${encode ? "framing + translation + encoding" : "framing + translation"}; ` +
    `median of ${rounds} rounds of ${streamsPerRound} streams after ${warmup} warm-up streams`,
);
const results = measure();
const base = results.find((r) => r.api === "responses");
const pad = (s: string, n: number) => s.padStart(n);
const ratio = (n: number) => `${n.toFixed(2)}x`;
console.log(
  `${"api".padEnd(10)}${pad("events", 7)}${pad("canon.", 7)}${pad("µs/stream", 11)}${pad("min", 8)}` +
    `${pad("µs/event", 10)}${pad("min", 8)}${pad("÷resp/ev", 10)}${pad("min", 8)}${pad("÷resp/str", 11)}`,
);
for (const r of results) {
  const med = median(r.rounds);
  const min = Math.min(...r.rounds);
  const baseMed = base ? median(base.rounds) : NaN;
  const baseMin = base ? Math.min(...base.rounds) : NaN;
  const perEvent = (us: number, events: number) => us / events;
  console.log(
    `${r.api.padEnd(10)}${pad(String(r.upstreamEvents), 7)}${pad(String(r.canonicalEvents), 7)}` +
      `${pad(med.toFixed(1), 11)}${pad(min.toFixed(1), 8)}` +
      `${pad(perEvent(med, r.upstreamEvents).toFixed(3), 10)}${pad(perEvent(min, r.upstreamEvents).toFixed(3), 8)}` +
      `${pad(ratio(perEvent(med, r.upstreamEvents) / perEvent(baseMed, base?.upstreamEvents ?? 1)), 10)}` +
      `${pad(ratio(perEvent(min, r.upstreamEvents) / perEvent(baseMin, base?.upstreamEvents ?? 1)), 8)}` +
      `${pad(ratio(med / baseMed), 11)}`,
  );
}
