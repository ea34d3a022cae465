/**
 * Starts the gateway.
 *
 * - `deno task start` (or `deno run ... main.ts --config gateway.json`) serves with `Deno.serve`.
 * - `deno serve main.ts` and Deno Deploy use the default export's `fetch`.
 */
import { makeGateway } from "./src/app.ts";
import { ConfigError, loadConfig } from "./src/config/load.ts";

const start = async () => {
  try {
    const { origin, config } = loadConfig();
    return { origin, config, gateway: await makeGateway(config) };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      Deno.exit(1);
    }
    throw error;
  }
};

const { origin, config, gateway } = await start();

if (import.meta.main) {
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) =>
      console.log(
        JSON.stringify({
          time: new Date().toISOString(),
          level: "info",
          msg: `gateway listening on http://${hostname}:${port}`,
          config: origin,
        }),
      ),
  }, gateway.fetch);
  const stop = () => {
    server.shutdown().finally(() => gateway.dispose()).finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
}

export default { fetch: gateway.fetch } satisfies Deno.ServeDefaultExport;
