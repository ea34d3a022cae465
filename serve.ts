/**
 * The gateway as a default export `{ fetch }`, for `deno serve serve.ts` and
 * Deno Deploy. The configuration comes from `GATEWAY_CONFIG_JSON` (the JSON
 * itself) or `GATEWAY_CONFIG` (a path); see `src/config/load.ts`.
 *
 * `deno serve` owns the listener, so on SIGTERM/SIGINT this module can only do
 * the rest of a graceful shutdown: let open streams finish for
 * `shutdown_grace_ms`, end the others, record usage, flush spans, exit 0.
 */
import { makeGateway } from "./src/app.ts";
import { ConfigError, loadConfig } from "./src/config/load.ts";

const { config } = (() => {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      Deno.exit(1);
    }
    throw error;
  }
})();

const gateway = await makeGateway(config);

let stopping = false;
const stop = async () => {
  if (stopping) return void gateway.shutdown(0);
  stopping = true;
  await gateway.shutdown(config.shutdownGraceMs);
  await gateway.dispose();
  Deno.exit(0);
};
try {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, () => void stop());
} catch {
  // Platforms without signals (Deno Deploy) manage the isolate's lifetime themselves.
}

export default { fetch: gateway.fetch } satisfies Deno.ServeDefaultExport;
