/**
 * Limits and keys on a real Redis (REDIS_URL; CI starts a redis-server in
 * `.ci/services`), including several gateway instances sharing one Redis.
 * Under CI these tests fail, never skip, when REDIS_URL is missing.
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";
import { pinnedClock } from "./support/clock.ts";

const REDIS_URL = Deno.env.get("REDIS_URL");
const IN_CI = Deno.env.get("CI") === "true";
if (!REDIS_URL && !IN_CI) {
  console.warn(
    "auth_redis_test: REDIS_URL is not set, skipping; run a redis-server and set REDIS_URL=redis://127.0.0.1:6379",
  );
}

const ADMIN = "sk-admin-test-secret-42";
const T0 = Date.UTC(2025, 0, 8, 12, 0, 45);

// 1000 input and 500 output tokens of gpt-5 at the default price: 0.00625 USD.
const completed = jsonFixture("responses/priced_1000_in_500_out.json");

/** Runs `fn` with gateway configs on a fresh Redis key prefix, and removes that prefix's keys afterwards. */
const redisTest = (
  name: string,
  fn: (config: (extra?: Record<string, unknown>) => Record<string, unknown>) => Promise<void>,
) =>
  Deno.test({
    name,
    ignore: !REDIS_URL && !IN_CI,
    fn: async () => {
      assert.ok(REDIS_URL, "REDIS_URL must name a running redis-server in CI (see .ci/services)");
      const prefix = `test:${crypto.randomUUID()}:`;
      const upstream = startFakeUpstream(() => ({ json: completed }));
      try {
        await fn((extra = {}) =>
          testConfig(upstream.url, { admin_key: ADMIN, store: { kind: "redis", url: REDIS_URL, prefix }, ...extra })
        );
      } finally {
        await upstream.close();
        const client = createClient({ url: REDIS_URL });
        await client.connect();
        for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
          if (keys.length > 0) await client.del(keys);
        }
        await client.close();
      }
    },
  });

const start = (config: Record<string, unknown>, now = T0) => startGateway(config, { clock: pinnedClock(() => now) });

const ask = async (gateway: RunningGateway, key = VK) => {
  const response = await postJson(gateway, "/v1/chat/completions", {
    model: "openai/gpt-5",
    messages: [{ role: "user", content: "hi" }],
  }, { authorization: `Bearer ${key}` });
  await response.body?.cancel();
  return response.status;
};

const admin = (gateway: RunningGateway, method: string, path: string, body?: unknown) =>
  gateway.fetch(path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

const tenPerMinute = { virtual_keys: [{ id: "ten", value: VK, rate_limit: { requests_per_minute: 10 } }] };

redisTest(
  "50 parallel requests against a key with 10 requests per minute get exactly 10 through (Redis)",
  async (config) => {
    const gateway = await start(config(tenPerMinute));
    try {
      const statuses = await Promise.all(Array.from({ length: 50 }, () => ask(gateway)));
      assert.equal(statuses.filter((s) => s === 200).length, 10);
      assert.equal(statuses.filter((s) => s === 429).length, 40);
    } finally {
      await gateway.close();
    }
  },
);

redisTest(
  "two gateways on one Redis share a key's limit: 10 of 40 parallel requests across both get through",
  async (config) => {
    const a = await start(config(tenPerMinute));
    const b = await start(config(tenPerMinute));
    try {
      const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(i % 2 === 0 ? a : b)));
      assert.equal(statuses.filter((s) => s === 200).length, 10);
      assert.equal(statuses.filter((s) => s === 429).length, 30);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

redisTest(
  "a key made on one gateway works on another at once, and is refused there once disabled or deleted",
  async (config) => {
    const a = await start(config());
    const b = await start(config());
    try {
      const created = await admin(a, "POST", "/admin/keys", { id: "shared", models: ["*"] });
      assert.equal(created.status, 201);
      const { value } = await created.json();
      assert.equal(await ask(b, value), 200);

      await (await admin(a, "PATCH", "/admin/keys/shared", { active: false })).body?.cancel();
      assert.equal(await ask(b, value), 401);
      await (await admin(a, "PATCH", "/admin/keys/shared", { active: true, budget: { max_usd: 0.001, period: "1d" } }))
        .body?.cancel();
      assert.equal(await ask(b, value), 402);

      assert.equal((await admin(a, "DELETE", "/admin/keys/shared")).status, 204);
      assert.equal(await ask(b, value), 401);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

redisTest("usage and API keys survive a restart on Redis", async (config) => {
  const budgeted = config({ virtual_keys: [{ id: "capped", value: VK, budget: { max_usd: 0.005, period: "1w" } }] });
  const first = await start(budgeted);
  const { value } = await (await admin(first, "POST", "/admin/keys", { id: "kept", models: ["*"] })).json();
  assert.equal(await ask(first), 200);
  assert.equal(await ask(first, value), 200);
  await first.close();

  const second = await start(budgeted, T0 + 3_600_000);
  try {
    assert.equal(await ask(second), 402);
    assert.equal(await ask(second, value), 200);
    const kept = await (await admin(second, "GET", "/admin/keys/kept")).json();
    assert.equal(kept.usage.spent_usd, 0.0125);
  } finally {
    await second.close();
  }
});
