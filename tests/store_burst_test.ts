/**
 * The Deno KV store under bursts: many requests of one key finishing or
 * arriving at once. Each used to retry its own versionstamp-checked write of
 * the key's one record, so the work grew with the square of the burst (1,000
 * settlements took 40-50 s); the bounds below are generous and hold only
 * because a burst now costs a few commits.
 */
import assert from "node:assert/strict";
import { Effect, type Layer, ManagedRuntime } from "effect";
import { windowsAt } from "../src/auth/periods.ts";
import type { AdmitRequest } from "../src/auth/usage_record.ts";
import { UsageStore, type UsageStoreShape } from "../src/auth/UsageStore.ts";
import * as Stores from "../src/auth/UsageStore.ts";
import { makeGateway } from "../src/app.ts";
import { resolveConfig } from "../src/config/load.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { testConfig, VK } from "./support/gateway.ts";
import { pinnedClock } from "./support/clock.ts";

const noon = Date.UTC(2025, 0, 8, 12, 0, 30);
const at = windowsAt(noon);

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

/** A Deno KV store in a fresh temp dir; `reopen` closes it and opens the same file again. */
const withKv = async (
  fn: (store: UsageStoreShape, path: string, reopen: () => Promise<UsageStoreShape>) => Promise<void>,
) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/gateway.kv`;
  const open = async () => {
    const runtime = ManagedRuntime.make(Stores.layerOf({ kind: "kv", path }) as Layer.Layer<UsageStore>);
    return { runtime, store: await runtime.runPromise(Effect.service(UsageStore)) };
  };
  let opened = await open();
  try {
    await fn(opened.store, path, async () => {
      await opened.runtime.dispose();
      opened = await open();
      return opened.store;
    });
  } finally {
    await opened.runtime.dispose();
    await Deno.remove(dir, { recursive: true });
  }
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

Deno.test("1,000 concurrent settlements of one key on Deno KV are all recorded, exactly, within 5 s", async () => {
  await withKv(async (store, _path, reopen) => {
    const started = performance.now();
    await Promise.all(
      Array.from(
        { length: 1_000 },
        (_, i) => run(store.settle({ keyId: "k", windows: at, tokens: 7, nanos: 1_000 + i, requests: 1 })),
      ),
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `1,000 settlements took ${seconds(elapsed)}`);
    // Read back from a reopened file: what resolved is on disk, not in a buffer.
    const usage = await run((await reopen()).usage("k", at));
    assert.equal(usage.requests, 1_000);
    assert.equal(usage.tokens, 7_000);
    assert.equal(usage.spentNanos.total, 1_000 * 1_000 + (999 * 1_000) / 2);
  });
});

Deno.test("a request of a key in the middle of 1,000 settlements of that key is admitted within 2 s", async () => {
  await withKv(async (store) => {
    const burst = Promise.all(
      Array.from({ length: 1_000 }, () => run(store.settle({ keyId: "k", windows: at, tokens: 1, nanos: 1 }))),
    );
    const started = performance.now();
    const admission = await run(store.admit({ keyId: "k", windows: at, requestsPerMinute: 10_000 }));
    const elapsed = performance.now() - started;
    await burst;
    assert.equal(admission.outcome, "admitted");
    assert.ok(elapsed < 2_000, `the admission waited ${seconds(elapsed)}`);
  });
});

Deno.test("1,000 parallel admissions mixed with 1,000 settlements admit exactly the requests-per-minute limit", async () => {
  await withKv(async (store) => {
    const limited: AdmitRequest = { keyId: "k", windows: at, requestsPerMinute: 100 };
    const [outcomes] = await Promise.all([
      Promise.all(Array.from({ length: 1_000 }, () => run(store.admit(limited)))),
      Promise.all(
        Array.from({ length: 1_000 }, () => run(store.settle({ keyId: "k", windows: at, tokens: 2, nanos: 3 }))),
      ),
    ]);
    assert.equal(outcomes.filter((a) => a.outcome === "admitted").length, 100);
    assert.equal(outcomes.filter((a) => a.outcome === "requests").length, 900);
    const usage = await run(store.usage("k", at));
    assert.deepEqual([usage.requests, usage.tokens, usage.spentNanos.total], [100, 2_000, 3_000]);
  });
});

Deno.test("300 parallel requests against a budget on Deno KV: each admitted one is settled, and the spent budget refuses", async () => {
  await withKv(async (store) => {
    const budget = { period: "1d" as const, maxNanos: 5_000 };
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 300 }, async () => {
      const admission = await run(store.admit({ keyId: "k", windows: at, budget }));
      if (admission.outcome === "admitted") {
        await run(store.settle({ keyId: "k", windows: at, tokens: 10, nanos: 100 }));
      }
      return admission.outcome;
    }));
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `300 requests took ${seconds(elapsed)}`);
    const admitted = outcomes.filter((outcome) => outcome === "admitted").length;
    assert.equal(admitted + outcomes.filter((outcome) => outcome === "budget").length, 300);
    assert.equal((await run(store.usage("k", at))).spentNanos["1d"], admitted * 100);
    // Requests admitted together may overshoot the budget (each is priced after it ran); none passes after.
    assert.ok(admitted * 100 >= budget.maxNanos);
    const after = await Promise.all(
      Array.from({ length: 300 }, () => run(store.admit({ keyId: "k", windows: at, budget }))),
    );
    assert.deepEqual(new Set(after.map((a) => a.outcome)), new Set(["budget"]));
  });
});

Deno.test({
  name: "500 settlements are durable once they resolve: a SIGKILLed process left every one in the Deno KV file",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withKv(async (_store, path, reopen) => {
      // The child opens the same file; this test's own handle stays idle until the child is dead.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", new URL("./support/settle_then_hang.ts", import.meta.url).pathname, path, "500"],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let output = "";
      const until = async (word: string, ms: number) => {
        const deadline = setTimeout(() => child.kill("SIGKILL"), ms);
        try {
          while (!output.includes(word)) {
            const { value, done } = await lines.read();
            if (done) throw new Error(`the child ended before printing '${word}': ${output}`);
            output += value;
          }
        } finally {
          clearTimeout(deadline);
        }
      };
      try {
        await until("ready", 60_000);
        const started = performance.now();
        await until("settled", 5_000);
        const elapsed = performance.now() - started;
        child.kill("SIGKILL");
        assert.equal((await child.status).signal, "SIGKILL");
        assert.ok(elapsed < 5_000, `500 settlements took ${seconds(elapsed)}`);
        const usage = await run((await reopen()).usage("k", at));
        assert.deepEqual([usage.requests, usage.tokens, usage.spentNanos.total], [500, 1_500, 500_000]);
      } finally {
        try {
          child.kill("SIGKILL");
        } catch {
          // already dead
        }
        await lines.cancel().catch(() => {});
        await child.status;
      }
    });
  },
});

/** A priced gpt-5 stream: 10 tokens in and 5 out cost 62,500 nano-USD. */
const pricedStream = () => {
  const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
  const response = (status: string) => ({
    id: "resp_1",
    object: "response",
    created_at: 1,
    status,
    model: "gpt-5-2025-08-07",
    output: [],
    usage: status === "completed" ? usage : null,
  });
  return [
    { event: { type: "response.created", response: response("in_progress") } },
    { event: { type: "response.output_text.delta", item_id: "m", output_index: 0, content_index: 0, delta: "ok" } },
    { event: { type: "response.completed", response: response("completed") } },
  ];
};

Deno.test("after 300 priced streams of one key end together, shutdown has recorded every cost in Deno KV within 3 s", async () => {
  await withKv(async (_store, path, reopen) => {
    const upstream = startFakeUpstream(() => ({ sse: pricedStream() }));
    const config = resolveConfig(testConfig(upstream.url, { store: { kind: "kv", path } }), () => undefined);
    const gateway = await makeGateway(config, { clock: pinnedClock(() => noon) });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, gateway.fetch);
    try {
      const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/v1/chat/completions`;
      const bodies = await Promise.all(Array.from({ length: 300 }, async () => {
        const response = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${VK}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "openai/gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] }),
        });
        return await response.text();
      }));
      assert.ok(bodies.every((body) => body.includes("[DONE]")));
      // Every client has its answer; what is left is the settlements the streams detached.
      const started = performance.now();
      await gateway.shutdown(5_000);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 3_000, `shutdown waited ${seconds(elapsed)} for 300 settlements`);
    } finally {
      await server.shutdown();
      await gateway.dispose();
      await upstream.close();
    }
    const usage = await run((await reopen()).usage("team-a", at));
    assert.deepEqual([usage.requests, usage.tokens, usage.spentNanos.total], [300, 4_500, 300 * 62_500]);
  });
});
