/**
 * Issue 14, point 10: `GET /cursor/v1/models` and `/v1/models` need a valid key when the gateway has
 * keys (Cursor verifies the key with this call, so a mistyped one must fail here), list only the
 * models that key may use, and `GET .../models/{id}` answers the one model or 404. The same on both
 * routes: a model list is no different for Cursor.
 */
import assert from "node:assert/strict";
import { VK } from "./support/gateway.ts";
import { answering, type CursorGateway, withGateway } from "./support/cursor.ts";

const OTHER = "sk-bf-other-team-key-0123456789";
const keys = (url: string) => ({
  providers: {
    openai: { base_url: url, keys: [{ value: "sk-upstream" }], models: ["gpt-5", "gpt-4.1"] },
    backup: { base_url: url, keys: [{ value: "sk-upstream" }], models: ["gpt-5-mini"] },
  },
  virtual_keys: [
    { id: "everything", value: VK, models: ["*"] },
    { id: "gpt5-only", value: OTHER, models: ["openai/gpt-5", "gpt-5-mini"] },
  ],
  model_aliases: {
    "gpt-5-high": { model: "openai/gpt-5", reasoning: { effort: "high" } },
    "cheap": { model: "openai/gpt-4.1" },
  },
});

const get = (running: CursorGateway, path: string, key?: string) =>
  running.gateway.fetch(path, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });

const ids = async (response: Response): Promise<string[]> => {
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.object, "list");
  return body.data.map((model: { id: string; object: string }) => {
    assert.equal(model.object, "model");
    return model.id;
  });
};

for (const base of ["/cursor/v1/models", "/v1/models"]) {
  Deno.test(`${base}: without a key, or with a mistyped one, 401`, async () => {
    await withGateway(answering({ items: [] }), keys, async (running) => {
      for (const key of [undefined, "sk-bf-mistyped-0123456789", `${VK}x`]) {
        const response = await get(running, base, key);
        assert.equal(response.status, 401, String(key));
        assert.equal((await response.json()).error.type, "authentication_error");
      }
    });
  });

  Deno.test(`${base}: each key sees the models (and aliases) it may use`, async () => {
    await withGateway(answering({ items: [] }), keys, async (running) => {
      assert.deepEqual(await ids(await get(running, base, VK)), [
        "openai/gpt-5",
        "openai/gpt-4.1",
        "backup/gpt-5-mini",
        "gpt-5-high",
        "cheap",
      ]);
      // The alias stands for openai/gpt-5, which the key may use; `cheap` stands for gpt-4.1, which it may not.
      assert.deepEqual(await ids(await get(running, base, OTHER)), ["openai/gpt-5", "backup/gpt-5-mini", "gpt-5-high"]);
    });
  });

  Deno.test(`${base}/{id}: the one model, by provider/model, bare name or alias; else 404`, async () => {
    await withGateway(answering({ items: [] }), keys, async (running) => {
      const one = await get(running, `${base}/openai/gpt-5`, OTHER);
      assert.equal(one.status, 200);
      assert.deepEqual(await one.json(), { id: "openai/gpt-5", object: "model", created: 0, owned_by: "openai" });
      // A bare name is a model of the default provider, as in a chat request; percent-encoding is read.
      assert.equal((await (await get(running, `${base}/gpt-5`, OTHER)).json()).id, "openai/gpt-5");
      assert.equal((await (await get(running, `${base}/openai%2Fgpt-4.1`, VK)).json()).id, "openai/gpt-4.1");
      assert.equal((await (await get(running, `${base}/gpt-5-high`, OTHER)).json()).owned_by, "openai");
      for (const [path, key] of [[`${base}/openai/gpt-4.1`, OTHER], [`${base}/no-such-model`, VK]]) {
        const missing = await get(running, path, key);
        assert.equal(missing.status, 404, path);
        const { error } = await missing.json();
        assert.equal(error.code, "model_not_found");
      }
      assert.equal((await get(running, `${base}/openai/gpt-5`)).status, 401);
    });
  });
}

Deno.test("a gateway without keys (a client's own provider key) lists every model, no key asked", async () => {
  const open = (url: string) => ({
    providers: { openai: { base_url: url, models: ["gpt-5"] } },
    virtual_keys: [],
    allow_provider_keys: true,
  });
  await withGateway(answering({ items: [] }), open, async (running) => {
    assert.deepEqual(await ids(await get(running, "/v1/models")), ["openai/gpt-5"]);
    assert.deepEqual(await ids(await get(running, "/cursor/v1/models", "sk-proj-clients-own-key")), ["openai/gpt-5"]);
  });
});

Deno.test("a provider key presented to a gateway with virtual keys and allow_provider_keys sees every model", async () => {
  const both = (url: string) => ({ ...keys(url), allow_provider_keys: true });
  await withGateway(answering({ items: [] }), both, async (running) => {
    assert.equal((await ids(await get(running, "/v1/models", "sk-proj-clients-own-key"))).length, 5);
    assert.equal((await get(running, "/v1/models")).status, 401);
  });
});
