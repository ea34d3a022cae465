/**
 * `GET /metrics`: what Prometheus scrapes after real requests through the
 * gateway, the metrics key that guards it, and how the attempt trail of a
 * request becomes retry and fallback counts.
 */
import assert from "node:assert/strict";
import type { RequestTrace } from "../src/core/trace.ts";
import { Metrics, ModelNames } from "../src/observability/metrics.ts";
import { jsonAnswer, textStream, untilLogged } from "./support/observability.ts";
import { type FakeUpstream, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";

const ROUTE = "/cursor/v1/chat/completions";

/** Answers JSON or SSE as the request asks: JSON uses 3 in / 1 out tokens, the stream 7 in / 2 out. */
const answerBoth = (request: { body: Record<string, unknown> }) =>
  request.body.stream === true
    ? { sse: textStream(["Hel", "lo"], { input: 7, output: 2 }) }
    : { json: jsonAnswer("ok", 3, 1) };

const withGateway = async (
  overrides: Record<string, unknown>,
  body: (gateway: RunningGateway, upstream: FakeUpstream) => Promise<void>,
  reply: Parameters<typeof startFakeUpstream>[0] = answerBoth,
) => {
  const upstream = startFakeUpstream(reply);
  const gateway = await startGateway(testConfig(upstream.url, overrides));
  try {
    await body(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

/** Sample lines as `name{labels}` -> value. */
const samples = (text: string): Map<string, number> =>
  new Map(
    text.split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => {
        const at = line.lastIndexOf(" ");
        return [line.slice(0, at), Number(line.slice(at + 1))] as const;
      }),
  );

const sumOf = (all: Map<string, number>, prefix: string) =>
  [...all].filter(([name]) => name.startsWith(prefix)).reduce((sum, [, value]) => sum + value, 0);

const scrape = async (gateway: RunningGateway, headers: Record<string, string> = {}) => {
  const response = await gateway.fetch("/metrics", { headers });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return await response.text();
};

Deno.test("GET /metrics reports requests, upstream attempts, latency histograms and tokens after real requests", async () => {
  await withGateway({}, async (gateway) => {
    const json = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi" });
    assert.equal(json.status, 200);
    await json.body?.cancel();
    const stream = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi", stream: true });
    assert.equal(stream.status, 200);
    assert.match(await stream.text(), /\[DONE\]/);
    const denied = await postJson(gateway, ROUTE, { model: "sneaky-model-name", input: "hi" }, {
      authorization: "Bearer sk-bf-not-a-real-key-999",
    });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    await untilLogged(gateway, 3);

    const text = await scrape(gateway);
    const all = samples(text);
    const served = `provider="openai",model="gpt-5"`;
    assert.equal(all.get(`gateway_requests_total{route="${ROUTE}",status="200",${served},virtual_key="team-a"}`), 2);
    assert.equal(
      all.get(`gateway_requests_total{route="${ROUTE}",status="401",provider="",model="",virtual_key=""}`),
      1,
    );
    assert.equal(sumOf(all, `gateway_upstream_attempts_total{${served},`), 2);
    assert.equal(all.get(`gateway_tokens_total{${served},virtual_key="team-a",type="input"}`), 10);
    assert.equal(all.get(`gateway_tokens_total{${served},virtual_key="team-a",type="output"}`), 3);
    assert.equal(all.get(`gateway_request_duration_seconds_count{route="${ROUTE}",${served},stream="false"}`), 1);
    assert.equal(all.get(`gateway_request_duration_seconds_count{route="${ROUTE}",${served},stream="true"}`), 1);
    assert.equal(
      all.get(`gateway_request_duration_seconds_bucket{route="${ROUTE}",${served},stream="true",le="+Inf"}`),
      1,
    );
    assert.equal(all.get(`gateway_time_to_first_token_seconds_count{route="${ROUTE}",${served}}`), 1);
    assert.equal(all.get(`gateway_upstream_duration_seconds_count{${served}}`), 2);
    assert.equal(all.get(`gateway_overhead_seconds_count{route="${ROUTE}",stream="false"}`), 1);
    assert.equal(all.get(`gateway_overhead_seconds_count{route="${ROUTE}",stream="true"}`), 1);
    assert.equal(all.get("gateway_open_streams"), 0);
    assert.match(text, /^# TYPE gateway_requests_total counter$/m);
    assert.match(text, /^# TYPE gateway_request_duration_seconds histogram$/m);
    assert.match(text, /^# TYPE gateway_open_streams gauge$/m);
    // Labels carry ids and configured names only: no key value, no client-chosen model name.
    for (const secret of [VK, "sk-upstream-secret-1", "sk-bf-not-a-real-key-999", "sneaky-model-name"]) {
      assert.ok(!text.includes(secret), `metrics leak ${secret}`);
    }
    // A scrape is not itself counted as a request.
    assert.ok(!text.includes(`route="/metrics"`));
  });
});

Deno.test("GET /metrics answers only the configured metrics key", async () => {
  await withGateway({ metrics_key: "metrics-secret-7f3a" }, async (gateway) => {
    const none = await gateway.fetch("/metrics");
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="metrics"');
    const error = (await none.json()).error;
    assert.equal(error.type, "authentication_error");
    assert.ok(!error.message.includes("metrics-secret-7f3a"));

    const wrong = await gateway.fetch("/metrics", { headers: { authorization: `Bearer ${VK}` } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();

    const text = await scrape(gateway, { authorization: "Bearer metrics-secret-7f3a" });
    assert.match(text, /^gateway_open_streams 0$/m);
    assert.ok(!text.includes("metrics-secret-7f3a"));
  });
});

Deno.test("the open-streams gauge counts a stream while it is open and drops when the client leaves", async () => {
  const reply = () => ({ sse: textStream(["Hel", "lo"], { input: 1, output: 1 }, { delayMs: 30_000 }) });
  await withGateway({}, async (gateway, upstream) => {
    const response = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi", stream: true });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /Hel/);
    assert.match(await scrape(gateway), /^gateway_open_streams 1$/m);

    await reader.cancel();
    await untilLogged(gateway, 1);
    assert.match(await scrape(gateway), /^gateway_open_streams 0$/m);
    assert.equal(upstream.aborted(), 1);
  }, reply);
});

// ===== The attempt trail, as plain data =====

const trace = (overrides: Partial<RequestTrace>): RequestTrace => ({
  requestId: "r1",
  route: ROUTE,
  startedAt: 0,
  stream: false,
  status: 200,
  attempts: [],
  ...overrides,
});

/** A registry whose model labels know `names` (as the composition root installs the price table's). */
const knowing = (...names: string[]) => {
  const metrics = new Metrics();
  metrics.labelModels(ModelNames.fromConfig({ providers: {}, pricing: {} }, names));
  return metrics;
};

Deno.test("retries, key rotations and fallbacks are counted by the failed attempt's outcome", () => {
  const metrics = knowing("gpt-5", "gpt-4.1");
  const finished = trace({
    virtualKeyId: "team-a",
    provider: "backup",
    model: "gpt-4.1",
    latencyMs: 100,
    upstreamMs: 75,
    attempts: [
      { provider: "openai", model: "gpt-5", outcome: "429", next: "rotate", ms: 10 },
      { provider: "openai", model: "gpt-5", outcome: "500", next: "retry", ms: 20 },
      { provider: "openai", model: "gpt-5", outcome: "timeout", next: "fallback", ms: 30 },
      { provider: "backup", model: "gpt-4.1", outcome: "ok", ms: 15 },
    ],
    usage: { input_tokens: 11, output_tokens: 4 },
    cost: { input_tokens_cost: 0.01, output_tokens_cost: 0.0025, reasoning_tokens_cost: 0, total_cost: 0.0125 },
  });
  metrics.record(finished);
  metrics.record(finished);
  const all = samples(metrics.render());

  const openai = `provider="openai",model="gpt-5"`;
  assert.equal(all.get(`gateway_upstream_retries_total{${openai},reason="429",kind="rotate"}`), 2);
  assert.equal(all.get(`gateway_upstream_retries_total{${openai},reason="500",kind="retry"}`), 2);
  assert.equal(all.get(`gateway_upstream_fallbacks_total{${openai},reason="timeout"}`), 2);
  assert.equal(sumOf(all, "gateway_upstream_fallbacks_total{"), 2);
  assert.equal(all.get(`gateway_upstream_attempts_total{provider="backup",model="gpt-4.1",outcome="ok"}`), 2);
  assert.equal(sumOf(all, "gateway_upstream_attempts_total{"), 8);
  assert.equal(all.get(`gateway_cost_usd_total{provider="backup",model="gpt-4.1",virtual_key="team-a"}`), 0.025);
  assert.equal(
    all.get(`gateway_tokens_total{provider="backup",model="gpt-4.1",virtual_key="team-a",type="input"}`),
    22,
  );
  // Overhead is the latency not spent waiting on the upstream: 100 - 75 ms.
  assert.equal(all.get(`gateway_overhead_seconds_sum{route="${ROUTE}",stream="false"}`), 0.05);
  assert.equal(all.get(`gateway_overhead_seconds_bucket{route="${ROUTE}",stream="false",le="0.025"}`), 2);
  assert.equal(all.get(`gateway_overhead_seconds_bucket{route="${ROUTE}",stream="false",le="0.01"}`), 0);
});

Deno.test("a stream's overhead is its time to first token beyond the upstream's; no upstream, no sample", () => {
  const metrics = knowing("gpt-5", "gpt-4.1");
  const attempts = [{ provider: "p", model: "m", outcome: "ok", ms: 5 }];
  metrics.record(trace({ stream: true, latencyMs: 50, firstTokenMs: 7, attempts }));
  // A stream that never produced output has no first token to measure.
  metrics.record(trace({ stream: true, latencyMs: 50, attempts }));
  metrics.record(trace({ status: 401, latencyMs: 1, errorType: "authentication_error" }));
  const text = metrics.render();
  const all = samples(text);
  assert.equal(all.get(`gateway_overhead_seconds_count{route="${ROUTE}",stream="true"}`), 1);
  assert.equal(all.get(`gateway_overhead_seconds_sum{route="${ROUTE}",stream="true"}`), 0.002);
  assert.equal(all.get(`gateway_overhead_seconds_count{route="${ROUTE}",stream="false"}`), undefined);
  assert.match(text, /^gateway_requests_total\{route="[^"]+",status="401",provider="",model="",virtual_key=""\} 1$/m);
});
