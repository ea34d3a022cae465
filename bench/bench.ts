/**
 * `deno task bench`: the gateway against a bare pass-through floor and a direct call, in one run.
 *
 * Starts the mock upstream, the floor and the gateway (`main.ts`) as child processes, checks
 * that each answers correctly, then measures in phases that alternate between the targets:
 * latency at concurrency 1, throughput and server CPU at concurrency 64, and RSS with a
 * thousand streams held open. A last phase runs the gateway against each upstream API it
 * speaks (Responses, Chat Completions, Anthropic Messages, Gemini) with the same answer, for
 * CPU per streamed event and latency per API. Prints the tables and writes BENCHMARKS.md.
 *
 * `--peers` also measures other gateways in the same run: Portkey's open-source gateway
 * (`@portkey-ai/gateway` 1.15.2 from npm, installed once into `bench/.peers/`, run on Node) on
 * its `/v1/responses` pass-through, sent the floor's request bytes, against the same mock. It
 * joins the latency rounds and the non-streamed and streamed throughput slices, and gets a
 * `## Peers` section in BENCHMARKS.md (a run without the flag keeps that section as it is). A
 * peer that cannot be installed, started or checked is reported there with the reason, and the
 * rest of the run goes on. See `bench/peers.ts`.
 *
 * Options: `--quick` (a tiny run, seconds; writes no file unless `--out` is given),
 * `--out PATH` (`-` for none), `--deltas N`, `--short-deltas N`, `--rounds N`, `--block N`,
 * `--warmup N`, `--concurrency N`, `--duration S`, `--slices N`, `--streams N`,
 * `--api-concurrency N`, `--api-duration S` (streamed seconds per upstream API), `--peers`
 * (with `--quick` too, for a smoke test by hand; the first one needs npm's registry).
 * A leading `--` (as in `deno task bench -- --quick`) is ignored.
 * Where the gateway's CPU goes: `bench/profile.ts`.
 */
import { parseArgs } from "node:util";
import { closedLoop, holdStreams, Samples, sequentialBlock, type TargetName } from "./load.ts";
import { type Api, apis, eventsPerStream } from "./mock_wires.ts";
import { clockTicksPerSecond, cpuTicks, loadAverage, machine, memory, systemBusyTicks } from "./procfs.ts";
import {
  apiBlock,
  apiFigures,
  apiTable,
  apiVerdicts,
  apiWarmup,
  type BenchResults,
  type BenchSettings,
  figures,
  loadLine,
  markdown,
  peerFailures,
  type PeerResult,
  PEERS_SECTION,
  peersTable,
  putSection,
  sectionOf,
  table,
  verdictList,
  verdicts,
} from "./report.ts";
import {
  type Installed,
  installPortkey,
  type Outcome,
  portkey,
  portkeyHow,
  portkeyNotes,
  type RunningPeer,
  setUpPortkey,
} from "./peers.ts";
import { replaceSection, SECTION } from "./memory_probe.ts";
import { runningServers, stopAll } from "./servers.ts";
import { type BenchServers, mockMode, root, startBenchServers, validate, validateApi } from "./setup.ts";

// ===== Options =====

// `deno task bench -- --quick` hands the script the `--` too.
const args = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;

const { values: flags } = parseArgs({
  args,
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    deltas: { type: "string" },
    "short-deltas": { type: "string" },
    rounds: { type: "string" },
    block: { type: "string" },
    warmup: { type: "string" },
    concurrency: { type: "string" },
    duration: { type: "string" },
    slices: { type: "string" },
    streams: { type: "string" },
    "api-concurrency": { type: "string" },
    "api-duration": { type: "string" },
    peers: { type: "boolean", default: false },
  },
});

const defaults: BenchSettings = flags.quick
  ? {
    quick: true,
    deltas: 20,
    shortDeltas: 5,
    rounds: 2,
    block: 10,
    warmup: 20,
    concurrency: 8,
    durationS: 0.3,
    slices: 2,
    streams: 50,
    apiConcurrency: 4,
    apiDurationS: 0.1,
  }
  : {
    quick: false,
    deltas: 100,
    shortDeltas: 10,
    rounds: 20,
    block: 50,
    warmup: 300,
    concurrency: 64,
    durationS: 10,
    slices: 5,
    streams: 1000,
    apiConcurrency: 16,
    apiDurationS: 4,
  };

const positive = (name: string, value: string | undefined, fallback: number, integer = true): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    console.error(`--${name}: expected a positive ${integer ? "integer" : "number"}, got "${value}"`);
    Deno.exit(2);
  }
  return n;
};

const settings: BenchSettings = {
  quick: defaults.quick,
  deltas: positive("deltas", flags.deltas, defaults.deltas),
  shortDeltas: positive("short-deltas", flags["short-deltas"], defaults.shortDeltas),
  rounds: positive("rounds", flags.rounds, defaults.rounds),
  block: positive("block", flags.block, defaults.block),
  warmup: positive("warmup", flags.warmup, defaults.warmup),
  concurrency: positive("concurrency", flags.concurrency, defaults.concurrency),
  durationS: positive("duration", flags.duration, defaults.durationS, false),
  slices: positive("slices", flags.slices, defaults.slices),
  streams: positive("streams", flags.streams, defaults.streams),
  apiConcurrency: positive("api-concurrency", flags["api-concurrency"], defaults.apiConcurrency),
  apiDurationS: positive("api-duration", flags["api-duration"], defaults.apiDurationS, false),
};
if (settings.shortDeltas >= settings.deltas) {
  console.error("--short-deltas must be smaller than --deltas");
  Deno.exit(2);
}
const outPath = flags.out === "-" ? undefined : flags.out ?? (settings.quick ? undefined : `${root}BENCHMARKS.md`);

/** An upper bound for the whole run; the guards kill every server after it, whatever happens. */
const deadlineMs = Math.round(
  120_000 + 4 * 1000 * settings.durationS * 3 * 2.5 + 3 * 2 * settings.rounds * settings.block * 40 +
    apis.length * (1000 * settings.apiDurationS * 2.5 + settings.rounds * apiBlock(settings) * 40) +
    // A peer: its start, a third more latency rounds and two more throughput kinds.
    (flags.peers ? 60_000 + 2 * settings.rounds * settings.block * 40 + 2 * 1000 * settings.durationS * 2.5 : 0),
);

const log = (message: string) => console.error(`[bench] ${message}`);

// ===== Clean-up =====

let interrupted = false;
const onSignal = (signal: Deno.Signal) => async () => {
  if (interrupted) return;
  interrupted = true;
  log(`${signal}: stopping the servers`);
  await stopAll();
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));

// ===== Phases =====

const names: ReadonlyArray<TargetName> = ["direct", "floor", "gateway"];
const samplesByApi = () => Object.fromEntries(apis.map((api) => [api, new Samples()])) as Record<Api, Samples>;
const rotate = <T>(items: ReadonlyArray<T>, by: number): T[] => items.map((_, i) => items[(i + by) % items.length]);
const samplesByTarget = () => ({ direct: new Samples(), floor: new Samples(), gateway: new Samples() });

/** The peer's samples, in the same phases as the others' (no short streams, no held streams). */
const peerSamples = () => ({
  latency: { json: new Samples(), sse: new Samples() },
  throughput: { json: new Samples(), sse: new Samples() },
});

/** Installs the peers before any server starts, so that npm never runs beside a measurement. */
const installPeers = async (): Promise<Outcome<Installed>> => {
  log(`peers: installing ${portkey.packageName}@${portkey.version} with npm (or reusing bench/.peers/)`);
  const t = performance.now();
  const installed = await installPortkey();
  if (installed.ok) {
    log(
      `peers: ${installed.value.reused ? "reused" : "installed"} ${installed.value.versions} in ${
        Math.round(performance.now() - t)
      } ms`,
    );
  } else log(`peers: ${portkey.name} will not be measured: ${installed.reason}`);
  return installed;
};

const run = async (): Promise<BenchResults> => {
  const peersInstalled = flags.peers ? await installPeers() : undefined;
  const started = performance.now();
  const loadBefore = loadAverage();
  const busyBefore = systemBusyTicks();
  const selfBefore = cpuTicks(Deno.pid);
  try {
    log("starting the mock upstream, the floor and the gateway");
    const servers = await startBenchServers({ ...settings, deadlineMs });
    const targets = servers.targets;
    const pids = [servers.mock, servers.floor, servers.gateway].map((s) => `${s.pid}/${s.guardPid}`).join(" ");
    log(`servers up (pid/guard pid: mock, floor, gateway): ${pids}`);
    const framesPerStream = {
      direct: await validate(targets.direct, servers.mock),
      floor: await validate(targets.floor, servers.floor),
      gateway: await validate(targets.gateway, servers.gateway),
    };
    // Each upstream API's answer is checked now, so that a broken adapter fails the run before it measures anything.
    const framesPerApiStream = {} as Record<Api, number>;
    for (const api of apis) {
      framesPerApiStream[api] = await validateApi(api, servers.apiTargets[api], servers.gateway, settings.deltas);
    }

    // The peer: started and checked now, measured in the same phases; whatever fails is its reason, not the run's.
    const what = `\`${portkey.packageName}\` ${portkey.version}`;
    let peerFailure: string | undefined = peersInstalled && !peersInstalled.ok ? peersInstalled.reason : undefined;
    let peer: RunningPeer | undefined;
    let peerFrames = 0;
    if (peersInstalled?.ok) {
      log(`peers: starting ${portkey.name} on Node`);
      const setUp = await setUpPortkey(peersInstalled.value, {
        mockPort: servers.mock.port,
        mode: (kind) => mockMode(kind, settings),
        bodies: servers.bodies,
        deadlineMs,
      });
      if (setUp.ok) {
        peer = setUp.value.peer;
        peerFrames = setUp.value.framesPerStream;
        const s = peer.server;
        log(
          `peers: ${portkey.name} up on port ${s.port} (node pid ${s.pid}, guard pid ${s.guardPid}), answers checked`,
        );
      } else {
        peerFailure = setUp.reason;
        log(`peers: ${portkey.name} will not be measured: ${setUp.reason}`);
      }
    }
    const fromPeer = peerSamples();
    /** The targets' order in a round: the peer last, then rotated like the others. */
    const order: ReadonlyArray<TargetName | "peer"> = peer ? [...names, "peer"] : names;

    // Memory first, on fresh processes, so that garbage from the load phases does not blur the per-stream cost.
    log(`peak RSS: ${settings.streams} streams held open through the floor, then the gateway`);
    const holdOptions = { openTimeoutMs: settings.quick ? 10_000 : 30_000, holdMs: 500, sampleEveryMs: 20 };
    const hold = {
      floor: await holdStreams(targets.floor, settings.streams, servers.release, holdOptions),
      gateway: await holdStreams(targets.gateway, settings.streams, servers.release, holdOptions),
    };

    log(`warm-up: ${settings.warmup} requests per target and kind, then a burst at c=${settings.concurrency}`);
    const burstMs = Math.min(1000, settings.durationS * 100);
    for (const name of names) {
      for (const kind of ["json", "sse", "short"] as const) {
        await sequentialBlock(targets[name], kind, settings.warmup, new Samples(), false);
        await closedLoop(targets[name], kind, settings.concurrency, burstMs, new Samples());
      }
    }
    for (const kind of ["json", "sse"] as const) {
      await peer?.block("the warm-up", new Samples(), async () => {
        await sequentialBlock(peer.target, kind, settings.warmup, new Samples(), false);
        await closedLoop(peer.target, kind, settings.concurrency, burstMs, new Samples());
      });
    }

    log(`latency at c=1: ${settings.rounds} rounds of ${settings.block} requests per target and kind`);
    const latency = { json: samplesByTarget(), sse: samplesByTarget(), short: samplesByTarget() };
    for (let round = 0; round < settings.rounds; round++) {
      for (const kind of ["json", "sse", "short"] as const) {
        for (const name of rotate(order, round)) {
          if (name !== "peer") await sequentialBlock(targets[name], kind, settings.block, latency[kind][name], true);
          // The peer has no short streams: its rounds are the non-streamed and streamed ones.
          else if (kind !== "short") {
            const into = fromPeer.latency[kind];
            await peer?.block(
              "the latency rounds",
              into,
              () => sequentialBlock(peer.target, kind, settings.block, into, true),
            );
          }
        }
      }
    }

    const throughput = { json: samplesByTarget(), sse: samplesByTarget(), short: samplesByTarget() };
    for (const kind of ["json", "sse", "short"] as const) {
      const seconds = kind === "short" ? settings.durationS / 2 : settings.durationS;
      log(`throughput at c=${settings.concurrency}, ${kind}: ${seconds} s per target in ${settings.slices} slices`);
      const sliceMs = (seconds * 1000) / settings.slices;
      for (let slice = 0; slice < settings.slices; slice++) {
        for (const name of rotate(kind === "short" ? names : order, slice)) {
          if (name !== "peer") {
            await closedLoop(targets[name], kind, settings.concurrency, sliceMs, throughput[kind][name]);
          } else if (kind !== "short") {
            const into = fromPeer.throughput[kind];
            await peer?.block(
              `the ${kind} throughput slices`,
              into,
              () => closedLoop(peer.target, kind, settings.concurrency, sliceMs, into),
            );
          }
        }
      }
    }

    // The peer is done: read what it took, and stop it before the per-API phase.
    let peerTicks = 0;
    let peers: PeerResult[] | undefined;
    if (flags.peers) {
      if (peer && peer.failure === undefined) {
        peerTicks = peer.ticks();
        peers = [{
          kind: "measured",
          name: portkey.name,
          what: peersInstalled?.ok ? peersInstalled.value.versions : what,
          how: peersInstalled?.ok ? portkeyHow(peersInstalled.value) : "",
          processes: peer.processes(),
          notes: portkeyNotes,
          framesPerStream: peerFrames,
          ...fromPeer,
        }];
      } else {
        if (peer) peerTicks = peer.ticks();
        peerFailure ??= peer?.failure;
        peers = [{ kind: "failed", name: portkey.name, what, reason: peerFailure ?? "unknown" }];
      }
      await peer?.server.stop();
    }

    // Read before the per-API phase, so that the existing figures mean what they meant before it.
    const peakRssKb = { floor: memory(servers.floor.pid).hwmKb, gateway: memory(servers.gateway.pid).hwmKb };

    // The gateway alone, once per upstream API, the same answer in each wire format.
    const perApi = { ...await perApiPhase(servers), framesPerStream: framesPerApiStream };

    // How much of the machine other processes took meanwhile: all busy time minus the bench's own processes.
    const ours = [servers.mock, servers.floor, servers.gateway]
      .reduce((sum, s) => sum + cpuTicks(s.pid) + cpuTicks(s.guardPid), cpuTicks(Deno.pid) - selfBefore + peerTicks);
    const elapsedS = (performance.now() - started) / 1000;
    const clockTicks = await clockTicksPerSecond();
    const m = await machine();
    const othersCores = (systemBusyTicks() - busyBefore - ours) / clockTicks / elapsedS;
    return {
      settings,
      machine: m,
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: ["deno task bench", ...args].join(" "),
      commit: await commit(),
      clockTicks,
      load: { before: loadBefore, after: loadAverage(), othersCores: Math.max(0, othersCores) },
      bodyBytes: servers.bodies.sse.byteLength,
      eventsPerStream: eventsPerStream(settings.deltas),
      eventsPerShortStream: eventsPerStream(settings.shortDeltas),
      framesPerStream,
      latency,
      throughput,
      hold,
      peakRssKb,
      perApi,
      ...(peers ? { peers } : {}),
      totalSeconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    // A run that fails (a server gone, a connection refused) says what the servers said last.
    for (const server of runningServers()) log(`${server.name} (pid ${server.pid}), last output:\n${server.recent()}`);
    throw error;
  } finally {
    const t = performance.now();
    await stopAll();
    log(`stopped in ${Math.round(performance.now() - t)} ms`);
  }
};

/**
 * Per-API streamed CPU: JSON at concurrency 1 in rounds that rotate the APIs, then streams at
 * `apiConcurrency` in slices that rotate them, so drift hits every API alike.
 */
const perApiPhase = async (servers: BenchServers): Promise<Omit<BenchResults["perApi"], "framesPerStream">> => {
  const targets = servers.apiTargets;
  const c = settings.apiConcurrency;
  let t = performance.now();
  const took = () => {
    const seconds = (performance.now() - t) / 1000;
    t = performance.now();
    return `${seconds.toFixed(1)} s`;
  };
  // A shorter warm-up than the main one: the gateway's request path is warm by now, only each adapter's code is new.
  for (const api of apis) {
    await sequentialBlock(targets[api], "json", apiWarmup(settings), new Samples(), false);
    await sequentialBlock(targets[api], "sse", apiWarmup(settings), new Samples(), false);
    await closedLoop(targets[api], "sse", c, 50 * settings.apiDurationS, new Samples());
  }
  log(`per upstream API: warm-up, ${apiWarmup(settings)} requests per API and kind and a burst at c=${c}: ${took()}`);
  const json = samplesByApi();
  for (let round = 0; round < settings.rounds; round++) {
    for (const api of rotate(apis, round)) {
      await sequentialBlock(targets[api], "json", apiBlock(settings), json[api], true);
    }
  }
  log(`per upstream API: ${settings.rounds} rounds of ${apiBlock(settings)} non-streamed requests at c=1: ${took()}`);
  const sse = samplesByApi();
  for (let slice = 0; slice < settings.slices; slice++) {
    for (const api of rotate(apis, slice)) {
      await closedLoop(targets[api], "sse", c, (settings.apiDurationS * 1000) / settings.slices, sse[api]);
    }
  }
  log(
    `per upstream API: streamed at c=${c}, ${settings.apiDurationS} s per API in ${settings.slices} slices: ${took()}`,
  );
  const eventsPerApiStream = Object.fromEntries(apis.map((api) => [api, eventsPerStream(settings.deltas, api)]));
  return { eventsPerStream: eventsPerApiStream as Record<Api, number>, json, sse };
};

const commit = async (): Promise<string> => {
  const git = async (...args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
    } catch {
      return "";
    }
  };
  const head = await git("rev-parse", "--short", "HEAD");
  if (!head) return "an unknown commit";
  const dirty = await git("status", "--porcelain", "--", "src", "main.ts");
  return `commit ${head}${dirty ? " plus uncommitted changes under src/" : ""}`;
};

// ===== Main =====

/** The section of `document` that starts at `start`, up to the next `## ` heading. */
const sectionAt = (document: string, start: number): string => {
  const next = document.slice(start + 3).search(/^## /m);
  return next < 0 ? document.slice(start) : document.slice(start, start + 3 + next);
};

try {
  const results = await run();
  const f = figures(results);
  console.log(table(results, f));
  console.log();
  console.log(verdictList(verdicts(results, f)));
  const perApi = apiFigures(results);
  console.log();
  console.log(apiTable(results, perApi));
  console.log();
  console.log(verdictList(apiVerdicts(perApi)));
  if (results.peers) {
    console.log();
    if (results.peers.some((p) => p.kind === "measured")) console.log(peersTable(results, f));
    const failures = peerFailures(results);
    if (failures) console.log(failures);
  }
  console.log();
  console.log(loadLine(results));
  const errors = f.errors + apis.reduce((n, api) => n + perApi[api].errors, 0);
  if (errors > 0) log(`${errors} requests failed during the run; see the details in the report`);
  if (outPath) {
    const notes = await Deno.readTextFile(new URL("./profile_notes.md", import.meta.url)).catch(() => "");
    // The memory probes' section (`deno task probe:memory`) is not this run's to drop.
    const previous = await Deno.readTextFile(outPath).catch(() => "");
    const probes = previous.search(new RegExp(`^${RegExp.escape(SECTION)}$`, "m"));
    let report = markdown(results, f, notes);
    // Nor is the peers' section, in a run without --peers: it keeps the date and command of the run that wrote it.
    const peersBefore = results.peers ? undefined : sectionOf(previous, PEERS_SECTION);
    if (peersBefore !== undefined) report = putSection(report, PEERS_SECTION, peersBefore);
    await Deno.writeTextFile(outPath, probes < 0 ? report : replaceSection(report, sectionAt(previous, probes)));
    log(`wrote ${outPath}`);
  }
} catch (error) {
  if (!interrupted) {
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll();
    Deno.exit(1);
  }
}
