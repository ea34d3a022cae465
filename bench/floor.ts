/**
 * The floor: a bare Deno pass-through proxy with no logic. `Deno.serve` + `fetch`, the
 * request body streamed through as it arrives and the upstream's response returned as it is.
 * Whatever this adds over a direct call is what the runtime costs before any gateway work.
 *
 * Usage: `deno run --allow-net bench/floor.ts http://127.0.0.1:PORT`; prints `{"port":P}`.
 */

const upstream = Deno.args[0];
if (!upstream) throw new Error("usage: floor.ts <upstream origin>");

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, (request) => {
  const url = request.url;
  return fetch(upstream + url.slice(url.indexOf("/", 8)), {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
});
// Exit cleanly on SIGTERM, so that a `--cpu-prof` profile is written.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
await server.finished;
