/**
 * One specification, three stores: memory, Deno KV (a temp file) and Redis (a
 * real `redis-server` at REDIS_URL; CI starts one in `.ci/services`).
 */
import assert from "node:assert/strict";
import { Effect, Layer, ManagedRuntime, Redacted } from "effect";
import { createClient } from "redis";
import { windowsAt } from "../src/auth/periods.ts";
import type { AdmitRequest, UsageRecord } from "../src/auth/usage_record.ts";
import { type StoredKey, UsageStore, type UsageStoreShape } from "../src/auth/UsageStore.ts";
import * as Stores from "../src/auth/UsageStore.ts";
import type { StoreConfig } from "../src/config/load.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";

const REDIS_URL = Deno.env.get("REDIS_URL");
const IN_CI = Deno.env.get("CI") === "true";
if (!REDIS_URL && !IN_CI) console.warn("store_contract_test: REDIS_URL is not set, so the Redis store is not tested.");

const noon = Date.UTC(2025, 0, 8, 12, 0, 30); // a Wednesday
const at = windowsAt(noon);
const nextMinute = windowsAt(noon + 60_000);
const nextDay = windowsAt(noon + 86_400_000);

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

interface Opened {
  readonly store: UsageStoreShape;
  readonly close: () => Promise<void>;
}

/** Opens the store a config names; its warnings go to `logs`. */
const open = async (config: StoreConfig, logs: string[]): Promise<Opened> => {
  const telemetry = Telemetry.make("debug", (line) => logs.push(line));
  const layer = Stores.layerOf(config).pipe(Layer.provide(Layer.succeed(Telemetry.Telemetry, telemetry)));
  const runtime = ManagedRuntime.make(layer as Layer.Layer<UsageStore>);
  const store = await runtime.runPromise(Effect.service(UsageStore));
  return { store, close: () => runtime.dispose() };
};

const storedKey = (id: string, overrides: Partial<StoredKey> = {}): StoredKey => ({
  id,
  digest: `digest-of-${id}`,
  models: ["*"],
  active: true,
  created_at: "2025-01-01T00:00:00.000Z",
  revision: "r1",
  ...overrides,
});

interface Backend {
  readonly name: string;
  readonly ignore: boolean;
  /** A fresh, empty store configuration, and how to clean up after it. */
  readonly fresh: () => Promise<{ readonly config: StoreConfig; readonly cleanup: () => Promise<void> }>;
  readonly persistent: boolean;
  /**
   * Writes key `k`'s usage record as an older gateway could have left it: every
   * count NaN in the current windows (absent where no data can outlive the process).
   */
  readonly poison?: (config: StoreConfig) => Promise<void>;
}

/** Every count NaN, in the windows of `at`. */
const poisoned: UsageRecord = {
  minute: at.minute,
  requests: NaN,
  tokens: NaN,
  day: at.day,
  dayNanos: NaN,
  week: at.week,
  weekNanos: NaN,
  month: at.month,
  monthNanos: NaN,
  totalNanos: NaN,
};

const backends: Backend[] = [
  {
    name: "memory",
    ignore: false,
    persistent: false,
    fresh: () => Promise.resolve({ config: { kind: "memory" }, cleanup: () => Promise.resolve() }),
  },
  {
    name: "Deno KV",
    ignore: false,
    persistent: true,
    fresh: async () => {
      const dir = await Deno.makeTempDir();
      return {
        config: { kind: "kv", path: `${dir}/nested/gateway.kv` },
        cleanup: () => Deno.remove(dir, { recursive: true }),
      };
    },
    poison: async (config) => {
      assert.ok(config.kind === "kv");
      const kv = await Deno.openKv(config.path);
      await kv.set(["gateway", "usage", "k"], poisoned);
      kv.close();
    },
  },
  {
    name: "Redis",
    ignore: !REDIS_URL && !IN_CI,
    persistent: true,
    fresh: () => {
      assert.ok(REDIS_URL, "REDIS_URL must name a running redis-server in CI (see .ci/services)");
      const prefix = `test:${crypto.randomUUID()}:`;
      return Promise.resolve({
        config: { kind: "redis", url: Redacted.make(REDIS_URL), prefix },
        cleanup: async () => {
          const client = createClient({ url: REDIS_URL });
          await client.connect();
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
            if (keys.length > 0) await client.del(keys);
          }
          await client.close();
        },
      });
    },
    poison: async (config) => {
      assert.ok(config.kind === "redis");
      const client = createClient({ url: Redacted.value(config.url) });
      await client.connect();
      // What `String(Math.round(NaN))` put there through the settle script's HSET.
      await client.hSet(`${config.prefix}{k}:usage`, {
        minute: String(poisoned.minute),
        requests: "NaN",
        tokens: "NaN",
        day: poisoned.day,
        day_nanos: "NaN",
        week: poisoned.week,
        week_nanos: "NaN",
        month: poisoned.month,
        month_nanos: "NaN",
        total_nanos: "NaN",
      });
      await client.close();
    },
  },
];

const limited = (overrides: Partial<AdmitRequest> = {}): AdmitRequest => ({ keyId: "k", windows: at, ...overrides });

for (const backend of backends) {
  const test = (
    name: string,
    fn: (store: UsageStoreShape, reopen: () => Promise<UsageStoreShape>, context: {
      readonly config: StoreConfig;
      readonly logs: string[];
    }) => Promise<void>,
  ) =>
    Deno.test({
      name: `${backend.name} store: ${name}`,
      ignore: backend.ignore,
      fn: async () => {
        const { config, cleanup } = await backend.fresh();
        const logs: string[] = [];
        let opened = await open(config, logs);
        try {
          await fn(opened.store, async () => {
            await opened.close();
            opened = await open(config, logs);
            return opened.store;
          }, { config, logs });
        } finally {
          await opened.close();
          await cleanup();
        }
      },
    });

  test("admits up to the requests-per-minute limit and does not count the refusals", async (store) => {
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await run(store.admit(limited({ requestsPerMinute: 3 })))).outcome);
    assert.deepEqual(outcomes, ["admitted", "admitted", "admitted", "requests", "requests"]);
    assert.equal((await run(store.usage("k", at))).requests, 3);
  });

  test("a new UTC minute starts the request and token counts from zero", async (store) => {
    await run(store.admit(limited({ requestsPerMinute: 1 })));
    await run(store.settle({ keyId: "k", windows: at, tokens: 40, nanos: 5 }));
    assert.equal((await run(store.admit(limited({ requestsPerMinute: 1 })))).outcome, "requests");
    const admitted = await run(store.admit(limited({ requestsPerMinute: 1, windows: nextMinute })));
    assert.equal(admitted.outcome, "admitted");
    assert.ok(admitted.outcome === "admitted");
    assert.equal(admitted.usage.requests, 1);
    assert.equal(admitted.usage.tokens, 0);
    assert.equal(admitted.usage.spentNanos["1d"], 5);
  });

  test("refuses once the minute's settled tokens reach the tokens-per-minute limit", async (store) => {
    assert.equal((await run(store.admit(limited({ tokensPerMinute: 100 })))).outcome, "admitted");
    await run(store.settle({ keyId: "k", windows: at, tokens: 60, nanos: 0 }));
    assert.equal((await run(store.admit(limited({ tokensPerMinute: 100 })))).outcome, "admitted");
    await run(store.settle({ keyId: "k", windows: at, tokens: 40, nanos: 0 }));
    const refused = await run(store.admit(limited({ tokensPerMinute: 100 })));
    assert.equal(refused.outcome, "tokens");
    assert.ok(refused.outcome === "tokens");
    assert.equal(refused.usage.tokens, 100);
  });

  test("refuses once the period's spend reaches the budget, and the next period starts from zero", async (store) => {
    const budget = { period: "1d" as const, maxNanos: 1_000 };
    assert.equal((await run(store.admit(limited({ budget })))).outcome, "admitted");
    await run(store.settle({ keyId: "k", windows: at, tokens: 1, nanos: 999 }));
    assert.equal((await run(store.admit(limited({ budget })))).outcome, "admitted");
    await run(store.settle({ keyId: "k", windows: at, tokens: 1, nanos: 2 }));
    assert.equal((await run(store.admit(limited({ budget })))).outcome, "budget");
    assert.equal((await run(store.admit(limited({ budget, windows: nextDay })))).outcome, "admitted");
    const total = await run(store.admit(limited({ budget: { period: "total", maxNanos: 1_001 }, windows: nextDay })));
    assert.equal(total.outcome, "budget");
  });

  test("keeps spend per day, ISO week, month and in total", async (store) => {
    await run(store.settle({ keyId: "k", windows: at, tokens: 0, nanos: 7 }));
    await run(store.settle({ keyId: "k", windows: nextDay, tokens: 0, nanos: 11 }));
    const usage = await run(store.usage("k", nextDay));
    assert.deepEqual(usage.spentNanos, { "1d": 11, "1w": 18, "1M": 18, total: 18 });
    const nextMonth = windowsAt(Date.UTC(2025, 1, 1, 0, 0, 0));
    assert.deepEqual((await run(store.usage("k", nextMonth))).spentNanos, { "1d": 0, "1w": 0, "1M": 0, total: 18 });
  });

  test("50 parallel admissions against 10 requests per minute admit exactly 10", async (store) => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => run(store.admit(limited({ requestsPerMinute: 10 })))),
    );
    assert.equal(outcomes.filter((a) => a.outcome === "admitted").length, 10);
    assert.equal(outcomes.filter((a) => a.outcome === "requests").length, 40);
    assert.equal((await run(store.usage("k", at))).requests, 10);
  });

  test("settling counts the request of a key that was admitted without the store", async (store) => {
    await run(store.settle({ keyId: "k", windows: at, tokens: 3, nanos: 0, requests: 1 }));
    await run(store.settle({ keyId: "k", windows: at, tokens: 4, nanos: 0, requests: 1 }));
    await run(store.settle({ keyId: "k", windows: nextMinute, tokens: 5, nanos: 0, requests: 1 }));
    assert.deepEqual(await run(store.usage("k", at)), {
      requests: 0,
      tokens: 0,
      spentNanos: { "1d": 0, "1w": 0, "1M": 0, total: 0 },
    });
    const usage = await run(store.usage("k", nextMinute));
    assert.deepEqual([usage.requests, usage.tokens], [1, 5]);
  });

  test("parallel settlements lose no increment", async (store) => {
    await Promise.all(
      Array.from({ length: 60 }, () => run(store.settle({ keyId: "k", windows: at, tokens: 7, nanos: 13 }))),
    );
    const usage = await run(store.usage("k", at));
    assert.equal(usage.tokens, 420);
    assert.equal(usage.spentNanos.total, 780);
  });

  test("creates, finds by digest, replaces and deletes API keys", async (store) => {
    assert.equal(await run(store.createKey(storedKey("a"))), true);
    assert.equal(await run(store.createKey(storedKey("a", { digest: "other" }))), false);
    assert.equal((await run(store.findKey("digest-of-a")))?.id, "a");
    assert.equal(await run(store.findKey("digest-of-nobody")), undefined);
    assert.equal(await run(store.replaceKey(storedKey("a", { active: false, revision: "r2" }))), true);
    assert.equal(await run(store.replaceKey(storedKey("missing"))), false);
    assert.deepEqual((await run(store.getKey("a")))?.active, false);
    assert.deepEqual((await run(store.listKeys())).map((k) => k.id), ["a"]);
    await run(store.settle({ keyId: "a", windows: at, tokens: 5, nanos: 5 }));
    assert.equal(await run(store.deleteKey("a")), true);
    assert.equal(await run(store.deleteKey("a")), false);
    assert.equal(await run(store.findKey("digest-of-a")), undefined);
    assert.deepEqual(await run(store.listKeys()), []);
    assert.equal((await run(store.usage("a", at))).spentNanos.total, 0);
  });

  test("admission of an API key is stale once the stored key changed or was deleted", async (store) => {
    await run(store.createKey(storedKey("a")));
    assert.equal((await run(store.admit(limited({ keyId: "a", revision: "r1" })))).outcome, "admitted");
    await run(store.replaceKey(storedKey("a", { revision: "r2" })));
    assert.equal((await run(store.admit(limited({ keyId: "a", revision: "r1" })))).outcome, "stale");
    assert.equal((await run(store.admit(limited({ keyId: "a", revision: "r2" })))).outcome, "admitted");
    await run(store.deleteKey("a"));
    assert.equal((await run(store.admit(limited({ keyId: "a", revision: "r2" })))).outcome, "stale");
  });

  test(
    "an amount that is not a finite number is stored as 0, with a warning naming the key and the field",
    async (store, _reopen, { logs }) => {
      await run(store.settle({ keyId: "k", windows: at, tokens: NaN, nanos: Infinity, requests: NaN }));
      await run(store.settle({ keyId: "k", windows: at, tokens: -Infinity, nanos: NaN }));
      await run(store.settle({ keyId: "k", windows: at, tokens: 5, nanos: 7, requests: 1 }));
      const usage = await run(store.usage("k", at));
      assert.deepEqual(usage, { requests: 1, tokens: 5, spentNanos: { "1d": 7, "1w": 7, "1M": 7, total: 7 } });
      const budget = { period: "total" as const, maxNanos: 8 };
      assert.equal((await run(store.admit(limited({ budget })))).outcome, "admitted");
      const warnings = logs.map((line) => JSON.parse(line)).filter((line) => line.level === "warn");
      assert.deepEqual(warnings.map((line) => [line.virtual_key_id, line.clamped]), [
        ["k", ["tokens=NaN", "nanos=Infinity", "requests=NaN"]],
        ["k", ["tokens=-Infinity", "nanos=NaN"]],
      ]);
    },
  );

  if (backend.poison) {
    const poison = backend.poison;
    test(
      "a count already stored as NaN refuses admission, in every budget period and limit, and settling still works",
      async (store, _reopen, { config }) => {
        await poison(config);
        for (const period of ["1d", "1w", "1M", "total"] as const) {
          const refused = await run(store.admit(limited({ budget: { period, maxNanos: 1_000_000 } })));
          assert.equal(refused.outcome, "budget", period);
        }
        assert.equal((await run(store.admit(limited({ requestsPerMinute: 100 })))).outcome, "requests");
        assert.equal((await run(store.admit(limited({ tokensPerMinute: 100 })))).outcome, "tokens");
        await run(store.settle({ keyId: "k", windows: at, tokens: 1, nanos: 1, requests: 1 }));
        assert.equal(
          (await run(store.admit(limited({ budget: { period: "1d", maxNanos: 1_000_000 } })))).outcome,
          "budget",
        );
        // The next day starts from zero: only the lifetime total stays refused.
        assert.equal(
          (await run(store.admit(limited({ budget: { period: "1d", maxNanos: 10 }, windows: nextDay })))).outcome,
          "admitted",
        );
      },
    );
  }

  if (backend.persistent) {
    test("usage and API keys survive closing and reopening the store", async (store, reopen) => {
      await run(store.createKey(storedKey("a")));
      await run(store.admit(limited({ keyId: "a", revision: "r1" })));
      await run(store.settle({ keyId: "a", windows: at, tokens: 12, nanos: 34 }));
      const reopened = await reopen();
      assert.equal((await run(reopened.findKey("digest-of-a")))?.id, "a");
      const usage = await run(reopened.usage("a", at));
      assert.deepEqual({ requests: usage.requests, tokens: usage.tokens, spent: usage.spentNanos.total }, {
        requests: 1,
        tokens: 12,
        spent: 34,
      });
    });
  }
}
