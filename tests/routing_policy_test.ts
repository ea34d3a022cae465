/**
 * The routing policy as plain data: backoff, Retry-After, key choice and
 * cool-downs, failure classification, and the attempt plan's decisions.
 */
import assert from "node:assert/strict";
import { Redacted } from "effect";
import type { ProviderConfig } from "../src/config/load.ts";
import {
  allowsFallback,
  cancelled,
  invalidRequest,
  isRetryable,
  keyRejected,
  rateLimited,
  unavailable,
  wantsAnotherKey,
} from "../src/errors/reasons.ts";
import { errorForReason } from "../src/errors/upstream.ts";
import { AttemptPlan, type Candidate, type Step } from "../src/routing/attempt_plan.ts";
import { backoffMs } from "../src/routing/backoff.ts";
import { retryAfterMs } from "../src/upstream/adapters/http_failure.ts";
import { type AttemptFailure, failureFromHttp } from "../src/routing/classify.ts";
import { KeyPool } from "../src/routing/key_pool.ts";
import { adapter as responses, reasonFromEvent } from "../src/upstream/adapters/responses/index.ts";

const retry = { maxRetries: 2, initialBackoffMs: 250, maxBackoffMs: 4_000 };

const provider = (name: string, maxRetries: number, keys: string[] = []): ProviderConfig => ({
  name,
  api: "responses",
  auth: "bearer",
  target: { provider: name, api: "responses", options: {} },
  baseUrl: "http://127.0.0.1:1/v1",
  keys: keys.map((id) => ({ id, value: Redacted.make(`sk-${id}`), weight: 1 })),
  headers: {},
  models: [],
  retry: { ...retry, maxRetries },
  timeouts: { connectMs: 1_000, firstByteMs: 1_000, idleMs: 1_000, totalMs: 1_000 },
  keyCooldownMs: 60_000,
});

const candidate = (p: ProviderConfig, model: string, fallbackIndex: number): Candidate => ({
  ref: { provider: p.name, model, label: `${p.name}/${model}` },
  provider: p,
  fallbackIndex,
});

type Kind = "transient" | "rate_limit" | "key" | "final" | "cancelled";

/** A failure of each family, worded `failed <status>` so the final error can be recognised. */
const failure = (kind: Kind, status = 502, retryAfter?: number): AttemptFailure => {
  const base = { provider: "a", outcome: String(status) };
  const wait = retryAfter !== undefined ? { retryAfterMs: retryAfter } : {};
  switch (kind) {
    case "transient":
      return unavailable({ ...base, message: `failed ${status}` });
    case "rate_limit":
      return rateLimited({ ...base, message: `failed ${status}`, ...wait });
    case "key":
      return keyRejected({ ...base, status: 401, keyOrigin: "gateway" });
    case "final":
      return invalidRequest({ ...base, status, message: `failed ${status}` });
    case "cancelled":
      return cancelled("a");
  }
};

const context = (keyOrigin: "gateway" | "client" = "gateway") => ({
  provider: "openai",
  model: "gpt-5",
  keyOrigin,
  now: 0,
});

const nexts = (steps: Step[]) => steps.map((step) => step.next);

Deno.test("backoff doubles from initial_backoff_ms with jitter between 0.8 and 1.2, capped at max_backoff_ms", () => {
  assert.equal(backoffMs(retry, 0, 0.5), 250);
  assert.equal(backoffMs(retry, 1, 0.5), 500);
  assert.equal(backoffMs(retry, 2, 0.5), 1_000);
  assert.equal(backoffMs(retry, 0, 0), 200);
  assert.equal(backoffMs(retry, 0, 0.999999), 300);
  assert.equal(backoffMs(retry, 10, 0.5), 4_000);
  assert.equal(backoffMs(retry, 4, 0.999999), 4_000, "jitter never lifts a wait past the cap");
});

Deno.test("a Retry-After wait replaces the backoff, up to max_backoff_ms", () => {
  assert.equal(backoffMs(retry, 0, 0.5, 1_500), 1_500);
  assert.equal(backoffMs(retry, 0, 0.5, 0), 0);
  assert.equal(backoffMs(retry, 0, 0.5, 30_000), 4_000);
});

Deno.test("retry-after-ms, Retry-After in seconds and Retry-After as an HTTP date are read; garbage is ignored", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "1234" }), now), 1_234);
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "20", "retry-after": "5" }), now), 20);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "3" }), now), 3_000);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:07 GMT" }), now), 7_000);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "Wed, 31 Dec 2025 23:00:00 GMT" }), now), 0);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "soon" }), now), undefined);
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "-5" }), now), undefined);
  assert.equal(retryAfterMs(new Headers(), now), undefined);
});

Deno.test("keys are picked by weight; weight 0 is never picked", () => {
  const pool = new KeyPool([
    { id: "a", value: Redacted.make("sk-a"), weight: 1 },
    { id: "b", value: Redacted.make("sk-b"), weight: 3 },
    { id: "off", value: Redacted.make("sk-off"), weight: 0 },
  ]);
  const none = new Set<string>();
  assert.equal(pool.pick(0, none, 0)?.id, "a");
  assert.equal(pool.pick(0, none, 0.24)?.id, "a");
  assert.equal(pool.pick(0, none, 0.25)?.id, "b");
  assert.equal(pool.pick(0, none, 0.99)?.id, "b");
  assert.equal(pool.size, 2);
});

Deno.test("a cooling key is skipped until its cool-down ends", () => {
  const pool = new KeyPool([{ id: "a", value: Redacted.make("sk-a"), weight: 1 }, {
    id: "b",
    value: Redacted.make("sk-b"),
    weight: 1,
  }]);
  pool.coolDown("a", 1_000);
  const none = new Set<string>();
  for (const random of [0, 0.3, 0.6, 0.99]) assert.equal(pool.pick(500, none, random)?.id, "b");
  assert.equal(pool.pick(1_000, none, 0)?.id, "a", "usable again once the cool-down is over");
});

Deno.test("when every key is cooling down, the one whose cool-down ends first is used", () => {
  const pool = new KeyPool([
    { id: "a", value: Redacted.make("sk-a"), weight: 1 },
    { id: "b", value: Redacted.make("sk-b"), weight: 1 },
    { id: "c", value: Redacted.make("sk-c"), weight: 1 },
  ]);
  pool.coolDown("a", 9_000);
  pool.coolDown("b", 3_000);
  pool.coolDown("c", 5_000);
  assert.equal(pool.pick(0, new Set(), 0.5)?.id, "b");
  assert.equal(pool.hasReadyKey(0, new Set()), false);
  assert.equal(pool.pick(0, new Set(["b"]), 0.5)?.id, "c", "excluded keys are not picked even then");
  assert.equal(pool.pick(0, new Set(["a", "b", "c"]), 0.5), undefined);
});

Deno.test("statuses classify as the policy says: 5xx/408/409 retried, 429 rate limited, 401/403 the key, other 4xx the caller's", async () => {
  const reason = (status: number, body: unknown = {}) =>
    failureFromHttp(responses, context(), new Response(JSON.stringify(body), { status }));
  for (const status of [500, 502, 503, 504, 408, 409]) assert.equal((await reason(status))._tag, "Unavailable");
  assert.equal((await reason(429, { error: { code: "rate_limit_exceeded" } }))._tag, "RateLimited");
  assert.equal(
    (await reason(429, { error: { code: "insufficient_quota" } }))._tag,
    "QuotaExhausted",
    "OpenAI's exhausted quota is the key's problem",
  );
  for (const status of [401, 403]) assert.equal((await reason(status))._tag, "KeyRejected");
  assert.equal((await reason(402))._tag, "QuotaExhausted");
  for (const status of [400, 413, 422]) assert.equal((await reason(status))._tag, "InvalidRequest");
  assert.equal(
    (await reason(404, { error: { code: "model_not_found", message: "no such model" } }))._tag,
    "ModelNotFound",
  );
  assert.equal(
    (await reason(400, { error: { code: "context_length_exceeded", message: "too long" } }))._tag,
    "ContextTooLong",
  );
});

Deno.test("what each reason allows: retry, another key, fallback", () => {
  const allows = (reason: AttemptFailure) => [isRetryable(reason), wantsAnotherKey(reason), allowsFallback(reason)];
  assert.deepEqual(allows(failure("transient")), [true, false, true]);
  assert.deepEqual(allows(failure("rate_limit")), [true, true, true]);
  assert.deepEqual(allows(failure("key")), [false, true, true]);
  assert.deepEqual(allows(keyRejected({ provider: "a", outcome: "401", status: 401, keyOrigin: "client" })), [
    false,
    false,
    false,
  ]);
  assert.deepEqual(allows(failure("final", 400)), [false, false, false]);
  assert.deepEqual(allows(failure("cancelled")), [false, false, false]);
});

Deno.test("in-stream error codes classify like their HTTP counterparts", () => {
  const tag = (code: string | null, type: string | null) =>
    reasonFromEvent("openai", "gateway", { type: "error", error: { code, type, message: "m" } })._tag;
  assert.equal(tag("rate_limit_exceeded", null), "RateLimited");
  assert.equal(tag("insufficient_quota", "insufficient_quota"), "QuotaExhausted");
  assert.equal(tag("invalid_api_key", null), "KeyRejected");
  assert.equal(tag("server_error", null), "Unavailable");
  assert.equal(tag(null, "invalid_request_error"), "InvalidRequest");
  assert.equal(tag("context_length_exceeded", "invalid_request_error"), "ContextTooLong");
  assert.equal(tag(null, null), "Unavailable");
});

Deno.test("an in-stream key error is reworded, a server error keeps the upstream's message", () => {
  const key = reasonFromEvent("openai", "gateway", {
    type: "error",
    error: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided: sk-pro***" },
  });
  assert.equal(key._tag, "KeyRejected");
  assert.doesNotMatch(errorForReason(key).message, /sk-/);
  const failed = reasonFromEvent("openai", "gateway", {
    type: "response.failed",
    response: { status: "failed", error: { code: "server_error", message: "boom" } },
  });
  assert.equal(failed._tag, "Unavailable");
  assert.equal(errorForReason(failed).message, "boom");
});

Deno.test("an upstream HTTP error becomes a failure with its Retry-After, and a client key's 401 is final", async () => {
  const limited = await failureFromHttp(
    responses,
    context(),
    new Response(JSON.stringify({ error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }), {
      status: 429,
      headers: { "retry-after": "2" },
    }),
  );
  assert.equal(limited._tag, "RateLimited");
  assert.ok(limited._tag === "RateLimited");
  assert.equal(limited.retryAfterMs, 2_000);
  assert.equal(errorForReason(limited).status, 429);
  assert.equal(errorForReason(limited).headers?.["retry-after"], "2");

  const quota = await failureFromHttp(
    responses,
    context(),
    Response.json({ error: { message: "You exceeded your current quota.", code: "insufficient_quota" } }, {
      status: 429,
    }),
  );
  assert.equal(quota._tag, "QuotaExhausted");
  assert.equal(errorForReason(quota).status, 502, "the gateway's key out of quota is not the caller's 429");

  const clientKey = await failureFromHttp(
    responses,
    context("client"),
    Response.json({ error: { message: "Incorrect API key provided: sk-abc***" } }, { status: 401 }),
  );
  assert.equal(clientKey._tag, "KeyRejected");
  assert.equal(allowsFallback(clientKey), false);
  assert.equal(errorForReason(clientKey).status, 401);
  assert.doesNotMatch(errorForReason(clientKey).message, /sk-/);
});

Deno.test("a transient failure is retried max_retries times with backoff, then falls back, then gives up with the primary's error", () => {
  const a = provider("a", 2);
  const b = provider("b", 1);
  const plan = new AttemptPlan([candidate(a, "m1", 0), candidate(b, "m2", 1)]);
  const steps: Step[] = [];
  const errors = [failure("transient", 503), failure("transient", 500), failure("transient", 502)];
  for (const error of errors) {
    plan.begin();
    steps.push(plan.decide(error, undefined, () => false, 0.5));
  }
  assert.deepEqual(nexts(steps), ["retry", "retry", "fallback"]);
  assert.deepEqual(steps.slice(0, 2).map((s) => "delayMs" in s ? s.delayMs : -1), [250, 500]);
  assert.equal(plan.current?.ref.provider, "b");
  plan.begin();
  steps.push(plan.decide(failure("transient", 500), undefined, () => false, 0.5));
  plan.begin();
  const last = plan.decide(failure("transient", 504), undefined, () => false, 0.5);
  assert.equal(steps.at(-1)?.next, "retry");
  assert.equal(last.next, "stop");
  assert.ok(last.next === "stop");
  assert.equal(last.error.status, 502, "the primary's last error, not the fallback's");
  assert.match(last.error.message, /^failed 502 \(gave up after 5 upstream attempts\)$/);
});

Deno.test("a final failure stops at once, even on a fallback, with its own message", () => {
  const plan = new AttemptPlan([candidate(provider("a", 2), "m1", 0), candidate(provider("b", 2), "m2", 1)]);
  plan.begin();
  const step = plan.decide(failure("final", 400), undefined, () => true, 0.5);
  assert.ok(step.next === "stop");
  assert.equal(step.error.message, "failed 400");
});

Deno.test("a key failure rotates to a ready key not yet tried, without spending a retry, then falls back", () => {
  const a = provider("a", 0, ["k1", "k2"]);
  const plan = new AttemptPlan([candidate(a, "m1", 0), candidate(provider("b", 0), "m2", 1)]);
  const ready = new Set(["k1", "k2"]);
  const readyOutside = (exclude: ReadonlySet<string>) => [...ready].some((k) => !exclude.has(k));
  plan.begin();
  ready.delete("k1");
  assert.deepEqual(plan.decide(failure("key", 502), "k1", readyOutside, 0.5), { next: "rotate", delayMs: 0 });
  assert.deepEqual([...plan.failed("a")], ["k1"]);
  plan.begin();
  ready.delete("k2");
  assert.deepEqual(plan.decide(failure("key", 502), "k2", readyOutside, 0.5), { next: "fallback", delayMs: 0 });
});

Deno.test("a 429 rotates while another key is ready, else backs off by Retry-After, then falls back", () => {
  const a = provider("a", 1, ["k1", "k2"]);
  const plan = new AttemptPlan([candidate(a, "m1", 0), candidate(provider("b", 0), "m2", 1)]);
  const readyOutside = (exclude: ReadonlySet<string>) => ["k1", "k2"].some((k) => !exclude.has(k));
  plan.begin();
  assert.deepEqual(plan.decide(failure("rate_limit", 429, 700), "k1", readyOutside, 0.5), {
    next: "rotate",
    delayMs: 0,
  });
  plan.begin();
  assert.deepEqual(plan.decide(failure("rate_limit", 429, 700), "k2", readyOutside, 0.5), {
    next: "retry",
    delayMs: 700,
  });
  plan.begin();
  assert.deepEqual(plan.decide(failure("rate_limit", 429), "k1", readyOutside, 0.5), {
    next: "fallback",
    delayMs: 0,
  });
});

Deno.test("a cancelled attempt stops the plan with nothing retried", () => {
  const plan = new AttemptPlan([candidate(provider("a", 5), "m1", 0), candidate(provider("b", 5), "m2", 1)]);
  plan.begin();
  assert.equal(plan.decide(failure("cancelled", 499), undefined, () => true, 0.5).next, "stop");
});
