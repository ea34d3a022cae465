/** Turning the bench's samples into figures, a table, target verdicts and `BENCHMARKS.md`. */
import type { HoldResult, Samples, TargetName } from "./load.ts";
import { type Api, apis, argumentDeltas } from "./mock_wires.ts";
import type { Machine } from "./procfs.ts";

export interface BenchSettings {
  readonly quick: boolean;
  readonly deltas: number;
  readonly shortDeltas: number;
  readonly rounds: number;
  readonly block: number;
  readonly warmup: number;
  readonly concurrency: number;
  readonly durationS: number;
  readonly slices: number;
  readonly streams: number;
  /** The per-API phase: concurrency of its streamed part, and its seconds per API. */
  readonly apiConcurrency: number;
  readonly apiDurationS: number;
}

/** Non-streamed requests per API and round in the per-API phase: a quarter of a latency block, for ~30 s in all. */
export const apiBlock = (s: BenchSettings): number => Math.max(1, Math.ceil(s.block / 4));

/** Warm-up requests per API and kind in the per-API phase: a third of the main warm-up. */
export const apiWarmup = (s: BenchSettings): number => Math.max(1, Math.ceil(s.warmup / 3));

export interface BenchResults {
  readonly settings: BenchSettings;
  readonly machine: Machine;
  readonly date: string;
  readonly command: string;
  readonly commit: string;
  readonly clockTicks: number;
  /** 1-minute load averages, and the cores other processes kept busy on average during the run. */
  readonly load: { readonly before: number; readonly after: number; readonly othersCores: number };
  readonly bodyBytes: number;
  readonly eventsPerStream: number;
  readonly eventsPerShortStream: number;
  /** SSE frames the client received per stream, from the validation request. */
  readonly framesPerStream: Readonly<Record<TargetName, number>>;
  readonly latency: {
    readonly json: Record<TargetName, Samples>;
    readonly sse: Record<TargetName, Samples>;
    /** Short streams (`shortDeltas` text deltas), whole-stream latency: the fixed cost weighs more. */
    readonly short: Record<TargetName, Samples>;
  };
  readonly throughput: {
    readonly json: Record<TargetName, Samples>;
    readonly sse: Record<TargetName, Samples>;
    readonly short: Record<TargetName, Samples>;
  };
  readonly hold: { readonly floor: HoldResult; readonly gateway: HoldResult };
  /** VmHWM at the end of the run: the highest RSS of the whole run, load phases included. */
  readonly peakRssKb: { readonly floor: number; readonly gateway: number };
  /** The gateway against each upstream API: the same answer in each API's wire format. */
  readonly perApi: {
    /** Upstream SSE messages in one stream (`[DONE]` included). */
    readonly eventsPerStream: Readonly<Record<Api, number>>;
    /** SSE frames the client received per stream, from the validation request. */
    readonly framesPerStream: Readonly<Record<Api, number>>;
    /** Non-streamed at concurrency 1. */
    readonly json: Readonly<Record<Api, Samples>>;
    /** Streamed at `apiConcurrency`. */
    readonly sse: Readonly<Record<Api, Samples>>;
  };
  /** Other gateways measured in the same phases (`--peers`); absent without the flag. */
  readonly peers?: ReadonlyArray<PeerResult>;
  readonly totalSeconds: number;
}

/** A peer gateway measured beside the floor and the gateway, in the same latency and throughput phases. */
export interface PeerMeasured {
  readonly kind: "measured";
  readonly name: string;
  /** What ran, as a Markdown phrase: package and versions. */
  readonly what: string;
  /** How it was driven, as Markdown sentences: route, headers, install. */
  readonly how: string;
  /** Whose CPU is counted: "one node process (11 threads), no child processes". */
  readonly processes: string;
  /** What is worth knowing about it, as Markdown sentences (may be empty). */
  readonly notes: string;
  /** SSE frames the client received per stream, from the validation request. */
  readonly framesPerStream: number;
  readonly latency: { readonly json: Samples; readonly sse: Samples };
  readonly throughput: { readonly json: Samples; readonly sse: Samples };
}

/** A peer that could not be installed, started, validated or measured: only the reason is reported. */
export interface PeerFailed {
  readonly kind: "failed";
  readonly name: string;
  readonly what: string;
  readonly reason: string;
}

export type PeerResult = PeerMeasured | PeerFailed;

// ===== Figures =====

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
};

const cpuMicros = (samples: Samples, clockTicks: number, per: number) =>
  samples.completed === 0 ? NaN : (samples.ticks * 1e6) / clockTicks / samples.completed / per;

const rate = (samples: Samples) => samples.elapsedMs === 0 ? NaN : samples.completed / (samples.elapsedMs / 1000);

export interface Figures {
  readonly latency: Record<
    "json" | "sse" | "short",
    Record<TargetName, { p50: number; p99: number; ttfc50: number; ttfc99: number }>
  >;
  readonly throughput: Record<"json" | "sse" | "short", Record<TargetName, number>>;
  readonly cpuPerRequest: Record<"json" | "sse" | "short", Record<TargetName, number>>;
  readonly cpuPerEvent: Record<TargetName, number>;
  readonly cpuPerEventMarginal: Record<TargetName, number>;
  readonly errors: number;
}

const targets: ReadonlyArray<TargetName> = ["direct", "floor", "gateway"];
const each = <T>(f: (name: TargetName) => T): Record<TargetName, T> => ({
  direct: f("direct"),
  floor: f("floor"),
  gateway: f("gateway"),
});

/** Every phase's samples of the three targets: for the error counts. */
const sampleGroups = (r: BenchResults): ReadonlyArray<Record<TargetName, Samples>> => [
  r.latency.json,
  r.latency.sse,
  r.latency.short,
  r.throughput.json,
  r.throughput.sse,
  r.throughput.short,
];

export const figures = (r: BenchResults): Figures => {
  const lat = (s: Samples) => ({
    p50: percentile(s.totalMs, 50),
    p99: percentile(s.totalMs, 99),
    ttfc50: percentile(s.firstChunkMs, 50),
    ttfc99: percentile(s.firstChunkMs, 99),
  });
  const cpu = (kind: "json" | "sse" | "short") => each((t) => cpuMicros(r.throughput[kind][t], r.clockTicks, 1));
  const cpuPerRequest = { json: cpu("json"), sse: cpu("sse"), short: cpu("short") };
  const extraEvents = r.eventsPerStream - r.eventsPerShortStream;
  let errors = 0;
  for (const group of sampleGroups(r)) {
    for (const t of targets) errors += group[t].errors;
  }
  return {
    latency: {
      json: each((t) => lat(r.latency.json[t])),
      sse: each((t) => lat(r.latency.sse[t])),
      short: each((t) => lat(r.latency.short[t])),
    },
    throughput: {
      json: each((t) => rate(r.throughput.json[t])),
      sse: each((t) => rate(r.throughput.sse[t])),
      short: each((t) => rate(r.throughput.short[t])),
    },
    cpuPerRequest,
    cpuPerEvent: each((t) => cpuPerRequest.sse[t] / r.eventsPerStream),
    cpuPerEventMarginal: each((t) => (cpuPerRequest.sse[t] - cpuPerRequest.short[t]) / extraEvents),
    errors,
  };
};

// ===== Targets =====

export interface Verdict {
  readonly name: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean;
  readonly note: string;
}

/**
 * Issue 17's targets, each against the floor of the same run (or an absolute figure where the
 * issue sets one). They supersede issue 5's, which asked less of latency and nothing of the tail.
 */
export const verdicts = (r: BenchResults, f: Figures): Verdict[] => {
  type Kind = "json" | "sse" | "short";
  type Key = "p50" | "p99" | "ttfc50" | "ttfc99";
  const added = (kind: Kind, t: "floor" | "gateway", key: Key) => f.latency[kind][t][key] - f.latency[kind].direct[key];
  const out: Verdict[] = [];
  const againstFloor = (name: string, kind: Kind, key: Key, most: number) => {
    const gateway = added(kind, "gateway", key);
    const floor = added(kind, "floor", key);
    const value = gateway / floor;
    out.push({
      name,
      value: `${fmtRatio(value)} the floor's (${fmtMs(gateway)} vs ${fmtMs(floor)} ms)`,
      target: `≤ ${most.toFixed(2)}x`,
      met: value <= most,
      note: value <= most ? "" : `over by ${fmtMs(gateway - most * floor)} ms`,
    });
  };
  againstFloor("added time to first chunk p50, streamed, c=1", "sse", "ttfc50", 1.25);
  againstFloor("added time to first chunk p99, streamed, c=1", "sse", "ttfc99", 2);
  againstFloor(`added latency p50, whole stream of ${r.eventsPerStream} events, c=1`, "sse", "p50", 1.25);
  againstFloor(`added latency p50, whole short stream of ${r.eventsPerShortStream} events, c=1`, "short", "p50", 1.25);
  againstFloor(`added latency p99, whole stream of ${r.eventsPerStream} events, c=1`, "sse", "p99", 2);
  againstFloor("added latency p50, non-streamed, c=1", "json", "p50", 1.25);
  const cpu = f.cpuPerRequest.json.gateway;
  out.push({
    name: "server CPU per non-streamed request",
    value: `${fmtMicros(cpu)} µs (the floor: ${fmtMicros(f.cpuPerRequest.json.floor)} µs)`,
    target: "≤ 130 µs",
    met: cpu <= 130,
    note: cpu <= 130 ? "" : `over by ${fmtMicros(cpu - 130)} µs`,
  });
  for (const kind of ["json", "sse"] as const) {
    const value = f.throughput[kind].gateway / f.throughput[kind].floor;
    out.push({
      name: `throughput at c=${r.settings.concurrency}, ${kind === "json" ? "non-streamed" : "streamed"}`,
      value: `${fmtRatio(value)} the floor's (${fmtInt(f.throughput[kind].gateway)} vs ${
        fmtInt(f.throughput[kind].floor)
      } /s)`,
      target: "≥ 0.80x",
      met: value >= 0.8,
      note: value >= 0.8 ? "" : `short by ${fmtInt(0.8 * f.throughput[kind].floor - f.throughput[kind].gateway)} /s`,
    });
  }
  const perEvent = f.cpuPerEvent.gateway;
  const marginal = f.cpuPerEventMarginal.gateway;
  out.push({
    name: "gateway CPU per streamed event",
    value: `${fmtMicros(perEvent)} µs, marginal ${fmtMicros(marginal)} µs (the floor: ${
      fmtMicros(f.cpuPerEvent.floor)
    } µs, marginal ${fmtMicros(f.cpuPerEventMarginal.floor)} µs)`,
    target: "< 4 µs, marginal < 2 µs",
    met: perEvent < 4 && marginal < 2,
    note: perEvent < 4 && marginal < 2 ? "" : `over by ${fmtMicros(Math.max(perEvent - 4, marginal - 2))} µs`,
  });
  const rss = (label: string, kb: number, most: number, extra = "") => {
    const mb = kb / 1024;
    out.push({
      name: label,
      value: `${fmtInt(mb)} MB${extra}`,
      target: `≤ ${most} MB`,
      met: mb <= most && extra === "",
      note: mb <= most ? "" : `over by ${fmtInt(mb - most)} MB`,
    });
  };
  const hold = r.hold.gateway;
  rss("gateway RSS idle (before the open streams)", hold.baselineRssKb, 60);
  rss(
    `gateway RSS with ${r.settings.streams} open streams`,
    hold.peakRssKb,
    200,
    hold.open === r.settings.streams ? "" : ` (only ${hold.open} opened)`,
  );
  rss("gateway peak RSS over the whole run (VmHWM)", r.peakRssKb.gateway, 300);
  return out;
};

// ===== Per upstream API (issue 17) =====

export interface ApiFigures {
  readonly events: number;
  readonly frames: number;
  readonly streamsPerSecond: number;
  readonly cpuPerStream: number;
  readonly cpuPerEvent: number;
  /** CPU per event over the Responses path's. */
  readonly vsResponses: number;
  /** CPU per stream over the Responses path's: the same answer, whatever its event count. */
  readonly streamVsResponses: number;
  readonly sseP50: number;
  readonly jsonP50: number;
  readonly errors: number;
  readonly lastError: string;
}

export const apiFigures = (r: BenchResults): Record<Api, ApiFigures> => {
  const p = r.perApi;
  const perEvent = (api: Api) => cpuMicros(p.sse[api], r.clockTicks, p.eventsPerStream[api]);
  const one = (api: Api): ApiFigures => ({
    events: p.eventsPerStream[api],
    frames: p.framesPerStream[api],
    streamsPerSecond: rate(p.sse[api]),
    cpuPerStream: cpuMicros(p.sse[api], r.clockTicks, 1),
    cpuPerEvent: perEvent(api),
    vsResponses: perEvent(api) / perEvent("responses"),
    streamVsResponses: cpuMicros(p.sse[api], r.clockTicks, 1) / cpuMicros(p.sse.responses, r.clockTicks, 1),
    sseP50: percentile(p.sse[api].totalMs, 50),
    jsonP50: percentile(p.json[api].totalMs, 50),
    errors: p.sse[api].errors + p.json[api].errors,
    lastError: p.sse[api].lastError || p.json[api].lastError,
  });
  return Object.fromEntries(apis.map((api) => [api, one(api)])) as Record<Api, ApiFigures>;
};

/** Issue 17: each new upstream API's CPU per streamed event within 1.2x of the Responses path's. */
export const apiVerdicts = (f: Readonly<Record<Api, ApiFigures>>): Verdict[] =>
  apis.filter((api) => api !== "responses").map((api) => {
    const value = f[api].vsResponses;
    return {
      name: `${api}: gateway CPU per streamed event`,
      value: `${fmtRatio(value)} the Responses path's (${fmtMicros(f[api].cpuPerEvent)} vs ${
        fmtMicros(f.responses.cpuPerEvent)
      } µs)`,
      target: "≤ 1.20x",
      met: value <= 1.2,
      note: value <= 1.2 ? "" : `over by ${fmtMicros(f[api].cpuPerEvent - 1.2 * f.responses.cpuPerEvent)} µs`,
    };
  });

/** The per-API table (Markdown), as printed and as written to BENCHMARKS.md. */
export const apiTable = (r: BenchResults, f: Readonly<Record<Api, ApiFigures>>): string => {
  const c = r.settings.apiConcurrency;
  const rows = apis.map((api) => [
    api,
    String(f[api].events),
    String(f[api].frames),
    fmtInt(f[api].streamsPerSecond),
    fmtMicros(f[api].cpuPerStream),
    fmtRatio(f[api].streamVsResponses),
    fmtMicros(f[api].cpuPerEvent),
    fmtRatio(f[api].vsResponses),
    fmtMs(f[api].sseP50),
    fmtMs(f[api].jsonP50),
  ]);
  return markdownTable([
    "upstream API",
    "events per stream",
    "frames to client",
    `streams/s, c=${c}`,
    "server CPU per stream (µs)",
    "vs responses",
    "per event (µs)",
    "vs responses",
    `streamed p50, c=${c} (ms)`,
    "non-streamed p50, c=1 (ms)",
  ], rows);
};

/** The machine's load around the run, as printed after the tables. */
export const loadLine = (r: BenchResults): string =>
  `Load average ${r.load.before} before the run, ${r.load.after} after; other processes kept ${
    r.load.othersCores.toFixed(2)
  } of the ${r.machine.nproc} cores busy on average meanwhile (${Math.round(r.totalSeconds)} s).`;

const apiSection = (r: BenchResults): string => {
  const s = r.settings;
  const f = apiFigures(r);
  const errors = apis.filter((api) => f[api].errors > 0).map((api) => `${api}: ${f[api].errors} (${f[api].lastError})`);
  return `## Per upstream API

The gateway alone, against each upstream API it speaks, with the same answer in each wire format
(\`bench/mock_wires.ts\`): ${s.deltas} text deltas of the same text bytes, a \`ReadFile\` call (its arguments in
${argumentDeltas.length} deltas, or whole in one Gemini chunk, as Google sends calls) and usage. The gateway has a
\`json\` and an \`sse\` provider per API on the mock (\`api: "chat"\`, \`"anthropic"\`, \`"gemini"\`; the Responses
path goes through the providers of the phases above), and the client sends every API the same Cursor body with only
the model changed.
Each API's answer is first checked through the gateway: its text, its call and its usage.

An event is one upstream SSE message (\`[DONE]\` included), so CPU per event is the gateway's CPU per stream over
that API's own event count. An API that packs more into an event has fewer events for the same answer (Gemini sends
the call whole, with the finish reason and usage); the per-stream ratio compares the same work. Streamed:
${s.apiDurationS} s per API at concurrency ${s.apiConcurrency}, in ${s.slices} slices that rotate the APIs, after a
warm-up of ${apiWarmup(s)} requests per API and kind. Non-streamed: ${s.rounds} rounds of ${
    apiBlock(s)
  } requests per API
at concurrency 1, also rotating.

${apiTable(r, f)}

Target (issue 17): each new upstream API's CPU per streamed event within 1.2x of the Responses path's.

${verdictList(apiVerdicts(f))}${errors.length > 0 ? `\n\nErrors seen: ${errors.join("; ")}.` : ""}
`;
};

// ===== Peers (issue 17) =====

export const PEERS_SECTION = "## Peers";

export interface PeerFigures {
  readonly latency: Record<"json" | "sse", { p50: number; p99: number; ttfc50: number; ttfc99: number }>;
  readonly throughput: Record<"json" | "sse", number>;
  readonly cpuPerRequest: Record<"json" | "sse", number>;
  readonly errors: number;
  readonly lastError: string;
}

export const peerFigures = (r: BenchResults, peer: PeerMeasured): PeerFigures => {
  const lat = (s: Samples) => ({
    p50: percentile(s.totalMs, 50),
    p99: percentile(s.totalMs, 99),
    ttfc50: percentile(s.firstChunkMs, 50),
    ttfc99: percentile(s.firstChunkMs, 99),
  });
  const groups = [peer.latency.json, peer.latency.sse, peer.throughput.json, peer.throughput.sse];
  return {
    latency: { json: lat(peer.latency.json), sse: lat(peer.latency.sse) },
    throughput: { json: rate(peer.throughput.json), sse: rate(peer.throughput.sse) },
    cpuPerRequest: {
      json: cpuMicros(peer.throughput.json, r.clockTicks, 1),
      sse: cpuMicros(peer.throughput.sse, r.clockTicks, 1),
    },
    errors: groups.reduce((n, s) => n + s.errors, 0),
    lastError: groups.map((s) => s.lastError).filter((e) => e !== "").at(-1) ?? "",
  };
};

const measuredPeers = (r: BenchResults): PeerMeasured[] =>
  (r.peers ?? []).filter((p): p is PeerMeasured => p.kind === "measured");

/** The peers table (Markdown): the floor's, the gateway's and each measured peer's figures from the same phases. */
export const peersTable = (r: BenchResults, f: Figures): string => {
  const peers = measuredPeers(r);
  const pf = peers.map((peer) => peerFigures(r, peer));
  const c = r.settings.concurrency;
  const rows: string[][] = [];
  const row = (label: string, direct: string, floor: number, gateway: number, values: number[], fmt: Fmt) =>
    rows.push([
      label,
      direct,
      fmt(floor),
      fmt(gateway),
      ...values.map(fmt),
      ...values.map((v) => fmtRatio(v / floor)),
      ...values.map((v) => fmtRatio(gateway / v)),
    ]);
  const added = (label: string, kind: "json" | "sse", key: "p50" | "p99" | "ttfc50" | "ttfc99") => {
    const direct = f.latency[kind].direct[key];
    row(
      label,
      `(${fmtMs(direct)})`,
      f.latency[kind].floor[key] - direct,
      f.latency[kind].gateway[key] - direct,
      pf.map((p) => p.latency[kind][key] - direct),
      fmtMs,
    );
  };
  added("added latency p50, non-streamed, c=1 (ms)", "json", "p50");
  added("added latency p99, non-streamed, c=1 (ms)", "json", "p99");
  added("added latency p50, streamed (whole stream), c=1 (ms)", "sse", "p50");
  added("added latency p99, streamed (whole stream), c=1 (ms)", "sse", "p99");
  added("added time to first chunk p50, streamed, c=1 (ms)", "sse", "ttfc50");
  added("added time to first chunk p99, streamed, c=1 (ms)", "sse", "ttfc99");
  for (const kind of ["json", "sse"] as const) {
    row(
      kind === "json" ? `throughput, non-streamed, c=${c} (req/s)` : `throughput, streamed, c=${c} (streams/s)`,
      fmtInt(f.throughput[kind].direct),
      f.throughput[kind].floor,
      f.throughput[kind].gateway,
      pf.map((p) => p.throughput[kind]),
      fmtInt,
    );
  }
  for (const kind of ["json", "sse"] as const) {
    row(
      kind === "json"
        ? "server CPU per non-streamed request (µs)"
        : `server CPU per stream of ${r.eventsPerStream} events (µs)`,
      fmtMicros(f.cpuPerRequest[kind].direct),
      f.cpuPerRequest[kind].floor,
      f.cpuPerRequest[kind].gateway,
      pf.map((p) => p.cpuPerRequest[kind]),
      fmtMicros,
    );
  }
  const names = peers.map((p) => p.name);
  return markdownTable([
    "",
    "direct",
    "floor",
    "gateway",
    ...names,
    ...names.map((n) => `${n}/floor`),
    ...names.map((n) => `gateway/${n}`),
  ], rows);
};

/** One line per peer that was not measured: its reason, never a number. */
export const peerFailures = (r: BenchResults): string =>
  (r.peers ?? []).filter((p): p is PeerFailed => p.kind === "failed")
    .map((p) => wrap(`- **${p.name}** (${p.what}) was not measured: ${p.reason.replace(/\.$/, "")}.`, "  "))
    .join("\n");

/** The `## Peers` section of BENCHMARKS.md, for a run with `--peers`. */
export const peersSection = (r: BenchResults, f: Figures): string => {
  const s = r.settings;
  const peers = measuredPeers(r);
  const failures = peerFailures(r);
  const about = peers.map((p) =>
    wrap(
      `- **${p.name}** (${p.what}). ${p.how} Its server CPU is ${p.processes}. SSE frames per stream: ` +
        `${p.framesPerStream} (the upstream sends ${r.eventsPerStream} events).${p.notes ? ` ${p.notes}` : ""}`,
      "  ",
    )
  );
  const errors = peers.flatMap((p) => {
    const pf = peerFigures(r, p);
    return pf.errors > 0 ? [`${p.name}: ${pf.errors} (${pf.lastError})`] : [];
  });
  const body = peers.length === 0 ? "" : `${
    wrap(
      `Other gateways, measured by \`${r.command}\` on ${r.date} (gateway at ${r.commit}), in the same run and the ` +
        `same phases as that run's figures: each peer is warmed up like the others, then takes its turn in the ` +
        `latency rounds at concurrency 1 (${s.rounds} rounds of ${s.block} requests per target and kind, the order ` +
        `rotating across all the targets) and in the throughput slices at concurrency ${s.concurrency} ` +
        `(${s.durationS} s per target and kind, non-streamed and streamed; no short streams, no held streams), ` +
        `against the same mock upstream and its same answers. "Added" is the target's percentile minus the direct ` +
        `call's; server CPU is over the throughput phases. A peer in the run is one more process on the same cores: ` +
        `on a 2-core machine the floor's and the gateway's own c=1 figures in such a run come out slower than in a ` +
        `run without \`--peers\` (about twice, on the run of 2026-11-30), so this table's columns compare with each ` +
        `other, not with the figures at the top when those come from a run without peers.`,
    )
  }

${about.join("\n")}
- The gateway is on its Cursor route, as in that run's figures: it reads a Cursor body, sends a Responses request and
  answers in Chat Completions shape, which is more work than passing a Responses request through.

${peersTable(r, f)}
${errors.length > 0 ? `\nErrors seen: ${errors.join("; ")}.\n` : ""}`;
  return `${PEERS_SECTION}

${body}${failures ? `${body ? "\n" : ""}${failures}\n` : ""}`;
};

/** `text` cut into lines of at most `width` characters at spaces, lines after the first indented by `indent`. */
export const wrap = (text: string, indent = "", width = 120): string => {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line].join("\n");
};

/** The section of `document` under `heading` (to the next `## ` heading), or undefined. */
export const sectionOf = (document: string, heading: string): string | undefined => {
  const start = document.search(new RegExp(`^${RegExp.escape(heading)}$`, "m"));
  if (start < 0) return undefined;
  const next = document.slice(start + heading.length).search(/^## /m);
  return next < 0 ? document.slice(start) : document.slice(start, start + heading.length + next);
};

/**
 * `document` with `section` in place of its section under `heading`; without one, inserted
 * before the `before` heading, or appended.
 */
export const putSection = (document: string, heading: string, section: string, before = "## Method"): string => {
  const body = section.endsWith("\n\n") ? section : `${section.trimEnd()}\n\n`;
  const current = sectionOf(document, heading);
  if (current !== undefined) {
    const start = document.indexOf(current);
    const rest = document.slice(start + current.length);
    return rest === "" ? document.slice(0, start) + body.trimEnd() + "\n" : document.slice(0, start) + body + rest;
  }
  const at = document.search(new RegExp(`^${RegExp.escape(before)}$`, "m"));
  return at < 0 ? `${document.trimEnd()}\n\n${body.trimEnd()}\n` : document.slice(0, at) + body + document.slice(at);
};

// ===== Formatting =====

const fmtMs = (ms: number) => Number.isFinite(ms) ? ms.toFixed(3) : "n/a";
const fmtInt = (n: number) => Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
const fmtMicros = (us: number) => Number.isFinite(us) ? (us >= 100 ? us.toFixed(0) : us.toFixed(1)) : "n/a";
const fmtRatio = (x: number) => Number.isFinite(x) ? `${x.toFixed(2)}x` : "n/a";
type Fmt = (n: number) => string;

/** The figures table (Markdown), as printed and as written to BENCHMARKS.md. */
export const table = (r: BenchResults, f: Figures): string => {
  const c = r.settings.concurrency;
  const rows: string[][] = [];
  const addedRow = (label: string, kind: "json" | "sse" | "short", key: "p50" | "p99" | "ttfc50" | "ttfc99") => {
    const floor = f.latency[kind].floor[key] - f.latency[kind].direct[key];
    const gateway = f.latency[kind].gateway[key] - f.latency[kind].direct[key];
    rows.push([
      label,
      `(${fmtMs(f.latency[kind].direct[key])})`,
      fmtMs(floor),
      fmtMs(gateway),
      fmtRatio(gateway / floor),
    ]);
  };
  addedRow("added latency p50, non-streamed, c=1 (ms)", "json", "p50");
  addedRow("added latency p99, non-streamed, c=1 (ms)", "json", "p99");
  addedRow("added latency p50, streamed (whole stream), c=1 (ms)", "sse", "p50");
  addedRow("added latency p99, streamed (whole stream), c=1 (ms)", "sse", "p99");
  addedRow("added time to first chunk p50, streamed, c=1 (ms)", "sse", "ttfc50");
  addedRow("added time to first chunk p99, streamed, c=1 (ms)", "sse", "ttfc99");
  addedRow(`added latency p50, short streams of ${r.eventsPerShortStream} events, c=1 (ms)`, "short", "p50");
  addedRow(`added latency p99, short streams of ${r.eventsPerShortStream} events, c=1 (ms)`, "short", "p99");
  const perTarget = (label: string, value: Record<TargetName, number>, fmt: (n: number) => string) =>
    rows.push([label, fmt(value.direct), fmt(value.floor), fmt(value.gateway), fmtRatio(value.gateway / value.floor)]);
  perTarget(`throughput, non-streamed, c=${c} (req/s)`, f.throughput.json, fmtInt);
  perTarget(`throughput, streamed, c=${c} (streams/s)`, f.throughput.sse, fmtInt);
  perTarget("server CPU per non-streamed request (µs)", f.cpuPerRequest.json, fmtMicros);
  perTarget(`server CPU per stream of ${r.eventsPerStream} events (µs)`, f.cpuPerRequest.sse, fmtMicros);
  perTarget("server CPU per streamed event (µs)", f.cpuPerEvent, fmtMicros);
  perTarget(
    `marginal CPU per event, ${r.eventsPerStream} vs ${r.eventsPerShortStream}-event streams (µs)`,
    f.cpuPerEventMarginal,
    fmtMicros,
  );
  const mb = (kb: number) => fmtInt(kb / 1024);
  rows.push([
    `peak RSS with ${r.settings.streams} open streams (MB)`,
    "–",
    mb(r.hold.floor.peakRssKb),
    mb(r.hold.gateway.peakRssKb),
    fmtRatio(r.hold.gateway.peakRssKb / r.hold.floor.peakRssKb),
  ], [
    `peak RSS while those ${r.settings.streams} streams finish at once (MB)`,
    "–",
    mb(r.hold.floor.peakDrainRssKb),
    mb(r.hold.gateway.peakDrainRssKb),
    fmtRatio(r.hold.gateway.peakDrainRssKb / r.hold.floor.peakDrainRssKb),
  ], [
    "peak RSS over the whole run, VmHWM (MB)",
    "–",
    mb(r.peakRssKb.floor),
    mb(r.peakRssKb.gateway),
    fmtRatio(r.peakRssKb.gateway / r.peakRssKb.floor),
  ]);
  const header = ["", "direct", "floor", "gateway", "gateway/floor"];
  return markdownTable(header, rows);
};

const markdownTable = (header: string[], rows: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
};

export const verdictList = (items: ReadonlyArray<Verdict>): string =>
  items.map((v) =>
    `- ${v.met ? "met" : "**not met**"}: ${v.name}: ${v.value}; target ${v.target}${v.note ? `; ${v.note}` : ""}.`
  )
    .join("\n");

/** Per-target detail: the raw latencies behind the added figures, sample counts and errors. */
export const details = (r: BenchResults, f: Figures): string => {
  const rows: string[][] = [];
  for (const kind of ["json", "sse", "short"] as const) {
    for (const t of targets) {
      const s = r.latency[kind][t];
      rows.push([
        `${kind === "json" ? "non-streamed" : kind === "sse" ? "streamed" : "short streams"} c=1, ${t}`,
        String(s.totalMs.length),
        fmtMs(f.latency[kind][t].p50),
        fmtMs(percentile(s.totalMs, 90)),
        fmtMs(f.latency[kind][t].p99),
        kind !== "json" ? fmtMs(f.latency[kind][t].ttfc50) : "–",
        fmtMicros(cpuMicros(s, r.clockTicks, 1)),
        String(s.errors),
      ]);
    }
  }
  for (const kind of ["json", "sse", "short"] as const) {
    for (const t of targets) {
      const s = r.throughput[kind][t];
      const label = kind === "json" ? "non-streamed" : kind === "sse" ? "streamed" : "short streams";
      rows.push([
        `${label} c=${r.settings.concurrency}, ${t}`,
        String(s.completed),
        fmtMs(percentile(s.totalMs, 50)),
        fmtMs(percentile(s.totalMs, 90)),
        fmtMs(percentile(s.totalMs, 99)),
        "–",
        fmtMicros(cpuMicros(s, r.clockTicks, 1)),
        String(s.errors),
      ]);
    }
  }
  const latencyTable = markdownTable([
    "phase, target",
    "requests",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "first chunk p50 ms",
    "server CPU µs/req",
    "errors",
  ], rows);
  const hold = (name: "floor" | "gateway") => {
    const h = r.hold[name];
    return `- ${name}: ${h.open}/${r.settings.streams} streams open at once, ${h.completed} completed, ${h.errors} errors; ` +
      `RSS ${fmtInt(h.baselineRssKb / 1024)} MB before, ${fmtInt(h.peakRssKb / 1024)} MB peak while open ` +
      `(${fmtInt((h.peakRssKb - h.baselineRssKb) / Math.max(1, h.open))} KB per open stream), ` +
      `${fmtInt(h.peakDrainRssKb / 1024)} MB peak while they finish${
        h.lastError ? `; last error: ${h.lastError}` : ""
      }.`;
  };
  const lastErrors = sampleGroups(r)
    .flatMap((group) => targets.map((t) => group[t].lastError ? `${t}: ${group[t].lastError}` : ""))
    .filter((e) => e !== "");
  return [
    latencyTable,
    "",
    `Open streams (the mock pauses each after its first text delta):`,
    hold("floor"),
    hold("gateway"),
    "",
    `SSE frames received per stream: direct ${r.framesPerStream.direct}, floor ${r.framesPerStream.floor}, ` +
    `gateway ${r.framesPerStream.gateway} (the upstream sends ${r.eventsPerStream} events).`,
    ...(lastErrors.length > 0 ? ["", `Errors seen: ${[...new Set(lastErrors)].join("; ")}.`] : []),
  ].join("\n");
};

/** BENCHMARKS.md; `notes` (the hand-written profile findings in bench/profile_notes.md) go in as they are. */
export const markdown = (r: BenchResults, f: Figures, notes = ""): string => {
  const s = r.settings;
  const m = r.machine;
  return `# Benchmarks

Written by \`deno task bench\` on ${r.date}${s.quick ? " (**quick run: too short to quote**)" : ""}, in ${
    Math.round(r.totalSeconds)
  } s; rerun it to refresh this file.

## Machine

- \`nproc\`: ${m.nproc}; memory: ${m.memoryGiB} GiB; CPU: ${m.cpuModel}; Linux ${m.kernel}
- Deno ${m.deno} (V8 ${m.v8}); gateway at ${r.commit}
- Everything (client, mock upstream, floor, gateway) runs on this one machine over 127.0.0.1, so all
  of it shares the same ${m.nproc} cores. Load average ${r.load.before} before the run, ${r.load.after} after;
  other processes kept ${r.load.othersCores.toFixed(2)} of the ${m.nproc} cores busy on average meanwhile${
    r.load.othersCores > 0.2 * m.nproc
      ? " (**a noisy machine: absolute figures are pessimistic; the ratios hold better**)"
      : ""
  }.

## Command

\`\`\`sh
${r.command}
\`\`\`

## Figures

"Added" is the target's latency percentile minus the direct call's (direct in brackets). Server CPU
is the proxy process's own user+system time (for "direct": the mock's), from \`/proc/<pid>/stat\`,
over the throughput phases.

${table(r, f)}

## Targets (issue 17)

${verdictList(verdicts(r, f))}${
    notes.trim() === ""
      ? ""
      : "\n\nWhere a target is not met, [What the profiles show](#what-the-profiles-show) says why."
  }

${apiSection(r)}
${r.peers ? `${peersSection(r, f)}\n` : ""}## Method

- **Three processes serve, a fourth loads.** \`bench/mock_upstream.ts\` mocks the four upstream APIs; the
  phases above use its Responses API:
  \`/json\` answers a small \`response\` object at once; \`/sse-N\` streams ${s.deltas} \`output_text.delta\`
  events then a \`function_call\` with ${argumentDeltas.length} argument deltas (${r.eventsPerStream} events in all,
  each its own chunk, no pauses), every answer encoded once and reused. \`bench/floor.ts\` is the floor: a bare
  \`Deno.serve\` + \`fetch\` pass-through with no logic. The gateway is \`main.ts\` started as its own
  process with one virtual key, \`store: {kind: "memory"}\`, its default log level (\`info\`: a JSON line per
  request) and one provider per mock path. The client is the bench process itself, a raw HTTP/1.1 keep-alive client
  (\`bench/http_client.ts\`), never inside a server.
- **The same request bytes** go to every target: an ${(r.bodyBytes / 1024).toFixed(1)} KB Cursor Agent-mode hybrid
  body (\`bench/hybrid_body.ts\`: \`instructions\`, message, \`function_call\` and \`function_call_output\` items,
  ApplyPatch history with raw patch text, five flat function tools and the custom ApplyPatch grammar tool,
  \`reasoning\`, \`include\`, \`text\`, \`metadata.cursorConversationId\`, \`stream_options\`). Direct and floor
  get the mock's Responses answer back; the gateway answers in Chat Completions shape.
- **Warm-up** ${s.warmup} requests per target and kind, then a short burst at concurrency ${s.concurrency}.
- **Latency at concurrency 1**: ${s.rounds} rounds; each round runs ${s.block} requests per target and kind, in an
  order that rotates every round, so drift (thermal, noisy neighbours, GC) hits every target alike.
  Time to first chunk is from writing the request to the first body byte.
- **Throughput at concurrency ${s.concurrency}**: ${s.durationS} s per target and kind, cut into ${s.slices} slices
  that alternate between targets; requests in flight at a slice's end are finished and counted.
  A third phase (half as long) streams ${r.eventsPerShortStream}-event answers, so CPU per event is
  also given as the marginal cost: the CPU difference between the two stream lengths over their event difference.
- **Peak RSS**, measured first, on fresh processes: ${s.streams} streams opened at once through the floor, then
  through the gateway; the mock pauses
  each after its first text delta until all are open, and for half a second more. VmRSS is sampled every
  20 ms: the open-streams peak is the highest sample until the mock releases them; the second figure is the
  highest sample while all of them then stream their remaining events and finish at once. VmHWM at the end
  of the run gives the highest RSS of the whole run, load phases included.
- Servers run behind \`bench/guard.ts\`, which stops them when the bench exits in any way.

${notes.trim() === "" ? "" : `${notes.trim()}\n\n`}## Details

${details(r, f)}
`;
};
