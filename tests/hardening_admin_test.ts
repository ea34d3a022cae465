/**
 * The admin API takes its key only as `Authorization: Bearer`, as the README
 * says: `x-bf-vk` is where virtual keys go, and never opens the admin API.
 */
import assert from "node:assert/strict";
import { bearerToken } from "../src/auth/keys.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { type RunningGateway, startGateway, testConfig } from "./support/gateway.ts";

const ADMIN = "sk-admin-hardening-secret-7";
/** An admin key shaped like a virtual key, which `presentedCredentials` files under the virtual key. */
const ADMIN_LIKE_VK = "sk-bf-admin-hardening-secret-8";

const withGateway = async (adminKey: string, fn: (gateway: RunningGateway) => Promise<void>) => {
  const upstream = startFakeUpstream(() => ({ json: {} }));
  const gateway = await startGateway(testConfig(upstream.url, { admin_key: adminKey }));
  try {
    await fn(gateway);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const call = async (gateway: RunningGateway, method: string, path: string, headers: Record<string, string>) => {
  const response = await gateway.fetch(path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(method === "POST" ? { body: JSON.stringify({ id: "made-here", models: ["*"] }) } : {}),
    ...(method === "PATCH" ? { body: JSON.stringify({ active: false }) } : {}),
  });
  const body = await response.text();
  return { status: response.status, body };
};

for (const [shape, key] of [["", ADMIN], [" shaped like a virtual key", ADMIN_LIKE_VK]]) {
  Deno.test(`an admin key${shape} in x-bf-vk gets 401 on every admin call; as a Bearer it works`, async () => {
    await withGateway(key, async (gateway) => {
      for (const [method, path] of [["GET", "/admin/keys"], ["POST", "/admin/keys"], ["GET", "/admin/keys/team-a"]]) {
        const refused = await call(gateway, method, path, { "x-bf-vk": key });
        assert.equal(refused.status, 401, `${method} ${path} with the admin key in x-bf-vk`);
        assert.match(refused.body, /Bearer token/);
      }
      // Nothing was created by the refused POST.
      const listed = await call(gateway, "GET", "/admin/keys", { authorization: `Bearer ${key}` });
      assert.equal(listed.status, 200);
      assert.deepEqual(JSON.parse(listed.body).data.map((entry: { id: string }) => entry.id), ["team-a"]);

      const created = await call(gateway, "POST", "/admin/keys", { authorization: `Bearer ${key}` });
      assert.equal(created.status, 201);
      const refusedPatch = await call(gateway, "PATCH", "/admin/keys/made-here", { "x-bf-vk": key });
      assert.equal(refusedPatch.status, 401);
      const refusedDelete = await call(gateway, "DELETE", "/admin/keys/made-here", { "x-bf-vk": key });
      assert.equal(refusedDelete.status, 401);
      const removed = await call(gateway, "DELETE", "/admin/keys/made-here", { authorization: `Bearer ${key}` });
      assert.equal(removed.status, 204);
    });
  });
}

Deno.test("bearerToken reads only Authorization: Bearer, whatever the token looks like", () => {
  assert.equal(bearerToken(new Headers({ authorization: "Bearer sk-bf-abc" })), "sk-bf-abc");
  assert.equal(bearerToken(new Headers({ authorization: "  bearer   tok  " })), "tok");
  assert.equal(bearerToken(new Headers({ "x-bf-vk": "sk-bf-abc" })), undefined);
  assert.equal(bearerToken(new Headers({ authorization: "Basic abc" })), undefined);
});
