/**
 * Issue 14, point 6: Cursor replaces the message of any 5xx or 429 with its own generic notice. With
 * `cursor_visible_errors: true` (off by default), a final upstream failure on a Cursor request is
 * answered as HTTP 400 whose message says which provider failed, how, and after how many attempts,
 * `code` keeping the real kind; the gateway's own 401/402/403/429 keep their statuses, and strict
 * `/v1` clients keep the statuses of the route's contract.
 */
import assert from "node:assert/strict";
import type { Script } from "./support/fake_upstream.ts";
import { VK } from "./support/gateway.ts";
import { answering, CURSOR_PATH, post, STRICT_PATH, upstreamError, withGateway } from "./support/cursor.ts";

const body = { model: "gpt-5", input: [{ role: "user", content: "hi" }] };
const streamed = { ...body, stream: true };
const fast = { retry: { max_retries: 2, initial_backoff_ms: 1, max_backoff_ms: 2 } };

/** The test config's provider at `url`, retrying fast; `visible` turns the switch on. */
const config = (visible: boolean, extra: Record<string, unknown> = {}) => (url: string) => ({
  providers: { openai: { base_url: url, keys: [{ value: "sk-upstream" }], models: ["gpt-5"], ...fast } },
  ...(visible ? { cursor_visible_errors: true } : {}),
  ...extra,
});

const rateLimited: Script = () =>
  upstreamError(429, "Rate limit reached for gpt-5 on tokens per min.", "rate_limit_exceeded", "requests");
const serverError: Script = () => upstreamError(500, "The server had an error.", null, "server_error");

Deno.test("off by default: a Cursor request's final 429 and 5xx keep their statuses", async () => {
  await withGateway(rateLimited, config(false), async ({ gateway }) => {
    assert.equal((await post(gateway, CURSOR_PATH, body)).status, 429);
  });
  await withGateway(serverError, config(false), async ({ gateway }) => {
    assert.equal((await post(gateway, CURSOR_PATH, body)).status, 502);
  });
});

Deno.test("on: a rate-limited upstream is a 400 naming the provider, the kind and the attempts", async () => {
  await withGateway(rateLimited, config(true), async ({ gateway, upstream }) => {
    for (const sent of [body, streamed]) {
      const before = upstream.requests.length;
      const answer = await post(gateway, CURSOR_PATH, sent);
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error.code, "rate_limit_exceeded");
      assert.equal(answer.json.error.type, "upstream_error");
      assert.equal(upstream.requests.length - before, 3);
      assert.match(
        answer.json.error.message,
        /^Provider 'openai' is rate limiting the gateway; the gateway gave up after 3 attempts\. /,
      );
      assert.match(answer.json.error.message, /Rate limit reached for gpt-5/);
      assert.equal(answer.headers.get("retry-after"), null);
    }
  });
});

Deno.test("on: a failing upstream (500) is a 400 whose message does not speak of rate limits", async () => {
  await withGateway(serverError, config(true), async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, body);
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, "upstream_unavailable");
    assert.match(
      answer.json.error.message,
      /^Provider 'openai' failed \(500\); the gateway gave up after 3 attempts\./,
    );
    assert.doesNotMatch(answer.json.error.message, /rate limit|overloaded/i);
  });
});

Deno.test("on: an overloaded upstream says so, with its own code", async () => {
  const overloaded: Script = () => upstreamError(529, "Overloaded", "overloaded_error", "overloaded_error");
  await withGateway(overloaded, config(true), async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, body);
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, "overloaded_error");
    assert.match(
      answer.json.error.message,
      /^Provider 'openai' is overloaded; the gateway gave up after 3 attempts\. /,
    );
  });
});

Deno.test("on: an unreachable provider is a 400 with code upstream_unreachable", async () => {
  const closed = (_url: string) => ({
    providers: {
      openai: { base_url: "http://127.0.0.1:9", keys: [{ value: "sk-upstream" }], models: ["gpt-5"], ...fast },
    },
    cursor_visible_errors: true,
  });
  await withGateway(answering({ items: [] }), closed, async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, body);
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, "upstream_unreachable");
    assert.match(
      answer.json.error.message,
      /^Provider 'openai' is unreachable; the gateway gave up after 3 attempts\./,
    );
  });
});

Deno.test("on: strict /v1 clients keep the route's statuses", async () => {
  await withGateway(rateLimited, config(true), async ({ gateway }) => {
    assert.equal((await post(gateway, STRICT_PATH, body)).status, 429);
  });
  await withGateway(serverError, config(true), async ({ gateway }) => {
    assert.equal((await post(gateway, STRICT_PATH, body)).status, 502);
  });
});

Deno.test("on: an upstream 4xx the caller caused is shown as it is", async () => {
  const invalid: Script = () => upstreamError(400, "Unknown parameter: 'foo'.", "unknown_parameter");
  await withGateway(invalid, config(true), async ({ gateway }) => {
    const answer = await post(gateway, CURSOR_PATH, body);
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.message, "Unknown parameter: 'foo'.");
  });
});

Deno.test("on: the gateway's own 401, 403, 429 and 402 keep their statuses", async () => {
  const keys = {
    virtual_keys: [
      { id: "limited", value: VK, models: ["openai/gpt-5"], rate_limit: { requests_per_minute: 1 } },
      { id: "broke", value: "sk-bf-broke-key-0123456789", models: ["*"], budget: { max_usd: 0, period: "1d" } },
    ],
  };
  await withGateway(answering({ items: [{ text: "ok" }] }), config(true, keys), async ({ gateway }) => {
    assert.equal((await post(gateway, CURSOR_PATH, body, { authorization: "Bearer sk-bf-unknown" })).status, 401);
    assert.equal((await post(gateway, CURSOR_PATH, { ...body, model: "gpt-4.1" })).status, 403);
    assert.equal((await post(gateway, CURSOR_PATH, body)).status, 200);
    assert.equal((await post(gateway, CURSOR_PATH, body)).status, 429);
    const broke = await post(gateway, CURSOR_PATH, body, { authorization: "Bearer sk-bf-broke-key-0123456789" });
    assert.equal(broke.status, 402);
  });
});
