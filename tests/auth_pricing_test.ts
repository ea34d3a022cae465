import assert from "node:assert/strict";
import { costOf, defaultPrices, makePriceTable, tokensOf } from "../src/auth/pricing.ts";
import type { ModelRef } from "../src/routing/model_ref.ts";

/** `azure/gpt-5` or a bare `gpt-5` (at openai). */
const ref = (name: string): ModelRef => {
  const [provider, model] = name.includes("/") ? name.split("/", 2) : ["openai", name];
  return { provider, model, label: `${provider}/${model}` };
};

Deno.test("cost is uncached input at the input price, cached input at the cached price, and output", () => {
  const cost = costOf({ inputPerMtok: 1.25, cachedInputPerMtok: 0.125, outputPerMtok: 10 }, {
    input_tokens: 1000,
    input_tokens_details: { cached_tokens: 200 },
    output_tokens: 500,
    output_tokens_details: { reasoning_tokens: 100 },
  });
  assert.deepEqual(cost, {
    input_tokens_cost: 0.001025,
    output_tokens_cost: 0.005,
    reasoning_tokens_cost: 0.001,
    total_cost: 0.006025,
  });
});

Deno.test("cached tokens bill at the input price when a model has no cached price", () => {
  const cost = costOf({ inputPerMtok: 15, outputPerMtok: 120 }, {
    input_tokens: 2_000_000,
    input_tokens_details: { cached_tokens: 1_000_000 },
    output_tokens: 0,
  });
  assert.equal(cost.input_tokens_cost, 30);
  assert.equal(cost.total_cost, 30);
});

Deno.test("cache writes bill at the cache-write price, and at the input price when a model has none", () => {
  const usage = {
    input_tokens: 4_000,
    input_tokens_details: { cached_tokens: 1_000, cache_write_tokens: 2_000 },
    output_tokens: 0,
  };
  const priced = costOf(
    { inputPerMtok: 3, cachedInputPerMtok: 0.3, cacheWritePerMtok: 3.75, outputPerMtok: 15 },
    usage,
  );
  assert.equal(priced.input_tokens_cost, 0.0108); // 1,000 × 3 + 1,000 × 0.3 + 2,000 × 3.75
  const unpriced = costOf({ inputPerMtok: 3, cachedInputPerMtok: 0.3, outputPerMtok: 15 }, usage);
  assert.equal(unpriced.input_tokens_cost, 0.0093); // 1,000 × 3 + 1,000 × 0.3 + 2,000 × 3
  assert.equal(unpriced.total_cost, 0.0093);
});

Deno.test("cache reads and writes count within the prompt: more than it holds bills as the prompt, never below zero", () => {
  const price = { inputPerMtok: 3, cachedInputPerMtok: 0.3, cacheWritePerMtok: 3.75, outputPerMtok: 15 };
  const cost = costOf(price, {
    input_tokens: 1_000,
    input_tokens_details: { cached_tokens: 600, cache_write_tokens: 900 },
    output_tokens: 0,
  });
  assert.equal(cost.input_tokens_cost, 0.00168); // 600 × 0.3 + the remaining 400 × 3.75
  const garbled = costOf(price, {
    input_tokens: 1_000,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: Number.NaN },
    output_tokens: 0,
  });
  assert.equal(garbled.input_tokens_cost, 0.003);
});

Deno.test("missing or null usage details count as zero", () => {
  const cost = costOf({ inputPerMtok: 2, outputPerMtok: 8 }, {
    input_tokens: 10,
    input_tokens_details: null,
    output_tokens_details: null,
  });
  assert.deepEqual(cost, {
    input_tokens_cost: 0.00002,
    output_tokens_cost: 0,
    reasoning_tokens_cost: 0,
    total_cost: 0.00002,
  });
});

Deno.test("the shipped table prices common OpenAI models", () => {
  for (const model of ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"]) {
    assert.ok(defaultPrices[model], model);
  }
  assert.deepEqual(defaultPrices["gpt-5"], { inputPerMtok: 1.25, cachedInputPerMtok: 0.125, outputPerMtok: 10 });
});

Deno.test("config prices by provider/model win over bare model names, which win over the shipped table", () => {
  const price = makePriceTable({
    "azure/gpt-5": { inputPerMtok: 3, outputPerMtok: 30 },
    "gpt-5": { inputPerMtok: 2, outputPerMtok: 20 },
    "house-model": { inputPerMtok: 0.1, outputPerMtok: 0.2 },
  });
  assert.equal(price(ref("azure/gpt-5"))?.inputPerMtok, 3);
  assert.equal(price(ref("openai/gpt-5"))?.inputPerMtok, 2);
  assert.equal(price(ref("azure/house-model"))?.outputPerMtok, 0.2);
  assert.equal(price(ref("gpt-4.1"))?.inputPerMtok, 2);
  assert.equal(price(ref("openai/unknown-model")), undefined);
});

Deno.test("a dated snapshot is priced like its alias unless the table names it", () => {
  const price = makePriceTable({});
  assert.deepEqual(price(ref("gpt-4.1-2025-04-14")), defaultPrices["gpt-4.1"]);
  assert.deepEqual(price(ref("gpt-4o-2024-05-13")), { inputPerMtok: 5, outputPerMtok: 15 });
  assert.deepEqual(price(ref("anthropic/claude-haiku-4-5-20251001")), defaultPrices["claude-haiku-4-5"]);
  assert.deepEqual(
    makePriceTable({ "claude-haiku-4-5": { inputPerMtok: 2, outputPerMtok: 4 } })(ref("claude-haiku-4-5-20251001")),
    { inputPerMtok: 2, outputPerMtok: 4 },
  );
});

Deno.test("tokens counted against a limit are the total, or input plus output without one", () => {
  assert.equal(tokensOf({ input_tokens: 3, output_tokens: 4, total_tokens: 9 }), 9);
  assert.equal(tokensOf({ input_tokens: 3, output_tokens: 4 }), 7);
  assert.equal(tokensOf(undefined), 0);
});
