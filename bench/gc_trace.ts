/**
 * `deno run -A bench/gc_trace.ts`: what the garbage collector does to the gateway's tail at c=1.
 *
 * Starts the mock upstream and the gateway (`main.ts`, default log level) with V8's `--trace-gc`,
 * sends `--requests` requests one after another on one kept-alive connection, and prints the
 * latency percentiles beside the GC events of the measured window: how many young-generation
 * collections (scavenges) and full collections ran, their pauses, and how much the old generation
 * grew per scavenge (what each one promoted: objects that outlived two scavenges). A scavenge that
 * promotes megabytes and pauses for milliseconds is the p99 of a c=1 run.
 *
 * The gateway's stdout goes to a temporary file (the trace lines are read from it), so nothing
 * is lost to a pipe; both servers run behind `guard.ts` like the bench's and die with it.
 *
 * Options: `--requests N` (default 4000), `--warmup N` (500), `--kind json|sse` (json), `--deltas N`
 * (text deltas per stream, 100),
 * `--gateway DIR` (the checkout whose `main.ts` runs; default this one, so that two commits can be
 * compared with the same harness), `--v8 FLAGS` (more V8 flags for the gateway, comma-separated).
 */
import { parseArgs } from "node:util";
import { buildRequest, HttpConnection } from "./http_client.ts";
import { hybridBody } from "./hybrid_body.ts";
import { jsonPort, startServer, stopAll } from "./servers.ts";
import { root } from "./setup.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "4000" },
    warmup: { type: "string", default: "500" },
    kind: { type: "string", default: "json" },
    deltas: { type: "string", default: "100" },
    gateway: { type: "string", default: root },
    v8: { type: "string", default: "" },
  },
});
const requests = Number(flags.requests);
const kind = flags.kind === "sse" ? "sse" : "json";
const gatewayDir = flags.gateway.endsWith("/") ? flags.gateway : `${flags.gateway}/`;

/** One `--trace-gc` line: `[pid:addr]  1234 ms: Scavenge 61.0 (120.5) -> 44.3 (120.5) MB, ..., 7.71 / 0.00 ms ...`. */
const gcLine =
  /\s([\d.]+) ms: (Scavenge|Minor Mark-Sweep|Mark-Compact|Incremental Mark-Compact)[^,]*? ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB.*?, ([\d.]+) \/ [\d.]+ ms/;

interface GcEvent {
  readonly atMs: number;
  readonly kind: string;
  readonly beforeMb: number;
  readonly afterMb: number;
  readonly pauseMs: number;
}

const parseGc = (text: string): GcEvent[] =>
  text.split("\n").flatMap((line) => {
    const m = gcLine.exec(line);
    return m ? [{ atMs: +m[1], kind: m[2], beforeMb: +m[3], afterMb: +m[4], pauseMs: +m[5] }] : [];
  });

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.floor(p * (sorted.length - 1))];

const main = async () => {
  const temp = await Deno.makeTempDir({ prefix: "gateway-gc-" });
  const out = `${temp}/gateway.out`;
  try {
    const mock = await startServer({
      name: "mock upstream",
      args: ["run", "--allow-net", `${root}bench/mock_upstream.ts`, "60000"],
      portFrom: jsonPort,
      deadlineMs: 600_000,
    });
    const virtualKey = `sk-bf-bench-${crypto.randomUUID().replaceAll("-", "")}`;
    const provider = (mode: string) => ({
      base_url: `http://127.0.0.1:${mock.port}/${mode}/v1`,
      keys: [{ value: "sk-bench-upstream-not-a-secret" }],
      models: ["gpt-5"],
      retry: { max_retries: 0 },
    });
    const config = {
      providers: { json: provider("json"), sse: provider(`sse-${Number(flags.deltas)}`) },
      default_provider: "json",
      virtual_keys: [{ id: "bench", value: virtualKey, models: ["*"] }],
      store: { kind: "memory" },
    };
    // Through `sh`, so that stdout (the trace lines among the log lines) goes to a file.
    const gateway = new Deno.Command("sh", {
      args: [
        "-c",
        // V8 prints its trace with C stdio, which a file makes block-buffered: `stdbuf -oL` (coreutils)
        // makes it line-buffered, so that every line of the measured window is in the file when it is read.
        `exec $(command -v stdbuf >/dev/null && echo stdbuf -oL) "$0" run -A "--v8-flags=--trace-gc$3" "$1" > "$2" 2>&1`,
        Deno.execPath(),
        `${gatewayDir}main.ts`,
        out,
        flags.v8 ? `,${flags.v8}` : "",
      ],
      cwd: gatewayDir,
      env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), HOST: "127.0.0.1", PORT: "0", NO_COLOR: "1" },
    }).spawn();
    let port: number | undefined;
    for (let waited = 0; port === undefined; waited += 50) {
      if (waited > 30_000) throw new Error("the gateway did not start within 30 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
      const text = await Deno.readTextFile(out).catch(() => "");
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (m) port = Number(m[1]);
    }
    try {
      const body = new TextEncoder().encode(
        JSON.stringify(hybridBody({ model: `${kind}/gpt-5`, stream: kind === "sse" })),
      );
      const request = buildRequest(port, "/cursor/v1/chat/completions", body, {
        "content-type": "application/json",
        authorization: `Bearer ${virtualKey}`,
      });
      const connection = await HttpConnection.open(port);
      for (let i = 0; i < Number(flags.warmup); i++) await connection.send(request);
      const from = (await Deno.readTextFile(out)).length;
      const totals: number[] = [];
      const firsts: number[] = [];
      const started = performance.now();
      for (let i = 0; i < requests; i++) {
        const timing = await connection.send(request);
        if (timing.status !== 200) throw new Error(`the gateway answered ${timing.status}`);
        totals.push(timing.totalMs);
        firsts.push(timing.firstChunkMs);
      }
      const seconds = (performance.now() - started) / 1000;
      connection.close();
      // Trace lines of the last requests may still be in the pipe's way to the file.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const events = parseGc((await Deno.readTextFile(out)).slice(from));

      totals.sort((a, b) => a - b);
      firsts.sort((a, b) => a - b);
      const ms = (v: number) => v.toFixed(3);
      console.log(`gateway at ${gatewayDir}, ${kind}, c=1: ${requests} requests in ${seconds.toFixed(1)} s`);
      console.log(
        `  latency (ms): p50 ${ms(percentile(totals, 0.5))}  p90 ${ms(percentile(totals, 0.9))}  p99 ${
          ms(percentile(totals, 0.99))
        }  p99.9 ${ms(percentile(totals, 0.999))}  max ${ms(totals[totals.length - 1])}`,
      );
      if (kind === "sse") {
        console.log(`  first chunk (ms): p50 ${ms(percentile(firsts, 0.5))}  p99 ${ms(percentile(firsts, 0.99))}`);
      }
      const young = events.filter((e) => e.kind === "Scavenge" || e.kind === "Minor Mark-Sweep");
      const full = events.filter((e) => !young.includes(e));
      const pauses = young.map((e) => e.pauseMs).sort((a, b) => a - b);
      // Old-generation growth across a scavenge: the heap after it, minus the heap after the previous one.
      const growth = young.slice(1).map((e, i) => e.afterMb - young[i].afterMb).filter((mb) => mb >= 0);
      const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
      if (young.length > 0) {
        console.log(
          `  scavenges: ${young.length} (one per ${Math.round(requests / young.length)} requests), pause p50 ${
            percentile(pauses, 0.5).toFixed(2)
          } ms, max ${pauses[pauses.length - 1].toFixed(2)} ms, ${
            (mean(pauses) * young.length / requests * 1000).toFixed(1)
          } µs a request;` +
            ` promoted ~${mean(growth).toFixed(2)} MB each`,
        );
      }
      console.log(
        `  full collections: ${full.length}${
          full.length ? `, pauses ${full.map((e) => e.pauseMs.toFixed(1)).join(", ")} ms` : ""
        }`,
      );
    } finally {
      gateway.kill("SIGTERM");
      await gateway.status;
    }
  } finally {
    await stopAll();
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
};

if (import.meta.main) await main();
