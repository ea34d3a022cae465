/**
 * Starts the gateway as a server process: `deno task start`, `deno run ...
 * main.ts --config gateway.json`, the `deno task bundle` file and the
 * `deno task compile` binaries. (`deno serve` and Deno Deploy use `serve.ts`:
 * under `deno serve` this module could not tell that it must not listen itself.)
 *
 * On SIGTERM or SIGINT: the listener closes, open streams may finish for
 * `shutdown_grace_ms`, the rest end with an error frame, every finished
 * request's usage is recorded, buffered spans are flushed, and the process
 * exits 0. A second signal ends the open streams at once.
 */
import { makeGateway, StartError } from "./src/app.ts";
import { ConfigError, loadConfig } from "./src/config/load.ts";
import * as Telemetry from "./src/observability/Telemetry.ts";

const start = async () => {
  try {
    const { origin, config } = loadConfig();
    const telemetry = Telemetry.make(config.logLevel);
    return { origin, config, telemetry, gateway: await makeGateway(config, { telemetry }) };
  } catch (error) {
    // A bad config lists its problems; anything else (an unreachable store, a port in use) is
    // one line, not a stack trace. Neither carries a secret: messages name variables and hosts.
    console.error(
      error instanceof ConfigError
        ? error.message
        : error instanceof StartError
        ? `gateway failed to start: ${error.cause._tag}: ${error.message}`
        : `gateway failed to start: ${(error as Error)?.message}`,
    );
    Deno.exit(1);
  }
};

if (import.meta.main) {
  const { origin, config, telemetry, gateway } = await start();
  // No timeout is set here because Deno.serve (2.9) has none to set: a connection that sends
  // nothing, sends its head a byte at a time (up to the 64 KiB head limit), or idles between
  // requests stays open until the client leaves; after an early answer (401, 408, 413) the runtime
  // still reads and discards the rest of the declared body before closing. Only the gateway's
  // read of a body is bounded (`body_timeout_ms`); a proxy with client timeouts must bound the rest.
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    // Printed at every log level: operators and the benchmark read the port from it.
    onListen: ({ hostname, port }) =>
      console.log(JSON.stringify({
        time: new Date().toISOString(),
        level: "info",
        msg: `gateway listening on http://${hostname}:${port}`,
        config: origin,
      })),
  }, gateway.fetch);

  let stopping = false;
  const stop = async (signal: Deno.Signal) => {
    if (stopping) {
      telemetry.log("warn", "second signal: ending open streams now", { signal });
      await gateway.shutdown(0);
      return;
    }
    stopping = true;
    telemetry.log("info", "shutting down", {
      signal,
      open_streams: gateway.openStreams(),
      grace_ms: config.shutdownGraceMs,
    });
    // `server.shutdown()` closes the listener at once and resolves when every response is
    // written, streams included; the gateway meanwhile ends streams that outlive the grace.
    const closed = server.shutdown();
    await gateway.shutdown(config.shutdownGraceMs);
    await closed;
    await gateway.dispose();
    telemetry.log("info", "stopped", { signal });
    Deno.exit(0);
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, () => void stop(signal));
}
