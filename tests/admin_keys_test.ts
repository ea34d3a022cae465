/**
 * The admin API over real HTTP: creating, listing, changing and deleting
 * virtual keys, its guards and errors, and that key values stay secret.
 */
import assert from "node:assert/strict";
import { type FakeUpstream, jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";
import { pinnedClock } from "./support/clock.ts";

const ADMIN = "sk-admin-test-secret-42";
const T0 = Date.UTC(2025, 0, 8, 12, 0, 45);

// 1000 input and 500 output tokens of gpt-5 at the default price: 0.00625 USD.
const completed = jsonFixture("responses/priced_1000_in_500_out.json");

const withGateway = async (
  overrides: Record<string, unknown>,
  fn: (gateway: RunningGateway, upstream: FakeUpstream) => Promise<void>,
) => {
  const upstream = startFakeUpstream(() => ({ json: completed }));
  const gateway = await startGateway(testConfig(upstream.url, { admin_key: ADMIN, ...overrides }), {
    clock: pinnedClock(() => T0),
  });
  try {
    await fn(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const admin = (gateway: RunningGateway, method: string, path: string, body?: unknown, key = ADMIN) =>
  gateway.fetch(path, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });

const ask = (gateway: RunningGateway, key: string, model = "openai/gpt-5") =>
  postJson(gateway, "/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] }, {
    authorization: `Bearer ${key}`,
  });

const status = async (response: Promise<Response>) => {
  const r = await response;
  await r.body?.cancel();
  return r.status;
};

Deno.test("without an admin_key the admin API is off and answers 404", async () => {
  const upstream = startFakeUpstream(() => ({ json: completed }));
  const gateway = await startGateway(testConfig(upstream.url));
  try {
    assert.equal(await status(admin(gateway, "GET", "/admin/keys")), 404);
    assert.equal(await status(admin(gateway, "POST", "/admin/keys", { models: ["*"] })), 404);
    assert.equal(await status(admin(gateway, "DELETE", "/admin/keys/team-a")), 404);
  } finally {
    await gateway.close();
    await upstream.close();
  }
});

Deno.test("a missing or wrong admin key gets 401, and so does a virtual key", async () => {
  await withGateway({}, async (gateway) => {
    const missing = await gateway.fetch("/admin/keys");
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).error.type, "authentication_error");
    assert.equal(await status(admin(gateway, "GET", "/admin/keys", undefined, `${ADMIN}x`)), 401);
    assert.equal(await status(admin(gateway, "GET", "/admin/keys", undefined, VK)), 401);
    assert.equal(await status(admin(gateway, "POST", "/admin/keys", { models: ["*"] }, "nope")), 401);
  });
});

Deno.test("POST creates a key and shows its value once; the value works for the models it allows", async () => {
  await withGateway({}, async (gateway) => {
    const created = await admin(gateway, "POST", "/admin/keys", {
      id: "ci-bot",
      models: ["openai/gpt-5-mini"],
      rate_limit: { requests_per_minute: 5 },
      budget: { max_usd: 2, period: "1w" },
      expires_at: "2030-01-01T00:00:00Z",
    });
    assert.equal(created.status, 201);
    const body = await created.json();
    assert.match(body.value, /^sk-bf-[A-Za-z0-9_-]{32}$/);
    assert.deepEqual({ ...body, value: "(checked)", created_at: "(any)" }, {
      id: "ci-bot",
      object: "virtual_key",
      source: "api",
      models: ["openai/gpt-5-mini"],
      active: true,
      expires_at: "2030-01-01T00:00:00.000Z",
      rate_limit: { requests_per_minute: 5, tokens_per_minute: null },
      budget: { max_usd: 2, period: "1w" },
      created_at: "(any)",
      value: "(checked)",
      usage: {
        requests_this_minute: 0,
        tokens_this_minute: 0,
        period: "1w",
        period_start: "2025-01-06T00:00:00.000Z",
        period_end: "2025-01-13T00:00:00.000Z",
        spent_usd: 0,
        remaining_usd: 2,
      },
    });

    const served = await ask(gateway, body.value, "openai/gpt-5-mini");
    assert.equal(served.status, 200);
    assert.equal(served.headers.get("x-ratelimit-remaining-requests"), "4");
    await served.body?.cancel();
    assert.equal(await status(ask(gateway, body.value, "openai/gpt-5")), 403);

    const one = await (await admin(gateway, "GET", "/admin/keys/ci-bot")).json();
    assert.equal(one.value, undefined);
    assert.equal(one.usage.requests_this_minute, 1);
    // gpt-5-mini at the default price: 1000 input and 500 output tokens cost 0.00025 + 0.001 USD.
    assert.equal(one.usage.spent_usd, 0.00125);
    assert.equal(one.usage.remaining_usd, 1.99875);
  });
});

Deno.test("POST without an id makes one up", async () => {
  await withGateway({}, async (gateway) => {
    const created = await admin(gateway, "POST", "/admin/keys", { models: ["*"] });
    assert.equal(created.status, 201);
    const body = await created.json();
    assert.match(body.id, /^key-[0-9a-f]{8}$/);
    assert.equal(await status(ask(gateway, body.value)), 200);
  });
});

Deno.test("GET lists config and API keys with limits, source and current usage", async () => {
  await withGateway({
    virtual_keys: [{
      id: "team-a",
      value: VK,
      rate_limit: { requests_per_minute: 100, tokens_per_minute: 10000 },
      budget: { max_usd: 1, period: "1M" },
    }],
  }, async (gateway) => {
    await admin(gateway, "POST", "/admin/keys", { id: "zeta", models: ["*"] });
    assert.equal(await status(ask(gateway, VK)), 200);
    assert.equal(await status(ask(gateway, VK)), 200);
    const list = await (await admin(gateway, "GET", "/admin/keys")).json();
    assert.equal(list.object, "list");
    assert.deepEqual(list.data.map((key: { id: string; source: string }) => [key.id, key.source]), [
      ["team-a", "config"],
      ["zeta", "api"],
    ]);
    const [team] = list.data;
    assert.deepEqual(team.rate_limit, { requests_per_minute: 100, tokens_per_minute: 10000 });
    assert.deepEqual(team.budget, { max_usd: 1, period: "1M" });
    assert.deepEqual(team.usage, {
      requests_this_minute: 2,
      tokens_this_minute: 3000,
      period: "1M",
      period_start: "2025-01-01T00:00:00.000Z",
      period_end: "2025-02-01T00:00:00.000Z",
      spent_usd: 0.0125,
      remaining_usd: 0.9875,
    });
    assert.equal(list.data[1].usage.period, "total");
    assert.equal(list.data[1].usage.remaining_usd, null);
  });
});

Deno.test("PATCH changes an API key at once: disabling refuses its requests, limits and budgets apply", async () => {
  await withGateway({}, async (gateway) => {
    const { value } = await (await admin(gateway, "POST", "/admin/keys", { id: "k1", models: ["*"] })).json();
    assert.equal(await status(ask(gateway, value)), 200);

    const disabled = await admin(gateway, "PATCH", "/admin/keys/k1", { active: false });
    assert.equal(disabled.status, 200);
    assert.equal((await disabled.json()).active, false);
    assert.equal(await status(ask(gateway, value)), 401);

    const limited = await admin(gateway, "PATCH", "/admin/keys/k1", {
      active: true,
      rate_limit: { requests_per_minute: 2 },
      models: ["openai/gpt-4.1"],
    });
    assert.deepEqual((await limited.json()).rate_limit, { requests_per_minute: 2, tokens_per_minute: null });
    // The first request counted in this minute; the refused one did not.
    assert.equal(await status(ask(gateway, value, "gpt-4.1")), 200);
    assert.equal(await status(ask(gateway, value, "gpt-4.1")), 429);
    assert.equal(await status(ask(gateway, value, "gpt-5")), 403);

    await admin(gateway, "PATCH", "/admin/keys/k1", {
      models: ["*"],
      rate_limit: null,
      budget: { max_usd: 0.005, period: "total" },
    });
    assert.equal(await status(ask(gateway, value)), 402);
    const unbudgeted = await admin(gateway, "PATCH", "/admin/keys/k1", { budget: null });
    assert.equal((await unbudgeted.json()).budget, null);
    assert.equal(await status(ask(gateway, value)), 200);
  });
});

Deno.test("config keys are read-only: PATCH and DELETE answer 409, and so does POST with a taken id", async () => {
  await withGateway({}, async (gateway) => {
    const patched = await admin(gateway, "PATCH", "/admin/keys/team-a", { active: false });
    assert.equal(patched.status, 409);
    assert.match((await patched.json()).error.message, /config file/);
    assert.equal(await status(admin(gateway, "DELETE", "/admin/keys/team-a")), 409);
    assert.equal(await status(admin(gateway, "POST", "/admin/keys", { id: "team-a", models: ["*"] })), 409);
    await admin(gateway, "POST", "/admin/keys", { id: "dup", models: ["*"] });
    assert.equal(await status(admin(gateway, "POST", "/admin/keys", { id: "dup", models: ["*"] })), 409);
    assert.equal(await status(ask(gateway, VK)), 200);
  });
});

Deno.test("DELETE removes an API key: 204, then its value gets 401 and its id 404", async () => {
  await withGateway({}, async (gateway) => {
    const { value } = await (await admin(gateway, "POST", "/admin/keys", { id: "gone", models: ["*"] })).json();
    assert.equal(await status(ask(gateway, value)), 200);
    const deleted = await admin(gateway, "DELETE", "/admin/keys/gone");
    assert.equal(deleted.status, 204);
    assert.equal(await deleted.text(), "");
    assert.equal(await status(ask(gateway, value)), 401);
    assert.equal(await status(admin(gateway, "GET", "/admin/keys/gone")), 404);
    assert.equal(await status(admin(gateway, "DELETE", "/admin/keys/gone")), 404);
  });
});

Deno.test("an unknown id gets 404 on GET, PATCH and DELETE", async () => {
  await withGateway({}, async (gateway) => {
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const response = await admin(
        gateway,
        method,
        "/admin/keys/nobody",
        method === "PATCH" ? { active: true } : undefined,
      );
      assert.equal(response.status, 404, method);
      assert.equal((await response.json()).error.type, "not_found_error");
    }
  });
});

Deno.test("bad input gets 400 naming the field, and a wrong method 405", async () => {
  await withGateway({}, async (gateway) => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ["POST", "/admin/keys", "{not json", /not valid JSON/],
      ["POST", "/admin/keys", {}, /models/],
      ["POST", "/admin/keys", { models: [] }, /models: at least one model pattern/],
      ["POST", "/admin/keys", { models: ["*"], id: "has space" }, /id: an id is 1-64/],
      [
        "POST",
        "/admin/keys",
        { models: ["*"], rate_limit: { requests_per_minute: 0 } },
        /rate_limit\.requests_per_minute/,
      ],
      ["POST", "/admin/keys", { models: ["*"], budget: { max_usd: 5, period: "1y" } }, /budget\.period/],
      ["POST", "/admin/keys", { models: ["*"], expires_at: "soon" }, /expires_at: not a date-time/],
      ["POST", "/admin/keys", { models: ["*"], value: "sk-bf-chosen-by-me" }, /value/],
      ["POST", "/admin/keys", [], /Invalid request body/],
    ];
    await admin(gateway, "POST", "/admin/keys", { id: "k1", models: ["*"] });
    cases.push(["PATCH", "/admin/keys/k1", { active: "yes" }, /active/]);
    cases.push(["PATCH", "/admin/keys/k1", { id: "renamed" }, /id/]);
    for (const [method, path, body, message] of cases) {
      const response = await admin(gateway, method, path, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const error = (await response.json()).error;
      assert.equal(error.type, "invalid_request_error");
      assert.match(error.message, message);
    }
    assert.equal(await status(admin(gateway, "PATCH", "/admin/keys", { active: true })), 405);
    assert.equal(await status(admin(gateway, "POST", "/admin/keys/k1", { active: true })), 405);
    assert.equal(await status(admin(gateway, "PUT", "/admin/keys/k1", { active: true })), 405);
  });
});

Deno.test("keys made through the API survive a restart on the Deno KV store, with their usage", async () => {
  const dir = await Deno.makeTempDir();
  const upstream = startFakeUpstream(() => ({ json: completed }));
  const config = testConfig(upstream.url, { admin_key: ADMIN, store: { kind: "kv", path: `${dir}/gateway.kv` } });
  try {
    const first = await startGateway(config, { clock: pinnedClock(() => T0) });
    const { value } = await (await admin(first, "POST", "/admin/keys", { id: "kept", models: ["*"] })).json();
    assert.equal(await status(ask(first, value)), 200);
    await first.close();

    const second = await startGateway(config, { clock: pinnedClock(() => T0) });
    assert.equal(await status(ask(second, value)), 200);
    const kept = await (await admin(second, "GET", "/admin/keys/kept")).json();
    assert.equal(kept.source, "api");
    assert.equal(kept.usage.requests_this_minute, 2);
    assert.equal(kept.usage.spent_usd, 0.0125);
    await second.close();
  } finally {
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no key value appears in a log line or a response, except the created key's in its own 201", async () => {
  await withGateway({}, async (gateway) => {
    const seen: string[] = [];
    const keep = async (response: Response) => {
      const text = await response.text();
      seen.push(text, JSON.stringify([...response.headers]));
      return text;
    };
    const createdText = await (await admin(gateway, "POST", "/admin/keys", { id: "s1", models: ["openai/*"] })).text();
    const { value } = JSON.parse(createdText);
    await keep(await ask(gateway, value));
    await keep(await ask(gateway, value, "other/model"));
    await keep(await admin(gateway, "GET", "/admin/keys"));
    await keep(await admin(gateway, "GET", "/admin/keys/s1"));
    await keep(await admin(gateway, "PATCH", "/admin/keys/s1", { active: false }));
    await keep(await ask(gateway, value));
    await keep(await admin(gateway, "GET", "/admin/keys", undefined, "wrong"));
    await keep(await admin(gateway, "DELETE", "/admin/keys/s1"));
    await keep(await ask(gateway, value));
    const everything = [...seen, ...gateway.logs].join("\n");
    assert.ok(gateway.logs.length > 5);
    for (const secret of [value, value.slice(6), ADMIN, VK]) {
      assert.ok(!everything.includes(secret), "a key value leaked");
    }
  });
});
