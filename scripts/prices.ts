/**
 * `deno task prices`: writes `src/auth/prices.json`, the gateway's default
 * price table, from `@pydantic/genai-prices` (a maintained catalogue of LLM
 * API prices, cache reads and writes included, for ~25 providers).
 *
 * The library is read here, at build time, and never by the server: its
 * embedded data is 831 KB of JavaScript, and `calcPrice` takes ~0.2 ms a call
 * (it walks every model's match rules), where the gateway's memoised table
 * answers in one map read. It can also fetch newer data at run time
 * (`updatePrices`), which a gateway must not do behind an operator's back.
 *
 * What it writes, per model name (lowercase, as the library matches):
 * input, cached-input (cache read), cache-write and output prices in USD per
 * million tokens, flattened to one rate:
 * - a date-gated price is the one in force on the as-of date (default today);
 * - a time-of-day schedule (DeepSeek's peak and off-peak) is the rate in force
 *   for most of that day;
 * - a tiered price (Claude and Gemini above 200k prompt tokens) is its base tier.
 *
 * A bare name carries the price of the provider the library says makes the
 * model (`gpt-5` is OpenAI's), else of the first preset below that serves it;
 * a preset that prices the same name differently gets a `preset/name` entry
 * (`cerebras/gpt-oss-120b`). Names with a `/` in them are a host's own catalogue
 * ids (`meta-llama/llama-3.3-70b-instruct-turbo` at Together), so they are
 * only ever written provider-qualified. Dated names priced like their alias
 * are left out: the gateway strips the date before looking again.
 *
 * Run `deno task prices` to refresh (it needs the registry once, then the
 * cache), `-- --as-of 2026-11-30` to price another day, `-- --check` to
 * compare the committed file with a regeneration at its own as-of date.
 *
 * Why the library is imported with a computed specifier under its own lock
 * (`scripts/prices.lock`, and `--no-config` in the task): anything in
 * `deno.lock` is installed by every `deno install` and `deno cache`,
 * including the server image's; this way the server never installs it.
 * The cost is that `deno check` does not see the library's types, so the
 * few this script reads are declared below.
 */

export const library = { name: "@pydantic/genai-prices", version: "0.1.8" } as const;

export const pricesPath = new URL("../src/auth/prices.json", import.meta.url);
export const scriptPath = new URL(import.meta.url);

/**
 * Each gateway preset's provider in the library, in `presets.ts` order (which
 * breaks ties for a bare name); `null` for self-hosted servers, which have no
 * list price. `tests/pricing_presets_test.ts` checks every preset is here.
 */
export const libraryProviders: Readonly<Record<string, string | null>> = {
  openai: "openai",
  azure: "azure",
  anthropic: "anthropic",
  gemini: "google",
  deepseek: "deepseek",
  groq: "groq",
  mistral: "mistral",
  openrouter: "openrouter",
  together: "together",
  fireworks: "fireworks",
  xai: "x-ai",
  cerebras: "cerebras",
  ollama: null,
  vllm: null,
  lmstudio: null,
};

// ===== The library's shapes this script reads =====

/** A model's match rule; this script reads only the names spelled out (`regex`, `contains` ... are skipped). */
interface MatchLogic {
  readonly or?: ReadonlyArray<MatchLogic>;
  readonly and?: ReadonlyArray<MatchLogic>;
  readonly equals?: string;
  readonly starts_with?: string;
}

type Rate = number | { readonly base: number } | undefined;

interface ModelInfo {
  readonly id: string;
  readonly match: MatchLogic;
  readonly prices: unknown;
}

interface Provider {
  readonly id: string;
  readonly models: ReadonlyArray<ModelInfo>;
}

interface Calculation {
  readonly model: ModelInfo;
  readonly provider: Provider;
  readonly model_price: Readonly<Record<string, Rate>>;
}

interface Library {
  readonly calcPrice: (
    usage: Record<string, number>,
    model: string,
    options: { readonly providerId?: string; readonly timestamp: Date },
  ) => Calculation | null;
  readonly findProvider: (options: { readonly providerId: string }) => Provider | undefined;
}

/** Loads the pinned library; `undefined` when it is neither cached nor downloadable (offline). */
export const loadLibrary = async (): Promise<Library | undefined> => {
  const specifier = `npm:${library.name}@${library.version}`;
  try {
    return await import(specifier);
  } catch {
    return undefined;
  }
};

// ===== The table =====

/** One price, as `prices.json` and the config's `pricing` write it. */
export interface PriceEntry {
  readonly input_per_mtok: number;
  readonly cached_input_per_mtok?: number;
  readonly cache_write_per_mtok?: number;
  readonly output_per_mtok: number;
}

export interface PricesDocument {
  readonly description: string;
  readonly source: {
    readonly package: string;
    readonly version: string;
    /** The day whose prices these are (UTC). */
    readonly as_of: string;
    /** SHA-256 of the script that wrote the file, and of its `prices`: the offline staleness check. */
    readonly script_sha256: string;
    readonly prices_sha256: string;
  };
  readonly prices: Readonly<Record<string, PriceEntry>>;
}

const description =
  "Default prices in USD per million tokens: input, cached input (cache reads), cache writes, output. Generated by " +
  "`deno task prices` (scripts/prices.ts) from the package in `source`; do not edit: the config's `pricing` adds or " +
  "overrides entries. `provider/model` entries are a preset's own price where it differs from the bare name's.";

/** `gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929` -> their alias; the gateway strips the same (pricing.ts). */
const withoutSnapshot = (model: string): string => model.replace(/-(?:\d{4}-\d{2}-\d{2}|20\d{6})$/, "");

const rate = (value: Rate): number | undefined =>
  typeof value === "number" ? value : typeof value?.base === "number" ? value.base : undefined;

/** A model's price as one flat entry; `undefined` for a model not billed by text tokens in and out. */
const entryOf = (price: Readonly<Record<string, Rate>>): PriceEntry | undefined => {
  const input = rate(price.input_mtok);
  const output = rate(price.output_mtok);
  if (input === undefined || output === undefined) return undefined;
  const cached = rate(price.cache_read_mtok);
  const write = rate(price.cache_write_mtok);
  return {
    input_per_mtok: input,
    ...(cached !== undefined ? { cached_input_per_mtok: cached } : {}),
    ...(write !== undefined ? { cache_write_per_mtok: write } : {}),
    output_per_mtok: output,
  };
};

const hasDailySchedule = (model: ModelInfo): boolean =>
  Array.isArray(model.prices) &&
  model.prices.some((p: { constraint?: { type?: string } }) => p.constraint?.type === "time_of_date");

/** Every name a match rule spells out (`equals`, `starts_with`), to be confirmed by the library itself. */
const namesIn = (match: MatchLogic): ReadonlyArray<string> => [
  ...[...match.or ?? [], ...match.and ?? []].flatMap(namesIn),
  ...match.equals !== undefined ? [match.equals] : [],
  ...match.starts_with !== undefined ? [match.starts_with] : [],
];

/**
 * Mistral names every model's moving alias `<model>-latest`
 * (`magistral-medium-latest`); the library matches those by a `starts_with`
 * rule, the gateway's exact-name table needs them spelled out.
 */
const latestAliases: ReadonlySet<string> = new Set(["mistral"]);

const same = (a: PriceEntry | undefined, b: PriceEntry | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The flat price `provider` charges for `name` on `asOf`, if `name` is this
 * model there (the library picks the first model whose rule matches, so a
 * name spelled in one model's rule may belong to an earlier one).
 */
const priceOn = (lib: Library, provider: string, model: ModelInfo, name: string, asOf: string) => {
  // Noon UTC, or every half hour of the day when the price follows the clock.
  const slots = hasDailySchedule(model)
    ? Array.from({ length: 48 }, (_, i) => new Date(Date.parse(`${asOf}T00:15:00Z`) + i * 30 * 60_000))
    : [new Date(`${asOf}T12:00:00Z`)];
  const seen = new Map<string, { entry: PriceEntry; count: number }>();
  for (const timestamp of slots) {
    const found = lib.calcPrice({ input_tokens: 1, output_tokens: 1 }, name, { providerId: provider, timestamp });
    if (found?.model !== model) return undefined;
    const entry = entryOf(found.model_price);
    if (entry === undefined) return undefined;
    const key = JSON.stringify(entry);
    seen.set(key, { entry, count: (seen.get(key)?.count ?? 0) + 1 });
  }
  return [...seen.values()].reduce((a, b) => b.count > a.count ? b : a).entry;
};

/** The default table for `asOf` (`YYYY-MM-DD`), keys sorted. */
export const pricesFor = (lib: Library, asOf: string): Record<string, PriceEntry> => {
  // name -> preset -> price
  const byName = new Map<string, Map<string, PriceEntry>>();
  const presetOf = new Map<string, string>();
  for (const [preset, id] of Object.entries(libraryProviders)) {
    if (id === null) continue;
    const provider = lib.findProvider({ providerId: id });
    if (provider === undefined) throw new Error(`${library.name} has no provider "${id}" (preset ${preset})`);
    presetOf.set(id, preset);
    for (const model of provider.models) {
      const spelled = [model.id, ...namesIn(model.match)];
      if (latestAliases.has(id)) {
        spelled.push(
          ...spelled.filter((name) => /[a-z0-9]$/i.test(name) && !name.endsWith("-latest")).map((name) =>
            `${name}-latest`
          ),
        );
      }
      for (const written of new Set(spelled)) {
        const name = written.toLowerCase().trim();
        // A `starts_with` cut mid-name (`claude-sonnet-4@`) is no model's name.
        if (!/[a-z0-9]$/.test(name)) continue;
        const entry = priceOn(lib, id, model, name, asOf);
        if (entry === undefined) continue;
        let prices = byName.get(name);
        if (prices === undefined) byName.set(name, prices = new Map());
        prices.set(preset, entry);
      }
    }
  }

  const table: Record<string, PriceEntry> = {};
  for (const [name, prices] of byName) {
    let bare: PriceEntry | undefined;
    if (!name.includes("/")) {
      const maker = lib.calcPrice({ input_tokens: 1, output_tokens: 1 }, name, {
        timestamp: new Date(`${asOf}T12:00:00Z`),
      });
      const makerPreset = maker ? presetOf.get(maker.provider.id) : undefined;
      bare = (makerPreset !== undefined ? prices.get(makerPreset) : undefined) ?? prices.values().next().value!;
      table[name] = bare;
    }
    for (const [preset, entry] of prices) {
      if (!same(entry, bare)) table[`${preset}/${name}`] = entry;
    }
  }

  // A dated name goes when every provider that prices it would find the same price through its alias.
  const lookup = (provider: string | undefined, name: string) =>
    (provider !== undefined ? table[`${provider}/${name}`] : undefined) ?? table[name];
  const providers = [...presetOf.values(), undefined];
  for (const name of byName.keys()) {
    const alias = withoutSnapshot(name);
    if (alias === name || !byName.has(alias)) continue;
    if (providers.every((p) => lookup(p, name) === undefined || same(lookup(p, name), lookup(p, alias)))) {
      for (const p of providers) delete table[p !== undefined ? `${p}/${name}` : name];
    }
  }
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
};

// ===== The file =====

const sha256 = async (text: string): Promise<string> =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

/** The digest recorded for a `prices` object: of its JSON, so key order counts. */
export const pricesDigest = (prices: Readonly<Record<string, PriceEntry>>): Promise<string> =>
  sha256(JSON.stringify(prices));

/** The digest recorded for the generator: of this file's text. */
export const scriptDigest = async (): Promise<string> => sha256(await Deno.readTextFile(scriptPath));

export const documentFor = async (
  prices: Readonly<Record<string, PriceEntry>>,
  asOf: string,
): Promise<PricesDocument> => ({
  description,
  source: {
    package: library.name,
    version: library.version,
    as_of: asOf,
    script_sha256: await scriptDigest(),
    prices_sha256: await pricesDigest(prices),
  },
  prices,
});

/**
 * The file's text: one price a line, then `deno fmt` (the project's config,
 * line width 120), which folds the lines too long for it; `deno task check`
 * runs `deno fmt --check` over the file.
 */
export const render = async (document: PricesDocument): Promise<string> => {
  const entry = (price: PriceEntry) =>
    JSON.stringify(price).replaceAll(/([{,])"/g, '$1 "').replaceAll(":", ": ").replace(/}$/, " }");
  const lines = Object.entries(document.prices).map(([name, price]) => `    ${JSON.stringify(name)}: ${entry(price)}`);
  const source = JSON.stringify(document.source, null, 2).replaceAll("\n", "\n  ");
  const text = `{\n  "description": ${JSON.stringify(document.description)},\n  "source": ${source},\n  "prices": {\n${
    lines.join(",\n")
  }\n  }\n}\n`;
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=json", "-"],
    cwd: new URL("..", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout } = await fmt.output();
  if (!success) throw new Error("deno fmt failed on the generated prices.json");
  return new TextDecoder().decode(stdout);
};

const today = (): string => new Date().toISOString().slice(0, 10);

const argument = (name: string): string | undefined => {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : Deno.args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};

if (import.meta.main) {
  const lib = await loadLibrary();
  if (lib === undefined) {
    console.error(`cannot load npm:${library.name}@${library.version}: not cached, and the registry is unreachable`);
    Deno.exit(3);
  }
  const current = await Deno.readTextFile(pricesPath).catch(() => "");
  if (Deno.args.includes("--check")) {
    const asOf = (JSON.parse(current || "{}") as Partial<PricesDocument>).source?.as_of ?? today();
    if (current !== await render(await documentFor(pricesFor(lib, asOf), asOf))) {
      console.error(`src/auth/prices.json is stale: run \`deno task prices -- --as-of ${asOf}\` and commit it.`);
      Deno.exit(1);
    }
    console.log("src/auth/prices.json is up to date.");
  } else {
    const asOf = argument("--as-of") ?? today();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new Error(`--as-of: "${asOf}" is not a YYYY-MM-DD date`);
    const prices = pricesFor(lib, asOf);
    await Deno.writeTextFile(pricesPath, await render(await documentFor(prices, asOf)));
    console.log(`wrote src/auth/prices.json: ${Object.keys(prices).length} prices as of ${asOf}`);
  }
}
