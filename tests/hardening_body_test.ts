/**
 * Issue 9, point 2: a request body costs the gateway what arrived, not what
 * its `content-length` declared; the caller is authenticated before a byte of
 * the body is read; and a body that does not arrive whole within
 * `body_timeout_ms` is answered 408. Each case speaks HTTP over a raw TCP
 * connection, the only way to declare one length and send another.
 */
import assert from "node:assert/strict";
import { memory } from "../bench/procfs.ts";
import { gatewayPort, startServer } from "../bench/servers.ts";
import { ConfigError, resolveConfig } from "../src/config/load.ts";
import { jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";

const ROUTE = "/v1/chat/completions";
const MB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a connection and sends a request head with `headers`, then `first` (the start of a body). */
const openRequest = async (port: number, headers: Record<string, string>, first = ""): Promise<Deno.TcpConn> => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [`POST ${ROUTE} HTTP/1.1`, `host: 127.0.0.1:${port}`, "content-type: application/json"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  await conn.write(encoder.encode(`${lines.join("\r\n")}\r\n\r\n${first}`));
  return conn;
};

const close = (conn: Deno.Conn) => {
  try {
    conn.close();
  } catch {
    // closed already
  }
};

interface RawResponse {
  readonly status: number;
  readonly body: string;
  /** ms from the call to the end of the answer. */
  readonly afterMs: number;
}

/** Reads one answer with a `content-length` off `conn`; rejects if it is not whole within `withinMs`. */
const readResponse = async (conn: Deno.Conn, withinMs: number): Promise<RawResponse> => {
  const started = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    close(conn);
  }, withinMs);
  try {
    let text = "";
    const chunk = new Uint8Array(16 * 1024);
    for (;;) {
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd >= 0) {
        const length = Number(/^content-length:\s*(\d+)/im.exec(text.slice(0, headEnd))?.[1]);
        assert.ok(Number.isInteger(length), `expected a content-length in:\n${text.slice(0, headEnd)}`);
        if (encoder.encode(text.slice(headEnd + 4)).byteLength >= length) {
          return {
            status: Number(text.slice(9, 12)),
            body: text.slice(headEnd + 4),
            afterMs: performance.now() - started,
          };
        }
      }
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) throw new Error(timedOut ? `no whole answer within ${withinMs} ms` : "connection closed early");
      text += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
};

const errorOf = (response: RawResponse) => JSON.parse(response.body).error;

const withGateway = async (overrides: Record<string, unknown>, test: (gateway: RunningGateway) => Promise<void>) => {
  const upstream = startFakeUpstream(() => ({ json: jsonFixture("responses/text.json") }));
  const gateway = await startGateway(testConfig(upstream.url, overrides));
  try {
    await test(gateway);
  } finally {
    await gateway.close();
    await upstream.close();
  }
};

const portOf = (gateway: RunningGateway) => Number(new URL(gateway.url).port);

// ===== Memory: the declared length is not reserved =====

Deno.test("twenty bodies declaring 16 MB each and trickling grow the gateway by far less than 320 MB", async () => {
  const root = new URL("..", import.meta.url).pathname;
  // Its own process, so that the resident memory measured is the gateway's alone.
  const gateway = await startServer({
    name: "gateway",
    cwd: root,
    deadlineMs: 60_000,
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", `${root}main.ts`],
    env: {
      GATEWAY_CONFIG_JSON: JSON.stringify(testConfig("http://127.0.0.1:9/v1")),
      HOST: "127.0.0.1",
      PORT: "0",
      NO_COLOR: "1",
    },
    portFrom: gatewayPort,
  });
  const conns: Deno.TcpConn[] = [];
  try {
    // One whole request first, so that what the first request compiles and caches is not counted.
    const warm = await openRequest(gateway.port, { authorization: `Bearer ${VK}`, "content-length": "2" }, "{}");
    assert.equal((await readResponse(warm, 10_000)).status, 400);
    close(warm);
    await sleep(200);
    const before = memory(gateway.pid).rssKb;

    const declared = { authorization: `Bearer ${VK}`, "content-length": "16000000" };
    for (let i = 0; i < 20; i++) conns.push(await openRequest(gateway.port, declared, "{"));
    let peak = before;
    for (let tick = 0; tick < 8; tick++) {
      await sleep(200);
      await Promise.all(conns.map((conn) => conn.write(encoder.encode(" "))));
      peak = Math.max(peak, memory(gateway.pid).rssKb);
    }
    const grewMb = (peak - before) / 1024;
    assert.ok(grewMb < 64, `resident memory grew ${grewMb.toFixed(1)} MB for 20 bodies of 9 bytes each`);
  } finally {
    conns.forEach(close);
    await gateway.stop();
  }
});

// ===== Authentication comes before the body =====

Deno.test("an unauthenticated request declaring 16 MB is answered 401 before its body arrives", async () => {
  await withGateway({}, async (gateway) => {
    const conn = await openRequest(portOf(gateway), { "content-length": "16000000" }, "{");
    try {
      // The body never arrives and `body_timeout_ms` is 30 s: only an answer without reading it comes this soon.
      const response = await readResponse(conn, 5_000);
      assert.equal(response.status, 401);
      assert.equal(errorOf(response).code, "invalid_api_key");
    } finally {
      close(conn);
    }
  });
});

// ===== The body deadline =====

for (const declared of [1_000, 16_000_000]) {
  Deno.test(`a body declaring ${declared} bytes that stalls past body_timeout_ms is answered 408`, async () => {
    await withGateway({ body_timeout_ms: 300 }, async (gateway) => {
      const conn = await openRequest(
        portOf(gateway),
        { authorization: `Bearer ${VK}`, "content-length": String(declared) },
        '{"model":',
      );
      try {
        const response = await readResponse(conn, 5_000);
        assert.equal(response.status, 408);
        assert.ok(response.afterMs >= 250, `answered after ${response.afterMs.toFixed(0)} ms, before the deadline`);
        assert.deepEqual(errorOf(response), {
          message: "Request body did not arrive within 300 ms.",
          type: "invalid_request_error",
          param: null,
          code: "request_timeout",
        });
      } finally {
        close(conn);
      }
    });
  });
}

Deno.test("each body keeps its own deadline while requests around it complete", async () => {
  await withGateway({ body_timeout_ms: 400 }, async (gateway) => {
    const stalled = { authorization: `Bearer ${VK}`, "content-length": "1000" };
    const first = await openRequest(portOf(gateway), stalled, "{");
    const firstAnswer = readResponse(first, 5_000);
    await sleep(250);
    const second = await openRequest(portOf(gateway), stalled, "{");
    const secondAnswer = readResponse(second, 5_000);
    try {
      const whole = await postJson(gateway, ROUTE, { model: "gpt-5", messages: [{ role: "user", content: "hi" }] });
      assert.equal(whole.status, 200);
      await whole.body?.cancel();
      const [early, late] = await Promise.all([firstAnswer, secondAnswer]);
      assert.equal(early.status, 408);
      assert.equal(late.status, 408);
      // Had it shared the first body's deadline, it would be answered ~150 ms after it started.
      assert.ok(late.afterMs >= 350, `the second body was answered ${late.afterMs.toFixed(0)} ms after it started`);
    } finally {
      close(first);
      close(second);
    }
  });
});

Deno.test("a 300 KB body that arrives in pieces within body_timeout_ms reaches the upstream whole", async () => {
  const upstream = startFakeUpstream(() => ({ json: jsonFixture("responses/text.json") }));
  const gateway = await startGateway(testConfig(upstream.url, { body_timeout_ms: 5_000 }));
  const content = "The body reader must keep every byte. ".repeat(8_000);
  const body = encoder.encode(JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content }] }));
  const conn = await openRequest(portOf(gateway), {
    authorization: `Bearer ${VK}`,
    "content-length": String(body.byteLength),
  });
  try {
    const piece = Math.ceil(body.byteLength / 4);
    for (let at = 0; at < body.byteLength; at += piece) {
      await conn.write(body.subarray(at, at + piece));
      await sleep(50);
    }
    const response = await readResponse(conn, 10_000);
    assert.equal(response.status, 200, response.body);
    assert.ok(JSON.stringify(upstream.requests[0].body).includes(content));
  } finally {
    close(conn);
    await gateway.close();
    await upstream.close();
  }
});

// ===== The size limit, declared or not =====

Deno.test("a chunked body over max_body_bytes is answered 413 though it declared no length", async () => {
  await withGateway({ max_body_bytes: 1024 }, async (gateway) => {
    const conn = await openRequest(portOf(gateway), { authorization: `Bearer ${VK}`, "transfer-encoding": "chunked" });
    try {
      const chunk = `{"model":"gpt-5","pad":"${"x".repeat(700)}`;
      for (let i = 0; i < 2; i++) {
        await conn.write(encoder.encode(`${chunk.length.toString(16)}\r\n${chunk}\r\n`));
      }
      const response = await readResponse(conn, 5_000);
      assert.equal(response.status, 413);
      assert.equal(errorOf(response).code, "request_too_large");
    } finally {
      close(conn);
    }
  });
});

Deno.test("a declared length over max_body_bytes is answered 413 before any of the body arrives", async () => {
  await withGateway({}, async (gateway) => {
    const conn = await openRequest(portOf(gateway), {
      authorization: `Bearer ${VK}`,
      "content-length": String(16 * MB + 1),
    });
    try {
      const response = await readResponse(conn, 5_000);
      assert.equal(response.status, 413);
      assert.equal(errorOf(response).code, "request_too_large");
    } finally {
      close(conn);
    }
  });
});

// ===== Configuration =====

Deno.test("body_timeout_ms defaults to 30 s and cannot exceed what a timer can wait (2^31-1 ms)", () => {
  const env = () => undefined;
  assert.equal(resolveConfig(testConfig("http://127.0.0.1:9/v1"), env).bodyTimeoutMs, 30_000);
  assert.equal(resolveConfig(testConfig("http://127.0.0.1:9/v1", { body_timeout_ms: 500 }), env).bodyTimeoutMs, 500);
  for (const bad of [0, 1.5, 2 ** 31]) {
    assert.throws(
      () => resolveConfig(testConfig("http://127.0.0.1:9/v1", { body_timeout_ms: bad }), env),
      (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith("body_timeout_ms")),
    );
  }
});
