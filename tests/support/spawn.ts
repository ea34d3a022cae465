/**
 * A child process as a user starts it (`deno run main.ts`, `deno task ...`,
 * `npx ...`), with its output collected line by line: the process-level specs
 * wait for a line, then judge the exit code and what was printed.
 */

export const root = new URL("..", new URL("..", import.meta.url));
export const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");

export interface Spawned {
  readonly child: Deno.ChildProcess;
  /** Resolves with the first stdout or stderr line matching; rejects if the process exits first. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once the process has exited and its output is read. */
  readonly exit: Promise<Deno.CommandStatus>;
  /** Sends `signal` (if still running) and waits for the exit. */
  readonly stop: (signal?: Deno.Signal) => Promise<Deno.CommandStatus>;
}

export interface SpawnOptions {
  readonly args: ReadonlyArray<string>;
  readonly cwd?: string | URL;
  readonly env?: Record<string, string>;
  /** Replaces the whole environment instead of adding to it. */
  readonly clearEnv?: boolean;
}

export const spawn = (command: string, options: SpawnOptions): Spawned => {
  const child = new Deno.Command(command, {
    args: [...options.args],
    cwd: options.cwd ?? root,
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: options.clearEnv ?? false,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const watchers: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const seen = (text: string) => {
    for (const line of text.split("\n")) {
      for (const watcher of watchers.filter((w) => w.pattern.test(line))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(line);
      }
    }
  };
  const drain = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      append(chunk);
      pending += chunk;
      const cut = pending.lastIndexOf("\n");
      if (cut >= 0) {
        seen(pending.slice(0, cut));
        pending = pending.slice(cut + 1);
      }
    }
    if (pending) seen(pending);
  };
  const exit = Promise.all([
    child.status,
    drain(child.stdout, (t) => (out += t)),
    drain(child.stderr, (t) => (err += t)),
  ]).then(([status]) => status);
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) => {
    const found = `${out}\n${err}`.split("\n").find((line) => pattern.test(line));
    if (found !== undefined) return Promise.resolve(found);
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      new Promise<string>((resolve) => watchers.push({ pattern, resolve })),
      exit.then((status) => {
        throw new Error(`exited (${status.code}) before printing ${pattern}:\n${out}\n${err}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    // A grandchild that outlives the child keeps the pipes open: then the status alone, after 15 s.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<Deno.CommandStatus>((resolve) => {
      timer = setTimeout(() => resolve(child.status), 15_000);
    });
    return await Promise.race([exit, late]).finally(() => clearTimeout(timer));
  };
  return { child, waitFor, stdout: () => out, stderr: () => err, exit, stop };
};

/** `deno run` of the real main.ts with the permissions `deno task start` gives it. */
export const spawnMain = (args: ReadonlyArray<string>, options: Omit<SpawnOptions, "args"> = {}): Spawned =>
  spawn(Deno.execPath(), {
    ...options,
    args: [
      "run",
      "--config",
      `${rootPath}/deno.json`,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      `${rootPath}/main.ts`,
      ...args,
    ],
  });

/** The first `http://HOST:PORT` in a line. */
export const urlIn = (line: string): string => {
  const match = /(http:\/\/[\w.:[\]-]+:\d+)/.exec(line);
  if (!match) throw new Error(`no URL in ${line}`);
  return match[1].replace("0.0.0.0", "127.0.0.1");
};

/** True once connections to `url` are refused (the listener is closed), within `timeoutMs`. */
export const refused = async (url: string, timeoutMs = 10_000): Promise<boolean> => {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const response = await fetch(`${url}/health`);
      await response.body?.cancel();
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
};

/** A port nothing listens on right now (briefly bound, then released). */
export const freePort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
};

/** `npx`, when this machine has it (CI does: it installs Deno from npm). */
export const npxPath = (): string | undefined => {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/npx`).isFile) return `${dir}/npx`;
    } catch {
      // not here
    }
  }
  return undefined;
};
