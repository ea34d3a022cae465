/**
 * The server installs and loads only what it runs (issue 15, point 7): Deno
 * installs a lockfile's whole npm snapshot on any run, so deno.lock must hold
 * the server's packages alone; the SDKs the specs judge with live in
 * tests/import_map.json and tests/deno.lock.
 */
import assert from "node:assert/strict";
import { root } from "./support/spawn.ts";

/** What main.ts runs on: effect, the SSE parser, the upstream HTTP client, and Redis (loaded lazily). */
const SERVER = new Set(["effect", "eventsource-parser", "undici", "redis", "@redis/client"]);
const isServerPackage = (name: string) => SERVER.has(name) || name.startsWith("@redis/");
/** `@redis/json@6.3.1_@redis+client@6.3.1` → `@redis/json`. */
const packageName = (id: string) => id.slice(0, id.indexOf("@", 1));

const readJson = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, root)));

Deno.test("main.ts's module graph holds only the server's npm packages", async () => {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  const names = Object.keys(JSON.parse(new TextDecoder().decode(stdout)).npmPackages).map(packageName);
  assert.deepEqual(names.filter((name) => !isServerPackage(name)), []);
  for (const name of ["effect", "eventsource-parser", "undici", "redis"]) assert.ok(names.includes(name), name);
});

Deno.test("deno.lock and deno.json's imports hold the server's packages only; the tests' live beside them", async () => {
  const lock = await readJson("deno.lock");
  assert.deepEqual(Object.keys(lock.npm).map(packageName).filter((name) => !isServerPackage(name)), []);
  const { imports } = await readJson("deno.json");
  assert.deepEqual(Object.keys(imports).sort(), ["effect", "effect/", "eventsource-parser", "redis", "undici"]);

  const tests = await readJson("tests/import_map.json");
  for (const [name, target] of Object.entries(imports)) assert.equal(tests.imports[name], target, name);
  const testLock = await readJson("tests/deno.lock");
  for (const name of ["openai", "ai", "@ai-sdk/openai", "zod", "yaml"]) {
    assert.ok(tests.imports[name], `${name} in tests/import_map.json`);
    assert.ok(Object.keys(testLock.npm).some((id) => packageName(id) === name), `${name} in tests/deno.lock`);
  }
});
