/**
 * `log_content: true` never fails a request or leaks a stream: what is logged
 * is bounded in depth and size, a log write that throws is contained, and
 * every stream end closes the open-streams gauge exactly once.
 */
import assert from "node:assert/strict";
import { ChunkEncoder } from "../src/encode/chunks.ts";
import { sseBody } from "../src/http/sse_body.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";
import type { ResponsesEvent } from "../src/protocol/responses.ts";
import type { EventStream } from "../src/routing/Router.ts";
import { boundedContent } from "../src/observability/content.ts";
import { jsonAnswer, textStream, untilLogged } from "./support/observability.ts";
import { encodeContext } from "./support/encode.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig } from "./support/gateway.ts";
import { parseStream } from "./support/routing.ts";

const ROUTE = "/cursor/v1/chat/completions";

const answerBoth = (request: { body: Record<string, unknown> }) =>
  request.body.stream === true
    ? { sse: textStream(["deep ", "answer"], { input: 7, output: 2 }) }
    : { json: jsonAnswer("deep answer", 3, 1) };

const withGateway = async (
  overrides: Record<string, unknown>,
  options: { readonly telemetry?: Telemetry.TelemetryShape },
  body: (gateway: RunningGateway, upstreamCalls: () => number) => Promise<void>,
) => {
  const upstream = startFakeUpstream(answerBoth);
  const gateway = await startGateway(testConfig(upstream.url, overrides), options);
  try {
    await body(gateway, () => upstream.requests.length);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

/** A value nested `levels` deep: `{"n":{"n":...}}`. */
const nested = (levels: number): unknown => {
  let value: unknown = "bottom";
  for (let i = 0; i < levels; i++) value = { n: value };
  return value;
};

/** A request whose input carries a 6,000-level value in an item the gateway passes through. */
const deepAsk = (stream: boolean) => ({
  model: "openai/gpt-5",
  input: [{ role: "user", content: "hi" }, {
    type: "web_search_call",
    id: "ws_1",
    status: "completed",
    action: nested(6_000),
  }],
  stream,
});

const requestLines = (gateway: RunningGateway) =>
  gateway.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "request" && line.route === ROUTE);

const openStreams = async (gateway: RunningGateway): Promise<number> => {
  const text = await (await gateway.fetch("/metrics")).text();
  const sample = text.split("\n").find((line) => line.startsWith("gateway_open_streams"));
  assert.ok(sample, "gateway_open_streams is exported");
  return Number(sample.split(" ").at(-1));
};

const untilNoOpenStreams = async (gateway: RunningGateway) => {
  for (let i = 0; i < 200; i++) {
    if (await openStreams(gateway) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail("gateway_open_streams never went back to 0");
};

Deno.test("with log_content on, a 6,000-level deep input is answered with the normal JSON chat.completion", async () => {
  await withGateway({ log_content: true }, {}, async (gateway, upstreamCalls) => {
    const response = await postJson(gateway, ROUTE, deepAsk(false));
    assert.equal(response.status, 200);
    const completion = await response.json();
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices[0].message.content, "deep answer");
    assert.equal(upstreamCalls(), 1);
    await untilLogged(gateway, 1);
    const line = requestLines(gateway)[0];
    assert.equal(line.status, 200);
    assert.match(JSON.stringify(line.content.input), /\[truncated: deeper than 32 levels\]/);
  });
});

Deno.test("with log_content on, a 6,000-level deep input streams to the end and closes the open-streams gauge", async () => {
  await withGateway({ log_content: true }, {}, async (gateway) => {
    const response = await postJson(gateway, ROUTE, deepAsk(true));
    assert.equal(response.status, 200);
    const stream = parseStream(await response.text());
    assert.equal(stream.content, "deep answer");
    assert.ok(stream.done);
    await untilNoOpenStreams(gateway);
    await untilLogged(gateway, 1);
    assert.match(JSON.stringify(requestLines(gateway)[0].content.input), /deeper than 32 levels/);
  });
});

Deno.test("the logged content is cut at a bounded depth and long strings are truncated", () => {
  const bounded = boundedContent({ input: nested(6_000), instructions: "x".repeat(200_000) }) as {
    input: unknown;
    instructions: string;
  };
  const text = JSON.stringify(bounded);
  assert.ok(text.length < 140 * 1024, `bounded content is ${text.length} characters`);
  assert.match(text, /\[truncated: deeper than 32 levels\]/);
  assert.ok(bounded.instructions.length < 64 * 1024 + 100);
  assert.match(bounded.instructions, /\[truncated \d+ characters\]$/);
});

/** A telemetry whose every log write throws, as a broken sink (a closed stdout, say) would. */
const throwingTelemetry = (): Telemetry.TelemetryShape =>
  Telemetry.make("debug", () => {
    throw new Error("log sink is broken");
  });

Deno.test("a log sink that throws fails neither a JSON nor a streamed request, and leaks no open stream", async () => {
  await withGateway({ log_content: true }, { telemetry: throwingTelemetry() }, async (gateway) => {
    const json = await postJson(gateway, ROUTE, { ...deepAsk(false), input: "hello" });
    assert.equal(json.status, 200);
    assert.equal((await json.json()).object, "chat.completion");

    const stream = await postJson(gateway, ROUTE, { ...deepAsk(true), input: "hello" });
    assert.equal(stream.status, 200);
    assert.ok((await stream.text()).trimEnd().endsWith("data: [DONE]"));
    await untilNoOpenStreams(gateway);
  });
});

Deno.test("a requestFinished that throws still closes the open-streams gauge", async () => {
  const base = Telemetry.make("silent");
  const telemetry: Telemetry.TelemetryShape = {
    ...base,
    requestFinished: () => {
      throw new Error("reporting is broken");
    },
  };
  await withGateway({}, { telemetry }, async (gateway) => {
    const stream = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hello", stream: true });
    assert.ok((await stream.text()).trimEnd().endsWith("data: [DONE]"));
    await untilNoOpenStreams(gateway);
    const json = await postJson(gateway, ROUTE, { model: "openai/gpt-5", input: "hello" });
    assert.equal(json.status, 200);
  });
});

// ===== The stream body, as plain data =====

/** An event stream that yields `events` then ends, or rejects with `failWith` once they are out. */
const eventsOf = (events: ReadonlyArray<ResponsesEvent>, failWith?: Error): EventStream => {
  let i = 0;
  return {
    attempt: () => encodeContext("chatcmpl-x").attempt(),
    next: () =>
      i < events.length
        ? Promise.resolve(events[i++])
        : failWith
        ? Promise.reject(failWith)
        : Promise.resolve(undefined),
    cancel: () => {
      throw new Error("cancel is broken");
    },
  };
};

const completed = textStream(["hi"], { input: 1, output: 1 }).flatMap((step) =>
  "event" in step ? [step.event as unknown as ResponsesEvent] : []
);

for (
  const [name, events, expected] of [
    ["completes", eventsOf(completed), "completed"],
    ["fails", eventsOf(completed.slice(0, 3), new Error("upstream broke")), "failed"],
  ] as const
) {
  Deno.test(`a stream that ${name} closes its body even when onEnd and cancel throw, and ends once`, async () => {
    const ends: string[] = [];
    const body = sseBody({
      events,
      encoder: new ChunkEncoder(encodeContext("chatcmpl-x")),
      keepaliveMs: 60_000,
      onEnd: (end) => {
        ends.push(end);
        throw new Error("onEnd is broken");
      },
    });
    const text = await new Response(body).text();
    if (expected === "completed") assert.ok(text.trimEnd().endsWith("data: [DONE]"));
    else assert.match(text, /"error":\{"message":/);
    assert.deepEqual(ends, [expected]);
  });
}
