/**
 * The HTTP surface: routes, methods, body limits, auth, and the error envelope
 * every failure is answered with.
 */
import assert from "node:assert/strict";
import { type FakeUpstream, jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";

const okResponse = jsonFixture("responses/text.json");

const noRetry = { retry: { max_retries: 0 } };

/** Runs `body` against a gateway whose provider `openai` is a fake upstream answering `okResponse`. */
const withGateway = async (
  overrides: Record<string, unknown>,
  body: (gateway: RunningGateway, upstream: FakeUpstream) => Promise<void>,
  reply: Parameters<typeof startFakeUpstream>[0] = () => ({ json: okResponse }),
) => {
  const upstream = startFakeUpstream(reply);
  const base = testConfig(upstream.url);
  const providers = base.providers as Record<string, Record<string, unknown>>;
  const config = { ...base, providers: { openai: { ...providers.openai, ...noRetry } }, ...overrides };
  const gateway = await startGateway(config);
  try {
    await body(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const assertEnvelope = async (response: Response, status: number, pattern?: RegExp) => {
  assert.equal(response.status, status);
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const body = await response.json();
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  if (pattern) assert.match(body.error.message, pattern);
  return body.error as { message: string; type: string; param: string | null; code: string | null };
};

const hybrid = { model: "openai/gpt-5", input: [{ role: "user", content: "hi" }] };

Deno.test("GET /health answers 200", async () => {
  await withGateway({}, async (gateway) => {
    const response = await gateway.fetch("/health");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  });
});

Deno.test("GET /v1/models and /cursor/v1/models list the configured models as provider/model", async () => {
  await withGateway({}, async (gateway) => {
    for (const path of ["/v1/models", "/cursor/v1/models"]) {
      // The gateway has virtual keys: the list needs one (issue 14, point 10; tests/cursor_models_route_test.ts).
      const response = await gateway.fetch(path, { headers: { authorization: `Bearer ${VK}` } });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.object, "list");
      assert.deepEqual(
        body.data.map((m: { id: string; object: string; owned_by: string }) => [m.id, m.object, m.owned_by]),
        [["openai/gpt-5", "model", "openai"], ["openai/gpt-4.1", "model", "openai"]],
      );
    }
  });
});

Deno.test("the chat completions pipeline answers on all its routes", async () => {
  await withGateway({}, async (gateway, upstream) => {
    for (const path of ["/cursor/v1/chat/completions", "/cursor/chat/completions", "/v1/chat/completions"]) {
      const response = await postJson(gateway, path, hybrid);
      assert.equal(response.status, 200, path);
      assert.equal((await response.json()).object, "chat.completion");
    }
    assert.equal(upstream.requests.length, 3);
  });
});

Deno.test("an unknown route is 404 and a wrong method is 405 with Allow, both as error envelopes", async () => {
  await withGateway({}, async (gateway) => {
    await assertEnvelope(await gateway.fetch("/v2/nothing"), 404, /No route/);
    const wrongMethod = await gateway.fetch("/cursor/v1/chat/completions");
    assert.equal(wrongMethod.headers.get("allow"), "POST");
    await assertEnvelope(wrongMethod, 405, /GET is not allowed/);
  });
});

Deno.test("a body that is not JSON, empty, or not an object is 400", async () => {
  await withGateway({}, async (gateway, upstream) => {
    const notJson = await assertEnvelope(
      await postJson(gateway, "/cursor/v1/chat/completions", "{model:"),
      400,
      /not valid JSON/,
    );
    assert.equal(notJson.type, "invalid_request_error");
    await assertEnvelope(await postJson(gateway, "/cursor/v1/chat/completions", ""), 400, /empty/);
    await assertEnvelope(await postJson(gateway, "/cursor/v1/chat/completions", "[1,2]"), 400);
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("a body over max_body_bytes is 413, whether declared or streamed", async () => {
  await withGateway({ max_body_bytes: 1024 }, async (gateway, upstream) => {
    const big = JSON.stringify({ ...hybrid, input: "x".repeat(4096) });
    await assertEnvelope(await postJson(gateway, "/cursor/v1/chat/completions", big), 413, /1024 bytes/);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await gateway.fetch("/cursor/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${VK}`, "content-type": "application/json" },
      body: chunked,
    });
    await assertEnvelope(streamed, 413);
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("a missing or unknown virtual key is 401 and the presented key is never echoed", async () => {
  await withGateway({}, async (gateway, upstream) => {
    const missing = await gateway.fetch("/cursor/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify(hybrid),
    });
    const error = await assertEnvelope(missing, 401);
    assert.equal(error.type, "authentication_error");
    const unknownKey = "sk-bf-not-a-real-key-987654";
    const unknown = await postJson(gateway, "/cursor/v1/chat/completions", hybrid, {
      authorization: `Bearer ${unknownKey}`,
    });
    const text = await unknown.text();
    assert.equal(unknown.status, 401);
    assert.ok(!text.includes(unknownKey));
    assert.ok(!gateway.logs.join("\n").includes(unknownKey));
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("a virtual key is accepted in x-bf-vk as well as in Authorization", async () => {
  await withGateway({}, async (gateway) => {
    const response = await gateway.fetch("/cursor/v1/chat/completions", {
      method: "POST",
      headers: { "x-bf-vk": VK, "content-type": "application/json" },
      body: JSON.stringify(hybrid),
    });
    assert.equal(response.status, 200);
  });
});

Deno.test("a model outside the key's patterns is 403, fallbacks included", async () => {
  const keys = { virtual_keys: [{ id: "team-a", value: VK, models: ["openai/gpt-5"] }] };
  await withGateway(keys, async (gateway, upstream) => {
    assert.equal((await postJson(gateway, "/cursor/v1/chat/completions", hybrid)).status, 200);
    const denied = await assertEnvelope(
      await postJson(gateway, "/cursor/v1/chat/completions", { ...hybrid, model: "openai/gpt-4.1" }),
      403,
      /team-a.*openai\/gpt-4\.1/,
    );
    assert.equal(denied.type, "permission_error");
    await assertEnvelope(
      await postJson(gateway, "/cursor/v1/chat/completions", { ...hybrid, fallbacks: ["gpt-4.1"] }),
      403,
      /openai\/gpt-4\.1/,
    );
    assert.equal(upstream.requests.length, 1);
  });
});

Deno.test("with allow_provider_keys a non-sk-bf bearer is used as the upstream key of the request's provider", async () => {
  await withGateway({ allow_provider_keys: true, virtual_keys: [] }, async (gateway, upstream) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", hybrid, {
      authorization: "Bearer sk-client-own-key",
    });
    assert.equal(response.status, 200);
    assert.equal(upstream.requests[0].headers.get("authorization"), "Bearer sk-client-own-key");
    assert.ok(!gateway.logs.join("\n").includes("sk-client-own-key"));
  });
});

Deno.test("with no virtual keys and provider keys not allowed every request is 401", async () => {
  await withGateway({ virtual_keys: [], allow_provider_keys: false }, async (gateway, upstream) => {
    await assertEnvelope(await postJson(gateway, "/cursor/v1/chat/completions", hybrid), 401);
    await assertEnvelope(
      await postJson(gateway, "/cursor/v1/chat/completions", hybrid, { authorization: "Bearer sk-client-own-key" }),
      401,
    );
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("an upstream 4xx that is the caller's fault keeps its status and message", async () => {
  const reply = () => ({
    status: 400,
    json: {
      error: {
        message: "Unsupported parameter: 'temperature' is not supported with this model.",
        type: "invalid_request_error",
        param: "temperature",
        code: null,
      },
    },
  });
  await withGateway({}, async (gateway) => {
    const error = await assertEnvelope(
      await postJson(gateway, "/cursor/v1/chat/completions", hybrid),
      400,
      /temperature/,
    );
    assert.equal(error.param, "temperature");
  }, reply);
});

Deno.test("an upstream 5xx becomes 502 with an envelope", async () => {
  await withGateway(
    {},
    async (gateway) => {
      const error = await assertEnvelope(await postJson(gateway, "/cursor/v1/chat/completions", hybrid), 502);
      assert.equal(error.type, "upstream_error");
    },
    () => ({ status: 503, json: { error: { message: "overloaded", type: "server_error", param: null, code: null } } }),
  );
});

Deno.test("the upstream rejecting the gateway's own key is 502 saying so, without the key", async () => {
  await withGateway(
    {},
    async (gateway) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", hybrid);
      const text = await response.clone().text();
      await assertEnvelope(response, 502, /rejected the gateway's credentials/);
      assert.ok(!text.includes("sk-upstream-secret-1"));
      assert.ok(!gateway.logs.join("\n").includes("sk-upstream-secret-1"));
    },
    () => ({
      status: 401,
      json: {
        error: {
          message: "Incorrect API key provided: sk-upstr***",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      },
    }),
  );
});

Deno.test("an unreachable upstream is 502", async () => {
  const upstream = startFakeUpstream(() => ({ json: okResponse }));
  const deadUrl = upstream.url;
  await upstream.close();
  const base = testConfig(deadUrl);
  const providers = base.providers as Record<string, Record<string, unknown>>;
  const gateway = await startGateway({ ...base, providers: { openai: { ...providers.openai, ...noRetry } } });
  try {
    const error = await assertEnvelope(await postJson(gateway, "/cursor/v1/chat/completions", hybrid), 502);
    assert.equal(error.type, "upstream_error");
  } finally {
    await gateway.close();
  }
});

Deno.test("a caller's x-request-id is echoed, and one is generated otherwise", async () => {
  await withGateway({}, async (gateway) => {
    const given = await postJson(gateway, "/cursor/v1/chat/completions", hybrid, { "x-request-id": "req-abc.123" });
    await given.body?.cancel();
    assert.equal(given.headers.get("x-request-id"), "req-abc.123");
    const generated = await gateway.fetch("/health");
    await generated.body?.cancel();
    assert.match(generated.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    const injected = await gateway.fetch("/health", { headers: { "x-request-id": "bad id\twith spaces" } });
    await injected.body?.cancel();
    assert.notEqual(injected.headers.get("x-request-id"), "bad id\twith spaces");
  });
});
