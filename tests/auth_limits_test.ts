/**
 * Virtual keys over real HTTP: each refusal status, rate limits, budgets,
 * costs, settling after streams, concurrency and restarts. The gateway's clock
 * is pinned, so minutes and budget periods are chosen by the test, not by when
 * it runs.
 */
import assert from "node:assert/strict";
import { type FakeUpstream, type SseStep, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";
import { pinnedClock } from "./support/clock.ts";

const ADMIN = "sk-admin-test-secret-42";
/** 12:00:45 UTC on Wednesday 2025-01-08: 15 s before the next minute. */
const T0 = Date.UTC(2025, 0, 8, 12, 0, 45);

type Usage = Record<string, unknown>;

const usageOf = (input: number, output: number, cached = 0, reasoning = 0): Usage => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: input + output,
});

const responseJson = (usage: Usage, status = "completed") => ({
  id: "resp_1",
  object: "response",
  created_at: 1,
  status,
  model: "gpt-5-2025-08-07",
  output: [{
    type: "message",
    id: "msg_1",
    role: "assistant",
    content: [{ type: "output_text", text: "ok", annotations: [] }],
  }],
  usage,
});

const streamSteps = (usage: Usage, terminal = "response.completed"): SseStep[] => [
  { event: { type: "response.created", response: { ...responseJson(usage, "in_progress"), usage: null } } },
  { event: { type: "response.output_text.delta", item_id: "msg_1", output_index: 0, content_index: 0, delta: "ok" } },
  {
    event: {
      type: terminal,
      response: {
        ...responseJson(usage, terminal === "response.completed" ? "completed" : "incomplete"),
        incomplete_details: terminal === "response.incomplete" ? { reason: "max_output_tokens" } : null,
      },
    },
  },
];

interface Setup {
  readonly upstream: FakeUpstream;
  readonly gateway: RunningGateway;
  /** Moves the gateway's clock. */
  readonly at: (ms: number) => void;
}

const withGateway = async (
  overrides: Record<string, unknown>,
  fn: (setup: Setup) => Promise<void>,
  usage: Usage = usageOf(10, 5),
) => {
  let now = T0;
  const upstream = startFakeUpstream((request) =>
    request.body.stream ? { sse: streamSteps(usage) } : { json: responseJson(usage) }
  );
  const gateway = await startGateway(testConfig(upstream.url, overrides), { clock: pinnedClock(() => now) });
  try {
    await fn({ upstream, gateway, at: (ms) => (now = ms) });
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const ask = (gateway: RunningGateway, headers: Record<string, string> = {}, model = "openai/gpt-5") =>
  postJson(gateway, "/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] }, headers);

const keyUsage = async (gateway: RunningGateway, id: string) => {
  const response = await gateway.fetch("/admin/keys", { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(response.status, 200);
  const body = await response.json();
  return body.data.find((key: { id: string }) => key.id === id).usage;
};

/** A KV file in a fresh temp dir, removed after `fn`. */
const withKvPath = async (fn: (path: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/gateway.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test("a request without a virtual key, or with an unknown one, is refused with 401", async () => {
  await withGateway({}, async ({ gateway, upstream }) => {
    const missing = await ask(gateway, { authorization: "" });
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).error.type, "authentication_error");
    const unknown = await ask(gateway, { authorization: "Bearer sk-bf-not-a-real-key" });
    assert.equal(unknown.status, 401);
    assert.equal((await unknown.json()).error.code, "invalid_api_key");
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("a disabled virtual key is refused with 401", async () => {
  await withGateway({ virtual_keys: [{ id: "off", value: VK, active: false }] }, async ({ gateway, upstream }) => {
    const response = await ask(gateway);
    assert.equal(response.status, 401);
    assert.match((await response.json()).error.message, /'off' is disabled/);
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("an expired virtual key is refused with 401, and works until it expires", async () => {
  const expiresAt = new Date(T0 + 1_000).toISOString();
  await withGateway(
    { virtual_keys: [{ id: "brief", value: VK, expires_at: expiresAt }] },
    async ({ gateway, at }) => {
      assert.equal((await ask(gateway)).status, 200);
      at(T0 + 1_000);
      const response = await ask(gateway);
      assert.equal(response.status, 401);
      assert.match((await response.json()).error.message, /'brief' expired at/);
    },
  );
});

Deno.test("a model outside the key's patterns is refused with 403 before the upstream is called", async () => {
  await withGateway(
    { virtual_keys: [{ id: "mini-only", value: VK, models: ["openai/gpt-5-mini", "gpt-4.1"] }] },
    async ({ gateway, upstream }) => {
      const denied = await ask(gateway, {}, "openai/gpt-5");
      assert.equal(denied.status, 403);
      assert.equal((await denied.json()).error.code, "model_not_allowed");
      assert.equal(upstream.requests.length, 0);
      assert.equal((await ask(gateway, {}, "openai/gpt-5-mini")).status, 200);
      assert.equal((await ask(gateway, {}, "gpt-4.1")).status, 200);
    },
  );
});

Deno.test("over its requests per minute a key gets 429 with Retry-After and rate-limit headers, and refusals are not counted", async () => {
  await withGateway({
    admin_key: ADMIN,
    virtual_keys: [{ id: "rpm", value: VK, rate_limit: { requests_per_minute: 2, tokens_per_minute: 1000 } }],
  }, async ({ gateway, upstream, at }) => {
    const first = await ask(gateway);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-ratelimit-limit-requests"), "2");
    assert.equal(first.headers.get("x-ratelimit-remaining-requests"), "1");
    await first.body?.cancel();
    const second = await ask(gateway);
    assert.equal(second.headers.get("x-ratelimit-remaining-requests"), "0");
    await second.body?.cancel();

    for (let i = 0; i < 3; i++) {
      const refused = await ask(gateway);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "15");
      assert.equal(refused.headers.get("x-ratelimit-remaining-requests"), "0");
      assert.equal(refused.headers.get("x-ratelimit-remaining-tokens"), String(1000 - 2 * 15));
      const body = await refused.json();
      assert.equal(body.error.type, "rate_limit_error");
      assert.equal(body.error.code, "rate_limit_exceeded");
    }
    assert.equal(upstream.requests.length, 2);
    assert.equal((await keyUsage(gateway, "rpm")).requests_this_minute, 2);

    at(T0 + 15_000); // 12:01:00, a new window
    const next = await ask(gateway);
    assert.equal(next.status, 200);
    assert.equal(next.headers.get("x-ratelimit-remaining-requests"), "1");
    await next.body?.cancel();
  });
});

Deno.test("over its tokens per minute a key gets 429 once the minute's real tokens reach the limit", async () => {
  await withGateway(
    { virtual_keys: [{ id: "tpm", value: VK, rate_limit: { tokens_per_minute: 100 } }] },
    async ({ gateway }) => {
      const first = await ask(gateway);
      assert.equal(first.headers.get("x-ratelimit-remaining-tokens"), "100");
      await first.body?.cancel();
      const second = await ask(gateway);
      assert.equal(second.status, 200);
      assert.equal(second.headers.get("x-ratelimit-remaining-tokens"), "40");
      await second.body?.cancel();
      const refused = await ask(gateway);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("x-ratelimit-remaining-tokens"), "0");
      assert.match((await refused.json()).error.message, /100 tokens/);
    },
    usageOf(40, 20),
  );
});

Deno.test("the request that crosses the budget is served and recorded, the next gets 402 until the next period", async () => {
  // gpt-5 at the default price: 1000 input and 500 output tokens cost 0.00125 + 0.005 = 0.00625 USD.
  await withGateway({
    admin_key: ADMIN,
    virtual_keys: [{ id: "capped", value: VK, budget: { max_usd: 0.01, period: "1d" } }],
  }, async ({ gateway, upstream, at }) => {
    assert.equal((await ask(gateway)).status, 200);
    const crossing = await ask(gateway);
    assert.equal(crossing.status, 200);
    assert.equal((await crossing.json()).usage.cost.total_cost, 0.00625);
    assert.equal((await keyUsage(gateway, "capped")).spent_usd, 0.0125);

    const refused = await ask(gateway);
    assert.equal(refused.status, 402);
    const body = await refused.json();
    assert.equal(body.error.type, "insufficient_quota");
    assert.equal(body.error.code, "budget_exceeded");
    assert.match(body.error.message, /day budget of \$0\.01\. It resets at 2025-01-09T00:00:00\.000Z/);
    assert.equal(upstream.requests.length, 2);

    at(Date.UTC(2025, 0, 9, 0, 0, 1));
    assert.equal((await ask(gateway)).status, 200);
  }, usageOf(1000, 500));
});

Deno.test("usage.cost reports input, cached input, output and reasoning costs at the configured price", async () => {
  await withGateway({
    pricing: { "openai/gpt-5": { input_per_mtok: 2, cached_input_per_mtok: 0.5, output_per_mtok: 8 } },
  }, async ({ gateway }) => {
    const expected = {
      input_tokens_cost: 0.0017, // 800 uncached at $2 + 200 cached at $0.50 per million
      output_tokens_cost: 0.004, // 500 at $8 per million
      reasoning_tokens_cost: 0.0008, // 100 of those 500 were reasoning
      total_cost: 0.0057,
    };
    const json = await (await ask(gateway)).json();
    assert.deepEqual(json.usage.cost, expected);

    const streamed = await postJson(gateway, "/v1/chat/completions", {
      model: "openai/gpt-5",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const frames = (await streamed.text()).split("\n\n").filter((f) => f.startsWith("data: {"));
    const usageChunk = frames.map((f) => JSON.parse(f.slice(6))).find((chunk) => chunk.usage);
    assert.deepEqual(usageChunk.usage.cost, expected);
  }, usageOf(1000, 500, 200, 100));
});

Deno.test("a model without a price is served at 0 USD and warned about once", async () => {
  await withGateway({ admin_key: ADMIN }, async ({ gateway }) => {
    for (let i = 0; i < 3; i++) {
      const response = await ask(gateway, {}, "openai/house-model");
      assert.equal(response.status, 200);
      assert.equal((await response.json()).usage.cost, undefined);
    }
    const warnings = gateway.logs.map((line) => JSON.parse(line)).filter((line) => line.level === "warn");
    assert.deepEqual(warnings.map((line) => [line.msg, line.model]), [
      ["no price for model; its requests count as 0 USD", "openai/house-model"],
    ]);
    const usage = await keyUsage(gateway, "team-a");
    assert.equal(usage.spent_usd, 0);
  });
});

Deno.test("a stream's real tokens and cost are recorded when it ends, also when it ends incomplete", async () => {
  await withKvPath(async (path) => {
    const now = T0;
    const terminals = ["response.completed", "response.incomplete"];
    const upstream = startFakeUpstream((_, index) => ({ sse: streamSteps(usageOf(1000, 500), terminals[index]) }));
    const config = testConfig(upstream.url, { admin_key: ADMIN, store: { kind: "kv", path } });
    try {
      const gateway = await startGateway(config, { clock: pinnedClock(() => now) });
      for (let i = 0; i < 2; i++) {
        const response = await postJson(gateway, "/v1/chat/completions", {
          model: "openai/gpt-5",
          stream: true,
          messages: [{ role: "user", content: "hi" }],
        });
        assert.equal(response.status, 200);
        await response.text();
      }
      // Closing waits for detached settlements; the reopened store shows what they recorded.
      await gateway.close();
      const reopened = await startGateway(config, { clock: pinnedClock(() => now) });
      const usage = await keyUsage(reopened, "team-a");
      assert.equal(usage.tokens_this_minute, 3000);
      assert.equal(usage.spent_usd, 0.0125);
      await reopened.close();
    } finally {
      await upstream.close();
    }
  });
});

Deno.test("a stream the client cuts off is settled and counted, and the gateway keeps serving", async () => {
  await withKvPath(async (path) => {
    const usage = usageOf(10, 5);
    // The upstream stalls after its first delta, so the only way the stream ends is the client leaving.
    const upstream = startFakeUpstream((request) =>
      request.body.stream
        ? { sse: [...streamSteps(usage).slice(0, 2), { delayMs: 30_000 }, ...streamSteps(usage).slice(2)] }
        : { json: responseJson(usage) }
    );
    const config = testConfig(upstream.url, { admin_key: ADMIN, store: { kind: "kv", path } });
    try {
      const gateway = await startGateway(config, { clock: pinnedClock(() => T0) });
      const response = await postJson(gateway, "/v1/chat/completions", {
        model: "openai/gpt-5",
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      });
      const reader = response.body!.getReader();
      await reader.read();
      await reader.cancel();
      assert.equal((await ask(gateway)).status, 200);
      await gateway.close(); // waits for the cut-off stream's settlement
      const reopened = await startGateway(config, { clock: pinnedClock(() => T0) });
      const recorded = await keyUsage(reopened, "team-a");
      await reopened.close();
      assert.equal(recorded.requests_this_minute, 2);
      assert.equal(recorded.tokens_this_minute, 15); // the completed request's; the cut-off one reported none
    } finally {
      await upstream.close();
    }
  });
});

Deno.test("50 parallel requests against a key with 10 requests per minute get exactly 10 through (Deno KV)", async () => {
  await withKvPath(async (path) => {
    await withGateway({
      store: { kind: "kv", path },
      virtual_keys: [{ id: "ten", value: VK, rate_limit: { requests_per_minute: 10 } }],
    }, async ({ gateway, upstream }) => {
      const statuses = await Promise.all(Array.from({ length: 50 }, async () => {
        const response = await ask(gateway);
        await response.body?.cancel();
        return response.status;
      }));
      assert.equal(statuses.filter((s) => s === 200).length, 10);
      assert.equal(statuses.filter((s) => s === 429).length, 40);
      assert.equal(upstream.requests.length, 10);
    });
  });
});

Deno.test("usage survives a restart on the Deno KV store: a spent budget stays spent", async () => {
  await withKvPath(async (path) => {
    const upstream = startFakeUpstream(() => ({ json: responseJson(usageOf(1000, 500)) }));
    const config = testConfig(upstream.url, {
      store: { kind: "kv", path },
      virtual_keys: [{ id: "capped", value: VK, budget: { max_usd: 0.005, period: "1M" } }],
    });
    try {
      const first = await startGateway(config, { clock: pinnedClock(() => T0) });
      assert.equal((await ask(first)).status, 200);
      await first.close();
      const second = await startGateway(config, { clock: pinnedClock(() => T0 + 86_400_000) });
      assert.equal((await ask(second)).status, 402);
      await second.close();
      assert.equal(upstream.requests.length, 1);
    } finally {
      await upstream.close();
    }
  });
});

Deno.test("no virtual key value appears in any log line or response", async () => {
  await withGateway({
    virtual_keys: [{ id: "watched", value: VK, models: ["openai/gpt-5"], rate_limit: { requests_per_minute: 1 } }],
  }, async ({ gateway }) => {
    const texts: string[] = [];
    const record = async (response: Response) => {
      texts.push(await response.text(), JSON.stringify([...response.headers]));
    };
    await record(await ask(gateway)); // 200
    await record(await ask(gateway)); // 429
    await record(await ask(gateway, {}, "openai/gpt-4.1")); // 403
    await record(await ask(gateway, { authorization: `Bearer ${VK}x` })); // 401
    await record(await ask(gateway, { authorization: "", "x-bf-vk": VK }));
    const everything = [...texts, ...gateway.logs].join("\n");
    assert.ok(gateway.logs.length > 0);
    assert.ok(!everything.includes(VK), "a virtual key value leaked");
    assert.ok(!everything.includes(VK.slice(6)), "part of a virtual key value leaked");
  }, usageOf(1000, 500));
});
