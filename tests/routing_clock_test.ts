/**
 * The Router service against real fake upstreams, with time driven by
 * effect's `TestClock`: backoff waits and key cool-downs are observed in
 * virtual time, so they are checked exactly without waiting for real.
 */
import assert from "node:assert/strict";
import { Effect, Fiber, Layer } from "effect";
import { TestClock } from "effect/testing";
import { resolveConfig } from "../src/config/load.ts";
import { newTrace } from "../src/core/trace.ts";
import { candidatesFor } from "../src/routing/model_ref.ts";
import * as Router from "../src/routing/Router.ts";
import * as Upstream from "../src/upstream/Upstream.ts";
import { type FakeUpstream, jsonFixture, type Script, startFakeUpstream } from "./support/fake_upstream.ts";
import * as Settings from "../src/config/Settings.ts";

const answer = jsonFixture("routing/primary_answer.json");

const configFor = (upstream: FakeUpstream, provider: Record<string, unknown>) =>
  resolveConfig({
    providers: {
      openai: {
        base_url: upstream.url,
        keys: [{ value: "sk-only-key" }],
        timeouts: { connect_ms: 5_000, first_byte_ms: 5_000, idle_ms: 5_000, total_ms: 5_000 },
        ...provider,
      },
    },
    default_provider: "openai",
  }, () => undefined);

const routeRequest = (config: ReturnType<typeof configFor>) => {
  const trace = newTrace("test", "/v1/chat/completions");
  return {
    trace,
    request: {
      candidates: candidatesFor("openai/gpt-5", [], config),
      body: { input: "hi" },
      stream: false,
      trace,
    } satisfies Router.RouteRequest,
  };
};

/** Real time passes for the upstream's I/O; virtual time passes only when the test says so. */
const realPause = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)));

const withUpstream = async (
  script: Script,
  run: (upstream: FakeUpstream) => Effect.Effect<void, unknown, Upstream.Upstream | TestClock.TestClock>,
) => {
  const upstream = startFakeUpstream(script);
  try {
    await Effect.runPromise(
      run(upstream).pipe(Effect.provide(Layer.mergeAll(TestClock.layer(), Upstream.layer))) as Effect.Effect<void>,
    );
  } finally {
    await upstream.close();
  }
};

Deno.test("a 429 with Retry-After is retried after exactly the asked wait, not the configured backoff", async () => {
  const arrivals: number[] = [];
  let now = () => 0;
  await withUpstream(
    (_request, index) => {
      arrivals.push(now());
      return index === 0
        ? {
          status: 429,
          headers: { "retry-after": "2" },
          json: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
        }
        : { json: answer };
    },
    (upstream) =>
      Effect.gen(function* () {
        const clock = yield* TestClock.testClockWith(Effect.succeed);
        now = () => clock.currentTimeMillisUnsafe();
        // Without Retry-After the wait would be 8-12 s: far from the 2 s the upstream asked for.
        const config = configFor(upstream, {
          retry: { max_retries: 1, initial_backoff_ms: 10_000, max_backoff_ms: 20_000 },
        });
        const router = yield* Router.make.pipe(Effect.provide(Settings.layer(config)));
        const { request, trace } = routeRequest(config);
        const fiber = yield* Effect.forkChild(router.complete(request));
        for (let step = 0; step < 400 && upstream.requests.length < 2; step++) {
          yield* realPause;
          yield* TestClock.adjust(50);
        }
        const result = yield* Fiber.join(fiber);

        assert.equal(upstream.requests.length, 2);
        const waited = arrivals[1] - arrivals[0];
        assert.ok(waited >= 2_000 && waited < 5_000, `waited ${waited} ms of virtual time`);
        assert.equal(result.attempt.attempts, 2);
        assert.equal(result.attempt.fallbackIndex, 0);
        assert.deepEqual(trace.attempts.map((a) => [a.outcome, a.next]), [["429", "retry"], ["ok", undefined]]);
      }),
  );
});

Deno.test("a key the upstream rejected cools down for key_cooldown_ms, then is tried again", async () => {
  await withUpstream(
    (request) =>
      request.headers.get("authorization") === "Bearer sk-revoked"
        ? { status: 401, json: { error: { message: "Incorrect API key provided", code: "invalid_api_key" } } }
        : { json: answer },
    (upstream) =>
      Effect.gen(function* () {
        const config = configFor(upstream, {
          // The revoked key is all but certain to be picked first whenever it is not cooling down.
          keys: [{ value: "sk-revoked", weight: 1_000_000 }, { value: "sk-good", weight: 1 }],
          key_cooldown_ms: 60_000,
          retry: { max_retries: 0 },
        });
        const router = yield* Router.make.pipe(Effect.provide(Settings.layer(config)));
        const send = Effect.gen(function* () {
          const { request, trace } = routeRequest(config);
          const result = yield* router.complete(request);
          return { attempts: result.attempt.attempts, trace: trace.attempts.map((a) => [a.outcome, a.next]) };
        });

        const first = yield* send;
        assert.deepEqual(first, { attempts: 2, trace: [["401", "rotate"], ["ok", undefined]] });
        yield* TestClock.adjust(59_999);
        const cooling = yield* send;
        assert.deepEqual(cooling, { attempts: 1, trace: [["ok", undefined]] });
        yield* TestClock.adjust(1);
        const again = yield* send;
        assert.deepEqual(again, { attempts: 2, trace: [["401", "rotate"], ["ok", undefined]] });

        const keys = upstream.requests.map((r) => r.headers.get("authorization"));
        assert.deepEqual(keys, [
          "Bearer sk-revoked",
          "Bearer sk-good",
          "Bearer sk-good",
          "Bearer sk-revoked",
          "Bearer sk-good",
        ]);
      }),
  );
});

Deno.test("a provider whose every key is cooling down is still tried rather than skipped", async () => {
  await withUpstream(
    (_request, index) =>
      index === 0
        ? { status: 403, json: { error: { message: "Forbidden", code: "permission_denied" } } }
        : { json: answer },
    (upstream) =>
      Effect.gen(function* () {
        const config = configFor(upstream, { key_cooldown_ms: 60_000, retry: { max_retries: 0 } });
        const router = yield* Router.make.pipe(Effect.provide(Settings.layer(config)));
        const failed = yield* Effect.flip(router.complete(routeRequest(config).request));
        assert.equal(failed.status, 502);
        assert.match(failed.message, /rejected the gateway's credentials.*\(gave up after 1 upstream attempt\)$/);
        yield* TestClock.adjust(1_000);
        // Its only key still cools down for 59 s: the provider is used all the same.
        const result = yield* router.complete(routeRequest(config).request);
        assert.equal(result.attempt.attempts, 1);
        assert.equal(upstream.requests.length, 2);
        assert.deepEqual(upstream.requests.map((r) => r.headers.get("authorization")), [
          "Bearer sk-only-key",
          "Bearer sk-only-key",
        ]);
      }),
  );
});
