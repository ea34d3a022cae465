/**
 * What a hostile client can put in a name, over real HTTP: invented model
 * names never become metric labels, an oversized model name is a 400, and a
 * model or method named like a built-in property (`constructor`, `__proto__`)
 * finds nothing, so no price of NaN and no crash.
 */
import assert from "node:assert/strict";
import { costOf, tokensOf } from "../src/auth/pricing.ts";
import { jsonAnswer, untilLogged } from "./support/observability.ts";
import { type FakeUpstream, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig } from "./support/gateway.ts";

const ROUTE = "/v1/chat/completions";
const ADMIN = "sk-admin-test-secret-42";

/** Every answer uses 1000 input and 500 output tokens: 0.00625 USD at gpt-5's shipped price. */
const withGateway = async (
  overrides: Record<string, unknown> | ((upstreamUrl: string) => Record<string, unknown>),
  body: (gateway: RunningGateway, upstream: FakeUpstream) => Promise<void>,
) => {
  const upstream = startFakeUpstream(() => ({ json: jsonAnswer("ok", 1000, 500) }));
  const config = testConfig(upstream.url, typeof overrides === "function" ? overrides(upstream.url) : overrides);
  const gateway = await startGateway(config);
  try {
    await body(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const ask = (gateway: RunningGateway, model: string, extra: Record<string, unknown> = {}) =>
  postJson(gateway, ROUTE, { model, messages: [{ role: "user", content: "hi" }], ...extra });

/** Sample lines as `name{labels}` -> value. */
const samples = (text: string): Map<string, number> =>
  new Map(
    text.split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => {
        const at = line.lastIndexOf(" ");
        return [line.slice(0, at), Number(line.slice(at + 1))] as const;
      }),
  );

const spentUsd = async (gateway: RunningGateway, id: string): Promise<unknown> => {
  const response = await gateway.fetch("/admin/keys", { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(response.status, 200);
  const body = await response.json();
  return body.data.find((key: { id: string }) => key.id === id).usage.spent_usd;
};

// ===== Metric labels =====

Deno.test("invented model names are labelled `other` in /metrics; configured and priced names keep their label, cut to 64 characters", async () => {
  const long = `house-${"l".repeat(100)}`;
  await withGateway((upstreamUrl) => ({
    providers: {
      openai: {
        base_url: upstreamUrl,
        keys: [{ value: "sk-upstream-secret-1" }],
        models: ["gpt-5", "house-model", long],
      },
    },
    pricing: { "openai/priced-house": { input_per_mtok: 1, output_per_mtok: 2 } },
  }), async (gateway) => {
    const invented = Array.from({ length: 40 }, (_, i) => `openai/invented-${i}-${"x".repeat(200)}`);
    for (const model of [...invented, "openai/house-model", "openai/priced-house", `openai/${long}`]) {
      const response = await ask(gateway, model);
      assert.equal(response.status, 200, model);
      await response.body?.cancel();
    }
    await untilLogged(gateway, invented.length + 3);

    const text = await (await gateway.fetch("/metrics")).text();
    assert.doesNotMatch(text, /invented-/);
    const all = samples(text);
    assert.equal(all.get(`gateway_upstream_attempts_total{provider="openai",model="other",outcome="ok"}`), 40);
    assert.equal(all.get(`gateway_upstream_duration_seconds_count{provider="openai",model="other"}`), 40);
    assert.equal(
      all.get(
        `gateway_requests_total{route="${ROUTE}",status="200",provider="openai",model="other",virtual_key="team-a"}`,
      ),
      40,
    );
    assert.equal(all.get(`gateway_upstream_attempts_total{provider="openai",model="house-model",outcome="ok"}`), 1);
    assert.equal(all.get(`gateway_upstream_attempts_total{provider="openai",model="priced-house",outcome="ok"}`), 1);
    assert.equal(
      all.get(`gateway_upstream_attempts_total{provider="openai",model="${long.slice(0, 64)}",outcome="ok"}`),
      1,
    );
    for (const [, value] of text.matchAll(/model="([^"]*)"/g)) assert.ok(value.length <= 64, value);
  });
});

// ===== Oversized names =====

Deno.test("a model name or fallback over 256 bytes is a 400 naming it, and the upstream is never called", async () => {
  await withGateway({}, async (gateway, upstream) => {
    const refusals: Array<[string, Record<string, unknown>, string]> = [
      [`openai/${"m".repeat(250)}`, {}, "model"],
      // 86 characters, 258 bytes: the limit is in bytes, not characters.
      ["€".repeat(86), {}, "model"],
      ["openai/gpt-5", { fallbacks: ["openai/gpt-4.1", "f".repeat(300)] }, "fallbacks[1]"],
    ];
    for (const [model, extra, param] of refusals) {
      const response = await ask(gateway, model, extra);
      assert.equal(response.status, 400, param);
      const body = await response.json();
      assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
      assert.equal(body.error.type, "invalid_request_error");
      assert.equal(body.error.param, param);
      assert.equal(body.error.code, "invalid_value");
      assert.equal(body.error.message, `${param}: must be at most 256 bytes`);
    }
    assert.equal(upstream.requests.length, 0);

    // Exactly 256 bytes is still a name.
    const longest = await ask(gateway, `openai/${"m".repeat(249)}`);
    assert.equal(longest.status, 200);
    await longest.body?.cancel();
  });
});

// ===== Built-in property names =====

Deno.test("models named like built-in properties have no price: the key's spend stays a finite number and its budget still refuses", async () => {
  await withGateway({
    admin_key: ADMIN,
    virtual_keys: [{ id: "capped", value: "sk-bf-test-key-0123456789", budget: { max_usd: 0.01, period: "1d" } }],
  }, async (gateway) => {
    const names = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "openai/__proto__"];
    for (const model of names) {
      const response = await ask(gateway, model);
      assert.equal(response.status, 200, model);
      assert.equal((await response.json()).usage.cost, undefined, `${model} has no price`);
      assert.equal(await spentUsd(gateway, "capped"), 0, `spend after ${model}`);
    }

    // Two priced requests cross the budget of 0.01 USD (0.00625 each); then every model is refused.
    for (let i = 0; i < 2; i++) {
      const response = await ask(gateway, "openai/gpt-5");
      assert.equal(response.status, 200);
      await response.body?.cancel();
    }
    assert.equal(await spentUsd(gateway, "capped"), 0.0125);
    for (const model of ["constructor", "openai/gpt-5"]) {
      const refused = await ask(gateway, model);
      assert.equal(refused.status, 402, model);
      assert.equal((await refused.json()).error.code, "budget_exceeded");
    }
  });
});

Deno.test("a usage with absurd or non-numeric token counts never costs NaN or Infinity", () => {
  const price = { inputPerMtok: 1.25, outputPerMtok: 10 };
  const usages = [
    { input_tokens: 1e308, output_tokens: 1e308 },
    { input_tokens: "1000" as unknown as number, output_tokens: 500 },
    { input_tokens: -5, output_tokens: Number.NaN, total_tokens: Number.POSITIVE_INFINITY },
  ];
  for (const usage of usages) {
    const cost = costOf(price, usage);
    for (const value of Object.values(cost)) assert.ok(Number.isFinite(value), JSON.stringify(cost));
    assert.ok(Number.isFinite(tokensOf(usage)));
  }
  // What is a number still counts: 500 output tokens at $10 per million.
  assert.equal(costOf(price, usages[1]).total_cost, 0.005);
});

/** One raw HTTP/1.1 request with any method token (`fetch` would refuse or normalise it); the status line's code. */
const statusFor = async (gateway: RunningGateway, method: string, path: string): Promise<number> => {
  const { hostname, port } = new URL(gateway.url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(`${method} ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) chunks.push(buffer.slice(0, n));
    const head = new TextDecoder().decode(chunks[0]);
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  } finally {
    conn.close();
  }
};

Deno.test("an HTTP method named like a built-in property is answered 405, not an internal error", async () => {
  await withGateway({}, async (gateway) => {
    for (const method of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      assert.equal(await statusFor(gateway, method, ROUTE), 405, method);
    }
  });
});
