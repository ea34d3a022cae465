/**
 * No generator function is made per request (issue 17, tail latency).
 *
 * `Effect.gen(function* () {...})` inside a function that runs per request makes a new generator
 * function each time, and V8 builds a fresh prototype and map for each one. Their registration
 * made every young-generation GC slower and promoted the request's garbage to the old generation:
 * at c=1 the gateway's scavenges took 7-9 ms every ~200 requests (0.2-0.3 ms for a proxy without
 * them), the p99 of its added latency. A route or service method is an `Effect.fnUntraced(function* ...)`
 * made once, when its module or layer is built; an `Effect.gen` is allowed only at the top level
 * of a module or of a layer's `make`, which runs once.
 */
import assert from "node:assert/strict";

const srcDir = new URL("../src/", import.meta.url);

const sources = async function* (dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sources(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
};

/** `Effect.gen` on a line that is a top-level declaration (`const make = Effect.gen(...)`), or not. */
const perCall = (line: string): boolean =>
  line.includes("Effect.gen(") && !/^(export )?const \w+(: [^=]+)? = Effect\.gen\(/.test(line);

Deno.test("no Effect.gen is made per call in src/: routes and service methods are Effect.fnUntraced, made once", async () => {
  const found: string[] = [];
  for await (const url of sources(srcDir)) {
    const lines = (await Deno.readTextFile(url)).split("\n");
    lines.forEach((line, index) => {
      if (!line.trimStart().startsWith("*") && !line.trimStart().startsWith("//") && perCall(line)) {
        found.push(`${url.pathname.slice(srcDir.pathname.length)}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(found, [], `Effect.gen made per call (use Effect.fnUntraced, made once):\n${found.join("\n")}`);
});

Deno.test("the check sees a per-call Effect.gen and lets a top-level one pass", () => {
  assert.equal(perCall("export const make = Effect.gen(function* () {"), false);
  assert.equal(perCall("const list = Effect.gen(function* () {"), false);
  assert.equal(perCall("  const list = Effect.gen(function* () {"), true);
  assert.equal(perCall("    Effect.gen(function* () {"), true);
  assert.equal(perCall("export const route = (request: Request) => Effect.gen(function* () {"), true);
});
