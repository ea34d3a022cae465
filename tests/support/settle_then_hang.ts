/**
 * A child process for `store_burst_test.ts`: opens the Deno KV store at
 * argv[0], starts argv[1] settlements for one key at once, prints `settled`
 * when every one has resolved, and then hangs until it is killed. The store is
 * never closed, so what the parent reads back is what a `kill -9` leaves.
 */
import { Effect, type Layer, ManagedRuntime } from "effect";
import { windowsAt } from "../../src/auth/periods.ts";
import * as Stores from "../../src/auth/UsageStore.ts";

const [path, count] = Deno.args;
const runtime = ManagedRuntime.make(Stores.layerOf({ kind: "kv", path }) as Layer.Layer<Stores.UsageStore>);
const store = await runtime.runPromise(Effect.service(Stores.UsageStore));
const windows = windowsAt(Date.UTC(2025, 0, 8, 12, 0, 30));
console.log("ready");
await Promise.all(
  Array.from(
    { length: Number(count) },
    () => Effect.runPromise(store.settle({ keyId: "k", windows, tokens: 3, nanos: 1_000, requests: 1 })),
  ),
);
console.log("settled");
setInterval(() => {}, 60_000);
