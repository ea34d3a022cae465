/**
 * Where the gateway's CPU goes, next to the floor's: runs the floor and the gateway under
 * `deno run --cpu-prof`, loads each alone at a fixed concurrency, and prints per request (and
 * per streamed event) the main thread's time by owner and the functions with the most self
 * time, counting only the measured window.
 *
 * Usage: `deno run -A bench/profile.ts [--kinds json,sse] [--duration S] [--concurrency N]
 * [--deltas N] [--top N] [--out FILE] [--keep DIR]`
 * (`--keep` saves each target's `.cpuprofile` in DIR, to open in Chrome's DevTools).
 */
import { parseArgs } from "node:util";
import { type CpuProfile, summarize, type Summary } from "./cpuprofile.ts";
import { closedLoop, type Kind, Samples, sequentialBlock, type Target } from "./load.ts";
import { eventsPerStream } from "./mock_wires.ts";
import { clockTicksPerSecond } from "./procfs.ts";
import type { Server } from "./servers.ts";
import { stopAll } from "./servers.ts";
import { root, startBenchServers, validate } from "./setup.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    kinds: { type: "string", default: "json,sse" },
    duration: { type: "string", default: "10" },
    concurrency: { type: "string", default: "16" },
    deltas: { type: "string", default: "100" },
    top: { type: "string", default: "20" },
    out: { type: "string" },
    keep: { type: "string" },
  },
});
const durationMs = Number(flags.duration) * 1000;
const concurrency = Number(flags.concurrency);
const deltas = Number(flags.deltas);
const top = Number(flags.top);
const kinds = flags.kinds.split(",") as Array<"json" | "sse">;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message: string) => console.error(`[profile] ${message}`);

/** The current kind's temporary folder (the profiles), removed however the run ends. */
let tempDir: string | undefined;
Deno.addSignalListener("SIGINT", async () => {
  await stopAll();
  if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  Deno.exit(130);
});

interface Measured {
  readonly server: Server;
  readonly samples: Samples;
  readonly window: { readonly fromUs: number; readonly toUs: number };
}

const measure = async (target: Target, server: Server, kind: Kind): Promise<Measured> => {
  const samples = new Samples();
  const start = performance.now();
  await closedLoop(target, kind, concurrency, durationMs, samples);
  const end = performance.now();
  // The profiler starts a few tens of ms after the spawn; the idle second around each phase absorbs that.
  const margin = 400;
  return {
    server,
    samples,
    window: { fromUs: (start - server.spawnedAt - margin) * 1000, toUs: (end - server.spawnedAt + margin) * 1000 },
  };
};

const profileOf = async (dir: string, pid: number): Promise<CpuProfile> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.endsWith(`.${pid}.cpuprofile`)) return JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`));
    }
    await sleep(100);
  }
  throw new Error(`no profile written for pid ${pid} in ${dir}`);
};

const us = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

const section = (
  name: string,
  kind: "json" | "sse",
  m: Measured,
  summary: Summary,
  clockTicks: number,
): string => {
  const n = m.samples.completed;
  const events = kind === "sse" ? eventsPerStream(deltas) : 1;
  const procUs = (m.samples.ticks * 1e6) / clockTicks / n;
  const unit = kind === "sse" ? "stream" : "request";
  const lines = [
    `### ${name}, ${kind === "json" ? "non-streamed" : `streamed (${events} upstream events)`}, c=${concurrency}`,
    "",
    `${n} ${unit}s in ${(m.samples.elapsedMs / 1000).toFixed(1)} s (${
      Math.round(n / (m.samples.elapsedMs / 1000))
    }/s), ${m.samples.errors} errors. Process CPU (all threads, /proc): ${us(procUs)} µs per ${unit}` +
    (kind === "sse" ? ` (${us(procUs / events)} µs per event)` : "") +
    `. Main JS thread, sampled: ${us(summary.busyUs / n)} µs per ${unit}.`,
    "",
    `| owner | µs per ${unit} | share |`,
    "|---|---:|---:|",
    ...summary.owners.slice(0, 12).map(([owner, t]) => `| ${owner} | ${us(t / n)} | ${pct(t, summary.busyUs)} |`),
    "",
    `| top self time | owner | µs per ${unit} | share |`,
    "|---|---|---:|---:|",
    ...summary.selfTime.slice(0, top).map(([fn, t, owner]) =>
      `| \`${fn}\` | ${owner} | ${us(t / n)} | ${pct(t, summary.busyUs)} |`
    ),
  ];
  if (summary.gatewayInclusive.length > 0) {
    lines.push(
      "",
      `| gateway function, inclusive | µs per ${unit} | share |`,
      "|---|---:|---:|",
      ...summary.gatewayInclusive.slice(0, top).map(([fn, t]) =>
        `| \`${fn}\` | ${us(t / n)} | ${pct(t, summary.busyUs)} |`
      ),
    );
  }
  return lines.join("\n");
};

const main = async () => {
  const clockTicks = await clockTicksPerSecond();
  const out: string[] = [`# CPU profiles: gateway vs floor (${new Date().toISOString()})`, ""];
  for (const kind of kinds) {
    tempDir = await Deno.makeTempDir({ prefix: "gateway-profile-" });
    const profileDir = `${tempDir}/profiles`;
    await Deno.mkdir(profileDir);
    try {
      log(`${kind}: starting the servers under --cpu-prof`);
      const servers = await startBenchServers({
        deltas,
        shortDeltas: 1,
        deadlineMs: 10 * 60_000,
        profileDir,
      });
      await validate(servers.targets.floor, servers.floor);
      await validate(servers.targets.gateway, servers.gateway);
      log(`${kind}: warm-up`);
      for (const name of ["floor", "gateway"] as const) {
        await sequentialBlock(servers.targets[name], kind, 300, new Samples(), false);
        await closedLoop(servers.targets[name], kind, concurrency, 1000, new Samples());
      }
      await sleep(1000);
      log(`${kind}: floor for ${durationMs / 1000} s`);
      const floor = await measure(servers.targets.floor, servers.floor, kind);
      await sleep(1000);
      log(`${kind}: gateway for ${durationMs / 1000} s`);
      const gateway = await measure(servers.targets.gateway, servers.gateway, kind);
      await sleep(1000);
      await stopAll();
      for (const [name, m] of [["floor", floor], ["gateway", gateway]] as const) {
        const profile = await profileOf(profileDir, m.server.pid);
        if (flags.keep) await Deno.writeTextFile(`${flags.keep}/${name}-${kind}.cpuprofile`, JSON.stringify(profile));
        const summary = summarize(profile, root, m.window);
        out.push(section(name, kind, m, summary, clockTicks), "");
      }
    } finally {
      await stopAll();
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    }
  }
  const text = out.join("\n");
  console.log(text);
  if (flags.out) await Deno.writeTextFile(flags.out, text);
};

try {
  await main();
} catch (error) {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  Deno.exit(1);
}
