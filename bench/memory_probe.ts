/**
 * `deno task probe:memory`: the gateway's resident memory under the two cheap attacks of issue 9,
 * read from `/proc/<pid>/status` before, right after, and after idling.
 *
 * (a) Invented model names: N requests, each naming a distinct made-up model of about 1 KB under
 *     a configured provider prefix. Anything kept per name (a metric label, a cache entry) grows
 *     with N and does not shrink when the requests stop; `GET /metrics` shows the labels kept.
 * (b) Slow bodies: C connections each declare `content-length: 16 MiB` (the default limit) and
 *     then send a byte a second. A gateway that reserves the declared length pays 16 MiB a
 *     connection for a few bytes sent.
 *
 * The mock upstream (`mock_upstream.ts`, JSON mode) and the gateway (`main.ts`) run as child
 * processes behind `guard.ts`, as in the bench, so the memory read is the gateway's alone.
 * Prints a markdown table and puts it in BENCHMARKS.md as the section "## Memory probes (issue 9)"
 * (replaced when present).
 *
 * Usage: `deno task probe:memory [--names 20000] [--name-bytes 1024] [--connections 100]
 *   [--seconds 5] [--idle 5] [--no-write]`
 */
import { buildRequest, HttpConnection } from "./http_client.ts";
import { memory } from "./procfs.ts";
import { root } from "./setup.ts";
import { gatewayPort, jsonPort, type Server, startServer, stopAll } from "./servers.ts";

export interface ProbeOptions {
  /** Requests in probe (a), each with its own model name. */
  readonly names: number;
  /** Length of each invented model name, provider prefix excluded. */
  readonly nameBytes: number;
  /** Connections in probe (b). */
  readonly connections: number;
  /** How long probe (b) trickles, a byte a second. */
  readonly seconds: number;
  /** How long each probe idles before its last reading. */
  readonly idleSeconds: number;
}

export const defaults: ProbeOptions = { names: 20_000, nameBytes: 1024, connections: 100, seconds: 5, idleSeconds: 5 };

export interface ProbeResult {
  readonly probe: string;
  /** Resident memory in KiB. */
  readonly beforeKb: number;
  readonly afterKb: number;
  readonly idleKb: number;
  /** The process's peak resident memory (VmHWM) at the end of the probe. */
  readonly peakKb: number;
  readonly notes: string;
}

export interface ProbeReport {
  readonly options: ProbeOptions;
  readonly results: ReadonlyArray<ProbeResult>;
  readonly deno: string;
}

export interface ProbeGateway {
  readonly gateway: Server;
  readonly virtualKey: string;
  /** The provider every invented model name is put under. */
  readonly provider: string;
  readonly stop: () => Promise<void>;
}

const ROUTE = "/v1/chat/completions";
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the mock upstream and a gateway routing provider `probe` to it, each in its own process. */
export const startProbeGateway = async (deadlineMs = 10 * 60_000): Promise<ProbeGateway> => {
  const common = { cwd: root, deadlineMs, env: { NO_COLOR: "1" } };
  const mock = await startServer({
    ...common,
    name: "mock upstream",
    args: ["run", "--allow-net", new URL("./mock_upstream.ts", import.meta.url).pathname, "60000"],
    portFrom: jsonPort,
  });
  const virtualKey = `sk-bf-probe-${crypto.randomUUID().replaceAll("-", "")}`;
  const config = {
    providers: {
      probe: {
        base_url: `http://127.0.0.1:${mock.port}/json/v1`,
        keys: [{ value: "sk-probe-upstream-not-a-secret" }],
        models: ["gpt-5"],
        retry: { max_retries: 0 },
      },
    },
    default_provider: "probe",
    virtual_keys: [{ id: "probe", value: virtualKey, models: ["*"] }],
    store: { kind: "memory" },
    log_level: "warn",
  };
  try {
    const gateway = await startServer({
      ...common,
      name: "gateway",
      args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", `${root}main.ts`],
      // HOST and PORT override the config; set them so an operator's environment cannot move the gateway.
      env: { ...common.env, GATEWAY_CONFIG_JSON: JSON.stringify(config), HOST: "127.0.0.1", PORT: "0" },
      portFrom: gatewayPort,
    });
    return {
      gateway,
      virtualKey,
      provider: "probe",
      stop: () => Promise.all([gateway.stop(), mock.stop()]).then(() => {}),
    };
  } catch (error) {
    await mock.stop();
    throw error;
  }
};

/** A model name of exactly `bytes` ASCII characters, distinct for each `i`. */
export const inventedName = (i: number, bytes: number): string => {
  const stem = `invented-${i}-`;
  return stem + "x".repeat(Math.max(0, bytes - stem.length));
};

const count = (statuses: ReadonlyMap<number, number>): string =>
  [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${n} × ${status}`).join(", ");

/** Probe (a): `names` requests, each with its own invented model; then the size of `GET /metrics`. */
export const probeModelNames = async (
  { gateway, virtualKey, provider }: ProbeGateway,
  options: Pick<ProbeOptions, "names" | "nameBytes" | "idleSeconds">,
): Promise<ProbeResult> => {
  const headers = { "content-type": "application/json", authorization: `Bearer ${virtualKey}` };
  const request = (model: string) =>
    buildRequest(
      gateway.port,
      ROUTE,
      encoder.encode(JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] })),
      headers,
    );
  // One request with a configured model first, so that start-up work is not counted.
  const warm = await HttpConnection.open(gateway.port);
  await warm.send(request(`${provider}/gpt-5`));
  warm.close();
  await sleep(200);
  const before = memory(gateway.pid).rssKb;

  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    let connection = await HttpConnection.open(gateway.port);
    try {
      while (next < options.names) {
        const i = next++;
        if (connection.isClosed) connection = await HttpConnection.open(gateway.port);
        const { status } = await connection.send(request(`${provider}/${inventedName(i, options.nameBytes)}`));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    } finally {
      connection.close();
    }
  };
  // A few keep-alive connections keep the gateway busy without the client taking the machine.
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(8, options.names) }, worker));
  const seconds = (performance.now() - started) / 1000;
  const after = memory(gateway.pid).rssKb;

  const metrics = await fetch(`http://127.0.0.1:${gateway.port}/metrics`);
  const metricsBytes = (await metrics.bytes()).byteLength;
  await sleep(options.idleSeconds * 1000);
  const end = memory(gateway.pid);
  return {
    probe: `(a) ${options.names} invented ${options.nameBytes}-byte model names`,
    beforeKb: before,
    afterKb: after,
    idleKb: end.rssKb,
    peakKb: end.hwmKb,
    notes: `answers: ${count(statuses)} in ${seconds.toFixed(1)} s; ` +
      `GET /metrics after: HTTP ${metrics.status}, ${formatBytes(metricsBytes)}`,
  };
};

/**
 * Probe (b): `connections` requests declaring a 16 MiB body each, authenticated, sending its
 * first byte and then one a second for `seconds`. "After" is read while they are all still open.
 */
export const probeSlowBodies = async (
  { gateway, virtualKey }: ProbeGateway,
  options: Pick<ProbeOptions, "connections" | "seconds" | "idleSeconds">,
): Promise<ProbeResult> => {
  const declared = 16 * 1024 * 1024;
  const head = encoder.encode(
    [
      `POST ${ROUTE} HTTP/1.1`,
      `host: 127.0.0.1:${gateway.port}`,
      "content-type: application/json",
      `authorization: Bearer ${virtualKey}`,
      `content-length: ${declared}`,
    ].join("\r\n") + "\r\n\r\n{",
  );
  const before = memory(gateway.pid).rssKb;
  const conns: Deno.TcpConn[] = [];
  let answered = 0;
  let sent = 0;
  try {
    for (let i = 0; i < options.connections; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: gateway.port });
      await conn.write(head);
      sent++;
      conns.push(conn);
      // Any answer before the body is whole (a 408, a 413) is counted; the bytes themselves do not matter.
      conn.read(new Uint8Array(1024)).then((n) => {
        if (n !== null) answered++;
      }, () => {});
    }
    let peak = memory(gateway.pid).rssKb;
    for (let second = 0; second < options.seconds; second++) {
      await sleep(1000);
      const byte = encoder.encode(" ");
      const writes = await Promise.allSettled(conns.map((conn) => conn.write(byte)));
      sent += writes.filter((write) => write.status === "fulfilled").length;
      peak = Math.max(peak, memory(gateway.pid).rssKb);
    }
    const after = Math.max(peak, memory(gateway.pid).rssKb);
    for (const conn of conns.splice(0)) conn.close();
    await sleep(options.idleSeconds * 1000);
    const end = memory(gateway.pid);
    return {
      probe: `(b) ${options.connections} connections declaring 16 MiB, a byte a second for ${options.seconds} s`,
      beforeKb: before,
      afterKb: after,
      idleKb: end.rssKb,
      peakKb: end.hwmKb,
      notes: `${formatBytes(sent)} of body sent in all, ${formatBytes(declared * options.connections)} declared; ` +
        `${answered} answered before the body was whole`,
    };
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by the gateway
      }
    }
  }
};

/** Runs both probes against a fresh gateway, each starting from the gateway (a) left behind. */
export const runProbes = async (options: ProbeOptions): Promise<ProbeReport> => {
  const probe = await startProbeGateway();
  try {
    const names = await probeModelNames(probe, options);
    const bodies = await probeSlowBodies(probe, options);
    return { options, results: [names, bodies], deno: Deno.version.deno };
  } finally {
    await probe.stop();
  }
};

export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : bytes >= 1024
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${bytes} B`;

const mib = (kb: number) => `${(kb / 1024).toFixed(1)}`;

/** The section for BENCHMARKS.md, its heading included. */
export const formatReport = (report: ProbeReport): string => {
  const { options } = report;
  const rows = report.results.map((r) =>
    `| ${r.probe} | ${mib(r.beforeKb)} | ${mib(r.afterKb)} | ${mib(r.idleKb)} | ${mib(r.peakKb)} | ${r.notes} |`
  );
  return [
    SECTION,
    "",
    `\`deno task probe:memory\` (Deno ${report.deno}, ${new Date().toISOString().slice(0, 10)}): the gateway's ` +
    `resident memory (VmRSS, MiB) from \`/proc/<pid>/status\`, before a probe, right after it, and after ` +
    `${options.idleSeconds} s idle; peak is VmHWM. Probe (b) runs on the gateway probe (a) left behind, and its ` +
    `"after" is read while its connections are still open.`,
    "",
    "| probe | before | after | after idle | peak | notes |",
    "|---|--:|--:|--:|--:|---|",
    ...rows,
    "",
  ].join("\n");
};

export const SECTION = "## Memory probes (issue 9)";

/** `document` with `section` in place of its section of the same heading, or appended when it has none. */
export const replaceSection = (document: string, section: string): string => {
  const body = section.endsWith("\n") ? section : `${section}\n`;
  const start = document.search(/^## Memory probes \(issue 9\)$/m);
  if (start < 0) return `${document.trimEnd()}\n\n${body}`;
  const rest = document.slice(start + SECTION.length);
  const next = rest.search(/^## /m);
  return next < 0 ? document.slice(0, start) + body : `${document.slice(0, start)}${body}\n${rest.slice(next)}`;
};

const flag = (name: string, fallback: number): number => {
  const at = Deno.args.indexOf(`--${name}`);
  const inline = Deno.args.find((arg) => arg.startsWith(`--${name}=`));
  const text = inline ? inline.slice(name.length + 3) : at >= 0 ? Deno.args[at + 1] : undefined;
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} wants a non-negative number, got "${text}"`);
  return value;
};

if (import.meta.main) {
  const options: ProbeOptions = {
    names: flag("names", defaults.names),
    nameBytes: flag("name-bytes", defaults.nameBytes),
    connections: flag("connections", defaults.connections),
    seconds: flag("seconds", defaults.seconds),
    idleSeconds: flag("idle", defaults.idleSeconds),
  };
  // Ctrl-C still stops the servers (their guards would, too, once this process is gone).
  Deno.addSignalListener("SIGINT", () => void stopAll().finally(() => Deno.exit(130)));
  const section = formatReport(await runProbes(options));
  console.log(section);
  if (!Deno.args.includes("--no-write")) {
    const path = new URL("../BENCHMARKS.md", import.meta.url);
    await Deno.writeTextFile(path, replaceSection(await Deno.readTextFile(path), section));
    console.error(`wrote the section "${SECTION}" of BENCHMARKS.md`);
  }
}
