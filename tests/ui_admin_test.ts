/**
 * The dashboard's data endpoints over real HTTP: `/admin/requests`,
 * `/admin/usage` and `/admin/stats` answer only the admin key, in the shapes
 * docs/dashboard.md gives, from real traffic (served, fallen back, rate
 * limited, streamed); `/ui` serves the page, or says how to turn it on.
 */
import assert from "node:assert/strict";
import { pinnedClock } from "./support/clock.ts";
import { jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { startGateway, testConfig, VK } from "./support/gateway.ts";
import { ADMIN, adminGet, ask, HTML_MODEL, sendTraffic, untilRecorded, withDashboard } from "./ui_support.ts";

const T0 = Date.UTC(2026, 2, 4, 10, 30, 20);
const clock = { clock: pinnedClock(() => T0) };
const dataPaths = [
  "/admin/requests",
  "/admin/usage",
  "/admin/stats",
  "/admin/requests?limit=5",
  "/admin/stats?window=5m",
];

Deno.test("the data endpoints answer 401 without the admin key, with a wrong one and with a virtual key", async () => {
  await withDashboard(async ({ gateway }) => {
    await sendTraffic(gateway);
    for (const path of dataPaths) {
      for (const key of [null, `${ADMIN}x`, VK, "sk-primary-secret"]) {
        const { status, body } = await adminGet(gateway, path, key);
        assert.equal(status, 401, `${path} with ${key ?? "no key"}`);
        assert.equal(body.error.type, "authentication_error");
        assert.ok(!JSON.stringify(body).includes("team-a"), "a refusal shows no data");
      }
      // The admin API's one way in is the Bearer header: x-bf-vk carrying the admin key is no key.
      const viaHeader = await gateway.fetch(path, { headers: { "x-bf-vk": ADMIN } });
      assert.equal(viaHeader.status, 401);
      await viaHeader.body?.cancel();
      assert.equal((await adminGet(gateway, path)).status, 200, `${path} with the admin key`);
    }
  });
});

Deno.test("without an admin_key the data endpoints are off (404) and /ui says how to turn them on", async () => {
  const upstream = startFakeUpstream(() => ({ json: jsonFixture("responses/priced_1000_in_500_out.json") }));
  const gateway = await startGateway(testConfig(upstream.url));
  try {
    await ask(gateway, { model: "openai/gpt-5" });
    for (const path of dataPaths) assert.equal((await adminGet(gateway, path, "anything")).status, 404, path);
    const page = await gateway.fetch("/ui");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /The dashboard is off/);
    assert.match(html, /"admin_key": "env.GATEWAY_ADMIN_KEY"/);
    assert.ok(!html.includes("app.js"), "no dashboard script without an admin key");
  } finally {
    await gateway.close();
    await upstream.close();
  }
});

Deno.test("GET /ui serves the page, its script and style from the gateway itself under a strict CSP", async () => {
  await withDashboard(async ({ gateway }) => {
    const page = await gateway.fetch("/ui");
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/ui\/app.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, "nothing is loaded from elsewhere");
    for (
      const [path, type] of [["/ui/app.js", "text/javascript"], ["/ui/app.css", "text/css"], ["/ui/", "text/html"]]
    ) {
      const response = await gateway.fetch(path);
      assert.equal(response.status, 200, path);
      assert.ok(response.headers.get("content-type")?.startsWith(type), path);
      await response.body?.cancel();
    }
    const missing = await gateway.fetch("/ui/nope.js");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("/admin/requests lists the newest chat requests first, with routing, usage, cost and errors", async () => {
  await withDashboard(async ({ gateway }) => {
    assert.deepEqual(await sendTraffic(gateway), [200, 200, 200, 429, 200, 200]);
    const entries = await untilRecorded(gateway, 6);
    const { body } = await adminGet(gateway, "/admin/requests");
    assert.equal(body.object, "list");
    assert.equal(body.log_content, false);
    assert.deepEqual(
      entries.map((e: Record<string, unknown>) => [e.model_requested, e.status]),
      [
        [HTML_MODEL, 200],
        ["openai/gpt-5", 200],
        ["openai/gpt-5", 429],
        ["openai/gpt-5", 200],
        ["openai/gpt-broken", 200],
        ["openai/gpt-5", 200],
      ],
      "newest first",
    );
    const [html, streamed, limited, , fellBack, cursor] = entries;

    assert.deepEqual(Object.keys(cursor).sort(), [
      "api",
      "attempt_list",
      "attempts",
      "cost",
      "error_message",
      "error_type",
      "fallbacks",
      "first_token_ms",
      "latency_ms",
      "model",
      "model_requested",
      "provider",
      "request_id",
      "route",
      "status",
      "stream",
      "time",
      "upstream_ms",
      "usage",
      "virtual_key_id",
    ]);
    assert.equal(cursor.api, "cursor");
    assert.equal(cursor.route, "/cursor/v1/chat/completions");
    assert.equal(cursor.virtual_key_id, "team-a");
    assert.equal(cursor.provider, "openai");
    assert.equal(cursor.model, "gpt-5");
    assert.equal(cursor.attempts, 1);
    assert.deepEqual(cursor.usage, {
      prompt_tokens: 1000,
      cached_tokens: 0,
      completion_tokens: 500,
      reasoning_tokens: 0,
      total_tokens: 1500,
    });
    assert.equal(cursor.cost.total_cost, 0.00625);
    assert.ok(cursor.latency_ms > 0);
    assert.ok(Date.parse(cursor.time) <= T0 && Date.parse(cursor.time) > T0 - 5_000, "when it arrived, by the clock");

    assert.equal(fellBack.api, "chat");
    assert.equal(fellBack.provider, "backup");
    assert.equal(fellBack.model, "gpt-4.1");
    assert.equal(fellBack.attempts, 2);
    assert.equal(fellBack.fallbacks, 1);
    assert.deepEqual(
      fellBack.attempt_list.map((a: Record<string, unknown>) => [a.provider, a.model, a.outcome, a.next]),
      [["openai", "gpt-broken", "500", "fallback"], ["backup", "gpt-4.1", "ok", null]],
    );

    assert.equal(limited.virtual_key_id, "limited");
    assert.equal(limited.error_type, "rate_limit_error");
    assert.match(limited.error_message, /has used its 1 requests for this minute/);
    assert.equal(limited.attempts, 0);
    assert.equal(limited.usage, null);

    assert.equal(streamed.stream, true);
    assert.ok(streamed.first_token_ms > 0, "time to first token");
    assert.deepEqual(streamed.usage.prompt_tokens, 12);

    assert.equal(html.model_requested, HTML_MODEL);
    assert.equal(html.model, HTML_MODEL);

    const text = JSON.stringify(body);
    for (const secret of [VK, ADMIN, "sk-primary-secret", "sk-backup-secret", "sk-bf-limited"]) {
      assert.ok(!text.includes(secret), `no ${secret} in the table`);
    }
    assert.ok(!("content" in cursor), "no content without log_content");

    assert.equal((await adminGet(gateway, "/admin/requests?limit=2")).body.data.length, 2);
    for (const bad of ["0", "-1", "501", "abc", "1.5"]) {
      const { status, body } = await adminGet(gateway, `/admin/requests?limit=${bad}`);
      assert.equal(status, 400, bad);
      assert.equal(body.error.param, "limit");
    }
  }, clock);
});

Deno.test("with log_content the table keeps the prompt and the answer, bounded", async () => {
  await withDashboard(async ({ gateway }) => {
    await ask(gateway, { model: "openai/gpt-5", messages: [{ role: "user", content: "x".repeat(100_000) }] });
    const [entry] = await untilRecorded(gateway, 1);
    assert.ok(entry.content, "content is kept");
    const text = JSON.stringify(entry.content);
    assert.ok(text.length < 3 * 20_000, `bounded: ${text.length} characters`);
    assert.match(text, /truncated/);
    assert.equal((await adminGet(gateway, "/admin/requests")).body.log_content, true);
  }, { ...clock, top: { log_content: true } });
});

Deno.test("/admin/usage gives each key's use of its current windows and budget period, from the store", async () => {
  await withDashboard(async ({ gateway }) => {
    await sendTraffic(gateway);
    await untilRecorded(gateway, 6);
    const { status, body } = await adminGet(gateway, "/admin/usage");
    assert.equal(status, 200);
    assert.equal(body.object, "list");
    assert.equal(body.time, new Date(T0).toISOString());
    const byId = Object.fromEntries(body.data.map((key: { id: string }) => [key.id, key]));
    assert.deepEqual(Object.keys(byId).sort(), ["limited", "team-a"]);
    assert.deepEqual(byId.limited, {
      id: "limited",
      object: "key_usage",
      source: "config",
      active: true,
      expires_at: null,
      limits: { requests_per_minute: 1, tokens_per_minute: null },
      minute: { start: "2026-03-04T10:30:00.000Z", requests: 1, tokens: 1500 },
      spend_usd: { day: 0.00625, week: 0.00625, month: 0.00625, total: 0.00625 },
      budget: null,
    });
    assert.equal(byId["team-a"].minute.requests, 4);
  }, clock);
});

Deno.test("/admin/usage shows a budget's period, spend and what remains", async () => {
  await withDashboard(async ({ gateway }) => {
    await ask(gateway, { model: "openai/gpt-5" });
    const { body } = await adminGet(gateway, "/admin/usage");
    const key = body.data.find((k: { id: string }) => k.id === "team-a");
    assert.deepEqual(key.budget, {
      period: "1w",
      start: "2026-03-02T00:00:00.000Z",
      end: "2026-03-09T00:00:00.000Z",
      max_usd: 1,
      spent_usd: 0.00625,
      remaining_usd: 0.99375,
    });
  }, {
    ...clock,
    top: { virtual_keys: [{ id: "team-a", value: VK, models: ["*"], budget: { max_usd: 1, period: "1w" } }] },
  });
});

Deno.test("/admin/stats counts requests per minute, per provider and per key, with failures by reason", async () => {
  await withDashboard(async ({ gateway }) => {
    await sendTraffic(gateway);
    // A provider key the upstream rejects cools down; the stats name it and when it is back.
    assert.equal(await ask(gateway, { model: "openai/gpt-rejected" }), 502);
    await untilRecorded(gateway, 7);
    const { status, body } = await adminGet(gateway, "/admin/stats?window=15m");
    assert.equal(status, 200);
    assert.equal(body.object, "stats");
    assert.equal(body.window, "15m");
    assert.equal(body.bucket_seconds, 60);
    assert.equal(body.time, new Date(T0).toISOString());
    assert.equal(body.start, "2026-03-04T10:16:00.000Z");
    assert.equal(body.open_streams, 0);
    assert.equal(body.buckets.length, 15);
    const now = body.buckets[14];
    assert.equal(now.time, "2026-03-04T10:30:00.000Z");
    assert.equal(now.requests, 7);
    assert.equal(now.errors, 2, "the 429 and the 502");
    assert.ok(now.latency_p50_ms > 0 && now.latency_p95_ms >= now.latency_p50_ms);
    assert.ok(now.first_token_p50_ms > 0, "the stream's time to first token");
    assert.equal(body.buckets[0].requests, 0);
    assert.equal(body.buckets[0].latency_p50_ms, null);
    assert.equal(body.totals.requests, 7);

    const providers = Object.fromEntries(body.providers.map((p: { provider: string }) => [p.provider, p]));
    assert.deepEqual(Object.keys(providers), ["backup", "openai"]);
    assert.equal(providers.backup.totals.requests, 1);
    assert.equal(providers.openai.failures.server_error, 1);
    assert.equal(providers.openai.failures.key_rejected, 1);
    assert.equal(providers.openai.failures.rate_limited, 0);
    assert.deepEqual(providers.openai.cooling_keys, [
      { key_id: "primary-key-1", until: new Date(T0 + 60_000).toISOString() },
    ]);
    assert.deepEqual(providers.backup.cooling_keys, []);

    const keys = Object.fromEntries(body.keys.map((k: { virtual_key_id: string }) => [k.virtual_key_id, k]));
    assert.equal(keys["team-a"].totals.requests, 5);
    assert.equal(keys.limited.totals.requests, 2);
    assert.equal(keys.limited.totals.errors, 1);
    assert.equal(keys.limited.totals.cost_usd, 0.00625);

    assert.equal((await adminGet(gateway, "/admin/stats")).body.buckets.length, 60, "an hour by default");
    for (const bad of ["2h", "0m", "61m", "1d", "soon"]) {
      const { status, body } = await adminGet(gateway, `/admin/stats?window=${bad}`);
      assert.equal(status, 400, bad);
      assert.equal(body.error.param, "window");
    }
  }, clock);
});

Deno.test("the dashboard's reads are not logged at info nor counted as requests in /metrics", async () => {
  await withDashboard(async ({ gateway }) => {
    for (const path of ["/admin/requests", "/admin/usage", "/admin/stats"]) await adminGet(gateway, path);
    const lines = gateway.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");
    assert.ok(lines.every((line) => line.level === "debug"), JSON.stringify(lines));
    const metrics = await (await gateway.fetch("/metrics")).text();
    assert.doesNotMatch(metrics, /route="\/admin\/(requests|usage|stats)"/);
  }, clock);
});
