/**
 * `deno task bench`: the gateway against a bare pass-through floor and a direct call, in one run.
 *
 * Starts the mock upstream, the floor and the gateway (`main.ts`) as child processes, checks
 * that each answers correctly, then measures in phases that alternate between the targets:
 * latency at concurrency 1, throughput and server CPU at concurrency 64, and RSS with a
 * thousand streams held open. Prints the table and writes BENCHMARKS.md.
 *
 * Options: `--quick` (a tiny run, seconds; writes no file unless `--out` is given),
 * `--out PATH` (`-` for none), `--deltas N`, `--short-deltas N`, `--rounds N`, `--block N`,
 * `--warmup N`, `--concurrency N`, `--duration S`, `--slices N`, `--streams N`.
 * Where the gateway's CPU goes: `bench/profile.ts`.
 */
import { parseArgs } from "node:util";
import { closedLoop, holdStreams, Samples, sequentialBlock, type TargetName } from "./load.ts";
import { eventsPerStream } from "./mock_upstream.ts";
import { clockTicksPerSecond, cpuTicks, loadAverage, machine, memory, systemBusyTicks } from "./procfs.ts";
import { type BenchResults, type BenchSettings, figures, markdown, table, verdictList, verdicts } from "./report.ts";
import { runningServers, stopAll } from "./servers.ts";
import { root, startBenchServers, validate } from "./setup.ts";

// ===== Options =====

const { values: flags } = parseArgs({
  args: Deno.args,
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
};
if (settings.shortDeltas >= settings.deltas) {
  console.error("--short-deltas must be smaller than --deltas");
  Deno.exit(2);
}
const outPath = flags.out === "-" ? undefined : flags.out ?? (settings.quick ? undefined : `${root}BENCHMARKS.md`);

/** An upper bound for the whole run; the guards kill every server after it, whatever happens. */
const deadlineMs = Math.round(
  120_000 + 4 * 1000 * settings.durationS * 3 * 2.5 + 3 * 2 * settings.rounds * settings.block * 40,
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
const rotate = <T>(items: ReadonlyArray<T>, by: number): T[] => items.map((_, i) => items[(i + by) % items.length]);
const samplesByTarget = () => ({ direct: new Samples(), floor: new Samples(), gateway: new Samples() });

const run = async (): Promise<BenchResults> => {
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

    // Memory first, on fresh processes, so that garbage from the load phases does not blur the per-stream cost.
    log(`peak RSS: ${settings.streams} streams held open through the floor, then the gateway`);
    const holdOptions = { openTimeoutMs: settings.quick ? 10_000 : 30_000, holdMs: 500, sampleEveryMs: 20 };
    const hold = {
      floor: await holdStreams(targets.floor, settings.streams, servers.release, holdOptions),
      gateway: await holdStreams(targets.gateway, settings.streams, servers.release, holdOptions),
    };

    log(`warm-up: ${settings.warmup} requests per target and kind, then a burst at c=${settings.concurrency}`);
    for (const name of names) {
      for (const kind of ["json", "sse", "short"] as const) {
        await sequentialBlock(targets[name], kind, settings.warmup, new Samples(), false);
        await closedLoop(
          targets[name],
          kind,
          settings.concurrency,
          Math.min(1000, settings.durationS * 100),
          new Samples(),
        );
      }
    }

    log(`latency at c=1: ${settings.rounds} rounds of ${settings.block} requests per target and kind`);
    const latency = { json: samplesByTarget(), sse: samplesByTarget() };
    for (let round = 0; round < settings.rounds; round++) {
      for (const kind of ["json", "sse"] as const) {
        for (const name of rotate(names, round)) {
          await sequentialBlock(targets[name], kind, settings.block, latency[kind][name], true);
        }
      }
    }

    const throughput = { json: samplesByTarget(), sse: samplesByTarget(), short: samplesByTarget() };
    for (const kind of ["json", "sse", "short"] as const) {
      const seconds = kind === "short" ? settings.durationS / 2 : settings.durationS;
      log(`throughput at c=${settings.concurrency}, ${kind}: ${seconds} s per target in ${settings.slices} slices`);
      for (let slice = 0; slice < settings.slices; slice++) {
        for (const name of rotate(names, slice)) {
          await closedLoop(
            targets[name],
            kind,
            settings.concurrency,
            (seconds * 1000) / settings.slices,
            throughput[kind][name],
          );
        }
      }
    }

    const peakRssKb = { floor: memory(servers.floor.pid).hwmKb, gateway: memory(servers.gateway.pid).hwmKb };
    // How much of the machine other processes took meanwhile: all busy time minus the bench's own processes.
    const ours = [servers.mock, servers.floor, servers.gateway]
      .reduce((sum, s) => sum + cpuTicks(s.pid) + cpuTicks(s.guardPid), cpuTicks(Deno.pid) - selfBefore);
    const elapsedS = (performance.now() - started) / 1000;
    const clockTicks = await clockTicksPerSecond();
    const m = await machine();
    const othersCores = (systemBusyTicks() - busyBefore - ours) / clockTicks / elapsedS;
    return {
      settings,
      machine: m,
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: ["deno task bench", ...Deno.args].join(" "),
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

try {
  const results = await run();
  const f = figures(results);
  console.log(table(results, f));
  console.log();
  console.log(verdictList(verdicts(results, f)));
  if (f.errors > 0) log(`${f.errors} requests failed during the run; see the details in the report`);
  if (outPath) {
    const notes = await Deno.readTextFile(new URL("./profile_notes.md", import.meta.url)).catch(() => "");
    await Deno.writeTextFile(outPath, markdown(results, f, notes));
    log(`wrote ${outPath}`);
  }
} catch (error) {
  if (!interrupted) {
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll();
    Deno.exit(1);
  }
}
