/**
 * The dashboard's charts: chat requests counted per UTC minute over the last
 * hour, in all, per serving provider and per virtual key (`GET /admin/stats`
 * reads it).
 *
 * Hot path: every counter lives in typed arrays allocated when a series is
 * first seen (60 one-minute buckets, reused as the minutes go round), so
 * `record` is a few array increments and, for latency and time to first
 * token, one `Math.log2` to pick a histogram bin. Percentiles are read from
 * the bins (each about 19% wide: four per doubling), so p50 and p95 are
 * estimates within that width, enough to draw a chart.
 *
 * Series are bounded: providers are configured names, keys are ids of keys
 * the operator made; past `MAX_PROVIDERS` or `MAX_KEYS` series (a churn of
 * keys made and deleted), new ones are counted in the total only.
 */
import type { AttemptRecord, RequestTrace } from "../core/trace.ts";
import { isChatRoute } from "./recent_requests.ts";

export const BUCKET_MS = 60_000;
/** One hour of one-minute buckets. */
export const BUCKETS = 60;
const BINS = 96;
const BINS_PER_DOUBLING = 4;
const MAX_PROVIDERS = 64;
const MAX_KEYS = 1024;

/** Why an upstream attempt failed, as the health view groups them (from the attempt's `outcome`). */
export const REASONS = [
  "rate_limited",
  "overloaded",
  "timeout",
  "network",
  "server_error",
  "key_rejected",
  "quota",
  "stream_error",
  "client_error",
  "other",
] as const;
export type FailureReason = typeof REASONS[number];

/** The reason index of a failed attempt's outcome, or -1 when it is not the provider's failure (`ok`, `cancelled`). */
export const reasonOf = (outcome: string): number => {
  switch (outcome) {
    case "ok":
    case "cancelled":
      return -1;
    case "429":
      return 0;
    case "529":
    case "503":
      return 1;
    case "timeout":
    case "408":
    case "504":
      return 2;
    case "network":
      return 3;
    case "401":
    case "403":
      return 5;
    case "402":
      return 6;
    case "stream_error":
      return 7;
  }
  const status = Number(outcome);
  if (status >= 500 && status < 600) return 4;
  if (status >= 400 && status < 500) return 8;
  return 9;
};

const binOf = (ms: number): number => {
  const bin = Math.floor(Math.log2(1 + Math.max(0, ms)) * BINS_PER_DOUBLING);
  return bin < BINS ? bin : BINS - 1;
};

/** The middle of a bin, in ms (geometric, like the bins). */
const binValue = (bin: number): number => Math.round((2 ** ((bin + 0.5) / BINS_PER_DOUBLING) - 1) * 10) / 10;

/** Counters of one series (all requests, a provider, a key), one bucket per minute. */
class Series {
  /** The minute (ms since the epoch / 60000) each bucket holds; -1 when it never held one. */
  readonly minute = new Float64Array(BUCKETS).fill(-1);
  readonly requests = new Uint32Array(BUCKETS);
  readonly errors = new Uint32Array(BUCKETS);
  readonly tokensIn = new Float64Array(BUCKETS);
  readonly tokensOut = new Float64Array(BUCKETS);
  readonly costUsd = new Float64Array(BUCKETS);
  /** Latency and time-to-first-token histograms, `BINS` per bucket; absent on key series. */
  readonly latency: Uint32Array | undefined;
  readonly firstToken: Uint32Array | undefined;
  /** Failed attempts by reason, `REASONS.length` per bucket; absent on key series. */
  readonly failures: Uint32Array | undefined;

  constructor(detailed: boolean) {
    this.latency = detailed ? new Uint32Array(BUCKETS * BINS) : undefined;
    this.firstToken = detailed ? new Uint32Array(BUCKETS * BINS) : undefined;
    this.failures = detailed ? new Uint32Array(BUCKETS * REASONS.length) : undefined;
  }

  /** The bucket of `minute`, emptied first when it still holds an hour-old minute. */
  bucket(minute: number): number {
    const i = minute % BUCKETS;
    if (this.minute[i] !== minute) {
      this.minute[i] = minute;
      this.requests[i] = 0;
      this.errors[i] = 0;
      this.tokensIn[i] = 0;
      this.tokensOut[i] = 0;
      this.costUsd[i] = 0;
      this.latency?.fill(0, i * BINS, (i + 1) * BINS);
      this.firstToken?.fill(0, i * BINS, (i + 1) * BINS);
      this.failures?.fill(0, i * REASONS.length, (i + 1) * REASONS.length);
    }
    return i;
  }

  add(minute: number, trace: RequestTrace, failed: boolean): void {
    const i = this.bucket(minute);
    this.requests[i]++;
    if (failed) this.errors[i]++;
    const usage = trace.usage;
    if (usage !== undefined) {
      this.tokensIn[i] += usage.input_tokens ?? 0;
      this.tokensOut[i] += usage.output_tokens ?? 0;
    }
    const cost = trace.cost?.total_cost;
    if (cost !== undefined && Number.isFinite(cost)) this.costUsd[i] += cost;
    if (this.latency !== undefined && trace.latencyMs !== undefined) this.latency[i * BINS + binOf(trace.latencyMs)]++;
    if (this.firstToken !== undefined && trace.firstTokenMs !== undefined) {
      this.firstToken[i * BINS + binOf(trace.firstTokenMs)]++;
    }
  }

  fail(minute: number, reason: number): void {
    const i = this.bucket(minute);
    this.failures![i * REASONS.length + reason]++;
  }
}

/** One minute of `GET /admin/stats`. */
export interface BucketView {
  /** Start of the minute (ISO 8601). */
  readonly time: string;
  readonly requests: number;
  readonly errors: number;
  readonly tokens_in: number;
  readonly tokens_out: number;
  readonly cost_usd: number;
  readonly latency_p50_ms?: number | null;
  readonly latency_p95_ms?: number | null;
  readonly first_token_p50_ms?: number | null;
  readonly first_token_p95_ms?: number | null;
}

export interface StatsView {
  /** Every chat request, per minute, oldest first. */
  readonly buckets: BucketView[];
  /** Over the whole window. */
  readonly totals: Omit<BucketView, "time">;
  /** Per serving provider (a request no provider served counts under the provider of its last attempt). */
  readonly providers: Array<{
    readonly provider: string;
    readonly buckets: BucketView[];
    readonly totals: Omit<BucketView, "time">;
    /** Failed upstream attempts over the window, by reason. */
    readonly failures: Record<FailureReason, number>;
  }>;
  /** Per virtual key, the keys with requests in the window only. */
  readonly keys: Array<{
    readonly virtual_key_id: string;
    readonly buckets: BucketView[];
    readonly totals: Omit<BucketView, "time">;
  }>;
}

/** Scratch for summing a window's bins; `view` runs on one thread, one call at a time. */
const sums = new Uint32Array(BINS);

/**
 * The median and 95th percentile of the histogram's buckets `indexes` (nulls when they are
 * empty): the bins summed once, then one walk for both ranks.
 */
const quantiles = (histogram: Uint32Array, indexes: ReadonlyArray<number>): [number | null, number | null] => {
  let bins: Uint32Array;
  let offset = 0;
  if (indexes.length === 1) {
    bins = histogram;
    offset = indexes[0] * BINS;
  } else {
    sums.fill(0);
    for (const i of indexes) for (let b = 0; b < BINS; b++) sums[b] += histogram[i * BINS + b];
    bins = sums;
  }
  let total = 0;
  for (let b = 0; b < BINS; b++) total += bins[offset + b];
  if (total === 0) return [null, null];
  const median = Math.max(1, Math.ceil(0.5 * total));
  const high = Math.max(1, Math.ceil(0.95 * total));
  let p50: number | null = null;
  let seen = 0;
  for (let b = 0; b < BINS; b++) {
    seen += bins[offset + b];
    if (p50 === null && seen >= median) p50 = binValue(b);
    if (seen >= high) return [p50, binValue(b)];
  }
  return [p50, binValue(BINS - 1)];
};

/** The counters of `indexes` (bucket slots), summed, as of `time` (the bucket's) when given. */
const summary = (series: Series, indexes: ReadonlyArray<number>, time?: string): BucketView => {
  let requests = 0, errors = 0, tokensIn = 0, tokensOut = 0, cost = 0;
  for (const i of indexes) {
    requests += series.requests[i];
    errors += series.errors[i];
    tokensIn += series.tokensIn[i];
    tokensOut += series.tokensOut[i];
    cost += series.costUsd[i];
  }
  const costUsd = Math.round(cost * 1e9) / 1e9;
  if (series.latency === undefined || series.firstToken === undefined) {
    return { time: time!, requests, errors, tokens_in: tokensIn, tokens_out: tokensOut, cost_usd: costUsd };
  }
  const [latencyP50, latencyP95] = quantiles(series.latency, indexes);
  const [firstTokenP50, firstTokenP95] = quantiles(series.firstToken, indexes);
  return {
    time: time!,
    requests,
    errors,
    tokens_in: tokensIn,
    tokens_out: tokensOut,
    cost_usd: costUsd,
    latency_p50_ms: latencyP50,
    latency_p95_ms: latencyP95,
    first_token_p50_ms: firstTokenP50,
    first_token_p95_ms: firstTokenP95,
  };
};

/** Totals have no time of their own. */
const totalsOf = (series: Series, indexes: ReadonlyArray<number>): Omit<BucketView, "time"> => {
  const { time: _, ...totals } = summary(series, indexes);
  return totals;
};

const emptyBucket = (time: string, detailed: boolean): BucketView =>
  detailed
    ? {
      time,
      requests: 0,
      errors: 0,
      tokens_in: 0,
      tokens_out: 0,
      cost_usd: 0,
      latency_p50_ms: null,
      latency_p95_ms: null,
      first_token_p50_ms: null,
      first_token_p95_ms: null,
    }
    : { time, requests: 0, errors: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 };

/**
 * Per-minute counters of the last hour's chat requests.
 *
 * @example
 * ```ts
 * const stats = new MinuteStats({ now: Date.now });
 * stats.record(trace); // when the request is over
 * stats.view(15); // the last 15 minutes
 * ```
 */
export class MinuteStats {
  readonly #now: () => number;
  readonly #all = new Series(true);
  readonly #providers = new Map<string, Series>();
  readonly #keys = new Map<string, Series>();

  constructor(options: { readonly now: () => number }) {
    this.#now = options.now;
  }

  /** Counts a finished request; any other route than the chat ones is ignored. Never throws. */
  record(trace: RequestTrace): void {
    if (!isChatRoute(trace.route)) return;
    const minute = Math.floor(this.#now() / BUCKET_MS);
    // A client that went away is not a failure of the gateway or the provider.
    const failed = (trace.status >= 400 && trace.status !== 499) ||
      (trace.errorType !== undefined && trace.errorType !== "client_cancelled");
    this.#all.add(minute, trace, failed);
    const attempts = trace.attempts;
    const provider = trace.provider ?? attempts[attempts.length - 1]?.provider;
    if (provider !== undefined) {
      this.#series(this.#providers, provider, MAX_PROVIDERS, true)?.add(minute, trace, failed);
    }
    if (trace.virtualKeyId !== undefined) {
      this.#series(this.#keys, trace.virtualKeyId, MAX_KEYS, false)?.add(minute, trace, failed);
    }
    for (let i = 0; i < attempts.length; i++) this.#failure(minute, attempts[i]);
  }

  #failure(minute: number, attempt: AttemptRecord): void {
    const reason = reasonOf(attempt.outcome);
    if (reason >= 0) this.#series(this.#providers, attempt.provider, MAX_PROVIDERS, true)?.fail(minute, reason);
  }

  #series(map: Map<string, Series>, name: string, max: number, detailed: boolean): Series | undefined {
    let series = map.get(name);
    if (series === undefined && map.size < max) map.set(name, series = new Series(detailed));
    return series;
  }

  /**
   * The last `minutes` minutes (1 to 60), oldest first, including the current one. `providers`
   * names providers to list even without traffic (the configured ones).
   */
  view(minutes: number, providers: Iterable<string> = []): StatsView {
    const span = Math.min(BUCKETS, Math.max(1, Math.floor(minutes)));
    const current = Math.floor(this.#now() / BUCKET_MS);
    const wanted: number[] = [];
    const times: string[] = [];
    for (let m = current - span + 1; m <= current; m++) {
      wanted.push(m);
      times.push(new Date(m * BUCKET_MS).toISOString());
    }
    /** The bucket slots of `series` that hold a wanted minute. */
    const live = (series: Series) => {
      const out: number[] = [];
      for (const m of wanted) if (series.minute[m % BUCKETS] === m) out.push(m % BUCKETS);
      return out;
    };
    const slot: number[] = [0];
    const bucketsOf = (series: Series): BucketView[] =>
      wanted.map((m, k) => {
        slot[0] = m % BUCKETS;
        return series.minute[slot[0]] === m
          ? summary(series, slot, times[k])
          : emptyBucket(times[k], series.latency !== undefined);
      });
    const names = new Set([...providers, ...this.#providers.keys()]);
    return {
      buckets: bucketsOf(this.#all),
      totals: totalsOf(this.#all, live(this.#all)),
      providers: [...names].sort().map((provider) => {
        const series = this.#providers.get(provider) ?? new Series(true);
        const indexes = live(series);
        const failures = {} as Record<FailureReason, number>;
        for (let r = 0; r < REASONS.length; r++) {
          let count = 0;
          for (const i of indexes) count += series.failures![i * REASONS.length + r];
          failures[REASONS[r]] = count;
        }
        return { provider, buckets: bucketsOf(series), totals: totalsOf(series, indexes), failures };
      }),
      keys: [...this.#keys].flatMap(([id, series]) => {
        const indexes = live(series);
        if (indexes.length === 0) return [];
        return [{ virtual_key_id: id, buckets: bucketsOf(series), totals: totalsOf(series, indexes) }];
      }).sort((a, b) => a.virtual_key_id < b.virtual_key_id ? -1 : 1),
    };
  }
}
