/**
 * A client's own provider key (`allow_provider_keys`) is only ever the key of
 * its own provider, the one the request's primary model names: fallbacks on
 * other providers are skipped rather than served with the gateway's keys, and
 * retries on the client's provider never swap the client's key for one of the
 * gateway's.
 */
import assert from "node:assert/strict";
import { Effect, Exit, Layer, Redacted } from "effect";
import { resolveConfig } from "../src/config/load.ts";
import type { GatewayError } from "../src/errors/GatewayError.ts";
import { newTrace } from "../src/core/trace.ts";
import { candidatesFor } from "../src/routing/model_ref.ts";
import * as Router from "../src/routing/Router.ts";
import * as Upstream from "../src/upstream/Upstream.ts";
import { jsonFixture } from "./support/fake_upstream.ts";
import { postJson, VK } from "./support/gateway.ts";
import { withPair } from "./support/routing.ts";
import * as Settings from "../src/config/Settings.ts";

const ROUTE = "/v1/chat/completions";
/** Any Bearer that is not a virtual key: with `allow_provider_keys`, anyone can present one. */
const CLIENT_KEY = "sk-anyone-at-all-0000";
const asClient = { authorization: `Bearer ${CLIENT_KEY}` };
const allowed = { top: { allow_provider_keys: true } };

const ask = (stream: boolean, fallbacks: string[] = ["backup/echo"]) => ({
  model: "openai/gpt-5",
  messages: [{ role: "user", content: "hi" }],
  fallbacks,
  stream,
});

const serverError = () => ({ status: 500, json: { error: { message: "primary is down", type: "server_error" } } });

const authorizations = (requests: ReadonlyArray<{ headers: Headers }>) =>
  requests.map((request) => request.headers.get("authorization"));

for (const stream of [false, true]) {
  Deno.test(
    `a client's provider key never reaches a fallback on another provider, nor its gateway key (${
      stream ? "SSE" : "JSON"
    })`,
    async () => {
      await withPair({ primary: serverError }, allowed, async ({ gateway, primary, backup }) => {
        const response = await postJson(gateway, ROUTE, ask(stream), asClient);
        await response.text();
        assert.equal(response.status, 502);
        assert.equal(backup.requests.length, 0, "the backup upstream was called");
        // max_retries 1: the primary and one retry, both with the client's key.
        assert.deepEqual(authorizations(primary.requests), [`Bearer ${CLIENT_KEY}`, `Bearer ${CLIENT_KEY}`]);
      });
    },
  );
}

Deno.test("a fallback on the client's own provider is still tried, with the client's key", async () => {
  await withPair(
    {
      primary: (_request, index) => index === 0 ? serverError() : { json: jsonFixture("routing/primary_answer.json") },
    },
    { ...allowed, primary: { retry: { max_retries: 0, initial_backoff_ms: 1, max_backoff_ms: 1 } } },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, ROUTE, ask(false, ["backup/echo", "openai/gpt-4.1"]), asClient);
      assert.equal(response.status, 200);
      await response.body?.cancel();
      assert.equal(response.headers.get("x-gateway-model"), "gpt-4.1");
      assert.equal(backup.requests.length, 0);
      assert.deepEqual(authorizations(primary.requests), [`Bearer ${CLIENT_KEY}`, `Bearer ${CLIENT_KEY}`]);
    },
  );
});

Deno.test("a rate-limited client key is retried with the client's key, never rotated to a gateway key", async () => {
  const limited = () => ({
    status: 429,
    headers: { "retry-after-ms": "1" },
    json: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
  });
  await withPair(
    { primary: limited },
    { ...allowed, primary: { keys: [{ value: "sk-primary-secret" }, { value: "sk-primary-secret-2" }] } },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, ROUTE, ask(false), asClient);
      await response.body?.cancel();
      assert.equal(response.status, 429);
      assert.equal(backup.requests.length, 0);
      assert.ok(primary.requests.length >= 1);
      for (const authorization of authorizations(primary.requests)) assert.equal(authorization, `Bearer ${CLIENT_KEY}`);
    },
  );
});

Deno.test("a virtual key still falls back to another provider with the gateway's key", async () => {
  await withPair({ primary: serverError }, allowed, async ({ gateway, backup }) => {
    const response = await postJson(gateway, ROUTE, ask(false));
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.deepEqual(authorizations(backup.requests), ["Bearer sk-backup-secret"]);
  });
});

Deno.test("a virtual key with a provider key beside it is served with the provider key alone, no fallback elsewhere", async () => {
  await withPair({ primary: serverError }, allowed, async ({ gateway, primary, backup }) => {
    const response = await postJson(gateway, ROUTE, ask(false), { "x-bf-vk": VK, ...asClient });
    await response.body?.cancel();
    assert.equal(response.status, 502);
    assert.equal(backup.requests.length, 0);
    assert.deepEqual(authorizations(primary.requests), [`Bearer ${CLIENT_KEY}`, `Bearer ${CLIENT_KEY}`]);
  });
});

// ===== Routing alone: a request whose candidates all lie on other providers =====

Deno.test("a provider key for one provider and candidates only on others fails with 400 and calls no upstream", async () => {
  const calls: Upstream.UpstreamCall[] = [];
  const upstream = Layer.succeed(Upstream.Upstream, {
    post: (call) =>
      Effect.sync(() => {
        calls.push(call);
        return new Response(JSON.stringify(jsonFixture("routing/fallback_answer.json")));
      }),
  });
  const config = resolveConfig({
    providers: {
      openai: { base_url: "http://127.0.0.1:9", keys: [{ value: "sk-primary-secret" }] },
      backup: { base_url: "http://127.0.0.1:9", keys: [{ value: "sk-backup-secret" }] },
    },
    default_provider: "openai",
  }, () => undefined);
  const trace = newTrace("test", ROUTE);
  for (const stream of [false, true]) {
    const request: Router.RouteRequest = {
      candidates: candidatesFor("backup/echo", ["backup/other"], config),
      body: { input: "hi" },
      stream,
      providerKey: { provider: "openai", value: Redacted.make(CLIENT_KEY) },
      trace,
    };
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const router = yield* Router.make.pipe(Effect.provide(Settings.layer(config)));
        return yield* (stream ? router.stream(request) : router.complete(request));
      }).pipe(Effect.provide(upstream)) as Effect.Effect<unknown, GatewayError>,
    );
    assert.ok(Exit.isFailure(exit), "the request was served");
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error as GatewayError;
    assert.equal(error.status, 400);
    assert.match(error.message, /only for provider 'openai'/);
    assert.ok(!error.message.includes(CLIENT_KEY));
  }
  assert.equal(calls.length, 0);
});
