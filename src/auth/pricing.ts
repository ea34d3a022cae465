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
import type { ModelRef } from "../routing/model_ref.ts";
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

/** The shipped table, by bare model name. */
export const defaultPrices: Readonly<Record<string, Price>> = Object.fromEntries(
  Object.entries(defaults.prices as Record<string, PriceEntry>).map(([model, entry]) => [model, fromEntry(entry)]),
);

/** `gpt-4o-2024-08-06` -> `gpt-4o`: dated snapshots bill like their alias unless the table names them. */
const withoutSnapshot = (model: string): string => model.replace(/-\d{4}-\d{2}-\d{2}$/, "");

/**
 * A lookup from a served model to its price. Config entries by `provider/model`
 * win over config entries by bare name, which win over the shipped table;
 * exact names win over a dated snapshot's alias. Results are memoised, so the
 * hot path is one map read.
 */
export const makePriceTable = (
  overrides: Readonly<Record<string, Price>>,
  table: Readonly<Record<string, Price>> = defaultPrices,
): (ref: ModelRef) => Price | undefined => {
  const memo = new Map<string, Price | undefined>();
  const find = (ref: ModelRef): Price | undefined => {
    const alias = withoutSnapshot(ref.model);
    for (const model of alias === ref.model ? [ref.model] : [ref.model, alias]) {
      const price = overrides[`${ref.provider}/${model}`] ?? overrides[model] ?? table[model];
      if (price) return price;
    }
    return undefined;
  };
  return (ref) => {
    if (memo.has(ref.label)) return memo.get(ref.label);
    const price = find(ref);
    memo.set(ref.label, price);
    return price;
  };
};

/**
 * The cost of a usage at a price. Sums are taken in token-price units and
 * divided once, so round prices give round figures (no `0.0010250000000000002`).
 */
export const costOf = (price: Price, usage: ResponsesUsage): Cost => {
  const input = usage.input_tokens ?? 0;
  const cached = Math.min(usage.input_tokens_details?.cached_tokens ?? 0, input);
  const output = usage.output_tokens ?? 0;
  const reasoning = Math.min(usage.output_tokens_details?.reasoning_tokens ?? 0, output);
  const inputUnits = (input - cached) * price.inputPerMtok + cached * (price.cachedInputPerMtok ?? price.inputPerMtok);
  const outputUnits = output * price.outputPerMtok;
  return {
    input_tokens_cost: inputUnits / 1e6,
    output_tokens_cost: outputUnits / 1e6,
    reasoning_tokens_cost: reasoning * price.outputPerMtok / 1e6,
    total_cost: (inputUnits + outputUnits) / 1e6,
  };
};

/** Tokens a usage counts against a tokens-per-minute limit. */
export const tokensOf = (usage: ResponsesUsage | undefined): number =>
  usage ? usage.total_tokens ?? (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0) : 0;
