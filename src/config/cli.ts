/**
 * The command line of `main.ts` (and so of `deno task start`, the bundle and
 * the compiled binary), parsed strictly with the runtime's own `parseArgs`
 * (`node:util`): an unknown flag or a stray argument is a usage error (exit
 * 2), never a server started on defaults.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./src/config/cli.ts";
 * parseCommandLine(["--config", "gateway.json", "--check"]);
 * // => { _tag: "Run", configPath: "gateway.json", check: true, overrides: {} }
 * ```
 */
import { parseArgs } from "node:util";
import manifest from "../../deno.json" with { type: "json" };
import type { ConfigOverrides } from "./load.ts";

/** The gateway's version, from `deno.json` (so the bundle and the binaries carry it too). */
export const version: string = manifest.version;

export const usage = `Usage: deno task start [options]   (also: main.ts, dist/gateway.js, dist/bin/gateway-<target>)

Starts the LLM gateway. Without --config it reads env GATEWAY_CONFIG (a path),
then GATEWAY_CONFIG_JSON (the JSON itself), else its embedded default: OpenAI,
plus every preset whose key variable is set (ANTHROPIC_API_KEY, GEMINI_API_KEY, ...).

Options:
  --config PATH   the configuration file (JSON; see gateway.schema.json)
  --host HOST     the address to listen on (wins over env HOST and the file)
  --port PORT     the port to listen on, 0 for any free one (wins over env PORT and the file)
  --check         validate the configuration, print what would start, exit 0 (valid) or 1
  --version       print the version and exit
  -h, --help      print this help and exit

Exit codes: 0 stopped cleanly (SIGTERM, SIGINT), 1 could not start, 2 bad command line.
Docs: README.md and docs/ in the repository.`;

export type CommandLine =
  | {
    readonly _tag: "Run";
    readonly configPath?: string;
    readonly check: boolean;
    readonly overrides: ConfigOverrides;
  }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  /** A usage error: the message names it; the caller prints it with the usage and exits 2. */
  | { readonly _tag: "Invalid"; readonly message: string };

const invalid = (message: string): CommandLine => ({ _tag: "Invalid", message });

/** `parseArgs`'s messages, in the gateway's words. */
const usageMessage = (error: Error & { code?: string }): string => {
  const option = /'(-[^' ]*)/.exec(error.message)?.[1];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? error.message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `option ${option ?? ""} needs a value`.replace("  ", " ");
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ""} (every option starts with --)`;
    default:
      return error.message;
  }
};

export const parseCommandLine = (args: ReadonlyArray<string>): CommandLine => {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        check: { type: "boolean" },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    return invalid(usageMessage(error as Error));
  }
  if (values.help) return { _tag: "Help" };
  if (values.version) return { _tag: "Version" };
  if (values.config === "") return invalid("--config needs a path");
  if (values.host === "") return invalid("--host needs an address");
  let port: number | undefined;
  if (values.port !== undefined) {
    port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65535)) return invalid(`--port ${values.port}: not a port number (0-65535)`);
  }
  return {
    _tag: "Run",
    ...(values.config !== undefined ? { configPath: values.config } : {}),
    check: values.check ?? false,
    overrides: {
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(port !== undefined ? { port } : {}),
    },
  };
};
