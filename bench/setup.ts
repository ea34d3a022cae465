/**
 * What every bench run sets up: the mock upstream, the floor and the gateway as child
 * processes, one target per server with its pre-built requests, and a check that each one
 * answers the way it should before anything is measured.
 */
import { buildRequest, HttpConnection } from "./http_client.ts";
import { hybridBody } from "./hybrid_body.ts";
import type { Kind, Target, TargetName } from "./load.ts";
import { gatewayPort, jsonPort, type Server, startServer } from "./servers.ts";

export const root = new URL("..", import.meta.url).pathname;
const here = (file: string) => new URL(`./${file}`, import.meta.url).pathname;

export const kinds: ReadonlyArray<Kind> = ["json", "sse", "short", "hold"];

export interface SetupOptions {
  /** Text deltas in a `sse` (and `hold`) stream, and in a `short` one. */
  readonly deltas: number;
  readonly shortDeltas: number;
  /** The guards kill every server after this long. */
  readonly deadlineMs: number;
  /** Run the floor and the gateway under `--cpu-prof`, writing profiles here. */
  readonly profileDir?: string;
  /** More `deno run` flags for the gateway only (`--v8-flags=--trace-gc`, say). */
  readonly gatewayFlags?: ReadonlyArray<string>;
}

export interface BenchServers {
  readonly mock: Server;
  readonly floor: Server;
  readonly gateway: Server;
  readonly targets: Readonly<Record<TargetName, Target>>;
  /** Request body bytes per kind (identical for every target). */
  readonly bodies: Readonly<Record<Kind, Uint8Array>>;
  /** Lets every held stream finish. */
  readonly release: () => Promise<void>;
}

export const startBenchServers = async (options: SetupOptions): Promise<BenchServers> => {
  const mode = (kind: Kind) =>
    kind === "json"
      ? "json"
      : kind === "sse"
      ? `sse-${options.deltas}`
      : kind === "short"
      ? `sse-${options.shortDeltas}`
      : `hold-${options.deltas}`;
  const virtualKey = `sk-bf-bench-${crypto.randomUUID().replaceAll("-", "")}`;
  const profileFlags = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  // NO_COLOR keeps a failing child's error readable in the bench's message.
  const common = { cwd: root, deadlineMs: options.deadlineMs, env: { NO_COLOR: "1" } };

  const mock = await startServer({
    ...common,
    name: "mock upstream",
    // Held streams are released by the bench, or after a minute at most.
    args: ["run", "--allow-net", here("mock_upstream.ts"), "60000"],
    portFrom: jsonPort,
  });
  const floor = await startServer({
    ...common,
    name: "floor",
    args: ["run", "--allow-net", ...profileFlags, here("floor.ts"), `http://127.0.0.1:${mock.port}`],
    portFrom: jsonPort,
  });
  const config = {
    providers: Object.fromEntries(kinds.map((kind) => [kind, {
      base_url: `http://127.0.0.1:${mock.port}/${mode(kind)}/v1`,
      keys: [{ value: "sk-bench-upstream-not-a-secret" }],
      models: ["gpt-5"],
      retry: { max_retries: 0 },
    }])),
    default_provider: "json",
    virtual_keys: [{ id: "bench", value: virtualKey, models: ["*"] }],
    store: { kind: "memory" },
    log_level: "warn",
  };
  // The gateway reads its config file once, at start-up: remove it as soon as the gateway is up, so that
  // nothing is left behind however the bench ends.
  const configDir = await Deno.makeTempDir({ prefix: "gateway-bench-" });
  const configPath = `${configDir}/gateway.json`;
  let gateway: Server;
  try {
    await Deno.writeTextFile(configPath, JSON.stringify(config));
    gateway = await startServer({
      ...common,
      name: "gateway",
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-write",
        "--allow-sys",
        ...profileFlags,
        ...(options.gatewayFlags ?? []),
        `${root}main.ts`,
        "--config",
        configPath,
      ],
      // HOST and PORT override the file; set them so an operator's environment cannot move the gateway.
      env: { ...common.env, HOST: "127.0.0.1", PORT: "0" },
      portFrom: gatewayPort,
    });
  } finally {
    await Deno.remove(configDir, { recursive: true }).catch(() => {});
  }

  const encoder = new TextEncoder();
  const bodies = Object.fromEntries(kinds.map((kind) => [
    kind,
    encoder.encode(JSON.stringify(hybridBody({ model: `${kind}/gpt-5`, stream: kind !== "json" }))),
  ])) as Record<Kind, Uint8Array>;
  const target = (name: TargetName, server: Server): Target => ({
    name,
    port: server.port,
    pid: server.pid,
    requests: Object.fromEntries(kinds.map((kind) => [
      kind,
      buildRequest(
        server.port,
        name === "gateway" ? "/cursor/v1/chat/completions" : `/${mode(kind)}/v1/responses`,
        bodies[kind],
        { "content-type": "application/json", authorization: `Bearer ${virtualKey}` },
      ),
    ])) as Record<Kind, Uint8Array>,
  });

  const release = async () => {
    const connection = await HttpConnection.open(mock.port);
    try {
      await connection.send(buildRequest(mock.port, "/control/release", new Uint8Array(), {}));
    } finally {
      connection.close();
    }
  };

  return {
    mock,
    floor,
    gateway,
    targets: { direct: target("direct", mock), floor: target("floor", floor), gateway: target("gateway", gateway) },
    bodies,
    release,
  };
};

const frameCount = (text: string) => text.split("\n\n").filter((frame) => frame.trim() !== "").length;

/**
 * Sends one request of each measured kind and checks the answer's shape: a `chat.completion`
 * or a stream ending in `[DONE]` from the gateway, the mock's Responses answer from the
 * others. Returns the SSE frames the client got for one `sse` stream.
 */
export const validate = async (target: Target, server: Server): Promise<number> => {
  const connection = await HttpConnection.open(target.port);
  const fail = (what: string, status: number, body: string): never => {
    throw new Error(`${target.name} answered ${what} with HTTP ${status}: ${body.slice(0, 400)}\n${server.recent()}`);
  };
  try {
    let frames = 0;
    for (const kind of ["json", "sse", "short"] as const) {
      const timing = await connection.send(target.requests[kind], { keepBody: true });
      const text = new TextDecoder().decode(timing.body);
      if (timing.status !== 200) fail(kind, timing.status, text);
      if (kind === "json") {
        let object: unknown;
        try {
          object = JSON.parse(text).object;
        } catch {
          fail("json (not JSON)", timing.status, text);
        }
        const expected = target.name === "gateway" ? "chat.completion" : "response";
        if (object !== expected) fail(`json (object "${object}", expected "${expected}")`, timing.status, text);
        continue;
      }
      const complete = target.name === "gateway"
        ? text.trimEnd().endsWith("data: [DONE]")
        : text.includes("event: response.completed");
      if (!complete) fail(`${kind} (the stream did not finish)`, timing.status, text.slice(-400));
      if (kind === "sse") frames = frameCount(text);
    }
    return frames;
  } finally {
    connection.close();
  }
};
