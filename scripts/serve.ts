/**
 * `deno task serve [--config PATH] [--host HOST] [--port PORT]`: the gateway
 * under `deno serve serve.ts` (Deno Deploy's entry point), bound where the
 * configuration says. `deno serve` alone binds 0.0.0.0:8000 whatever the
 * config's `host`/`port` or env `PORT` say, and the served module cannot
 * change that; so this reads the configuration the way `main.ts` does and
 * passes `--host`/`--port` on.
 *
 * SIGINT and SIGTERM are passed to `deno serve`, and its exit code is this
 * task's. On Deno Deploy none of this runs: the platform owns the address.
 */
import { parseCommandLine, usage, version } from "../src/config/cli.ts";
import { ConfigError, denoSources, loadConfig } from "../src/config/load.ts";

const root = new URL("..", import.meta.url);

/** The `deno serve` command line for a resolved host and port. */
export const serveArgs = (host: string, port: number): string[] => [
  "serve",
  "--config",
  new URL("deno.json", root).pathname,
  "--host",
  host,
  "--port",
  String(port),
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  new URL("serve.ts", root).pathname,
];

if (import.meta.main) {
  const command = parseCommandLine(Deno.args);
  if (command._tag === "Help" || command._tag === "Version") {
    console.log(command._tag === "Help" ? usage : `gateway ${version} (deno ${Deno.version.deno})`);
    Deno.exit(0);
  }
  if (command._tag === "Invalid" || command.check) {
    const message = command._tag === "Invalid" ? command.message : "--check: use deno task start --check";
    console.error(`gateway: ${message}\n\n${usage}`);
    Deno.exit(2);
  }
  let host: string;
  let port: number;
  try {
    ({ config: { host, port } } = loadConfig(denoSources(command.configPath), command.overrides));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`gateway failed to start: ${error.problems.join("; ")}`);
    Deno.exit(1);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: serveArgs(host, port),
    // serve.ts reads the configuration from the environment: a --config path becomes GATEWAY_CONFIG.
    env: command.configPath !== undefined ? { GATEWAY_CONFIG: command.configPath } : {},
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) {
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
