/**
 * OpenTelemetry export: spans sent over OTLP/HTTP to a local receiver the
 * test starts, configured only by the standard `OTEL_*` variables.
 */
import assert from "node:assert/strict";
import { tracingSetup } from "../src/observability/tracing.ts";
import { jsonAnswer, textStream, untilLogged } from "./support/observability.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";

const ROUTE = "/cursor/v1/chat/completions";

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** A minimal OTLP/HTTP receiver: records every export it is sent and answers 200. */
const startReceiver = () => {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.push({
      path: new URL(request.url).pathname,
      contentType: request.headers.get("content-type") ?? "",
      body: new Uint8Array(await request.arrayBuffer()),
    });
    return Response.json({ partialSuccess: {} });
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    received,
    close: () => server.shutdown(),
  };
};

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status: { code: number };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && Object.values(value)[0];
};

const answerBoth = (request: { body: Record<string, unknown> }) =>
  request.body.stream === true
    ? { sse: textStream(["Hel", "lo"], { input: 7, output: 2 }) }
    : { json: jsonAnswer("ok", 3, 1) };

const run = async (env: Record<string, string>, body: (gateway: RunningGateway) => Promise<void>) => {
  const receiver = startReceiver();
  const upstream = startFakeUpstream(answerBoth);
  const gateway = await startGateway(testConfig(upstream.url), {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env },
  });
  try {
    await body(gateway);
  } finally {
    // Disposing the gateway flushes the spans still buffered.
    await gateway.close();
    await upstream.close();
    await receiver.close();
  }
  return receiver.received;
};

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";

Deno.test("each request is exported as a server span with a child per stage and per upstream attempt", async () => {
  const received = await run(
    { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "gateway-under-test" },
    async (gateway) => {
      const json = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi" }, {
        traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
      });
      assert.equal(json.status, 200);
      await json.body?.cancel();
      const stream = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi", stream: true });
      await stream.text();
      await untilLogged(gateway, 2);
      for (const probe of ["/health", "/metrics"]) await (await gateway.fetch(probe)).body?.cancel();
    },
  );

  assert.ok(received.length > 0, "nothing was exported");
  assert.ok(received.every((r) => r.path === "/v1/traces" && r.contentType.startsWith("application/json")));
  const text = received.map((r) => new TextDecoder().decode(r.body)).join("\n");
  for (const secret of [VK, "sk-upstream-secret-1"]) assert.ok(!text.includes(secret), `a span holds ${secret}`);

  const payloads = received.map((r) => JSON.parse(new TextDecoder().decode(r.body)));
  const resource = payloads[0].resourceSpans[0].resource.attributes as OtlpSpan["attributes"];
  assert.equal(resource.find((a) => a.key === "service.name")?.value.stringValue, "gateway-under-test");
  const spans: OtlpSpan[] = payloads.flatMap((p) =>
    p.resourceSpans.flatMap((r: { scopeSpans: Array<{ spans: OtlpSpan[] }> }) => r.scopeSpans.flatMap((s) => s.spans))
  );

  const roots = spans.filter((span) => span.name === `POST ${ROUTE}`);
  // Health probes and metric scrapes are not traced.
  assert.deepEqual(spans.filter((span) => span.name.startsWith("GET ")), []);
  assert.equal(roots.length, 2);
  const [joined] = roots.filter((span) => span.traceId === TRACE_ID);
  assert.ok(joined, "the caller's traceparent was not followed");
  assert.equal(joined.parentSpanId, CALLER_SPAN);
  assert.equal(joined.kind, 2);
  assert.equal(attribute(joined, "http.response.status_code"), 200);
  assert.equal(attribute(joined, "gateway.virtual_key_id"), "team-a");
  assert.equal(attribute(joined, "gen_ai.provider.name"), "openai");
  assert.equal(attribute(joined, "gen_ai.response.model"), "gpt-5");

  for (const root of roots) {
    const children = spans.filter((span) => span.parentSpanId === root.spanId);
    const names = children.map((span) => span.name).sort();
    assert.deepEqual(names, ["gateway.admit", "gateway.auth", "gateway.read_body", "gateway.route", "gateway.settle"]);
    assert.ok(children.every((span) => span.traceId === root.traceId));
    const route = children.find((span) => span.name === "gateway.route")!;
    const attempts = spans.filter((span) => span.parentSpanId === route.spanId);
    assert.deepEqual(attempts.map((span) => span.name), ["gateway.upstream_attempt"]);
    assert.equal(attempts[0].kind, 3);
    assert.equal(attribute(attempts[0], "http.response.status_code"), 200);
    assert.equal(attribute(attempts[0], "gen_ai.provider.name"), "openai");
  }
  // The streamed request's span stays open until the stream ended, so it carries the stream's usage.
  const streamed = roots.find((span) => attribute(span, "gateway.stream") === true)!;
  assert.equal(attribute(streamed, "gen_ai.usage.output_tokens"), 2);
  assert.equal(typeof attribute(streamed, "gateway.time_to_first_token_ms"), "number");
});

Deno.test("spans are sent as OTLP protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL says http/json", async () => {
  const received = await run({}, async (gateway) => {
    const response = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi" });
    await response.body?.cancel();
  });
  assert.ok(received.length > 0);
  assert.ok(received.every((r) => r.path === "/v1/traces" && r.contentType === "application/x-protobuf"));
  // The default service name is in the payload (protobuf keeps strings as they are).
  assert.ok(new TextDecoder().decode(received[0].body).includes("cursor-gateway"));
});

Deno.test("nothing is exported when OTEL_TRACES_EXPORTER is none or OTEL_SDK_DISABLED is true", async () => {
  const offSwitches: Record<string, string>[] = [{ OTEL_TRACES_EXPORTER: "none" }, { OTEL_SDK_DISABLED: "true" }];
  for (const env of offSwitches) {
    const received = await run(env, async (gateway) => {
      const response = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hi" });
      assert.equal(response.status, 200);
      await response.body?.cancel();
    });
    assert.deepEqual(received, []);
  }
});

Deno.test("tracing is off unless an OTLP endpoint is named, and only OTLP over HTTP is supported", () => {
  assert.deepEqual(tracingSetup({}), { enabled: false });
  assert.deepEqual(tracingSetup({ OTEL_SERVICE_NAME: "x" }), { enabled: false });
  assert.deepEqual(tracingSetup({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }), {
    enabled: true,
    endpoint: "http://collector:4318/v1/traces",
    protocol: "http/protobuf",
  });
  assert.deepEqual(
    tracingSetup({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "console, OTLP" }),
    { enabled: true, endpoint: "http://c:4318", protocol: "http/protobuf" },
  );
  const typo = tracingSetup({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
  assert.equal(typo.enabled, false);
  const grpc = tracingSetup({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
  assert.equal(grpc.enabled, false);
  assert.match(grpc.enabled ? "" : grpc.reason ?? "", /grpc is not supported/);
});
