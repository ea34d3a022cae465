/**
 * The request log: one JSON line per request, with the fields an operator
 * searches by, never a key value, and prompt or completion text only when
 * `log_content: true`.
 */
import assert from "node:assert/strict";
import type { RequestTrace } from "../src/core/trace.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";
import { jsonAnswer, textStream, untilLogged } from "./support/observability.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";

const ROUTE = "/cursor/v1/chat/completions";
const PROMPT = "PROMPT-MARKER-4242 please";
const ANSWER = "COMPLETION-MARKER-1717";

const answerBoth = (request: { body: Record<string, unknown> }) =>
  request.body.stream === true
    ? { sse: textStream([ANSWER.slice(0, 10), ANSWER.slice(10)], { input: 7, output: 2 }) }
    : { json: jsonAnswer(ANSWER, 3, 1) };

const withGateway = async (overrides: Record<string, unknown>, body: (gateway: RunningGateway) => Promise<void>) => {
  const upstream = startFakeUpstream(answerBoth);
  const gateway = await startGateway(testConfig(upstream.url, overrides));
  try {
    await body(gateway);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const requestLines = (gateway: RunningGateway) =>
  gateway.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");

const ask = (stream: boolean) => ({ model: "openai/gpt-5", input: [{ role: "user", content: PROMPT }], stream });

Deno.test("each request is one JSON line with its id, key id, model, status, attempts, latency and tokens", async () => {
  await withGateway({}, async (gateway) => {
    const response = await postJson(gateway, ROUTE, ask(false), { "x-request-id": "req-abc.123" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-request-id"), "req-abc.123");
    await response.body?.cancel();

    const lines = requestLines(gateway);
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.equal(line.level, "info");
    assert.equal(line.request_id, "req-abc.123");
    assert.equal(line.route, ROUTE);
    assert.equal(line.virtual_key_id, "team-a");
    assert.equal(line.model_requested, "openai/gpt-5");
    assert.equal(line.provider, "openai");
    assert.equal(line.model, "gpt-5");
    assert.equal(line.stream, false);
    assert.equal(line.status, 200);
    assert.equal(line.attempts, 1);
    assert.equal(typeof line.latency_ms, "number");
    assert.equal(typeof line.upstream_ms, "number");
    assert.equal(line.tokens_in, 3);
    assert.equal(line.tokens_out, 1);
    assert.equal(Number.isNaN(Date.parse(line.time)), false);
    assert.equal("content" in line, false);
    assert.equal("error_type" in line, false);
  });
});

Deno.test("a streamed request is logged once, when it ends, with its time to first token", async () => {
  await withGateway({}, async (gateway) => {
    const response = await postJson(gateway, ROUTE, ask(true));
    const id = response.headers.get("x-request-id");
    assert.match(id ?? "", /^[0-9a-f-]{36}$/);
    await response.text();
    await untilLogged(gateway, 1);
    const [line] = requestLines(gateway);
    assert.equal(line.request_id, id);
    assert.equal(line.stream, true);
    assert.equal(line.status, 200);
    assert.equal(typeof line.first_token_ms, "number");
    assert.ok(line.first_token_ms <= line.latency_ms);
    assert.equal(line.tokens_in, 7);
    assert.equal(line.tokens_out, 2);
  });
});

Deno.test("log lines never hold a key value, the prompt or the completion", async () => {
  await withGateway({}, async (gateway) => {
    for (const stream of [false, true]) {
      const response = await postJson(gateway, ROUTE, ask(stream));
      await response.text();
    }
    const denied = await postJson(gateway, ROUTE, ask(false), { authorization: "Bearer sk-bf-stolen-key-000" });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    // An id that could forge log lines is replaced, not echoed.
    const forged = await postJson(gateway, ROUTE, ask(false), { "x-request-id": 'x" injected' });
    await forged.body?.cancel();
    await untilLogged(gateway, 4);

    const lines = requestLines(gateway);
    assert.equal(lines.find((line) => line.status === 401)?.error_type, "authentication_error");
    assert.ok(lines.every((line) => line.request_id !== 'x" injected'));
    const all = gateway.logs.join("\n");
    for (
      const text of [VK, "sk-upstream-secret-1", "sk-bf-stolen-key-000", "PROMPT-MARKER-4242", "COMPLETION-MARKER"]
    ) {
      assert.ok(!all.includes(text), `a log line holds ${text}`);
    }
  });
});

Deno.test("with log_content: true the request line carries the input and the answer's output items", async () => {
  await withGateway({ log_content: true }, async (gateway) => {
    for (const stream of [false, true]) {
      const response = await postJson(gateway, ROUTE, ask(stream));
      await response.text();
    }
    await untilLogged(gateway, 2);
    const lines = requestLines(gateway);
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(JSON.stringify(line.content.input), /PROMPT-MARKER-4242/);
      assert.match(JSON.stringify(line.content.output), /COMPLETION-MARKER-1717/);
    }
    // Content, yes; keys, still never.
    assert.ok(!gateway.logs.join("\n").includes(VK));
  });
});

// ===== Levels, as plain data =====

const finished = (status: number): RequestTrace => ({
  requestId: `r-${status}`,
  route: ROUTE,
  startedAt: 0,
  stream: false,
  status,
  attempts: [],
  latencyMs: 1,
});

Deno.test("log_level filters lines: warn keeps a failed request and drops a served one, silent drops all", () => {
  const warn: string[] = [];
  const atWarn = Telemetry.make("warn", (line) => warn.push(line));
  atWarn.requestFinished(finished(200));
  atWarn.requestFinished(finished(502));
  atWarn.log("info", "chatter");
  atWarn.log("warn", "something odd");
  assert.deepEqual(warn.map((line) => [JSON.parse(line).level, JSON.parse(line).msg]), [
    ["error", "request"],
    ["warn", "something odd"],
  ]);
  assert.equal(JSON.parse(warn[0]).request_id, "r-502");

  const silent: string[] = [];
  const atSilent = Telemetry.make("silent", (line) => silent.push(line));
  atSilent.requestFinished(finished(500));
  atSilent.log("error", "boom");
  assert.deepEqual(silent, []);
  // Silent logs nothing, but metrics still count.
  assert.match(atSilent.metrics!.render(), /status="500"/);
});
