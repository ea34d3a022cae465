/**
 * Routing of non-streamed requests through the real handler, against fake
 * upstreams on 127.0.0.1 that misbehave on purpose: which upstreams were
 * called, how many times, with which key, and exactly what the client got.
 */
import assert from "node:assert/strict";
import { jsonFixture } from "./support/fake_upstream.ts";
import { postJson, VK } from "./support/gateway.ts";
import { attemptsOf, routingHeaders, withPair } from "./support/routing.ts";

const primaryAnswer = jsonFixture("routing/primary_answer.json");

const upstreamError = (status: number, message: string, code: string | null = null) => ({
  status,
  json: { error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code } },
});

const request = { model: "openai/gpt-5", fallbacks: ["backup/gpt-4.1"], input: [{ role: "user", content: "hi" }] };

const routingFields = (body: { extra_fields: Record<string, unknown> }) => ({
  provider: body.extra_fields.provider,
  fallback_index: body.extra_fields.fallback_index,
  attempts: body.extra_fields.attempts,
});

Deno.test("500, 502 and 503 are retried with the provider's budget, then the fallback answers", async () => {
  const failures = [upstreamError(500, "boom"), upstreamError(502, "bad gateway"), upstreamError(503, "overloaded")];
  await withPair(
    { primary: (_r, index) => failures[index] },
    { primary: { retry: { max_retries: 2, initial_backoff_ms: 1, max_backoff_ms: 5 } } },
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.equal(body.choices[0].message.content, "Answer from the fallback.");
      assert.deepEqual(attemptsOf(await finished(1)), [
        ["openai", "500", "retry"],
        ["openai", "502", "retry"],
        ["openai", "503", "fallback"],
        ["backup", "ok", undefined],
      ]);
      assert.deepEqual(routingFields(body), { provider: "backup", fallback_index: 1, attempts: 4 });
      assert.deepEqual(routingHeaders(response), { provider: "backup", model: "gpt-4.1", attempts: "4" });
      assert.equal(primary.requests.length, 3);
      assert.equal(backup.requests.length, 1);
      assert.deepEqual(primary.requests.map((r) => r.body.model), ["gpt-5", "gpt-5", "gpt-5"]);
      assert.equal(backup.requests[0].body.model, "gpt-4.1");
      assert.equal(backup.requests[0].headers.get("authorization"), "Bearer sk-backup-secret");
    },
  );
});

Deno.test("when every attempt fails the client gets the primary's error as 502, naming the attempts made", async () => {
  await withPair(
    {
      primary: () => upstreamError(503, "The engine is overloaded."),
      backup: () => upstreamError(500, "The backup broke."),
    },
    {},
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 502);
      assert.deepEqual(attemptsOf(await finished(1)), [
        ["openai", "503", "retry"],
        ["openai", "503", "fallback"],
        ["backup", "500", "retry"],
        ["backup", "500", undefined],
      ]);
      assert.deepEqual(await response.json(), {
        error: {
          message: "Upstream error: The engine is overloaded. (gave up after 4 upstream attempts)",
          type: "upstream_error",
          param: null,
          code: null,
        },
      });
      assert.equal(primary.requests.length, 2);
      assert.equal(backup.requests.length, 2);
    },
  );
});

Deno.test("a 400 is final: no retry, no fallback, the upstream's status and message", async () => {
  await withPair(
    {
      primary: () => ({
        status: 400,
        json: {
          error: {
            message: "Unsupported parameter: 'temperature' is not supported with this model.",
            type: "invalid_request_error",
            param: "temperature",
            code: "unsupported_parameter",
          },
        },
      }),
    },
    {},
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), {
        error: {
          message: "Unsupported parameter: 'temperature' is not supported with this model.",
          type: "invalid_request_error",
          param: "temperature",
          code: "unsupported_parameter",
        },
      });
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("404, 413 and 422 from the upstream are final too", async () => {
  for (const status of [404, 413, 422]) {
    await withPair({ primary: () => upstreamError(status, `upstream says ${status}`) }, {}, async (pair) => {
      const response = await postJson(pair.gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, status);
      assert.equal((await response.json()).error.message, `upstream says ${status}`);
      assert.equal(pair.primary.requests.length, 1);
      assert.equal(pair.backup.requests.length, 0);
    });
  }
});

Deno.test("a connection reset before the first byte is retried, and the retry's answer is served", async () => {
  await withPair(
    { primary: (_r, index) => index === 0 ? { reset: true } : { json: primaryAnswer } },
    {},
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.equal(body.choices[0].message.content, "Answer from the primary.");
      assert.deepEqual(routingFields(body), { provider: "openai", fallback_index: 0, attempts: 2 });
      assert.deepEqual(routingHeaders(response), { provider: "openai", model: "gpt-5", attempts: "2" });
      assert.equal(primary.requests.length, 2);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("an upstream that keeps resetting is given up on and the fallback answers", async () => {
  await withPair({ primary: () => ({ reset: true }) }, {}, async ({ gateway, primary, backup }) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
    const body = await response.json();
    assert.equal(response.status, 200);
    assert.equal(body.choices[0].message.content, "Answer from the fallback.");
    assert.deepEqual(routingFields(body), { provider: "backup", fallback_index: 1, attempts: 3 });
    assert.equal(primary.requests.length, 2);
    assert.equal(backup.requests.length, 1);
  });
});

Deno.test("a 429 with Retry-After on a single-key provider is retried on that key and then served", async () => {
  await withPair(
    {
      primary: (_r, index) =>
        index === 0
          ? {
            status: 429,
            headers: { "retry-after-ms": "5" },
            json: {
              error: { message: "Rate limit reached", type: "requests", param: null, code: "rate_limit_exceeded" },
            },
          }
          : { json: primaryAnswer },
    },
    {},
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.deepEqual(routingFields(body), { provider: "openai", fallback_index: 0, attempts: 2 });
      assert.deepEqual(primary.requests.map((r) => r.headers.get("authorization")), [
        "Bearer sk-primary-secret",
        "Bearer sk-primary-secret",
      ]);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("a 429 rotates to the provider's other key at once, spending no retry", async () => {
  await withPair(
    {
      primary: (_r, index) =>
        index === 0
          ? { status: 429, json: { error: { message: "Rate limit reached", code: "rate_limit_exceeded" } } }
          : { json: primaryAnswer },
    },
    {
      // No retries, and a backoff that would hang the test: only a rotation can serve this from the primary.
      primary: {
        keys: [{ value: "sk-key-one" }, { value: "sk-key-two" }],
        retry: { max_retries: 0, initial_backoff_ms: 600_000, max_backoff_ms: 600_000 },
      },
    },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.deepEqual(routingFields(body), { provider: "openai", fallback_index: 0, attempts: 2 });
      const keys = primary.requests.map((r) => r.headers.get("authorization"));
      assert.equal(keys.length, 2);
      assert.notEqual(keys[0], keys[1]);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("a 401 on one key only: that key is cooled down and rotated away from, later requests skip it", async () => {
  await withPair(
    {
      primary: (r) =>
        r.headers.get("authorization") === "Bearer sk-revoked"
          ? {
            status: 401,
            json: { error: { message: "Incorrect API key provided: sk-revo*****", code: "invalid_api_key" } },
          }
          : { json: primaryAnswer },
    },
    {
      // The revoked key is all but certain to be picked first while it is not cooling down.
      primary: { keys: [{ value: "sk-revoked", weight: 1_000_000 }, { value: "sk-good", weight: 1 }] },
    },
    async ({ gateway, primary, backup, finished }) => {
      const attempts: Array<string | null> = [];
      for (let i = 0; i < 3; i++) {
        const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
        const body = await response.json();
        assert.equal(response.status, 200);
        assert.equal(body.choices[0].message.content, "Answer from the primary.");
        attempts.push(response.headers.get("x-gateway-attempts"));
      }
      assert.deepEqual(attempts, ["2", "1", "1"]);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "401", "rotate"], ["openai", "ok", undefined]]);
      assert.deepEqual(primary.requests.map((r) => r.headers.get("authorization")), [
        "Bearer sk-revoked",
        "Bearer sk-good",
        "Bearer sk-good",
        "Bearer sk-good",
      ]);
      assert.equal(backup.requests.length, 0);
      assert.ok(!gateway.logs.join("\n").includes("sk-revo"));
    },
  );
});

Deno.test("the gateway's only key rejected with 401 falls back to the next provider without retrying", async () => {
  await withPair(
    { primary: () => ({ status: 401, json: { error: { message: "Incorrect API key", code: "invalid_api_key" } } }) },
    { primary: { retry: { max_retries: 3, initial_backoff_ms: 1, max_backoff_ms: 5 } } },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.equal(body.choices[0].message.content, "Answer from the fallback.");
      assert.deepEqual(routingFields(body), { provider: "backup", fallback_index: 1, attempts: 2 });
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 1);
    },
  );
});

Deno.test("a non-streamed request whose attempts all time out (total_ms) is 504, and each upstream saw the abort", async () => {
  const slow = { timeouts: { total_ms: 100 }, retry: { max_retries: 0 } };
  await withPair(
    { primary: () => ({ hang: true }), backup: () => ({ hang: true }) },
    { primary: slow, backup: slow },
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 504);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "timeout", "fallback"], [
        "backup",
        "timeout",
        undefined,
      ]]);
      const body = await response.json();
      assert.equal(body.error.type, "timeout_error");
      assert.equal(body.error.code, "upstream_timeout");
      assert.match(body.error.message, /total_ms 100 ms.*gave up after 2 upstream attempts/);
      await primary.waitForAborts(1);
      await backup.waitForAborts(1);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 1);
    },
  );
});

Deno.test("a slow answer within total_ms is not cut: first_byte_ms and idle_ms do not apply to JSON", async () => {
  await withPair(
    { primary: () => ({ json: primaryAnswer, delayMs: 150 }) },
    { primary: { timeouts: { connect_ms: 20, first_byte_ms: 20, idle_ms: 20, total_ms: 5_000 } } },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      assert.equal((await response.json()).choices[0].message.content, "Answer from the primary.");
      assert.equal(primary.requests.length, 1);
      assert.equal(primary.aborted(), 0);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("a client that goes away during a request aborts the upstream at once, and nothing is retried", async () => {
  await withPair(
    { primary: () => ({ hang: true }) },
    { primary: { retry: { max_retries: 3, initial_backoff_ms: 1, max_backoff_ms: 5 } } },
    async ({ gateway, primary, backup, finished }) => {
      const client = new AbortController();
      const pending = gateway.fetch("/cursor/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
        body: JSON.stringify(request),
        signal: client.signal,
      }).then(() => "answered", () => "aborted");
      while (primary.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      client.abort();
      assert.equal(await pending, "aborted");
      await primary.waitForAborts(1);
      const trace = await finished(1);
      assert.deepEqual(attemptsOf(trace), [["openai", "cancelled", undefined]]);
      assert.equal(trace.status, 499);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("a 429 that outlasts every retry and fallback reaches the client as 429 with the primary's Retry-After", async () => {
  const limited = () => ({
    status: 429,
    headers: { "retry-after-ms": "3" },
    json: {
      error: { message: "Rate limit reached for gpt-5.", type: "requests", param: null, code: "rate_limit_exceeded" },
    },
  });
  await withPair({ primary: limited, backup: limited }, {}, async ({ gateway, primary, backup }) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "1");
    const body = await response.json();
    assert.equal(body.error.message, "Rate limit reached for gpt-5. (gave up after 4 upstream attempts)");
    assert.equal(body.error.code, "rate_limit_exceeded");
    assert.equal(primary.requests.length, 2);
    assert.equal(backup.requests.length, 2);
  });
});

Deno.test("a 200 whose response has status failed is an attempt failure: server_error falls back, the client never sees it", async () => {
  const failedResponse = {
    id: "resp_failed",
    object: "response",
    created_at: 1,
    status: "failed",
    model: "gpt-5",
    output: [],
    error: { code: "server_error", message: "The model crashed." },
    usage: null,
  };
  await withPair(
    { primary: () => ({ json: failedResponse }) },
    { primary: { retry: { max_retries: 0 } } },
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.equal(body.choices[0].message.content, "Answer from the fallback.");
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "stream_error", "fallback"], [
        "backup",
        "ok",
        undefined,
      ]]);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 1);
    },
  );
});

Deno.test("a 200 whose response failed with an invalid_prompt code is final and reaches the client as 400", async () => {
  const failedResponse = {
    id: "resp_failed",
    object: "response",
    status: "failed",
    output: [],
    error: { code: "invalid_prompt", message: "Your prompt was flagged." },
  };
  await withPair({ primary: () => ({ json: failedResponse }) }, {}, async ({ gateway, primary, backup }) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
    const body = await response.json();
    assert.equal(response.status, 400);
    assert.equal(body.error.message, "Your prompt was flagged.");
    assert.equal(body.error.code, "invalid_prompt");
    assert.equal(primary.requests.length, 1);
    assert.equal(backup.requests.length, 0);
  });
});
