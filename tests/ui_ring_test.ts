/**
 * The dashboard's in-memory stores as plain data: the request table is a
 * bounded ring read newest first, keeping no more than it may; the minute
 * stats bucket by the clock, roll over after an hour, and estimate
 * percentiles within a bin's width.
 */
import assert from "node:assert/strict";
import { newTrace, type RequestTrace } from "../src/core/trace.ts";
import { BUCKETS, MinuteStats, reasonOf, REASONS } from "../src/observability/minute_stats.ts";
import { MAX_NAME, RecentRequests } from "../src/observability/recent_requests.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";

const T0 = Date.UTC(2026, 2, 4, 10, 30, 0);

const trace = (n: number, fields: Partial<RequestTrace> = {}): RequestTrace =>
  Object.assign(newTrace(`req-${n}`, "/v1/chat/completions"), {
    virtualKeyId: "team-a",
    modelRequested: "openai/gpt-5",
    provider: "openai",
    model: "gpt-5",
    status: 200,
    latencyMs: 100,
    ...fields,
  });

// ===== The request table =====

Deno.test("the table keeps the newest `capacity` requests and lists them newest first", () => {
  const recent = new RecentRequests({ now: () => T0, capacity: 3 });
  assert.deepEqual(recent.list(), []);
  for (let n = 1; n <= 5; n++) recent.record(trace(n));
  assert.equal(recent.recorded, 5);
  assert.deepEqual(recent.list().map((e) => e.request_id), ["req-5", "req-4", "req-3"]);
  assert.deepEqual(recent.list(2).map((e) => e.request_id), ["req-5", "req-4"]);
  assert.deepEqual(recent.list(0), []);
  for (let n = 6; n <= 1000; n++) recent.record(trace(n));
  assert.deepEqual(recent.list(10).map((e) => e.request_id), ["req-1000", "req-999", "req-998"]);
});

Deno.test("a slot is overwritten whole: nothing of the request it held before is left", () => {
  const recent = new RecentRequests({ now: () => T0, capacity: 1 });
  recent.record(trace(1, {
    errorType: "upstream_error",
    firstTokenMs: 12,
    usage: { input_tokens: 5, output_tokens: 1 },
    cost: { input_tokens_cost: 1, output_tokens_cost: 1, reasoning_tokens_cost: 0, total_cost: 2 },
    content: { input: "secret prompt" },
  }));
  recent.noteError("req-1", "it broke");
  recent.record(trace(2));
  const [entry] = recent.list();
  assert.equal(entry.request_id, "req-2");
  assert.equal(entry.error_type, null);
  assert.equal(entry.error_message, null);
  assert.equal(entry.first_token_ms, null);
  assert.equal(entry.usage, null);
  assert.equal(entry.cost, null);
  assert.ok(!("content" in entry));
});

Deno.test("only the chat routes are kept: not /v1/models, /metrics, the admin API or the dashboard", () => {
  const recent = new RecentRequests({ now: () => T0 });
  for (const route of ["/v1/models", "/metrics", "/admin/keys", "/admin/requests", "/ui", "/health"]) {
    recent.record(Object.assign(newTrace("x", route), { status: 200 }));
  }
  assert.equal(recent.recorded, 0);
  for (const route of ["/cursor/v1/chat/completions", "/cursor/chat/completions", "/v1/chat/completions"]) {
    recent.record(Object.assign(newTrace("x", route), { status: 200 }));
  }
  assert.deepEqual(recent.list().map((e) => e.api), ["chat", "cursor", "cursor"]);
});

Deno.test("a model name the client invented is cut to MAX_NAME characters, in the entry and its attempts", () => {
  const recent = new RecentRequests({ now: () => T0 });
  const long = "m".repeat(1_000_000);
  recent.record(trace(1, {
    modelRequested: long,
    model: long,
    attempts: [{ provider: "openai", model: long, outcome: "ok", ms: 3 }],
  }));
  const [entry] = recent.list();
  assert.equal(entry.model_requested?.length, MAX_NAME + 1);
  assert.ok(entry.model_requested?.endsWith("…"));
  assert.equal(entry.model?.length, MAX_NAME + 1);
  assert.equal(entry.attempt_list[0].model.length, MAX_NAME + 1);
});

Deno.test("an entry's time is when the request arrived, by the clock it was given", () => {
  const recent = new RecentRequests({ now: () => T0 });
  recent.record(trace(1, { latencyMs: 1500 }));
  assert.equal(recent.list()[0].time, new Date(T0 - 1500).toISOString());
});

Deno.test("an error message is added to the newest failed entry of its request id, once, and cut", () => {
  const recent = new RecentRequests({ now: () => T0 });
  recent.record(trace(1, { status: 429, errorType: "rate_limit_error" }));
  recent.record(trace(2));
  assert.equal(recent.awaitsMessage("req-1"), true);
  assert.equal(recent.awaitsMessage("req-2"), false, "a served request awaits no message");
  assert.equal(recent.awaitsMessage("req-9"), false);
  recent.noteError("req-1", "x".repeat(5000));
  recent.noteError("req-1", "second");
  const entry = recent.list().find((e) => e.request_id === "req-1")!;
  assert.equal(entry.error_message?.length, 1001);
  assert.equal(recent.awaitsMessage("req-1"), false);
});

Deno.test("content is kept only when the trace has it (log_content), bounded per field", () => {
  const recent = new RecentRequests({ now: () => T0 });
  recent.record(trace(1, { content: { instructions: "be brief", input: "y".repeat(100_000), output: [{ a: 1 }] } }));
  const [entry] = recent.list();
  assert.equal(entry.content?.instructions, "be brief");
  assert.deepEqual(entry.content?.output, [{ a: 1 }]);
  assert.ok(String(entry.content?.input).length < 17_000);
});

Deno.test("fallbacks count the moves to a fallback model; the attempt list keeps each outcome", () => {
  const recent = new RecentRequests({ now: () => T0 });
  recent.record(trace(1, {
    provider: "backup",
    model: "gpt-4.1",
    attempts: [
      { provider: "openai", model: "gpt-5", outcome: "500", next: "retry", ms: 10.123 },
      { provider: "openai", model: "gpt-5", outcome: "503", next: "fallback", ms: 11 },
      { provider: "backup", model: "gpt-4.1", outcome: "ok", ms: 12 },
    ],
  }));
  const [entry] = recent.list();
  assert.equal(entry.attempts, 3);
  assert.equal(entry.fallbacks, 1);
  assert.deepEqual(entry.attempt_list[0], {
    provider: "openai",
    model: "gpt-5",
    outcome: "500",
    next: "retry",
    ms: 10.12,
  });
  assert.equal(entry.attempt_list[2].next, null);
});

Deno.test("Telemetry.recording hands every finished request to each recorder, even when one throws", () => {
  const seen: string[] = [];
  const telemetry = Telemetry.recording(Telemetry.make("silent"), [
    () => {
      throw new Error("broken recorder");
    },
    (trace) => seen.push(trace.requestId),
  ]);
  telemetry.requestFinished(trace(1));
  assert.deepEqual(seen, ["req-1"]);
  assert.ok(telemetry.metrics, "the metrics are the wrapped telemetry's");
});

// ===== The minute stats =====

Deno.test("requests are counted in the minute they finish, oldest minute first", () => {
  let now = T0;
  const stats = new MinuteStats({ now: () => now });
  stats.record(trace(1));
  now += 60_000;
  stats.record(trace(2));
  stats.record(trace(3, { status: 502, errorType: "upstream_error" }));
  const view = stats.view(3);
  assert.deepEqual(view.buckets.map((b) => [b.time, b.requests, b.errors]), [
    ["2026-03-04T10:29:00.000Z", 0, 0],
    ["2026-03-04T10:30:00.000Z", 1, 0],
    ["2026-03-04T10:31:00.000Z", 2, 1],
  ]);
  assert.equal(view.totals.requests, 3);
  assert.equal(view.totals.errors, 1);
});

Deno.test("a bucket an hour old is emptied before the minute that reuses it counts", () => {
  let now = T0;
  const stats = new MinuteStats({ now: () => now });
  stats.record(trace(1));
  stats.record(trace(2));
  now += BUCKETS * 60_000;
  stats.record(trace(3));
  const view = stats.view(60);
  assert.equal(view.buckets.length, 60);
  assert.equal(view.totals.requests, 1);
  assert.equal(view.buckets[59].requests, 1);
  now += 60_000;
  assert.equal(stats.view(60).totals.requests, 1, "the last hour still holds it");
  now += 59 * 60_000;
  assert.equal(stats.view(60).totals.requests, 0, "an hour later nothing is left");
});

Deno.test("p50 and p95 of latency and time to first token are within a bin's width", () => {
  const stats = new MinuteStats({ now: () => T0 });
  for (let ms = 1; ms <= 1000; ms++) stats.record(trace(ms, { latencyMs: ms, firstTokenMs: ms / 10 }));
  const { totals } = stats.view(1);
  const near = (value: number | null | undefined, expected: number) =>
    assert.ok(
      value !== null && value !== undefined && Math.abs(value - expected) / expected < 0.2,
      `${value} ~ ${expected}`,
    );
  near(totals.latency_p50_ms, 500);
  near(totals.latency_p95_ms, 950);
  near(totals.first_token_p50_ms, 50);
  near(totals.first_token_p95_ms, 95);
});

Deno.test("a minute without requests has no percentiles (null), not zero", () => {
  const stats = new MinuteStats({ now: () => T0 });
  const [bucket] = stats.view(1).buckets;
  assert.equal(bucket.latency_p50_ms, null);
  assert.equal(bucket.first_token_p95_ms, null);
});

Deno.test("each provider has its series, configured ones listed without traffic; failed attempts by reason", () => {
  const stats = new MinuteStats({ now: () => T0 });
  stats.record(trace(1, {
    provider: "backup",
    attempts: [
      { provider: "openai", model: "gpt-5", outcome: "429", next: "retry", ms: 1 },
      { provider: "openai", model: "gpt-5", outcome: "timeout", next: "fallback", ms: 1 },
      { provider: "backup", model: "gpt-4.1", outcome: "ok", ms: 1 },
    ],
  }));
  // Nothing served: counted under the provider of its last attempt.
  stats.record(trace(2, {
    provider: undefined,
    status: 502,
    attempts: [{ provider: "openai", model: "gpt-5", outcome: "529", ms: 1 }],
  }));
  const view = stats.view(5, ["openai", "backup", "idle"]);
  const byName = Object.fromEntries(view.providers.map((p) => [p.provider, p]));
  assert.deepEqual(Object.keys(byName), ["backup", "idle", "openai"]);
  assert.equal(byName.backup.totals.requests, 1);
  assert.equal(byName.openai.totals.requests, 1);
  assert.equal(byName.openai.totals.errors, 1);
  assert.equal(byName.idle.totals.requests, 0);
  assert.deepEqual(
    Object.entries(byName.openai.failures).filter(([, n]) => n > 0),
    [["rate_limited", 1], ["overloaded", 1], ["timeout", 1]],
  );
  assert.deepEqual(Object.keys(byName.idle.failures), [...REASONS]);
});

Deno.test("outcomes map to reasons; ok and a client's cancel are no provider failure", () => {
  const of = (outcome: string) => reasonOf(outcome) < 0 ? "none" : REASONS[reasonOf(outcome)];
  assert.deepEqual(
    [
      "ok",
      "cancelled",
      "429",
      "503",
      "529",
      "timeout",
      "network",
      "500",
      "401",
      "403",
      "402",
      "stream_error",
      "400",
      "x",
    ]
      .map(of),
    [
      "none",
      "none",
      "rate_limited",
      "overloaded",
      "overloaded",
      "timeout",
      "network",
      "server_error",
      "key_rejected",
      "key_rejected",
      "quota",
      "stream_error",
      "client_error",
      "other",
    ],
  );
});

Deno.test("per key: requests, tokens and cost; a client that went away is not an error", () => {
  const stats = new MinuteStats({ now: () => T0 });
  const cost = { input_tokens_cost: 0.001, output_tokens_cost: 0.002, reasoning_tokens_cost: 0, total_cost: 0.003 };
  stats.record(trace(1, { usage: { input_tokens: 100, output_tokens: 20 }, cost }));
  stats.record(trace(2, { virtualKeyId: "ci", status: 499, errorType: "client_cancelled" }));
  const view = stats.view(1);
  const byKey = Object.fromEntries(view.keys.map((k) => [k.virtual_key_id, k.totals]));
  assert.deepEqual(byKey["team-a"], { requests: 1, errors: 0, tokens_in: 100, tokens_out: 20, cost_usd: 0.003 });
  assert.equal(byKey.ci.errors, 0);
  assert.equal(view.totals.errors, 0);
});

Deno.test("the stats ignore every route but the chat ones", () => {
  const stats = new MinuteStats({ now: () => T0 });
  stats.record(Object.assign(newTrace("x", "/v1/models"), { status: 200 }));
  stats.record(Object.assign(newTrace("x", "/admin/stats"), { status: 200 }));
  assert.equal(stats.view(1).totals.requests, 0);
});
