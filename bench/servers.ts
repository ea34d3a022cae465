/**
 * Starting the bench's servers as child processes, each behind `guard.ts`, and stopping them.
 *
 * Every server listens on 127.0.0.1 port 0 and reports its port on stdout; the bench waits
 * for that line (bounded), then keeps draining stdout so a chatty child never blocks on a
 * full pipe. The last lines are kept for error messages.
 *
 * A server that is not a Deno script (a peer gateway on Node, `bench/peers.ts`) runs behind
 * this file as a launcher: the guard starts `deno run --allow-run servers.ts <command> <args...>`,
 * which spawns the command, prints `{"exec_child_pid":PID}`, passes SIGTERM and SIGINT on to it
 * and exits with it. The guard's clean-up then reaches the command through the launcher.
 */
import { processExists } from "./procfs.ts";

export interface Server {
  readonly name: string;
  /** The server's own pid (not the guard's): the one to read CPU and memory from. */
  readonly pid: number;
  readonly port: number;
  /** The guard process in front of the server. */
  readonly guardPid: number;
  /** The launcher between the guard and a server started with `command`. */
  readonly launcherPid: number | undefined;
  /** `performance.now()` when the server's process was spawned. */
  readonly spawnedAt: number;
  /** Recent stdout/stderr lines, for diagnostics. */
  readonly recent: () => string;
  readonly stop: () => Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  /** Arguments to `deno` (after the guard), or to `command` when given. */
  readonly args: ReadonlyArray<string>;
  /** An executable other than `deno` (`node`, say), started through this file as a launcher. */
  readonly command?: string;
  /** Reads the listening port from one line of the child's stdout. */
  readonly portFrom: (line: string) => number | undefined;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** The guard kills the server after this long, whatever happens. */
  readonly deadlineMs: number;
  readonly startTimeoutMs?: number;
}

const guardPath = new URL("./guard.ts", import.meta.url).pathname;
const launcherPath = new URL(import.meta.url).pathname;
const running = new Set<Server>();

/** Every server started and not yet stopped. */
export const runningServers = (): ReadonlyArray<Server> => [...running];

export const startServer = async (options: StartOptions): Promise<Server> => {
  const spawnedAt = performance.now();
  const serverArgs = options.command === undefined
    ? options.args
    : ["run", "--allow-run", launcherPath, options.command, ...options.args];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", guardPath, String(options.deadlineMs), ...serverArgs],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env ?? {},
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();

  const recentLines: string[] = [];
  const remember = (line: string) => {
    recentLines.push(line);
    if (recentLines.length > 40) recentLines.shift();
  };
  const drain = async (stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) => {
    let pending = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        pending += text;
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          onLine(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    } catch {
      // the child went away
    }
    if (pending) onLine(pending);
  };

  let pid: number | undefined;
  /** The launcher between the guard and a `command` server. */
  let launcherPid: number | undefined;
  let port: number | undefined;
  // The guard's first line names its child: the server itself, or the launcher, which then names the server.
  const guardChildLine = /^\{"guard_child_pid":(\d+)\}$/;
  const execChildLine = /^\{"exec_child_pid":(\d+)\}$/;
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const stdoutDone = drain(child.stdout, (line) => {
    remember(line);
    const guardChild = guardChildLine.exec(line)?.[1];
    if (guardChild !== undefined && options.command === undefined) pid ??= Number(guardChild);
    else if (guardChild !== undefined) launcherPid ??= Number(guardChild);
    const execChild = options.command === undefined ? undefined : execChildLine.exec(line)?.[1];
    if (execChild !== undefined) pid ??= Number(execChild);
    port ??= options.portFrom(line);
    if (pid !== undefined && port !== undefined) ready();
  });
  const stderrDone = drain(child.stderr, remember);
  const stdin = child.stdin.getWriter();

  let stopped: Promise<void> | undefined;
  const server: Server = {
    name: options.name,
    get pid() {
      return pid ?? child.pid;
    },
    get port() {
      return port ?? 0;
    },
    guardPid: child.pid,
    get launcherPid() {
      return launcherPid;
    },
    spawnedAt,
    recent: () => recentLines.join("\n"),
    stop: () =>
      stopped ??= (async () => {
        running.delete(server);
        // Closing the guard's stdin is its signal to stop the server and exit.
        await stdin.close().catch(() => {});
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 4_000);
        await child.status;
        clearTimeout(killer);
        // The guard waits for its child, but a SIGKILLed guard cannot: check, and finish the job.
        for (const left of [launcherPid, pid]) {
          if (left === undefined || !processExists(left)) continue;
          try {
            Deno.kill(left, "SIGKILL");
          } catch {
            // gone in the meantime
          }
        }
        await Promise.all([stdoutDone, stderrDone]);
      })(),
  };
  running.add(server);

  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = child.status.then((status) => {
    throw new Error(`${options.name} exited with code ${status.code} before it was ready:\n${server.recent()}`);
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${options.name} did not report a port within ${options.startTimeoutMs ?? 30_000} ms`)),
      options.startTimeoutMs ?? 30_000,
    );
  });
  try {
    await Promise.race([readyPromise, exited, timeout]);
  } catch (error) {
    await server.stop();
    throw error;
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
  return server;
};

/** Stops every running server; safe to call more than once. */
export const stopAll = async (): Promise<void> => {
  await Promise.all(runningServers().map((server) => server.stop()));
};

/** `{"port":P}`, the line the mock and the floor print. */
export const jsonPort = (line: string): number | undefined => {
  const match = /^\{"port":(\d+)\}$/.exec(line);
  return match ? Number(match[1]) : undefined;
};

/** The gateway's start-up log line: `gateway listening on http://HOST:PORT`. */
export const gatewayPort = (line: string): number | undefined => {
  const match = /gateway listening on http:\/\/[^"\s]+:(\d+)/.exec(line);
  return match ? Number(match[1]) : undefined;
};

// ===== Launcher =====

// `deno run --allow-run bench/servers.ts <command> <args...>`: what the guard runs for a `command` server.
if (import.meta.main) {
  const [command, ...args] = Deno.args;
  if (!command) throw new Error("usage: servers.ts <command> <args...>");
  const child = new Deno.Command(command, { args, stdin: "null", stdout: "inherit", stderr: "inherit" }).spawn();
  console.log(JSON.stringify({ exec_child_pid: child.pid }));
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    });
  }
  Deno.exit((await child.status).code);
}
