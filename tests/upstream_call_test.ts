/**
 * Stage 4 on its own: the SSE event reader, the HTTP call, and the fake
 * upstream's misbehaviours being the real thing (a reset is a failed fetch,
 * not a 500; a drop is a body that errors, not one that ends).
 */
import assert from "node:assert/strict";
import { Effect, Redacted } from "effect";
import { resolveConfig } from "../src/config/load.ts";
import { adapter as responses } from "../src/upstream/adapters/responses/index.ts";
import { MalformedEventError, readEvents as readWith } from "../src/upstream/sse_events.ts";
import * as Upstream from "../src/upstream/Upstream.ts";
import { frame, startFakeUpstream } from "./support/fake_upstream.ts";

const bodyOf = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
      controller.close();
    },
  });

/** The Responses API's reader, as routing makes it for an OpenAI attempt. */
const readEvents = (body: ReadableStream<Uint8Array>) =>
  readWith(body, responses.stream({ provider: "openai", model: "gpt-5", keyOrigin: "gateway", now: 0 }));

const drain = async (body: ReadableStream<Uint8Array>) => {
  const reader = readEvents(body);
  const types: string[] = [];
  for (let event = await reader.next(); event !== undefined; event = await reader.next()) types.push(event.type);
  return { types, bytes: reader.bytes };
};

Deno.test("events are read one at a time across arbitrary chunk boundaries, and bytes are counted", async () => {
  const text = frame({ type: "response.created" }) + frame({ type: "response.output_text.delta", delta: "hé" });
  const split = [text.slice(0, 7), text.slice(7, 40), text.slice(40)];
  const { types, bytes } = await drain(bodyOf(...split));
  assert.deepEqual(types, ["response.created", "response.output_text.delta"]);
  assert.equal(bytes, new TextEncoder().encode(text).length);
});

Deno.test("a trailing data: [DONE] ends the stream, and SSE comments are skipped", async () => {
  const { types } = await drain(
    bodyOf(": ping\n\n", frame({ type: "response.completed" }), "data: [DONE]\n\n", frame({ type: "late" })),
  );
  assert.deepEqual(types, ["response.completed"]);
});

Deno.test("a data payload that is not a JSON object with a type is a MalformedEventError", async () => {
  for (const payload of ["{not json", "[1,2]", '{"no":"type"}']) {
    const reader = readEvents(bodyOf(frame({ type: "response.created" }), `data: ${payload}\n\n`));
    assert.equal((await reader.next())?.type, "response.created");
    await assert.rejects(reader.next(), MalformedEventError);
  }
});

const providerAt = (url: string) =>
  resolveConfig({ providers: { p: { base_url: url, keys: [{ value: "sk-secret-value" }] } } }, () => undefined)
    .providers.p;

Deno.test("the upstream call posts to {base_url}/responses with the key, the provider's headers and the body", async () => {
  const upstream = startFakeUpstream(() => ({ json: { ok: true } }));
  try {
    const provider = { ...providerAt(upstream.url), headers: { "openai-organization": Redacted.make("org-1") } };
    const response = await Effect.runPromise(
      Upstream.make().post({
        provider,
        apiKey: Redacted.make("sk-secret-value"),
        path: "/responses",
        body: '{"model":"m","input":"hi"}',
        signal: new AbortController().signal,
      }),
    );
    assert.deepEqual(await response.json(), { ok: true });
    const [sent] = upstream.requests;
    assert.equal(sent.path, "/v1/responses");
    assert.equal(sent.headers.get("authorization"), "Bearer sk-secret-value");
    assert.equal(sent.headers.get("openai-organization"), "org-1");
    assert.deepEqual(sent.body, { model: "m", input: "hi" });
  } finally {
    await upstream.close();
  }
});

Deno.test("a reset before the first byte is a transport error naming the provider, never the key", async () => {
  const upstream = startFakeUpstream(() => ({ reset: true }));
  try {
    const failure = await Effect.runPromise(
      Effect.flip(
        Upstream.make().post({
          provider: providerAt(upstream.url),
          apiKey: Redacted.make("sk-secret-value"),
          path: "/responses",
          body: "{}",
          signal: new AbortController().signal,
        }),
      ),
    );
    assert.equal(failure._tag, "UpstreamTransportError");
    assert.equal(failure.aborted, false);
    assert.match(failure.message, /provider 'p' is unreachable/);
    assert.doesNotMatch(failure.message, /sk-secret/);
    assert.equal(upstream.requests.length, 1);
  } finally {
    await upstream.close();
  }
});

Deno.test("a dropped stream is a body that errors after its first events, and the upstream does not count it as aborted", async () => {
  const upstream = startFakeUpstream(() => ({ sse: [{ event: { type: "response.created" } }, { drop: true }] }));
  try {
    const response = await fetch(`${upstream.url}/responses`, { method: "POST", body: "{}" });
    assert.equal(response.status, 200);
    const reader = readEvents(response.body!);
    assert.equal((await reader.next())?.type, "response.created");
    await assert.rejects(reader.next());
    assert.equal(upstream.aborted(), 0);
  } finally {
    await upstream.close();
  }
});

Deno.test("aborting a request mid-stream is seen by the fake upstream", async () => {
  const upstream = startFakeUpstream(() => ({ sse: [{ event: { type: "response.created" } }, { delayMs: 60_000 }] }));
  try {
    const controller = new AbortController();
    const response = await fetch(`${upstream.url}/responses`, {
      method: "POST",
      body: "{}",
      signal: controller.signal,
    });
    const reader = readEvents(response.body!);
    assert.equal((await reader.next())?.type, "response.created");
    controller.abort();
    await upstream.waitForAborts(1);
    assert.deepEqual(upstream.abortedRequests(), [0]);
  } finally {
    await upstream.close();
  }
});

Deno.test("a refused connection names its reason as an error code, so a closed port reads differently from a TLS problem", async () => {
  const upstream = startFakeUpstream(() => ({ reset: true }));
  const closedUrl = upstream.url;
  await upstream.close();
  // Through the gateway's own upstream layer (undici), as a real request would go.
  const failure = await Effect.runPromise(
    Effect.gen(function* () {
      const upstream = yield* Upstream.Upstream;
      return yield* Effect.flip(upstream.post({
        provider: providerAt(closedUrl),
        apiKey: Redacted.make("sk-secret-value"),
        path: "/responses",
        body: "{}",
        signal: new AbortController().signal,
      }));
    }).pipe(Effect.provide(Upstream.layer)),
  );
  assert.equal(failure.message, "provider 'p' is unreachable: ECONNREFUSED");
});
