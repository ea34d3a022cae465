/**
 * The admin API refuses a key that would be born expired (issue 15, point 8):
 * a past `expires_at` on create or patch is a 400 naming the field, judged by
 * the gateway's clock; a future date, none, or `null` (patch) is accepted.
 */
import assert from "node:assert/strict";
import { jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { startGateway, testConfig } from "./support/gateway.ts";
import { pinnedClock } from "./support/clock.ts";

const ADMIN = "sk-admin-expiry-test";
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

const withAdmin = async (
  fn: (call: (method: string, path: string, body?: unknown) => Promise<Response>) => Promise<void>,
) => {
  const upstream = startFakeUpstream(() => ({ json: jsonFixture("responses/priced_1000_in_500_out.json") }));
  const gateway = await startGateway(testConfig(upstream.url, { admin_key: ADMIN }), { clock: pinnedClock(() => NOW) });
  try {
    await fn((method, path, body) =>
      gateway.fetch(path, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
    );
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

Deno.test("creating a key with a past expires_at is a 400 naming expires_at; a future one is created", async () => {
  await withAdmin(async (call) => {
    const past = await call("POST", "/admin/keys", { id: "old", models: ["*"], expires_at: "2026-01-01T00:00:00Z" });
    assert.equal(past.status, 400);
    const { error } = await past.json();
    assert.equal(error.param, "expires_at");
    assert.equal(error.code, "invalid_body");
    assert.match(error.message, /expires_at: 2026-01-01T00:00:00Z is in the past/);
    const listed = await (await call("GET", "/admin/keys")).json();
    assert.ok(!listed.data.some((k: { id: string }) => k.id === "old"), "nothing was created");

    // The very instant counts as past: such a key is refused at its first use.
    const now = await call("POST", "/admin/keys", { models: ["*"], expires_at: new Date(NOW).toISOString() });
    assert.equal(now.status, 400);
    await now.body?.cancel();

    const future = await call("POST", "/admin/keys", { id: "new", models: ["*"], expires_at: "2099-12-31T00:00:00Z" });
    assert.equal(future.status, 201);
    await future.body?.cancel();
  });
});

Deno.test("patching a key to a past expires_at is a 400 and leaves it as it was; null removes the expiry", async () => {
  await withAdmin(async (call) => {
    const created = await call("POST", "/admin/keys", { id: "k", models: ["*"], expires_at: "2099-01-01T00:00:00Z" });
    assert.equal(created.status, 201);
    await created.body?.cancel();

    const past = await call("PATCH", "/admin/keys/k", { expires_at: "2020-05-01T00:00:00Z" });
    assert.equal(past.status, 400);
    assert.equal((await past.json()).error.param, "expires_at");
    assert.equal((await (await call("GET", "/admin/keys/k")).json()).expires_at, "2099-01-01T00:00:00.000Z");

    const cleared = await call("PATCH", "/admin/keys/k", { expires_at: null });
    assert.equal(cleared.status, 200);
    assert.equal((await cleared.json()).expires_at, null);
  });
});
