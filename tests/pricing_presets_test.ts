/**
 * The shipped price table (`src/auth/prices.json`, generated from
 * `@pydantic/genai-prices` by `deno task prices`) prices each preset's
 * models, cache reads and writes included; config `pricing` still wins.
 */
import assert from "node:assert/strict";
import { costOf, defaultPrices, makePriceTable } from "../src/auth/pricing.ts";
import { resolveConfig } from "../src/config/load.ts";
import { presets } from "../src/config/presets.ts";
import type { ModelRef } from "../src/routing/model_ref.ts";
import {
  library,
  libraryProviders,
  pricesDigest,
  type PricesDocument,
  pricesPath,
  scriptDigest,
} from "../scripts/prices.ts";

const ref = (provider: string, model: string): ModelRef => ({ provider, model, label: `${provider}/${model}` });
const shipped = makePriceTable({});

// ===== Coverage =====

/** Each hosted preset's common models, as its clients spell them; a library bump that drops one fails here. */
const common: Readonly<Record<string, ReadonlyArray<string>>> = {
  openai: [
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5.1",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
    "o4-mini",
  ],
  azure: ["gpt-5", "gpt-4.1", "gpt-4o", "o4-mini"],
  anthropic: [
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1",
    "claude-opus-4-5",
    "claude-haiku-4-5",
    "claude-sonnet-4-20250514",
    "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-latest",
  ],
  gemini: ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-3-pro-preview"],
  deepseek: ["deepseek-chat", "deepseek-reasoner"],
  groq: [
    "llama-3.3-70b-versatile",
    "llama-3.1-8b-instant",
    "openai/gpt-oss-120b",
    "openai/gpt-oss-20b",
    "qwen/qwen3-32b",
  ],
  mistral: [
    "mistral-large-latest",
    "mistral-medium-latest",
    "mistral-small-latest",
    "codestral-latest",
    "magistral-medium-latest",
  ],
  openrouter: ["openai/gpt-5", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-pro", "deepseek/deepseek-chat"],
  together: ["meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Llama-4-Scout-17B-16E-Instruct"],
  fireworks: ["accounts/fireworks/models/gpt-oss-120b", "accounts/fireworks/models/qwen3-235b-a22b"],
  xai: ["grok-4", "grok-4-0709", "grok-3", "grok-3-mini", "grok-code-fast-1", "grok-4-fast-reasoning"],
  cerebras: ["gpt-oss-120b", "llama-3.3-70b", "qwen-3-32b", "llama3.1-8b"],
};

Deno.test("every hosted preset's common models have a price, with a cached-input price where the provider has one", () => {
  const unpriced = Object.entries(common).flatMap(([provider, models]) =>
    models.filter((model) => shipped(ref(provider, model)) === undefined).map((model) => `${provider}/${model}`)
  );
  assert.deepEqual(unpriced, []);
  for (const [provider, model] of [["openai", "gpt-5"], ["gemini", "gemini-2.5-pro"], ["xai", "grok-4"]]) {
    assert.ok(shipped(ref(provider, model))?.cachedInputPerMtok !== undefined, `${provider}/${model}`);
  }
  for (const model of common.anthropic) assert.ok(shipped(ref("anthropic", model))?.cacheWritePerMtok, model);
});

// ===== Answers priced from the table =====

Deno.test("a Claude answer bills cache reads at 0.30, cache writes at 3.75, the rest of the prompt at 3 USD/Mtok", () => {
  const price = shipped(ref("anthropic", "claude-sonnet-4-5-20250929"));
  assert.deepEqual(price, { inputPerMtok: 3, cachedInputPerMtok: 0.3, cacheWritePerMtok: 3.75, outputPerMtok: 15 });
  // 10,000 prompt tokens: 6,000 read from the cache, 3,000 written to it, 1,000 plain.
  const cost = costOf(price, {
    input_tokens: 10_000,
    input_tokens_details: { cached_tokens: 6_000, cache_write_tokens: 3_000 },
    output_tokens: 500,
    output_tokens_details: { reasoning_tokens: 100 },
  });
  assert.deepEqual(cost, {
    input_tokens_cost: 0.01605, // 1,000 × 3 + 6,000 × 0.3 + 3,000 × 3.75
    output_tokens_cost: 0.0075,
    reasoning_tokens_cost: 0.0015,
    total_cost: 0.02355,
  });
});

Deno.test("a DeepSeek answer with cache hits bills them at 0.07 USD/Mtok, the misses at 0.27", () => {
  const price = shipped(ref("deepseek", "deepseek-chat"));
  assert.deepEqual(price, { inputPerMtok: 0.27, cachedInputPerMtok: 0.07, outputPerMtok: 1.1 });
  const cost = costOf(price, {
    input_tokens: 100_000,
    input_tokens_details: { cached_tokens: 80_000 },
    output_tokens: 2_000,
  });
  assert.deepEqual(cost, {
    input_tokens_cost: 0.011, // 20,000 × 0.27 + 80,000 × 0.07
    output_tokens_cost: 0.0022,
    reasoning_tokens_cost: 0,
    total_cost: 0.0132,
  });
});

Deno.test("a Gemini answer bills cached content at 0.03 USD/Mtok and thoughts as output", () => {
  const price = shipped(ref("gemini", "gemini-2.5-flash"));
  assert.deepEqual(price, { inputPerMtok: 0.3, cachedInputPerMtok: 0.03, outputPerMtok: 2.5 });
  const cost = costOf(price, {
    input_tokens: 10_000,
    input_tokens_details: { cached_tokens: 4_000 },
    output_tokens: 1_000,
    output_tokens_details: { reasoning_tokens: 600 },
  });
  assert.deepEqual(cost, {
    input_tokens_cost: 0.00192, // 6,000 × 0.3 + 4,000 × 0.03
    output_tokens_cost: 0.0025,
    reasoning_tokens_cost: 0.0015,
    total_cost: 0.00442,
  });
});

Deno.test("a custom-named provider serving gpt-5 is priced as gpt-5", () => {
  assert.deepEqual(shipped(ref("house-proxy", "gpt-5")), defaultPrices["gpt-5"]);
  assert.deepEqual(defaultPrices["gpt-5"], { inputPerMtok: 1.25, cachedInputPerMtok: 0.125, outputPerMtok: 10 });
  assert.equal(shipped(ref("house-proxy", "gpt-5"))?.cacheWritePerMtok, undefined);
});

// ===== Provider-qualified prices =====

Deno.test("a preset's own price beats the bare name's: gpt-oss-120b at Cerebras, openai/gpt-oss-120b at Groq", () => {
  assert.deepEqual(shipped(ref("openai", "gpt-oss-120b")), { inputPerMtok: 0.039, outputPerMtok: 0.18 });
  assert.deepEqual(shipped(ref("cerebras", "gpt-oss-120b")), { inputPerMtok: 0.35, outputPerMtok: 0.75 });
  assert.deepEqual(shipped(ref("groq", "openai/gpt-oss-120b")), {
    inputPerMtok: 0.15,
    cachedInputPerMtok: 0.075,
    outputPerMtok: 0.6,
  });
  assert.deepEqual(shipped(ref("openrouter", "openai/gpt-oss-120b")), { inputPerMtok: 0.039, outputPerMtok: 0.18 });
  // A host's own catalogue ids are never bare: another provider finds no price for them.
  assert.equal(shipped(ref("house-proxy", "openai/gpt-oss-120b")), undefined);
});

Deno.test("a provider at a preset's base URL finds that preset's prices under its own name", () => {
  const providers = { fast: { baseUrl: "https://api.groq.com/openai/v1" }, other: { baseUrl: "https://x.test/v1" } };
  const price = makePriceTable({}, { providers });
  assert.equal(price(ref("fast", "openai/gpt-oss-120b"))?.inputPerMtok, 0.15);
  assert.equal(price(ref("other", "openai/gpt-oss-120b")), undefined);
  assert.equal(price(ref("fast", "llama-3.3-70b-versatile"))?.inputPerMtok, 0.59);
});

Deno.test("lookups go config before shipped; within each, provider/model, then preset/model, then the bare name, then the alias", () => {
  const table = {
    "llama-x": { inputPerMtok: 1, outputPerMtok: 1 },
    "groq/llama-x": { inputPerMtok: 2, outputPerMtok: 2 },
  };
  const providers = {
    groq: { baseUrl: "https://api.groq.com/openai/v1" },
    fast: { baseUrl: "https://api.groq.com/openai/v1" },
  };
  const shippedOnly = makePriceTable({}, { providers, table });
  assert.equal(shippedOnly(ref("groq", "llama-x"))?.inputPerMtok, 2);
  assert.equal(shippedOnly(ref("fast", "llama-x"))?.inputPerMtok, 2);
  assert.equal(shippedOnly(ref("groq", "llama-x-2026-01-31"))?.inputPerMtok, 2);
  assert.equal(shippedOnly(ref("openai", "llama-x"))?.inputPerMtok, 1);

  const configured = makePriceTable({
    "llama-x": { inputPerMtok: 5, outputPerMtok: 5 },
    "groq/llama-x": { inputPerMtok: 6, outputPerMtok: 6 },
    "fast/llama-x": { inputPerMtok: 7, outputPerMtok: 7 },
  }, { providers, table });
  assert.equal(configured(ref("fast", "llama-x"))?.inputPerMtok, 7);
  assert.equal(configured(ref("groq", "llama-x"))?.inputPerMtok, 6);
  assert.equal(configured(ref("openai", "llama-x"))?.inputPerMtok, 5);
  // The operator's bare price covers every provider, the shipped preset price included.
  const bareOnly = makePriceTable({ "llama-x": { inputPerMtok: 5, outputPerMtok: 5 } }, { providers, table });
  assert.equal(bareOnly(ref("groq", "llama-x"))?.inputPerMtok, 5);
});

Deno.test("the shipped table matches model names whatever their case, the config's exactly", () => {
  const price = shipped(ref("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"));
  assert.deepEqual(price, { inputPerMtok: 0.88, outputPerMtok: 0.88 });
  const configured = makePriceTable({ "House-Model": { inputPerMtok: 1, outputPerMtok: 2 } });
  assert.equal(configured(ref("openai", "House-Model"))?.outputPerMtok, 2);
  assert.equal(configured(ref("openai", "house-model")), undefined);
});

// ===== Config =====

Deno.test("config pricing with cache_write_per_mtok overrides the shipped Claude price", () => {
  const config = resolveConfig(
    {
      providers: { anthropic: {} },
      pricing: {
        "claude-sonnet-4-5": {
          input_per_mtok: 2,
          cached_input_per_mtok: 0.2,
          cache_write_per_mtok: 2.5,
          output_per_mtok: 10,
        },
      },
    },
    () => undefined,
  );
  assert.deepEqual(config.pricing["claude-sonnet-4-5"], {
    inputPerMtok: 2,
    cachedInputPerMtok: 0.2,
    cacheWritePerMtok: 2.5,
    outputPerMtok: 10,
  });
  const price = makePriceTable(config.pricing, { providers: config.providers })(
    ref("anthropic", "claude-sonnet-4-5-20250929"),
  );
  const cost = costOf(price!, {
    input_tokens: 10_000,
    input_tokens_details: { cached_tokens: 6_000, cache_write_tokens: 3_000 },
    output_tokens: 500,
  });
  assert.equal(cost.input_tokens_cost, 0.0107); // 1,000 × 2 + 6,000 × 0.2 + 3,000 × 2.5
  assert.equal(cost.total_cost, 0.0157);
});

// ===== The generated file =====

Deno.test("every preset maps to a provider of the price library, or to none for a self-hosted server", () => {
  assert.deepEqual(Object.keys(libraryProviders), [...presets.keys()]);
  for (const [preset, id] of Object.entries(libraryProviders)) {
    assert.equal(id === null, presets.get(preset)?.auth === "none", preset);
  }
});

Deno.test("src/auth/prices.json carries the stamp of the script and library version that generated it", async () => {
  const document: PricesDocument = JSON.parse(await Deno.readTextFile(pricesPath));
  const stale = `src/auth/prices.json is stale: run \`deno task prices -- --as-of ${document.source.as_of}\``;
  assert.equal(document.source.package, library.name);
  assert.equal(document.source.version, library.version, `${stale} (the pinned version changed)`);
  assert.equal(document.source.script_sha256, await scriptDigest(), `${stale} (scripts/prices.ts changed)`);
  assert.equal(document.source.prices_sha256, await pricesDigest(document.prices), `${stale} (it was edited by hand)`);
  assert.match(document.source.as_of, /^\d{4}-\d{2}-\d{2}$/);
});

/**
 * The full check regenerates the table with the library, from the cache only:
 * CI installs the gateway's dependencies (`deno install --frozen`), and the
 * library is deliberately not one of them, so there this is ignored and the
 * stamp above stands in for it.
 */
const regeneration = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--no-config",
    `--lock=${new URL("../scripts/prices.lock", import.meta.url).pathname}`,
    "--frozen",
    "--cached-only",
    "--allow-read",
    "--allow-run",
    new URL("../scripts/prices.ts", import.meta.url).pathname,
    "--check",
  ],
  stdout: "piped",
  stderr: "piped",
}).output();

Deno.test({
  name: "src/auth/prices.json is what `deno task prices` generates at its as-of date",
  ignore: regeneration.code === 3,
  fn() {
    assert.equal(regeneration.code, 0, new TextDecoder().decode(regeneration.stderr));
  },
});
