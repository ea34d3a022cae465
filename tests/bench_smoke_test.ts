/**
 * The bench is not part of the suite; these tests only check that its harness works: a tiny
 * run starts the servers, produces the tables (the per-upstream-API one too) and the report,
 * and no server outlives the bench, whether it ends normally, on Ctrl-C, or killed outright.
 */
import assert from "node:assert/strict";
// Type-only: `deno test` then type-checks the bench's entry points without running them.
import type {} from "../bench/bench.ts";
import type {} from "../bench/floor.ts";
import type {} from "../bench/guard.ts";
import type {} from "../bench/profile.ts";

const bench = new URL("../bench/bench.ts", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

const alive = (pid: number): boolean => {
  try {
    Deno.statSync(`/proc/${pid}`);
    // A zombie is dead, only not yet reaped by its parent.
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
};

/**
 * Polls until every pid is gone, for at most `ms`; returns the ones still alive, after killing
 * them so that a failing test leaves nothing behind.
 */
const survivors = async (pids: ReadonlyArray<number>, ms: number): Promise<number[]> => {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(alive);
  }
  for (const pid of left) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return left;
};

const pidsFrom = (stderr: string): number[] => {
  const line = /servers up \([^)]*\): ([\d/ ]+)/.exec(stderr);
  return line ? line[1].trim().split(/[ /]/).map(Number) : [];
};

const startBench = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", bench, "--quick", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();

/** Reads the bench's stderr until its servers are up; returns their pids (and the guards'). */
const waitForServers = async (child: Deno.ChildProcess) => {
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the bench ended before its servers were up:\n${text}`);
    text += value;
    const pids = pidsFrom(text);
    if (pids.length > 0) return { pids, stderr: reader };
  }
};

const probes = "## Memory probes (issue 9)\n\nWritten by `deno task probe:memory`.\n";

Deno.test("a quick bench run starts the servers, prints the figures and per-API tables and writes the report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-smoke-" });
  try {
    const out = `${dir}/BENCHMARKS.md`;
    await Deno.writeTextFile(out, `# Benchmarks\n\nAn older run.\n\n${probes}`);
    const result = await startBench(["--out", out]).output();
    const stdout = new TextDecoder().decode(result.stdout);
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);

    assert.match(stdout, /\|\s+\|\s+direct\s+\|\s+floor\s+\|\s+gateway\s+\|\s+gateway\/floor\s+\|/);
    const row = (label: RegExp) => stdout.split("\n").find((line) => label.test(line));
    for (const label of [/^\| added latency p50, non-streamed/, /^\| throughput, streamed/, /^\| peak RSS/]) {
      const cells = row(label)?.split("|").map((cell) => cell.trim());
      assert.ok(cells, `no row ${label} in:\n${stdout}`);
      // floor, gateway and their ratio are measured numbers.
      for (const cell of cells.slice(3, 6)) assert.match(cell, /^-?[\d,.]+x?$/, `row ${label}: ${cells.join(" | ")}`);
    }
    assert.match(stdout, /- (met|\*\*not met\*\*): added latency p50, non-streamed, c=1/);
    assert.match(stdout, /- (met|\*\*not met\*\*): gateway RSS idle/);

    // Every upstream API answered through the gateway (setup checks text, call and usage) and was measured.
    assert.match(stdout, /^\| upstream API\s+\| events per stream\s+\|/m);
    for (const api of ["responses", "chat", "anthropic", "gemini"]) {
      const cells = row(new RegExp(`^\\| ${api}\\s+\\|`))?.split("|").map((cell) => cell.trim()).slice(1, -1);
      assert.ok(cells, `no per-API row for ${api} in:\n${stdout}`);
      for (const cell of cells.slice(1)) assert.match(cell, /^[\d,.]+x?$/, `row ${api}: ${cells.join(" | ")}`);
    }
    for (const api of ["chat", "anthropic", "gemini"]) {
      assert.match(stdout, new RegExp(`- (met|\\*\\*not met\\*\\*): ${api}: gateway CPU per streamed event`));
    }
    assert.match(stdout, /^Load average [\d.]+ before the run, [\d.]+ after/m);

    const report = await Deno.readTextFile(out);
    assert.match(report, /^# Benchmarks/);
    assert.match(report, /`nproc`: \d+; memory: [\d.]+ GiB/);
    assert.match(report, /deno task bench --quick --out /);
    assert.ok(report.includes(row(/^\| added latency p50, non-streamed/)!), "the report holds the printed table");
    assert.match(report, /^## Per upstream API$/m);
    assert.ok(report.includes(row(/^\| gemini\s+\|/)!), "the report holds the printed per-API table");
    assert.ok(report.endsWith(probes), "the memory probes' section is kept");

    const pids = pidsFrom(stderr);
    assert.equal(pids.length, 6, stderr);
    assert.deepEqual(await survivors(pids, 5_000), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bench interrupted with SIGINT stops every server it started and exits 130", async () => {
  const child = startBench(["--out", "-"]);
  const { pids, stderr } = await waitForServers(child);
  child.kill("SIGINT");
  const status = await child.status;
  await child.stdout.cancel();
  await stderr.cancel();
  assert.equal(status.code, 130);
  assert.deepEqual(await survivors(pids, 5_000), []);
});

Deno.test("servers outlive a SIGKILLed bench only until their guards notice", async () => {
  const child = startBench(["--out", "-"]);
  const { pids, stderr } = await waitForServers(child);
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
  await stderr.cancel();
  // Each guard sees its stdin close, sends SIGTERM, and SIGKILL after 1.5 s.
  assert.deepEqual(await survivors(pids, 8_000), []);
});
