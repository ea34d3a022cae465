/**
 * Starts the gateway as a server process: `deno task start`, `deno run ...
 * main.ts --config gateway.json`, the `deno task bundle` file and the
 * `deno task compile` binaries. (`deno serve` and Deno Deploy use `serve.ts`:
 * under `deno serve` this module could not tell that it must not listen itself.)
 * `--help` lists the flags; `--check` validates the configuration and exits.
 *
 * Every start-up failure is one line on stderr, `gateway failed to start: ...`,
 * naming the cause (a config problem by path, the store, the port), and exit
 * code 1; a bad command line is exit code 2.
 *
 * On SIGTERM or SIGINT: the listener closes, open streams may finish for
 * `shutdown_grace_ms`, the rest end with an error frame, every finished
 * request's usage is recorded, buffered spans are flushed, and the process
 * exits 0. A second signal ends the open streams at once.
 *
 * Log lines go to stdout through the process's log sink (`log_sink.ts`),
 * written after each response; the graceful stop waits for them, and any exit
 * writes what is still buffered.
 */
import { makeGateway, StartError } from "./src/app.ts";
import { parseCommandLine, usage, version } from "./src/config/cli.ts";
import { ConfigError, type ConfigOverrides, denoSources, readRawConfig, resolveConfig } from "./src/config/load.ts";
import { summarize, summaryText } from "./src/config/summary.ts";
import { stdoutSink } from "./src/observability/log_sink.ts";
import * as Telemetry from "./src/observability/Telemetry.ts";

// ===== One line per failure =====

function exitWith(code: number, line: string): never {
  console.error(line);
  // Log lines already buffered (a start-up warning) go out on the way: the sink writes them on `unload`.
  Deno.exit(code);
}

/** One problem on the line itself; several, one per indented line under it. */
const configProblems = (error: ConfigError, origin: string): string =>
  error.problems.length === 1
    ? `invalid configuration (${origin}): ${error.problems[0]}`
    : `invalid configuration (${origin}), ${error.problems.length} problems:\n${
      error.problems.map((p) => `  - ${p}`).join("\n")
    }`;

/** Reads and resolves the configuration, or exits 1 with `prefix` and what is wrong (one line a problem). */
const loadOrExit = (configPath: string | undefined, overrides: ConfigOverrides, prefix: string) => {
  const sources = denoSources(configPath);
  let read: ReturnType<typeof readRawConfig>;
  try {
    read = readRawConfig(sources);
  } catch (error) {
    if (error instanceof ConfigError) return exitWith(1, `${prefix}${error.problems.join("; ")}`);
    throw error;
  }
  try {
    return { origin: read.origin, config: resolveConfig(read.raw, sources.env, overrides), env: sources.env };
  } catch (error) {
    if (error instanceof ConfigError) return exitWith(1, `${prefix}${configProblems(error, read.origin)}`);
    throw error;
  }
};

/** `AddrInUse` and `PermissionDenied` by their names, with what to do; no stack trace. */
const listenProblem = (error: unknown, host: string, port: number): string => {
  const name = (error as Error)?.name ?? "Error";
  const what = name === "AddrInUse"
    ? "address already in use (AddrInUse); is another gateway running? Pass --port or set PORT"
    : name === "PermissionDenied" || name === "NotCapable"
    ? `permission denied (${name}); ports below 1024 need privileges: pass --port`
    : `${(error as Error)?.message ?? String(error)} (${name})`;
  return `cannot listen on ${host}:${port}: ${what}`;
};

// ===== Under npm =====

/**
 * `npx deno task start` (and `npm run`) start the gateway through `sh -c`, and on SIGTERM npm
 * signals only that shell; where `sh` is dash (Debian, Ubuntu, the node images) the shell dies
 * without passing the signal on, and the gateway would keep its port with no parent to stop it.
 * So when npm started it, the gateway finds npm among its ancestors (`ps`, which `deno task
 * start` may run) before it listens, and stops as on SIGTERM once that process is gone. Under
 * `deno task start`, the binary, Docker or a process manager, signals arrive directly and no
 * `ps` runs.
 */
const ps = async (pid: number) => {
  try {
    const { success, stdout } = await new Deno.Command("ps", {
      args: ["-o", "ppid=", "-o", "lstart=", "-o", "comm=", "-p", String(pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    // `lstart` is five words (`Mon Nov 30 04:05:31 2026`), then the command name.
    const line = new TextDecoder().decode(stdout).trim();
    const match = /^(\d+)\s+(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(.*)$/.exec(line);
    return success && match ? { ppid: Number(match[1]), started: match[2], comm: match[3] } : undefined;
  } catch {
    return undefined; // no `ps`, or no permission to run it: nothing to watch
  }
};

/** The npm process this gateway runs under (pid and start time, against pid reuse), if any. */
const findNpmLauncher = async (): Promise<{ pid: number; started: string } | undefined> => {
  if (Deno.build.os === "windows" || Deno.env.get("npm_command") === undefined) return undefined;
  let pid = Deno.ppid;
  for (let depth = 0; depth < 6 && pid > 1; depth++) {
    const info = await ps(pid);
    if (info === undefined) return undefined;
    if (/^(npm|npx|node)\b/.test(info.comm.split("/").at(-1) ?? "")) return { pid, started: info.started };
    pid = info.ppid;
  }
  return undefined;
};

const watchLauncher = (launcher: { pid: number; started: string }, onGone: () => void) => {
  const timer = setInterval(async () => {
    if ((await ps(launcher.pid))?.started === launcher.started) return;
    clearInterval(timer);
    onGone();
  }, 1000);
  Deno.unrefTimer(timer);
};

// ===== Start =====

if (import.meta.main) {
  const command = parseCommandLine(Deno.args);
  if (command._tag === "Help") {
    console.log(usage);
    Deno.exit(0);
  }
  if (command._tag === "Version") {
    console.log(`gateway ${version} (deno ${Deno.version.deno})`);
    Deno.exit(0);
  }
  if (command._tag === "Invalid") exitWith(2, `gateway: ${command.message}\n\n${usage}`);

  if (command.check) {
    const { origin, config, env } = loadOrExit(command.configPath, command.overrides, "");
    const summary = summarize(config, origin, env);
    const providers = Object.entries(summary.providers).map(([name, api]) => `${name} (${api})`).join(", ");
    console.log(
      [
        `configuration valid (${origin})`,
        `  listen: http://${config.host}:${config.port}`,
        `  providers: ${providers}`,
        `  virtual keys: ${summary.virtual_keys}`,
        `  auth: ${summary.auth}`,
        `  store: ${summary.store}`,
        ...(summary.env_keys !== undefined
          ? [`  keys from the environment: ${summary.env_keys.join(", ") || "none (clients send their own)"}`]
          : []),
        ...summary.warnings.map((w) => `  warning: ${w}`),
      ].join("\n"),
    );
    Deno.exit(0);
  }

  const { origin, config, env } = loadOrExit(command.configPath, command.overrides, "gateway failed to start: ");
  const logSink = stdoutSink();
  const telemetry = Telemetry.make(config.logLevel, logSink);
  const gateway = await makeGateway(config, { telemetry }).catch((error) =>
    exitWith(
      1,
      error instanceof StartError
        ? `gateway failed to start: ${error.cause._tag}: ${error.message}`
        : `gateway failed to start: ${(error as Error)?.name}: ${(error as Error)?.message}`,
    )
  );
  const summary = summarize(config, origin, env);
  // Before listening: a client that saw the listening line may signal npm at once.
  const launcher = await findNpmLauncher();

  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let stopping = false;
  const stop = async (signal: Deno.Signal, reason?: string) => {
    if (stopping) {
      telemetry.log("warn", "second signal: ending open streams now", { signal });
      await gateway.shutdown(0);
      return;
    }
    stopping = true;
    telemetry.log("info", "shutting down", {
      signal,
      ...(reason !== undefined ? { reason } : {}),
      open_streams: gateway.openStreams(),
      grace_ms: config.shutdownGraceMs,
    });
    // `server.shutdown()` closes the listener at once and resolves when every response is
    // written, streams included; the gateway meanwhile ends streams that outlive the grace.
    const closed = server?.shutdown();
    await gateway.shutdown(config.shutdownGraceMs);
    await closed;
    await gateway.dispose();
    telemetry.log("info", "stopped", { signal });
    // Every line logged so far reaches stdout before the exit (bounded, for a stdout nobody reads);
    // what a stuck write still holds is written by the sink on `unload`.
    await logSink.drain();
    Deno.exit(0);
  };
  // Before listening: a signal sent as soon as the listening line is read must find its
  // listener, or the default action kills the process (exit 143) without the graceful stop.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, () => void stop(signal));

  // No timeout is set here because Deno.serve (2.9) has none to set: a connection that sends
  // nothing, sends its head a byte at a time (up to the 64 KiB head limit), or idles between
  // requests stays open until the client leaves; after an early answer (401, 408, 413) the runtime
  // still reads and discards the rest of the declared body before closing. Only the gateway's
  // read of a body is bounded (`body_timeout_ms`); a proxy with client timeouts must bound the rest.
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      // Printed at every log level: operators and the benchmark read the port from it. Through
      // the sink, after any line logged before it, and written at once rather than after the tick.
      onListen: ({ hostname, port }) => {
        logSink.push({
          time: Date.now(),
          level: "info",
          msg: `gateway listening on http://${hostname}:${port}; ${summaryText(summary)}`,
          fields: {
            config: origin,
            pid: Deno.pid,
            providers: summary.providers,
            virtual_keys: summary.virtual_keys,
            auth: summary.auth,
            store: summary.store,
            ...(summary.env_keys !== undefined ? { env_keys: summary.env_keys } : {}),
          },
        });
        logSink.flush();
        for (const warning of summary.warnings) telemetry.log("warn", warning);
      },
    }, gateway.fetch);
  } catch (error) {
    await gateway.dispose();
    exitWith(1, `gateway failed to start: ${listenProblem(error, config.host, config.port)}`);
  }
  if (launcher) watchLauncher(launcher, () => void stop("SIGTERM", "npm, which started the gateway, exited"));
}
