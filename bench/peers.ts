/**
 * Peer gateways for `deno task bench --peers`: Portkey's open-source gateway, installed from npm
 * and run on Node against the bench's mock upstream, on the route it serves like the floor: its
 * `/v1/responses` pass-through, sent the same Responses body bytes as the floor.
 *
 * The install goes to `bench/.peers/` (ignored by git) and is reused while it holds the same
 * package versions. Portkey is told where to forward by headers: `x-portkey-provider: openai`
 * and `x-portkey-custom-host: http://127.0.0.1:<mock>/<mode>/v1`, to which it appends
 * `/responses`. Whatever goes wrong (no Node, npm failing or offline, a start that times out, a
 * wrong answer) ends as a reason, for the report to say in a sentence, never as a number.
 */
import { buildRequest } from "./http_client.ts";
import type { Kind, Target, TargetName } from "./load.ts";
import { processExists } from "./procfs.ts";
import { type Server, startServer } from "./servers.ts";
import { validate } from "./setup.ts";

export const portkey = {
  name: "Portkey",
  packageName: "@portkey-ai/gateway",
  version: "1.15.2",
  /**
   * Installed beside it, because as published it cannot stream on Node: its `dependencies` take
   * the newest `@hono/node-server` 1.x, whose `Response` keeps a fetched answer's immutable
   * headers, and Portkey's `updateHeaders` then throws `TypeError: immutable` on every
   * passed-through stream (HTTP 500; Portkey-AI/gateway#1389 and #1550). 1.14.1 is the last
   * `@hono/node-server` that copies them; `@hono/node-ws` 1.2.0 is the newest whose peer range
   * admits it (1.3 wants `^1.19`, and npm would nest a second `@hono/node-server` for it).
   */
  pins: ["@hono/node-server@1.14.1", "@hono/node-ws@1.2.0"],
  /** The package's bin, relative to the package. */
  bin: "build/start-server.js",
  route: "/v1/responses",
} as const;

/** Where peers are installed: outside git (`.gitignore`), kept between runs. */
export const peersDir = new URL("./.peers/", import.meta.url).pathname;

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const failed = (reason: string): { readonly ok: false; readonly reason: string } => ({ ok: false, reason });

export interface Installed {
  readonly dir: string;
  /** Absolute path of `build/start-server.js`. */
  readonly entry: string;
  /** The versions that matter, as a Markdown phrase: "`@portkey-ai/gateway` 1.15.2 with `hono` 4.x and ..., on Node v20.x". */
  readonly versions: string;
  readonly reused: boolean;
}

export interface InstallOptions {
  /** The install folder (default `bench/.peers/portkey-<version>`). */
  readonly dir?: string;
  readonly npm?: string;
  readonly node?: string;
  /** npm is stopped after this long (default 3 minutes). */
  readonly timeoutMs?: number;
}

const decoder = new TextDecoder();

/** The last non-empty lines of a command's output, on one line, for a reason. */
const tail = (bytes: Uint8Array, lines = 3): string =>
  decoder.decode(bytes).split("\n").map((line) => line.trim()).filter((line) => line !== "").slice(-lines).join(
    " / ",
  ).slice(0, 400);

/**
 * What npm said went wrong, on one line: its error code and first message line (`npm error code
 * ECONNREFUSED`, `npm error FetchError: request to ... failed`), without the stack, the log's path
 * and the advice; else its last lines.
 */
export const npmReason = (stderr: string): string => {
  const lines = stderr.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("npm error "))
    .map((line) => line.slice("npm error ".length).trim());
  const code = lines.find((line) => line.startsWith("code "))?.slice(5);
  const message = lines.find((line) =>
    line !== "" && !/^(code|syscall|errno|at) /.test(line) && !/^[{}]/.test(line) &&
    !/^(A complete log|If you are behind a proxy|This is (probably|related)|Log files)/.test(line)
  );
  if (!code && !message) return tail(new TextEncoder().encode(stderr));
  const text = code && message ? `${code}: ${message}` : code ?? message ?? "";
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

const errorText = (error: unknown): string => error instanceof Error ? error.message : String(error);

/** Runs a command to its end, or kills it after `timeoutMs`. */
const run = async (
  command: string,
  args: ReadonlyArray<string>,
  timeoutMs: number,
  cwd?: string,
): Promise<Outcome<{ readonly code: number; readonly stdout: Uint8Array; readonly stderr: Uint8Array }>> => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const timedOut = `\`${command} ${args[0]}\` did not finish within ${Math.round(timeoutMs / 1000)} s`;
  try {
    const out = await new Deno.Command(command, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
      ...(cwd ? { cwd } : {}),
    }).output();
    if (controller.signal.aborted) return failed(timedOut);
    return { ok: true, value: { code: out.code, stdout: out.stdout, stderr: out.stderr } };
  } catch (error) {
    if (controller.signal.aborted) return failed(timedOut);
    return failed(
      error instanceof Deno.errors.NotFound
        ? `\`${command}\` was not found on PATH`
        : `\`${command}\` could not be run: ${errorText(error)}`,
    );
  } finally {
    clearTimeout(timer);
  }
};

const readVersion = async (dir: string, name: string): Promise<string | undefined> => {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/node_modules/${name}/package.json`)).version;
  } catch {
    return undefined;
  }
};

const exists = async (path: string): Promise<boolean> => {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
};

/** What `npm install` is asked for: the exact version and the pins. */
export const portkeySpecs: ReadonlyArray<string> = [`${portkey.packageName}@${portkey.version}`, ...portkey.pins];

/** The marker written after a complete install: an install without it (or for other specs) is redone. */
const MARKER = "bench-peer.json";

/**
 * Installs `@portkey-ai/gateway` at its exact version (and the pins) with npm, or reuses a
 * complete install of the same versions.
 */
export const installPortkey = async (options: InstallOptions = {}): Promise<Outcome<Installed>> => {
  const dir = options.dir ?? `${peersDir}portkey-${portkey.version}`;
  const node = options.node ?? "node";
  const npm = options.npm ?? "npm";
  const nodeVersion = await run(node, ["--version"], 15_000);
  if (!nodeVersion.ok) return failed(`Node.js is needed to run it: ${nodeVersion.reason}`);
  if (nodeVersion.value.code !== 0) return failed(`\`${node} --version\` failed: ${tail(nodeVersion.value.stderr)}`);
  const nodeText = decoder.decode(nodeVersion.value.stdout).trim();

  const entry = `${dir}/node_modules/${portkey.packageName}/${portkey.bin}`;
  const versions = async (root: string) => {
    const [gateway, hono, server] = await Promise.all(
      [portkey.packageName, "hono", "@hono/node-server"].map((name) => readVersion(root, name)),
    );
    return `\`${portkey.packageName}\` ${gateway} with \`hono\` ${hono} and \`@hono/node-server\` ${server}, on Node ${nodeText}`;
  };
  const marker = await Deno.readTextFile(`${dir}/${MARKER}`).then(JSON.parse).catch(() => undefined);
  if (JSON.stringify(marker?.specs) === JSON.stringify(portkeySpecs) && await exists(entry)) {
    return { ok: true, value: { dir, entry, versions: await versions(dir), reused: true } };
  }

  // A fresh folder, renamed into place once complete, so an interrupted install is never reused.
  const staging = `${dir}.installing-${Deno.pid}`;
  try {
    await Deno.mkdir(staging, { recursive: true });
  } catch (error) {
    return failed(`its install folder could not be made: ${errorText(error)}`);
  }
  const clean = () => Deno.remove(staging, { recursive: true }).catch(() => {});
  // --ignore-scripts: the package's one script (postinstall: patch-package) has no patches to apply.
  const args = ["install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", staging];
  const npmRun = await run(npm, [...args, ...portkeySpecs], options.timeoutMs ?? 180_000);
  if (!npmRun.ok) {
    await clean();
    return failed(`npm could not install it: ${npmRun.reason}`);
  }
  if (npmRun.value.code !== 0) {
    await clean();
    return failed(
      `\`npm install ${portkeySpecs[0]}\` failed (exit ${npmRun.value.code}): ${
        npmReason(decoder.decode(npmRun.value.stderr))
      }`,
    );
  }
  const installed = await readVersion(staging, portkey.packageName);
  const nested = `${staging}/node_modules/${portkey.packageName}/node_modules/@hono/node-server`;
  if (installed !== portkey.version || await exists(nested)) {
    await clean();
    return failed(
      installed !== portkey.version
        ? `npm installed ${portkey.packageName} ${installed ?? "(nothing)"}, not ${portkey.version}`
        : "npm nested a second @hono/node-server under the gateway, so the pin would not apply",
    );
  }
  try {
    await Deno.writeTextFile(`${staging}/${MARKER}`, `${JSON.stringify({ specs: portkeySpecs }, null, 2)}\n`);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(staging, dir);
  } catch (error) {
    await clean();
    return failed(`its install could not be moved into place: ${errorText(error)}`);
  }
  return { ok: true, value: { dir, entry, versions: await versions(dir), reused: false } };
};

/** A port free now on 127.0.0.1, for a server that must be told its port (Portkey takes `--port=N`, not 0). */
export const freePort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
};

/**
 * Preloaded into Node: a `listen(port)` with no host binds 127.0.0.1 instead of every interface.
 * Portkey's server (`@hono/node-server`'s `serve`) takes no host, and an open forwarding proxy
 * on the machine's network for the length of a bench is not wanted.
 */
const loopbackOnly = `import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && args[1] === undefined) args[1] = "127.0.0.1";
  return listen.apply(this, args);
};`;

export const nodeArgs = (installed: Installed, port: number): string[] => [
  `--import=data:text/javascript,${encodeURIComponent(loopbackOnly)}`,
  installed.entry,
  "--headless",
  `--port=${port}`,
];

/** Portkey's start-up line: `   http://localhost:PORT` (after a one-second spinner). */
export const portkeyPort = (line: string): number | undefined => {
  const match = /https?:\/\/localhost:(\d+)/.exec(line);
  return match ? Number(match[1]) : undefined;
};

export interface PortkeyOptions {
  readonly mockPort: number;
  /** The mock's path prefix per kind (`json`, `sse-100`, ...). */
  readonly mode: (kind: Kind) => string;
  /** The floor's request bodies, sent as they are. */
  readonly bodies: Readonly<Record<Kind, Uint8Array>>;
  readonly deadlineMs: number;
  readonly startTimeoutMs?: number;
}

/** The name a peer's target carries: load.ts only uses it in messages, and `validate` to pick the Responses checks. */
const peerName = "portkey" as TargetName;

/** Starts Portkey on Node behind the guard and builds its `json`, `sse` and `short` requests. */
export const startPortkey = async (
  installed: Installed,
  options: PortkeyOptions,
): Promise<Outcome<{ readonly server: Server; readonly target: Target }>> => {
  const port = freePort();
  let server: Server;
  try {
    server = await startServer({
      name: portkey.name,
      command: "node",
      args: nodeArgs(installed, port),
      portFrom: portkeyPort,
      cwd: installed.dir,
      env: { NO_COLOR: "1" },
      deadlineMs: options.deadlineMs,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    });
  } catch (error) {
    return failed(`it did not start: ${firstLine(errorText(error))}`);
  }
  if (server.port !== port) {
    await server.stop();
    return failed(`it reported port ${server.port}, not the ${port} it was given`);
  }
  const headers = (kind: Kind) => ({
    "content-type": "application/json",
    authorization: "Bearer sk-bench-upstream-not-a-secret",
    "x-portkey-provider": "openai",
    "x-portkey-custom-host": `http://127.0.0.1:${options.mockPort}/${options.mode(kind)}/v1`,
  });
  const kinds = ["json", "sse", "short"] as const;
  const target: Target = {
    name: peerName,
    port,
    pid: server.pid,
    requests: Object.fromEntries(
      kinds.map((kind) => [kind, buildRequest(port, portkey.route, options.bodies[kind], headers(kind))]),
    ),
  };
  return { ok: true, value: { server, target } };
};

/**
 * Starts Portkey and checks its answers as `validate` checks the floor's (HTTP 200, the mock's
 * own Responses JSON, streams that reach `response.completed`); returns it ready to measure,
 * with the SSE frames of one stream, or why not (Portkey stopped again).
 */
export const setUpPortkey = async (
  installed: Installed,
  options: PortkeyOptions,
): Promise<Outcome<{ readonly peer: RunningPeer; readonly framesPerStream: number }>> => {
  const started = await startPortkey(installed, options);
  if (!started.ok) return started;
  const { server, target } = started.value;
  try {
    const framesPerStream = await validate(target, server);
    return { ok: true, value: { peer: new RunningPeer(server, target), framesPerStream } };
  } catch (error) {
    const logged = server.recent().split("\n").map((line) => line.trim()).find((line) => /error/i.test(line));
    await server.stop();
    return failed(
      `its answers failed the bench's checks: ${firstLine(errorText(error))}${
        logged ? ` (its log: ${firstLine(logged)})` : ""
      }`,
    );
  }
};

/** An error's first line (a validation error goes on with the server's last output), bounded. */
export const firstLine = (text: string): string => {
  const line = text.split("\n")[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
};

// ===== Processes =====

const statFields = (pid: number): string[] => {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
};

/** Live child processes of `pid` (of all its threads), from `/proc/<pid>/task/<tid>/children`. */
export const childrenOf = (pid: number): number[] => {
  const out: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone, or a kernel without the children files
  }
  return out;
};

/** Every live descendant of `pid`. */
export const descendantsOf = (pid: number): number[] => {
  const out: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...childrenOf(next));
  }
  return out;
};

/**
 * CPU ticks of `pid`'s workers, beyond its own: live descendants' user+system time, plus what
 * its reaped children used (cutime, cstime). Zero for a server that forks nothing.
 */
export const workerTicks = (pid: number): number => {
  let ticks = 0;
  try {
    const own = statFields(pid);
    ticks += Number(own[13]) + Number(own[14]); // cutime, cstime: fields 16 and 17 of the whole line
  } catch {
    return 0;
  }
  for (const child of descendantsOf(pid)) {
    try {
      const fields = statFields(child);
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile: counted in its parent's cutime once reaped
    }
  }
  return ticks;
};

/** Threads of `pid` (`Threads:` in `/proc/<pid>/status`). */
export const threadsOf = (pid: number): number => {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};

// ===== Running =====

/** What the report says about how Portkey ran, beside its versions. */
export const portkeyHow = (installed: Installed): string =>
  `Its \`${portkey.route}\` pass-through, sent the floor's request bytes with \`x-portkey-provider: openai\` and ` +
  `\`x-portkey-custom-host: http://127.0.0.1:<mock>/<mode>/v1\` (it appends \`/responses\`); started as ` +
  `\`node ${portkey.bin} --headless --port=N\` (one process; a preloaded \`listen\` patch keeps it on 127.0.0.1) from ` +
  `\`npm install --no-save --ignore-scripts --prefix ${displayPath(installed.dir)} ${portkeySpecs.join(" ")}\`` +
  `${installed.reused ? " (an earlier install of the same versions, reused)" : ""}. The two pins are there because, ` +
  `as published, its dependencies take the newest \`@hono/node-server\`, with which every stream it passes on fails ` +
  `with HTTP 500 (\`TypeError: immutable\`; Portkey-AI/gateway#1389 and #1550).`;

/**
 * Facts about Portkey's request path that explain its figures: read in its `build/start-server.js`
 * and seen by hand against an echo server, not checked by each run.
 */
export const portkeyNotes =
  `It does not pass the request bytes on: it parses the body and rebuilds it from the parameters it knows, in its ` +
  `own key order (the bench's body loses \`prompt_cache_retention\` on the way). On streams it splits the ` +
  `upstream's SSE into events and writes each one on, and waits 25 ms before the first (a \`setTimeout(…, 25)\` in ` +
  `its stream transformer), which shows in its time to first chunk. Its non-streamed answer is the mock's JSON ` +
  `parsed and serialised again, with \`"provider": "openai"\` added.`;

const displayPath = (path: string): string => {
  const root = new URL("..", import.meta.url).pathname;
  return path.startsWith(root) ? path.slice(root.length) : path;
};

/**
 * A peer while it is measured: each block it takes part in goes through `block`, which adds its
 * workers' CPU (if it forks any) to the samples and turns a block that throws (the peer gone,
 * a refused connection) or that completes nothing into the peer's failure; a failed peer takes
 * no further part.
 */
export class RunningPeer {
  failure: string | undefined;

  constructor(readonly server: Server, readonly target: Target) {}

  async block(
    phase: string,
    into: { ticks: number; completed: number; errors: number; lastError: string },
    work: () => Promise<void>,
  ): Promise<void> {
    if (this.failure !== undefined) return;
    const workers = workerTicks(this.server.pid);
    const completed = into.completed;
    const errors = into.errors;
    try {
      await work();
      if (into.completed === completed && into.errors > errors) {
        this.failure = `it answered no request during ${phase} (${into.lastError})`;
      }
    } catch (error) {
      this.failure = processExists(this.server.pid)
        ? `it stopped answering during ${phase}: ${firstLine(errorText(error))}`
        : `its process ended during ${phase}`;
    } finally {
      into.ticks += workerTicks(this.server.pid) - workers;
    }
    if (this.failure !== undefined) console.error(`[bench] peers: ${portkey.name} dropped out: ${this.failure}`);
  }

  /** Whose CPU the figures count, in words. */
  processes(): string {
    const pid = this.server.pid;
    const workers = descendantsOf(pid);
    const threads = threadsOf(pid);
    const own = `its node process's own user+system time (all ${Number.isFinite(threads) ? `${threads} ` : ""}threads)`;
    return workers.length === 0
      ? `${own} from \`/proc/<pid>/stat\`; it forked no worker processes`
      : `${own} plus its ${workers.length} worker processes' (summed), from \`/proc/<pid>/stat\``;
  }

  /** CPU ticks of every process it took (guard, launcher, node and workers), for the machine's load figure. */
  ticks(): number {
    let sum = workerTicks(this.server.pid);
    for (const pid of [this.server.guardPid, this.server.launcherPid, this.server.pid]) {
      if (pid === undefined) continue;
      try {
        const fields = statFields(pid);
        sum += Number(fields[11]) + Number(fields[12]);
      } catch {
        // gone
      }
    }
    return sum;
  }
}
