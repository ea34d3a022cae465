/**
 * Model names as clients write them, resolved against the configured providers.
 *
 * `provider/model` selects a provider only when the prefix names a configured
 * one; otherwise the whole string is a model of the default provider, so
 * namespaced ids such as `meta-llama/Llama-3` survive (Bifrost does the same).
 *
 * A request's model is resolved in this order (issue 14, point 1):
 * 1. an alias from the config (`model_aliases`), by the exact name sent;
 * 2. the name itself, when its provider lists it (`models`) or the price table
 *    knows it, so real ids such as `grok-4-fast` stay whole;
 * 3. on Cursor requests, the name without its trailing suffixes
 *    (`minimal|low|medium|high|xhigh|extra|fast|priority|reasoning|thinking`),
 *    stripped one at a time until the rest is a listed or priced model. Cursor
 *    adds them to the names it shows (`gpt-5.4-mini-high`, `gpt-5-fast`,
 *    `gpt-5-thinking-high`; cursor.md §1.2, codex-lb, LiteLLM#35554) and the
 *    upstream answers 404 to them. Effort suffixes become `reasoning.effort`
 *    (`extra` is `xhigh`), `fast`/`priority` `service_tier: "priority"`,
 *    `thinking`/`reasoning` reasoning on;
 * 4. otherwise the name as sent (the upstream judges it).
 * Strict `/v1` clients get 1, 2 and 4 only: a name they send is theirs.
 */
import type { GatewayConfig, ModelAliasConfig } from "../config/load.ts";
import type { ModelRef } from "../core/model.ts";
import { makePriceTable } from "../auth/pricing.ts";
import type { JsonObject, ResponsesRequest } from "../protocol/responses.ts";

export type { ModelRef };

export const resolveModel = (
  name: string,
  config: Pick<GatewayConfig, "providers" | "defaultProvider">,
  inheritedProvider: string = config.defaultProvider,
): ModelRef => {
  const slash = name.indexOf("/");
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    if (Object.hasOwn(config.providers, prefix)) {
      const model = name.slice(slash + 1);
      return { provider: prefix, model, label: `${prefix}/${model}` };
    }
  }
  return { provider: inheritedProvider, model: name, label: `${inheritedProvider}/${name}` };
};

/** The primary, then each fallback in order; a fallback without a prefix keeps the primary's provider. */
export const candidatesFor = (
  model: string,
  fallbacks: ReadonlyArray<string>,
  config: Pick<GatewayConfig, "providers" | "defaultProvider">,
): ReadonlyArray<ModelRef> => {
  const primary = resolveModel(model, config);
  return [primary, ...fallbacks.map((name) => resolveModel(name, config, primary.provider))];
};

// ===== Aliases and suffixes =====

/** What a resolved name asks of the request, beside the model (applied by `applyModelHints`). */
export interface ModelHints {
  readonly reasoning?: { readonly effort?: string; readonly summary?: string };
  /** `thinking`/`reasoning` suffix: reasoning on, at the default effort when no other says one. */
  readonly reasoningOn?: boolean;
  readonly serviceTier?: string;
}

export interface ResolvedModels {
  readonly candidates: ReadonlyArray<ModelRef>;
  /** What the primary's name implies; fallbacks change only the model. */
  readonly hints: ModelHints;
}

const EFFORTS: Readonly<Record<string, string>> = {
  minimal: "minimal",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  extra: "xhigh",
};
const SUFFIX = /-(minimal|low|medium|high|xhigh|extra|fast|priority|reasoning|thinking)$/;

/** The effort `thinking` alone turns reasoning on at: the Responses API's own default. */
const DEFAULT_EFFORT = "medium";

const NO_HINTS: ModelHints = {};

type ResolveConfig = Pick<GatewayConfig, "providers" | "defaultProvider" | "pricing"> & {
  readonly modelAliases?: GatewayConfig["modelAliases"];
};

interface Resolver {
  /** Whether the model is one its provider lists or the price table knows. */
  readonly known: (ref: ModelRef) => boolean;
}

/** One resolver per configuration: the price lookup memoises, and is built once. */
const resolvers = new WeakMap<object, Resolver>();

const resolverFor = (config: ResolveConfig): Resolver => {
  let resolver = resolvers.get(config);
  if (resolver === undefined) {
    const priceOf = makePriceTable(config.pricing, { providers: config.providers });
    const listed = new Map(Object.values(config.providers).map((p) => [p.name, new Set(p.models)]));
    resolver = { known: (ref) => listed.get(ref.provider)?.has(ref.model) === true || priceOf(ref) !== undefined };
    resolvers.set(config, resolver);
  }
  return resolver;
};

/** One name: its alias, itself, or (Cursor) itself without suffixes; with the hints the way there implies. */
const resolveName = (
  name: string,
  config: ResolveConfig,
  suffixes: boolean,
  inheritedProvider?: string,
): { readonly ref: ModelRef; readonly hints: ModelHints } => {
  const alias: ModelAliasConfig | undefined = config.modelAliases?.get(name);
  if (alias !== undefined) {
    const hints: ModelHints = {
      ...(alias.reasoning !== undefined ? { reasoning: alias.reasoning } : {}),
      ...(alias.serviceTier !== undefined ? { serviceTier: alias.serviceTier } : {}),
    };
    return { ref: resolveModel(alias.model, config, inheritedProvider), hints };
  }
  const ref = resolveModel(name, config, inheritedProvider);
  if (!suffixes || !SUFFIX.test(ref.model)) return { ref, hints: NO_HINTS };
  const { known } = resolverFor(config);
  if (known(ref)) return { ref, hints: NO_HINTS };
  let model = ref.model;
  let effort: string | undefined;
  let reasoningOn = false;
  let priority = false;
  for (let match = SUFFIX.exec(model); match !== null; match = SUFFIX.exec(model)) {
    const suffix = match[1];
    model = model.slice(0, match.index);
    if (suffix === "fast" || suffix === "priority") priority = true;
    else if (suffix === "thinking" || suffix === "reasoning") reasoningOn = true;
    // The rightmost effort is the one the name ends with, so the one meant.
    else effort ??= EFFORTS[suffix];
    const stripped: ModelRef = { provider: ref.provider, model, label: `${ref.provider}/${model}` };
    if (model !== "" && known(stripped)) {
      const hints: ModelHints = {
        ...(effort !== undefined ? { reasoning: { effort } } : {}),
        ...(reasoningOn ? { reasoningOn } : {}),
        ...(priority ? { serviceTier: "priority" } : {}),
      };
      return { ref: stripped, hints };
    }
  }
  return { ref, hints: NO_HINTS };
};

/**
 * The request's candidates, aliases and (with `suffixes`, on Cursor requests) suffixes resolved,
 * and what the primary's name implies for the request. Key patterns and budgets see these refs.
 */
export const resolveModels = (
  model: string,
  fallbacks: ReadonlyArray<string>,
  config: ResolveConfig,
  suffixes: boolean,
): ResolvedModels => {
  const primary = resolveName(model, config, suffixes);
  const candidates = [primary.ref];
  for (const name of fallbacks) candidates.push(resolveName(name, config, suffixes, primary.ref.provider).ref);
  return { candidates, hints: primary.hints };
};

/**
 * Applies a name's hints to the canonical body. The request's own `reasoning.effort` and its own
 * `service_tier` win (`default`/`auto` say nothing: Cursor sends them beside a `-fast` name).
 */
export const applyModelHints = (body: ResponsesRequest, hints: ModelHints): void => {
  if (hints === NO_HINTS) return;
  const own = body.reasoning as JsonObject | undefined;
  let effort = own?.effort;
  if (hints.reasoning !== undefined || hints.reasoningOn) {
    const reasoning: JsonObject = { ...own };
    for (const [key, value] of Object.entries(hints.reasoning ?? {})) {
      if (reasoning[key] === undefined || reasoning[key] === null) reasoning[key] = value;
    }
    if (hints.reasoningOn && (reasoning.effort === undefined || reasoning.effort === null)) {
      reasoning.effort = DEFAULT_EFFORT;
    }
    body.reasoning = reasoning;
    effort = reasoning.effort;
  }
  // An effort means a reasoning model, which rejects sampling parameters (as decode/params.ts does).
  if (typeof effort === "string" && effort !== "none") {
    delete body.temperature;
    delete body.top_p;
  }
  const tier = body.service_tier;
  if (hints.serviceTier !== undefined && (tier === undefined || tier === "default" || tier === "auto")) {
    body.service_tier = hints.serviceTier;
  }
};
