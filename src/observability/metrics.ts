/**
 * The gateway's Prometheus metrics: effect `Metric`s in a registry of their
 * own, updated once per finished request from its `RequestTrace`, and rendered
 * by effect's Prometheus formatter for `GET /metrics`.
 *
 * Hot path: one series per label combination is created the first time it is
 * seen and cached, so recording a request is a few `Map` lookups and counter
 * or bucket increments (`updateUnsafe` with one fixed context), no Effect run.
 *
 * Labels come only from bounded, non-secret values: configured provider names,
 * known model names (anything else is `other`, see `ModelNames`), routes,
 * status codes, attempt outcomes, and virtual key ids (never values).
 */
import * as Context from "effect/Context";
import * as Metric from "effect/Metric";
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics";
import type { GatewayConfig } from "../config/load.ts";
import type { RequestTrace } from "../core/trace.ts";

/** Seconds. Wide enough for a 15-minute stream, fine enough for a fast JSON answer. */
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
/** Seconds. The gateway's own share is expected in the sub-millisecond range (peers.md §2). */
const overheadBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

type Labels = Readonly<Record<string, string>>;

/**
 * One metric name and its series, one per label combination. `key` joins the
 * label values in a fixed order so the lookup needs no object hashing.
 */
class Family<M extends Metric.Metric<number, unknown>> {
  private readonly series = new Map<string, M>();
  constructor(
    private readonly context: Context.Context<never>,
    private readonly make: (attributes: Labels) => M,
  ) {}

  update(key: string, labels: () => Labels, value: number): void {
    let metric = this.series.get(key);
    if (metric === undefined) {
      metric = this.make(labels());
      this.series.set(key, metric);
    }
    metric.updateUnsafe(value, this.context);
  }
}

/** Label values joined with a separator that cannot appear in them. */
const keyOf = (...values: ReadonlyArray<string>) => values.join("\u0001");

// ===== Model labels =====

/** The label of every model that is not a known name. */
export const OTHER_MODEL = "other";
/** Longest model label; a known name longer than this is cut (Prometheus keeps every byte of every series). */
const MAX_LABEL = 64;

/**
 * Which model names may become label values. The model a request is served
 * at is whatever the client typed after the provider prefix, and an upstream
 * that accepts any name serves it: 20,000 invented 1 KB names once took the
 * process from 204 MB to 2.1 GB and `/metrics` to 434 MB. So only names the
 * operator wrote down are labels: a provider's `models`, and the price table
 * (the shipped one and config `pricing`). Exact names only: a dated snapshot
 * is priced like its alias, but labelling every date a client can type would
 * be unbounded again.
 */
export class ModelNames {
  private readonly byProvider: ReadonlyMap<string, ReadonlySet<string>>;
  private readonly anyProvider: ReadonlySet<string>;

  constructor(byProvider: ReadonlyMap<string, ReadonlySet<string>>, anyProvider: Iterable<string>) {
    this.byProvider = byProvider;
    this.anyProvider = new Set(anyProvider);
  }

  /** No name at all: what a `Metrics` knows before the gateway's config is installed. */
  static readonly none = new ModelNames(new Map(), []);

  /**
   * Every provider's `models`, config `pricing` by `provider/model` or bare name, and the
   * shipped price table's names (`shippedPriced`, handed in by the composition root).
   */
  static fromConfig(
    config: Pick<GatewayConfig, "providers" | "pricing">,
    shippedPriced: Iterable<string>,
  ): ModelNames {
    const byProvider = new Map<string, Set<string>>();
    const forProvider = (name: string) => {
      let set = byProvider.get(name);
      if (set === undefined) byProvider.set(name, set = new Set());
      return set;
    };
    for (const provider of Object.values(config.providers)) {
      for (const model of provider.models) forProvider(provider.name).add(model);
    }
    // Pricing matches a key as `provider/model` and also as a bare name (pricing.ts), so both count.
    const priced = Object.keys(config.pricing);
    for (const key of priced) {
      const slash = key.indexOf("/");
      if (slash > 0 && Object.hasOwn(config.providers, key.slice(0, slash))) {
        forProvider(key.slice(0, slash)).add(key.slice(slash + 1));
      }
    }
    return new ModelNames(byProvider, [...shippedPriced, ...priced]);
  }

  /** The label for `model` served by `provider`: the name when it is known (cut to 64 characters), else `other`. */
  label(provider: string, model: string): string {
    if (model === "") return model;
    if (this.byProvider.get(provider)?.has(model) !== true && !this.anyProvider.has(model)) return OTHER_MODEL;
    return model.length > MAX_LABEL ? model.slice(0, MAX_LABEL) : model;
  }
}

export class Metrics {
  /** The registry every series lives in; separate per gateway, so tests and instances never mix. */
  readonly context: Context.Context<never> = Context.make(Metric.MetricRegistry, new Map());
  private models: ModelNames = ModelNames.none;

  private readonly requests = this.counter(
    "gateway_requests_total",
    "Finished requests by route, status and serving model.",
  );
  private readonly attempts = this.counter(
    "gateway_upstream_attempts_total",
    "Upstream calls by provider, model and outcome (ok, an HTTP status, network, timeout, ...).",
  );
  private readonly retries = this.counter(
    "gateway_upstream_retries_total",
    "Upstream calls retried at the same model (kind=retry) or with another key (kind=rotate), by the failed call's outcome.",
  );
  private readonly fallbacks = this.counter(
    "gateway_upstream_fallbacks_total",
    "Moves to the next fallback model, by the model that failed and its outcome.",
  );
  private readonly tokens = this.counter("gateway_tokens_total", "Tokens used, by direction (type=input|output).");
  private readonly cost = this.counter("gateway_cost_usd_total", "Cost in US dollars, where the model has a price.");
  private readonly duration = this.histogram(
    "gateway_request_duration_seconds",
    "Time from receiving a request to its last byte (streams: until the stream ended).",
    latencyBuckets,
  );
  private readonly upstream = this.histogram(
    "gateway_upstream_duration_seconds",
    "Each upstream call: until its whole answer (a stream: until its first output), or until it failed.",
    latencyBuckets,
  );
  private readonly firstToken = this.histogram(
    "gateway_time_to_first_token_seconds",
    "Streams: time from receiving the request to the first output written to the client.",
    latencyBuckets,
  );
  private readonly overhead = this.histogram(
    "gateway_overhead_seconds",
    "Time the gateway added: non-streamed, latency minus upstream time; streamed, time to first token minus upstream time to first output.",
    overheadBuckets,
  );

  private counter(id: string, description: string) {
    return new Family(this.context, (attributes) => Metric.counter(id, { description, attributes, incremental: true }));
  }

  private histogram(id: string, description: string, boundaries: ReadonlyArray<number>) {
    return new Family(
      this.context,
      (attributes) =>
        Metric.histogram(id, { description, attributes, boundaries: Metric.boundariesFromIterable(boundaries) }),
    );
  }

  /**
   * The model names that become labels from now on (`ModelNames.fromConfig`), installed
   * once the gateway's config is known; until then, the shipped price table's names.
   */
  labelModels(models: ModelNames): void {
    this.models = models;
  }

  /** Reports a value read at scrape time (open streams), rather than updated on every change. */
  gauge(id: string, description: string, read: () => number): void {
    Metric.registerUnsafe(Metric.gauge(id, { description }), this.context, {
      get: () => ({ value: read() }),
      update: () => {},
      modify: () => {},
    });
  }

  /** Records one finished request. Called once per request, at its end. */
  record(trace: RequestTrace): void {
    const route = trace.routePattern ?? trace.route;
    const status = String(trace.status);
    const provider = trace.provider ?? "";
    const model = this.models.label(provider, trace.model ?? "");
    const key = trace.virtualKeyId ?? "";
    const served = keyOf(provider, model);

    this.requests.update(
      keyOf(route, status, served, key),
      () => ({ route, status, provider, model, virtual_key: key }),
      1,
    );
    const latencyMs = trace.latencyMs;
    if (latencyMs !== undefined) {
      const stream = trace.stream ? "true" : "false";
      this.duration.update(
        keyOf(route, served, stream),
        () => ({ route, provider, model, stream }),
        latencyMs / 1000,
      );
    }
    if (trace.firstTokenMs !== undefined) {
      this.firstToken.update(keyOf(route, served), () => ({ route, provider, model }), trace.firstTokenMs / 1000);
    }

    let upstreamMs = 0;
    for (const attempt of trace.attempts) {
      upstreamMs += attempt.ms;
      const p = attempt.provider;
      const m = this.models.label(p, attempt.model);
      const outcome = attempt.outcome;
      this.attempts.update(keyOf(p, m, outcome), () => ({ provider: p, model: m, outcome }), 1);
      this.upstream.update(keyOf(p, m), () => ({ provider: p, model: m }), attempt.ms / 1000);
      const next = attempt.next;
      if (next === "retry" || next === "rotate") {
        this.retries.update(
          keyOf(p, m, outcome, next),
          () => ({ provider: p, model: m, reason: outcome, kind: next }),
          1,
        );
      } else if (next === "fallback") {
        this.fallbacks.update(keyOf(p, m, outcome), () => ({ provider: p, model: m, reason: outcome }), 1);
      }
    }
    // Routing times a served stream's attempt until its first output arrived, so what the
    // client waited for its first token beyond that is the gateway's own (auth, decode, encode).
    const until = trace.stream ? trace.firstTokenMs : latencyMs;
    if (until !== undefined && trace.attempts.length > 0) {
      const stream = trace.stream ? "true" : "false";
      const overheadMs = until - (trace.upstreamMs ?? upstreamMs);
      this.overhead.update(keyOf(route, stream), () => ({ route, stream }), Math.max(0, overheadMs) / 1000);
    }

    const usage = trace.usage;
    if (usage) {
      const labels = keyOf(served, key);
      if (usage.input_tokens) {
        this.tokens.update(
          `${labels}\u0001input`,
          () => ({ provider, model, virtual_key: key, type: "input" }),
          usage.input_tokens,
        );
      }
      if (usage.output_tokens) {
        this.tokens.update(
          `${labels}\u0001output`,
          () => ({ provider, model, virtual_key: key, type: "output" }),
          usage.output_tokens,
        );
      }
    }
    const cost = trace.cost?.total_cost;
    if (cost) this.cost.update(keyOf(served, key), () => ({ provider, model, virtual_key: key }), cost);
  }

  /** Every series in the Prometheus text exposition format (version 0.0.4). */
  render(): string {
    return PrometheusMetrics.formatUnsafe(this.context);
  }
}

/** The content type Prometheus expects for the text format. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8";
