/**
 * The deployment entry points: the single-file bundle (run with nothing but
 * the Deno binary), `deno serve serve.ts` (Deno Deploy's way), and the
 * compile task's handling of an unreachable runtime download.
 */
import assert from "node:assert/strict";
import { bundle } from "../scripts/bundle.ts";
import { isDownloadFailure, outputFor, targets } from "../scripts/compile.ts";

const root = new URL("..", import.meta.url);
const config = {
  providers: { openai: { base_url: "http://127.0.0.1:9/v1", keys: [{ value: "sk-upstream-secret-1" }] } },
  store: { kind: "memory" },
  log_level: "warn",
};

/** Spawns `args`, waits for `pattern` on stdout or stderr, and returns the first URL in that line. */
const startAndFindUrl = async (args: string[], cwd: URL | string, pattern: RegExp) => {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let found: ((line: string) => void) | undefined;
  const line = new Promise<string>((resolve) => (found = resolve));
  const drain = (stream: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        output += chunk;
        const match = output.split("\n").find((l) => pattern.test(l));
        if (match) found?.(match);
      }
    })();
  const done = Promise.all([child.status, drain(child.stdout), drain(child.stderr)]).then(([status]) => status);
  const listening = await Promise.race([
    line,
    done.then((status) => {
      throw new Error(`exited (${status.code}) before listening:\n${output}`);
    }),
  ]);
  const url = /(http:\/\/[\d.]+:\d+)/.exec(listening)![1].replace("0.0.0.0", "127.0.0.1");
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    return await done;
  };
  return { url, stop, output: () => output };
};

Deno.test("deno task bundle writes one file that runs with only the Deno binary and answers /health", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-bundle-" });
  try {
    const out = `${dir}/gateway.js`;
    assert.equal(await bundle(out), 0);
    // Run it from an empty directory: no deno.json, no node_modules, no npm, no remote modules.
    const gateway = await startAndFindUrl(
      [
        "run",
        "--no-config",
        "--no-npm",
        "--no-remote",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-write",
        "--allow-sys",
        "--unstable-kv",
        out,
      ],
      dir,
      /gateway listening on/,
    );
    try {
      const health = await fetch(`${gateway.url}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });
    } finally {
      const status = await gateway.stop();
      if (Deno.build.os !== "windows") assert.equal(status.code, 0, gateway.output());
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno serve serve.ts serves the default export { fetch } with config from GATEWAY_CONFIG_JSON", async () => {
  const gateway = await startAndFindUrl(
    [
      "serve",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "serve.ts",
    ],
    root,
    /Listening on/,
  );
  try {
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    // The gateway did not open a second listener of its own next to deno serve's.
    assert.ok(!gateway.output().includes("gateway listening on"), gateway.output());
  } finally {
    await gateway.stop();
  }
});

Deno.test("the compile task recognises an unreachable runtime download and names a binary per target", () => {
  // What `deno compile` 2.9 prints when dl.deno.land cannot be reached.
  const unreachable = [
    "error: Writing deno compile executable to temporary file 'dist/bin/gateway.tmp-1cae7b3a3469f0a3'",
    "Caused by:",
    "    0: Setting up base binary.",
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): " +
    "client error (Connect): dns error: failed to lookup address information: Name or service not known",
  ].join("\n");
  assert.equal(isDownloadFailure(unreachable), true);
  assert.equal(isDownloadFailure('error: Module not found "file:///work/main/nope.ts".'), false);
  assert.equal(isDownloadFailure("error: Could not find denort at '/opt/denort'"), false);
  assert.deepEqual(targets.map(outputFor), [
    "dist/bin/gateway-x86_64-unknown-linux-gnu",
    "dist/bin/gateway-aarch64-unknown-linux-gnu",
    "dist/bin/gateway-x86_64-apple-darwin",
    "dist/bin/gateway-aarch64-apple-darwin",
    "dist/bin/gateway-x86_64-pc-windows-msvc.exe",
  ]);
});
