/**
 * What the dashboard adds to each finished request: `RecentRequests.record`
 * (the live table's ring) and `MinuteStats.record` (the health charts), beside
 * what reporting a request already costs (`Telemetry.make`'s metrics and log
 * line, to a sink that drops it) for scale.
 *
 * Usage: `deno bench bench/dashboard_record_bench.ts`. Figures are in
 * docs/dashboard.md.
 */
import { newTrace, type RequestTrace } from "../src/core/trace.ts";
import { MinuteStats } from "../src/observability/minute_stats.ts";
import { RecentRequests } from "../src/observability/recent_requests.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";

/** A served request as the handler reports it: a fallback, usage and cost. */
const served = (n: number): RequestTrace =>
  Object.assign(newTrace(`req-${n}`, "/cursor/v1/chat/completions"), {
    virtualKeyId: `team-${n % 8}`,
    modelRequested: "openai/gpt-5",
    provider: n % 3 === 0 ? "backup" : "openai",
    model: "gpt-5",
    stream: true,
    status: 200,
    latencyMs: 800 + (n % 400),
    firstTokenMs: 200 + (n % 100),
    upstreamMs: 790,
    attempts: [
      { provider: "openai", model: "gpt-5", outcome: "503", next: "fallback", ms: 12 },
      { provider: "backup", model: "gpt-5", outcome: "ok", ms: 778 },
    ],
    usage: { input_tokens: 1200, input_tokens_details: { cached_tokens: 200 }, output_tokens: 85 },
    cost: { input_tokens_cost: 0.0013, output_tokens_cost: 0.00085, reasoning_tokens_cost: 0, total_cost: 0.00215 },
  });

const traces = Array.from({ length: 1024 }, (_, n) => served(n));
let now = Date.UTC(2026, 2, 4, 10, 30);
const clock = () => (now += 37);

const recent = new RecentRequests({ now: clock });
const stats = new MinuteStats({ now: clock });
const telemetry = Telemetry.make("info", () => {});
let i = 0;

Deno.bench("RecentRequests.record (the live table's ring)", { group: "record", baseline: true }, () => {
  recent.record(traces[i++ & 1023]);
});

Deno.bench("MinuteStats.record (per-minute buckets, per provider and key)", { group: "record" }, () => {
  stats.record(traces[i++ & 1023]);
});

Deno.bench("Telemetry.requestFinished (metrics and the log line), for scale", { group: "record" }, () => {
  telemetry.requestFinished(traces[i++ & 1023]);
});

Deno.bench("RecentRequests.list(100) (one dashboard read)", { group: "read" }, () => {
  recent.list(100);
});

Deno.bench("MinuteStats.view(60) (one dashboard read)", { group: "read" }, () => {
  stats.view(60, ["openai", "backup"]);
});
