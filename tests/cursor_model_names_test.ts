/**
 * Issue 14, point 1: the model names Cursor sends (`gpt-5.4-mini-high`, `gpt-5-fast`, `gpt-5.5-extra`,
 * `gpt-5-thinking-high`) reach the upstream as the model they name, with the effort, speed or reasoning
 * the suffix asked for; config aliases apply on every route; strict `/v1` clients keep their names.
 */
import assert from "node:assert/strict";
import { VK } from "./support/gateway.ts";
import {
  answering,
  CURSOR_PATH,
  cursorBodies,
  type Json,
  noRecordings,
  post,
  STRICT_PATH,
  usageChunkOf,
  withGateway,
} from "./support/cursor.ts";

const hello = answering({ items: [{ text: "hi" }] });
const user = [{ role: "user", content: "hi" }];

const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
  ["gpt-5.4-mini-high", "gpt-5.4-mini", { reasoning: { effort: "high" } }],
  ["gpt-5-fast", "gpt-5", { service_tier: "priority" }],
  ["gpt-5.5-extra", "gpt-5.5", { reasoning: { effort: "xhigh" } }],
  ["gpt-5-thinking-high", "gpt-5", { reasoning: { effort: "high" } }],
  ["gpt-5-thinking", "gpt-5", { reasoning: { effort: "medium" } }],
  ["gpt-5-thinking-high-fast", "gpt-5", { reasoning: { effort: "high" }, service_tier: "priority" }],
  ["openai/gpt-5.4-minimal", "gpt-5.4", { reasoning: { effort: "minimal" } }],
];

for (const [sent, model, expected] of cases) {
  Deno.test(`Cursor's ${sent} goes upstream as ${model} with ${JSON.stringify(expected)}`, async () => {
    await withGateway(hello, {}, async ({ gateway, upstream }) => {
      const answer = await post(gateway, CURSOR_PATH, { model: sent, input: user, stream: true });
      assert.equal(answer.status, 200);
      const body = upstream.requests[0].body;
      assert.equal(body.model, model);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(body[key], value);
      // The client's name is echoed and kept as requested; the served model is in the headers.
      assert.equal(answer.chunks[0].model, sent);
      assert.equal(answer.chunks[0].extra_fields.model_requested, sent);
      assert.equal(answer.headers.get("x-gateway-model"), model);
    });
  });
}

Deno.test("a real id that ends like a suffix (grok-4-fast-reasoning, priced) stays whole on Cursor requests", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "grok-4-fast-reasoning", input: user });
    assert.equal(upstream.requests[0].body.model, "grok-4-fast-reasoning");
    assert.equal(upstream.requests[0].body.service_tier, undefined);
  });
});

Deno.test("a name neither listed nor priced keeps its suffix: the upstream judges it", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "my-local-model-high", input: user });
    assert.equal(upstream.requests[0].body.model, "my-local-model-high");
    assert.equal(upstream.requests[0].body.reasoning, undefined);
  });
});

Deno.test("a model its provider lists (providers.*.models) counts as known: the suffix comes off", async () => {
  const listed = (url: string) => ({
    providers: { openai: { base_url: url, keys: [{ value: "sk-upstream" }], models: ["house-model"] } },
  });
  await withGateway(hello, listed, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "house-model-low", input: user });
    await post(gateway, CURSOR_PATH, { model: "other-model-low", input: user });
    assert.equal(upstream.requests[0].body.model, "house-model");
    assert.deepEqual(upstream.requests[0].body.reasoning, { effort: "low" });
    assert.equal(upstream.requests[1].body.model, "other-model-low");
  });
});

Deno.test("the request's own reasoning.effort wins over the suffix's", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, {
      model: "gpt-5-high",
      input: user,
      reasoning: { effort: "medium", summary: "auto" },
    });
    assert.equal(upstream.requests[0].body.model, "gpt-5");
    assert.deepEqual(upstream.requests[0].body.reasoning, { effort: "medium", summary: "auto" });
  });
});

Deno.test("a suffix effort drops sampling parameters reasoning models refuse", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "gpt-5-low", messages: user, temperature: 0 });
    assert.equal(upstream.requests[0].body.temperature, undefined);
    assert.deepEqual(upstream.requests[0].body.reasoning, { effort: "low" });
  });
});

Deno.test("Cursor's service_tier default does not cancel a -fast name; an explicit flex does", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, CURSOR_PATH, { model: "gpt-5-fast", input: user, service_tier: "default" });
    await post(gateway, CURSOR_PATH, { model: "gpt-5-fast", input: user, service_tier: "flex" });
    assert.equal(upstream.requests[0].body.service_tier, "priority");
    assert.equal(upstream.requests[1].body.service_tier, "flex");
  });
});

Deno.test("strict /v1: a suffixed name goes upstream as sent (non-Cursor clients name real models)", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, STRICT_PATH, { model: "gpt-5-high", messages: user });
    assert.equal(upstream.requests[0].body.model, "gpt-5-high");
    assert.equal(upstream.requests[0].body.reasoning, undefined);
  });
});

Deno.test("/v1 requests Cursor makes (user agent or cursorConversationId) resolve suffixes too", async () => {
  await withGateway(hello, {}, async ({ gateway, upstream }) => {
    await post(gateway, STRICT_PATH, { model: "gpt-5-high", messages: user }, { "user-agent": "Cursor/1.0" });
    await post(gateway, STRICT_PATH, {
      model: "gpt-5-high",
      input: user,
      metadata: { cursorConversationId: "conv-1" },
    });
    assert.equal(upstream.requests[0].body.model, "gpt-5");
    assert.equal(upstream.requests[1].body.model, "gpt-5");
  });
});

Deno.test("a config alias applies on every route, before the suffix rules, with its reasoning", async () => {
  const aliases = {
    model_aliases: {
      "gpt-5-high": { model: "openai/gpt-4.1", reasoning: { effort: "low" } },
      "team-default": { model: "gpt-5", service_tier: "flex" },
    },
  };
  await withGateway(hello, aliases, async ({ gateway, upstream }) => {
    const answer = await post(gateway, STRICT_PATH, { model: "gpt-5-high", messages: user });
    await post(gateway, CURSOR_PATH, { model: "gpt-5-high", input: user });
    await post(gateway, STRICT_PATH, { model: "team-default", messages: user });
    assert.equal(upstream.requests[0].body.model, "gpt-4.1");
    assert.deepEqual(upstream.requests[0].body.reasoning, { effort: "low" });
    assert.equal(upstream.requests[1].body.model, "gpt-4.1");
    assert.equal(upstream.requests[2].body.model, "gpt-5");
    assert.equal(upstream.requests[2].body.service_tier, "flex");
    assert.equal(answer.json.model, "gpt-5-high");
    assert.equal(answer.json.extra_fields.model_requested, "gpt-5-high");
  });
});

Deno.test("fallbacks are resolved too, without changing the request's settings", async () => {
  let calls = 0;
  const failFirst = (request: Parameters<typeof hello>[0], index: number) => {
    calls++;
    return index === 0
      ? { status: 404, json: { error: { message: "no such model", code: "model_not_found" } } }
      : hello(
        request,
        index,
      );
  };
  await withGateway(failFirst, {}, async ({ gateway, upstream }) => {
    const answer = await post(gateway, CURSOR_PATH, {
      model: "gpt-5-high",
      fallbacks: ["gpt-4.1-fast"],
      input: user,
    });
    assert.equal(answer.status, 200);
    assert.equal(calls, 2);
    assert.equal(upstream.requests[1].body.model, "gpt-4.1");
    assert.deepEqual(upstream.requests[1].body.reasoning, { effort: "high" });
    assert.equal(upstream.requests[1].body.service_tier, undefined);
  });
});

Deno.test("virtual-key model patterns judge the resolved model", async () => {
  const keys = {
    virtual_keys: [
      { id: "gpt5-only", value: VK, models: ["openai/gpt-5"] },
      { id: "gpt41-only", value: "sk-bf-other-key-0123456789", models: ["openai/gpt-4.1"] },
    ],
  };
  await withGateway(hello, keys, async ({ gateway, upstream }) => {
    const allowed = await post(gateway, CURSOR_PATH, { model: "gpt-5-high", input: user });
    assert.equal(allowed.status, 200);
    const refused = await post(gateway, CURSOR_PATH, { model: "gpt-5-high", input: user }, {
      authorization: "Bearer sk-bf-other-key-0123456789",
    });
    assert.equal(refused.status, 403);
    assert.match(refused.json.error.message, /openai\/gpt-5'/);
    assert.equal(upstream.requests.length, 1);
  });
});

Deno.test("the resolved model is priced: the usage chunk carries its cost (budgets charge it)", async () => {
  await withGateway(hello, {}, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, {
      model: "gpt-5-high",
      input: user,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usage = usageChunkOf(answer.chunks).usage;
    assert.ok(usage.cost !== undefined && usage.cost.total_cost > 0);
  });
});

// ===== Real Cursor bodies (GATEWAY_RECORDINGS) =====

Deno.test({
  name: "recordings: every Cursor body, its model suffixed -high, -fast, -extra, -thinking-high, resolves",
  ignore: noRecordings,
  fn: async () => {
    const suffixes = [
      ["-high", { reasoning: "high" }],
      ["-fast", { tier: "priority" }],
      ["-extra", { reasoning: "xhigh" }],
      ["-thinking-high", { reasoning: "high" }],
    ] as const;
    await withGateway(hello, {}, async ({ gateway, upstream }) => {
      const bodies = cursorBodies();
      assert.ok(bodies.length > 0);
      for (const { name, body } of bodies) {
        const base = String(body.model).replace(/-(thinking-high|fast|high|extra|thinking)$/, "");
        for (const [suffix, expected] of suffixes) {
          const sent = { ...body, model: `${base}${suffix}` };
          // Only names the gateway can know: a base listed or priced.
          const before = upstream.requests.length;
          const answer = await post(gateway, CURSOR_PATH, sent);
          assert.equal(answer.status, 200, `${name} ${suffix}: ${answer.text.slice(0, 300)}`);
          const forwarded: Json = upstream.requests[before].body;
          assert.equal(forwarded.model, base, `${name} ${suffix}`);
          const ownEffort = body.reasoning?.effort;
          if ("reasoning" in expected) {
            assert.equal(forwarded.reasoning.effort, ownEffort ?? expected.reasoning, `${name} ${suffix}`);
          } else {
            assert.equal(forwarded.service_tier, expected.tier, `${name} ${suffix}`);
          }
        }
      }
    });
  },
});
