/**
 * What a request cost, from its usage and a per-model price table.
 *
 * Prices are USD per million tokens. Cached input tokens are part of the
 * input tokens and bill at the cached price; reasoning tokens are part of the
 * output tokens, so `reasoning_tokens_cost` is the share of
 * `output_tokens_cost` they account for, and `total_cost` is input plus
 * output. The default table (`prices.json`) covers common OpenAI models; the
 * config's `pricing` adds or overrides entries by `provider/model` or by bare
 * model name (for every provider).
 */
import type { PriceConfig } from "../config/load.ts";
import type { Cost } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";
import type { ModelRef } from "../core/model.ts";
import defaults from "./prices.json" with { type: "json" };

export type Price = PriceConfig;

interface PriceEntry {
  readonly input_per_mtok: number;
  readonly cached_input_per_mtok?: number;
  readonly output_per_mtok: number;
}

const fromEntry = (entry: PriceEntry): Price => ({
  inputPerMtok: entry.input_per_mtok,
  ...(entry.cached_input_per_mtok !== undefined ? { cachedInputPerMtok: entry.cached_input_per_mtok } : {}),
  outputPerMtok: entry.output_per_mtok,
});

/**
 * The shipped table, by bare model name. A null-prototype object: a client's
 * model named `constructor` or `__proto__` must find no price here, not
 * `Object`'s own function (whose price made a cost of NaN).
 */
export const defaultPrices: Readonly<Record<string, Price>> = Object.assign(
  Object.create(null),
  Object.fromEntries(
    Object.entries(defaults.prices as Record<string, PriceEntry>).map(([model, entry]) => [model, fromEntry(entry)]),
  ),
);

/** `gpt-4o-2024-08-06` -> `gpt-4o`: dated snapshots bill like their alias unless the table names them. */
const withoutSnapshot = (model: string): string => model.replace(/-\d{4}-\d{2}-\d{2}$/, "");

/**
 * How many models' prices are remembered. Every name a client invents is
 * looked up once, so the memo is capped: past the cap the oldest entry goes,
 * and a forgotten name costs a few map reads to find again.
 */
const MEMO_LIMIT = 1024;

/**
 * A lookup from a served model to its price. Config entries by `provider/model`
 * win over config entries by bare name, which win over the shipped table;
 * exact names win over a dated snapshot's alias. Results are memoised, so the
 * hot path is one map read.
 *
 * The tables are copied into `Map`s: model names come from clients, and a
 * plain object's inherited `constructor` or `toString` must never be a price.
 */
export const makePriceTable = (
  overrides: Readonly<Record<string, Price>>,
  table: Readonly<Record<string, Price>> = defaultPrices,
): (ref: ModelRef) => Price | undefined => {
  const configured = new Map(Object.entries(overrides));
  const shipped = new Map(Object.entries(table));
  const memo = new Map<string, Price | undefined>();
  const find = (ref: ModelRef): Price | undefined => {
    const alias = withoutSnapshot(ref.model);
    for (const model of alias === ref.model ? [ref.model] : [ref.model, alias]) {
      const price = configured.get(`${ref.provider}/${model}`) ?? configured.get(model) ?? shipped.get(model);
      if (price) return price;
    }
    return undefined;
  };
  return (ref) => {
    if (memo.has(ref.label)) return memo.get(ref.label);
    const price = find(ref);
    if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value!);
    memo.set(ref.label, price);
    return price;
  };
};

/** A count or price that is a finite, non-negative number, else 0: usage comes from the upstream. */
const amount = (value: unknown): number => typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;

const free: Cost = { input_tokens_cost: 0, output_tokens_cost: 0, reasoning_tokens_cost: 0, total_cost: 0 };

/**
 * The cost of a usage at a price. Sums are taken in token-price units and
 * divided once, so round prices give round figures (no `0.0010250000000000002`).
 */
export const costOf = (price: Price, usage: ResponsesUsage): Cost => {
  const input = amount(usage.input_tokens);
  const cached = Math.min(amount(usage.input_tokens_details?.cached_tokens), input);
  const output = amount(usage.output_tokens);
  const reasoning = Math.min(amount(usage.output_tokens_details?.reasoning_tokens), output);
  const inputPrice = amount(price.inputPerMtok);
  const cachedPrice = price.cachedInputPerMtok === undefined ? inputPrice : amount(price.cachedInputPerMtok);
  const outputPrice = amount(price.outputPerMtok);
  const inputUnits = (input - cached) * inputPrice + cached * cachedPrice;
  const outputUnits = output * outputPrice;
  const total = (inputUnits + outputUnits) / 1e6;
  // Absurd token counts can still overflow; a NaN or infinite cost stored against a key
  // would disable its budget for good, so such a usage counts as free, like an unpriced model.
  if (!Number.isFinite(total)) return free;
  return {
    input_tokens_cost: inputUnits / 1e6,
    output_tokens_cost: outputUnits / 1e6,
    reasoning_tokens_cost: reasoning * outputPrice / 1e6,
    total_cost: total,
  };
};

/** Tokens a usage counts against a tokens-per-minute limit; like a cost, never NaN or infinite. */
export const tokensOf = (usage: ResponsesUsage | undefined): number => {
  if (!usage) return 0;
  const tokens = usage.total_tokens != null
    ? amount(usage.total_tokens)
    : amount(usage.input_tokens) + amount(usage.output_tokens);
  return Number.isFinite(tokens) ? tokens : 0;
};
