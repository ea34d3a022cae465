/**
 * Starting the bench's servers as child processes, each behind `guard.ts`, and stopping them.
 *
 * Every server listens on 127.0.0.1 port 0 and reports its port on stdout; the bench waits
 * for that line (bounded), then keeps draining stdout so a chatty child never blocks on a
 * full pipe. The last lines are kept for error messages.
 */
import { processExists } from "./procfs.ts";

export interface Server {
  readonly name: string;
  /** The server's own pid (not the guard's): the one to read CPU and memory from. */
  readonly pid: number;
  readonly port: number;
  /** The guard process in front of the server. */
  readonly guardPid: number;
  /** `performance.now()` when the server's process was spawned. */
  readonly spawnedAt: number;
  /** Recent stdout/stderr lines, for diagnostics. */
  readonly recent: () => string;
  readonly stop: () => Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  /** Arguments to `deno` (after the guard). */
  readonly args: ReadonlyArray<string>;
  /** Reads the listening port from one line of the child's stdout. */
  readonly portFrom: (line: string) => number | undefined;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** The guard kills the server after this long, whatever happens. */
  readonly deadlineMs: number;
  readonly startTimeoutMs?: number;
}

const guardPath = new URL("./guard.ts", import.meta.url).pathname;
const running = new Set<Server>();

/** Every server started and not yet stopped. */
export const runningServers = (): ReadonlyArray<Server> => [...running];

export const startServer = async (options: StartOptions): Promise<Server> => {
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", guardPath, String(options.deadlineMs), ...options.args],
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
  let port: number | undefined;
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const stdoutDone = drain(child.stdout, (line) => {
    remember(line);
    if (pid === undefined) {
      const match = /^\{"guard_child_pid":(\d+)\}$/.exec(line);
      if (match) pid = Number(match[1]);
    }
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
        if (pid !== undefined && processExists(pid)) {
          try {
            Deno.kill(pid, "SIGKILL");
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
