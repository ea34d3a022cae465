/**
 * The gateway as a default export `{ fetch }`, for `deno serve serve.ts` and
 * Deno Deploy. The configuration comes from `GATEWAY_CONFIG_JSON` (the JSON
 * itself) or `GATEWAY_CONFIG` (a path); see `src/config/load.ts`.
 *
 * `deno serve` owns the listener: it binds its own `--host`/`--port`
 * (0.0.0.0:8000 when none are given), never the config's `host`/`port` or env
 * `PORT`. `deno task serve` reads them from the configuration and passes them
 * on; on Deno Deploy the platform picks the address.
 *
 * On SIGTERM/SIGINT this module can only do the rest of a graceful shutdown:
 * let open streams finish for `shutdown_grace_ms`, end the others, record
 * usage, flush spans, exit 0. A start-up failure is one line and exit code 1.
 *
 * Log lines go through the process's log sink (`log_sink.ts`): written after
 * each response, waited for before the exit, and written out on any exit.
 */
import { makeGateway, StartError } from "./src/app.ts";
import { ConfigError, denoSources, loadConfig } from "./src/config/load.ts";
import { summarize, summaryText } from "./src/config/summary.ts";
import { stdoutSink } from "./src/observability/log_sink.ts";

const failed = (message: string): never => {
  console.error(`gateway failed to start: ${message}`);
  Deno.exit(1);
};

const { origin, config } = (() => {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) return failed(`invalid configuration: ${error.problems.join("; ")}`);
    throw error;
  }
})();

const gateway = await makeGateway(config).catch((error) =>
  failed(error instanceof StartError ? `${error.cause._tag}: ${error.message}` : `${error?.name}: ${error?.message}`)
);

let stopping = false;
const stop = async () => {
  if (stopping) return void gateway.shutdown(0);
  stopping = true;
  await gateway.shutdown(config.shutdownGraceMs);
  await gateway.dispose();
  await stdoutSink().drain();
  Deno.exit(0);
};
try {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, () => void stop());
} catch {
  // Platforms without signals (Deno Deploy) manage the isolate's lifetime themselves.
}

// deno serve prints its own "Listening on" line with the address; this one says what is served,
// after the lines the gateway logged while starting.
stdoutSink().push({
  time: Date.now(),
  level: "info",
  msg: `gateway loaded under deno serve; ${summaryText(summarize(config, origin, denoSources().env))}`,
  fields: { config: origin },
});
stdoutSink().flush();

export default { fetch: gateway.fetch } satisfies Deno.ServeDefaultExport;
