/**
 * The log sink (issue 17): lines are buffered and written off the request
 * path, one write a batch, in order and whole; a stdout that does not keep up
 * blocks nobody and costs bounded memory; nothing is lost when the process
 * stops; a broken stdout fails nothing. The writers here are real functions
 * that record bytes, not stand-ins for the sink.
 */
import assert from "node:assert/strict";
import type { RequestTrace } from "../src/core/trace.ts";
import { jsonLine, type LogRecord, type LogSinkOptions, makeLogSink } from "../src/observability/log_sink.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import { testConfig, VK } from "./support/gateway.ts";
import { jsonAnswer } from "./support/observability.ts";
import { spawnMain, urlIn } from "./support/spawn.ts";

const decoder = new TextDecoder();

/** A stdout of our own: every write's bytes, in order. `chunk` caps the bytes taken per write. */
const recordingWriter = (chunk = Infinity) => {
  const writes: Uint8Array[] = [];
  const take = (bytes: Uint8Array) => {
    const n = Math.min(bytes.length, chunk);
    writes.push(bytes.slice(0, n));
    return n;
  };
  return {
    writes,
    text: () => writes.map((bytes) => decoder.decode(bytes)).join(""),
    lines: () => writes.map((bytes) => decoder.decode(bytes)).join("").split("\n").filter((l) => l !== ""),
    options: { write: (bytes: Uint8Array) => Promise.resolve(take(bytes)), writeSync: take } satisfies LogSinkOptions,
  };
};

/** A record as the telemetry pushes it: the fields are merged into the line when it is written. */
const record = (fields: Record<string, unknown>): LogRecord => ({
  time: Date.now(),
  level: "info",
  msg: "line",
  fields,
});

const nextMacrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Waits, a macrotask at a time, until `done` (2 s at most). */
const until = async (done: () => boolean) => {
  const end = Date.now() + 2_000;
  while (!done() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.ok(done(), "timed out");
};

Deno.test("lines pushed in one tick come out in order, whole, in one write, after the tick", async () => {
  const out = recordingWriter();
  const sink = makeLogSink(out.options);
  for (let i = 0; i < 1_000; i++) sink.push(i % 2 === 0 ? record({ i, text: `é"\n${i}` }) : `{"i":${i}}`);
  assert.equal(out.writes.length, 0, "nothing is written while the caller is still running");
  await until(() => out.writes.length > 0);
  await sink.drain();
  assert.equal(out.writes.length, 1);
  const lines = out.lines().map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((line) => line.i), Array.from({ length: 1_000 }, (_, i) => i));
  assert.equal(lines[2].text, 'é"\n2');
  assert.ok(out.text().endsWith("\n"));

  // A later tick is a later batch, still in order.
  sink.push(record({ i: 1_000 }));
  await nextMacrotask();
  await sink.drain();
  assert.equal(out.writes.length, 2);
  assert.equal(JSON.parse(out.lines().at(-1)!).i, 1_000);
});

Deno.test("a write that takes only part of the bytes is resumed where it stopped", async () => {
  const out = recordingWriter(7);
  const sink = makeLogSink(out.options);
  const sent = Array.from({ length: 50 }, (_, i) => ({ msg: "line", i, pad: "x".repeat(i) }));
  for (const fields of sent) sink.push(record(fields));
  await sink.drain();
  assert.ok(out.writes.length > 50);
  assert.deepEqual(out.lines().map((line) => JSON.parse(line)).map(({ msg, i, pad }) => ({ msg, i, pad })), sent);
});

Deno.test("a blocked stdout blocks no caller; the buffer stays bounded and a line then says how many were dropped", async () => {
  const written: string[] = [];
  const pending: Array<() => void> = [];
  // Every write waits until released, as a pipe nobody reads does.
  const write = (bytes: Uint8Array) =>
    new Promise<number>((resolve) => {
      pending.push(() => {
        written.push(decoder.decode(bytes));
        resolve(bytes.length);
      });
    });
  const sink = makeLogSink({ write, writeSync: () => assert.fail("no synchronous write here"), maxLines: 100 });

  sink.push(record({ i: 0 }));
  sink.flush();
  assert.equal(pending.length, 1, "the first batch is being written");

  // The event loop keeps turning and pushes return at once while that write hangs.
  const started = performance.now();
  for (let i = 1; i <= 50_000; i++) sink.push(record({ i, pad: "y".repeat(100) }));
  assert.ok(performance.now() - started < 1_000, "pushing 50,000 lines took over a second");
  let timerRan = false;
  setTimeout(() => (timerRan = true), 0);
  await nextMacrotask();
  await nextMacrotask();
  assert.ok(timerRan);
  assert.equal(pending.length, 1, "one write at a time");

  // Released: the kept lines, then the count of the dropped ones, then what came after.
  pending.shift()!();
  await nextMacrotask();
  sink.push(record({ i: "after" }));
  while (pending.length > 0) {
    pending.shift()!();
    await nextMacrotask();
  }
  await sink.drain();
  const lines = written.join("").split("\n").filter((l) => l !== "").map((line) => JSON.parse(line));
  const kept = lines.filter((line) => typeof line.i === "number");
  assert.ok(kept.length <= 101, `${kept.length} lines were kept while the write hung`);
  assert.deepEqual(kept.map((line) => line.i), Array.from({ length: kept.length }, (_, i) => i));
  const note = lines.find((line) => line.msg === "log lines dropped");
  assert.ok(note, "no line says lines were dropped");
  assert.equal(note.level, "warn");
  assert.equal(note.dropped, 50_001 - kept.length);
  assert.deepEqual(lines.slice(-2).map((line) => line.i ?? line.msg), ["log lines dropped", "after"]);
});

Deno.test("while a write hangs, lines past maxBytes are dropped too", async () => {
  const out: string[] = [];
  const pending: Array<() => void> = [];
  const write = (bytes: Uint8Array) =>
    new Promise<number>((resolve) => {
      pending.push(() => {
        out.push(decoder.decode(bytes));
        resolve(bytes.length);
      });
    });
  const sink = makeLogSink({ write, writeSync: () => 0, maxBytes: 10_000 });
  sink.push(record({ i: -1 }));
  sink.flush();
  for (let i = 0; i < 100; i++) sink.push(record({ i, pad: "z".repeat(1_000) }));
  await nextMacrotask();
  while (pending.length > 0) {
    pending.shift()!();
    await nextMacrotask();
  }
  await sink.drain();
  const lines = out.join("").split("\n").filter((l) => l !== "").map((line) => JSON.parse(line));
  const kept = lines.filter((line) => typeof line.i === "number" && line.i >= 0).length;
  assert.ok(kept >= 9 && kept <= 11, `${kept} lines of 1 KB were kept under a 10 KB cap`);
  assert.equal(lines.at(-1).msg, "log lines dropped");
  assert.equal(lines.at(-1).dropped, 100 - kept);
});

Deno.test("flushSync writes everything still buffered at once, and nothing twice", async () => {
  const out = recordingWriter(5);
  const sink = makeLogSink(out.options);
  for (let i = 0; i < 20; i++) sink.push(record({ i }));
  sink.flushSync();
  assert.deepEqual(out.lines().map((line) => JSON.parse(line).i), Array.from({ length: 20 }, (_, i) => i));
  const writes = out.writes.length;
  await nextMacrotask();
  await sink.drain();
  assert.equal(out.writes.length, writes, "the flushed lines were written again");
});

Deno.test("flushSync behind a write that hangs returns at once: a stuck stdout cannot hang the exit", () => {
  let syncWrites = 0;
  const sink = makeLogSink({
    write: () => new Promise<number>(() => {}),
    writeSync: (bytes) => {
      syncWrites++;
      return bytes.length;
    },
  });
  sink.push('{"i":1}');
  sink.flush();
  sink.push('{"i":2}');
  sink.flushSync();
  assert.equal(syncWrites, 0);
});

Deno.test("a stdout that fails loses those lines only: no caller sees an error, and later lines still go out", async () => {
  let fail = true;
  const written: string[] = [];
  const sink = makeLogSink({
    write: (bytes) => {
      if (fail) return Promise.reject(new Deno.errors.BrokenPipe("closed"));
      written.push(decoder.decode(bytes));
      return Promise.resolve(bytes.length);
    },
    writeSync: () => {
      throw new Deno.errors.BrokenPipe("closed");
    },
  });
  sink.push('{"i":1}');
  await sink.drain();
  sink.push('{"i":2}');
  sink.flushSync();
  fail = false;
  sink.push('{"i":3}');
  await nextMacrotask();
  await sink.drain();
  assert.deepEqual(written, ['{"i":3}\n']);
});

Deno.test("fields JSON cannot take still leave a line that says what was logged", () => {
  const cyclic: Record<string, unknown> = { request_id: "r-1" };
  cyclic.self = cyclic;
  const time = Date.UTC(2026, 10, 30, 12);
  assert.deepEqual(JSON.parse(jsonLine({ time, level: "info", msg: "request", fields: cyclic })), {
    time: "2026-11-30T12:00:00.000Z",
    level: "info",
    msg: "request",
    log_error: "TypeError",
  });
  assert.equal(JSON.parse(jsonLine({ time, level: "info", msg: "n", fields: { big: 1n } })).log_error, "TypeError");
  const throwing = {
    get boom() {
      throw new RangeError("no");
    },
  };
  assert.equal(JSON.parse(jsonLine({ time, level: "warn", msg: "g", fields: throwing })).log_error, "RangeError");
  assert.deepEqual(JSON.parse(jsonLine({ time, level: "warn", msg: "plain" })), {
    time: "2026-11-30T12:00:00.000Z",
    level: "warn",
    msg: "plain",
  });
});

// ===== Through the telemetry =====

const trace = (requestId: string, status = 200): RequestTrace => ({
  requestId,
  route: "/cursor/v1/chat/completions",
  startedAt: 0,
  stream: false,
  status,
  attempts: [],
  latencyMs: 1.234,
});

Deno.test("a finished request is counted at once; its line is written after the tick, as it was when it finished", async () => {
  const out = recordingWriter();
  const telemetry = Telemetry.make("info", makeLogSink(out.options));
  const finished = trace("r-1");
  telemetry.requestFinished(finished);
  assert.match(telemetry.metrics!.render(), /status="200"/);
  assert.equal(out.writes.length, 0);
  // The trace object changes afterwards; the line keeps the values it had.
  finished.status = 599;
  finished.latencyMs = 99;
  telemetry.log("warn", "later", { n: 1 });
  await until(() => out.writes.length > 0);
  const [request, later] = out.lines().map((line) => JSON.parse(line));
  assert.equal(request.msg, "request");
  assert.equal(request.request_id, "r-1");
  assert.equal(request.status, 200);
  assert.equal(request.latency_ms, 1.23);
  assert.deepEqual([later.level, later.msg, later.n], ["warn", "later", 1]);
  assert.equal(out.writes.length, 1);
});

// ===== The real gateway, as a process =====

const requestIds = (stdout: string) =>
  stdout.split("\n").filter((l) => l !== "").map((line) => JSON.parse(line)).filter((l) => l.msg === "request").map((
    l,
  ) => l.request_id);

Deno.test({
  name: "the gateway's stdout holds every request's line when SIGTERM stops it right after the last answer",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const upstream = startFakeUpstream(() => ({ json: jsonAnswer("ok", 3, 1) }));
    const config = { ...testConfig(upstream.url), log_level: "info" };
    const gateway = spawnMain([], {
      env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0", HOST: "127.0.0.1" },
    });
    try {
      const url = urlIn(await gateway.waitFor(/gateway listening on/));
      const ask = (id: string) =>
        fetch(`${url}/cursor/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${VK}`, "x-request-id": id },
          body: JSON.stringify({ model: "openai/gpt-5", input: "hi" }),
        }).then(async (response) => {
          assert.equal(response.status, 200);
          await response.body?.cancel();
        });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(`seq-${i}`);
      for (const id of ids) await ask(id);
      const burst = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
      await Promise.all(burst.map(ask));
      gateway.child.kill("SIGTERM");
      const status = await gateway.exit;
      assert.equal(status.code, 0, gateway.stderr());

      const stdout = gateway.stdout();
      assert.ok(stdout.endsWith("\n"));
      const lines = stdout.split("\n").filter((l) => l !== "").map((line) => JSON.parse(line));
      const logged = requestIds(stdout);
      assert.deepEqual(logged.slice(0, 5), ids, "the sequential requests' lines come first, in order");
      assert.deepEqual(new Set(logged), new Set([...ids, ...burst]));
      assert.equal(logged.length, ids.length + burst.length);
      const order = lines.map((line) => line.msg.startsWith("gateway listening") ? "listening" : line.msg);
      assert.equal(order[0], "listening");
      assert.ok(order.indexOf("shutting down") > order.lastIndexOf("request"), order.join(", "));
      assert.equal(order.at(-1), "stopped");
    } finally {
      await gateway.stop("SIGKILL");
      await upstream.close();
    }
  },
});

Deno.test({
  name: "a gateway whose stdout was closed keeps answering, and still stops with exit code 0",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const upstream = startFakeUpstream(() => ({ json: jsonAnswer("ok", 3, 1) }));
    const config = { ...testConfig(upstream.url), log_level: "info" };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "main.ts"],
      cwd: new URL("..", import.meta.url),
      env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    try {
      // Read up to the listening line, then close the reading end.
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!/gateway listening on/.test(seen)) {
        const { done, value } = await reader.read();
        if (done) break;
        seen += value;
      }
      const url = urlIn(seen);
      await reader.cancel();
      for (let i = 0; i < 30; i++) {
        const response = await fetch(`${url}/cursor/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
          body: JSON.stringify({ model: "openai/gpt-5", input: "hi" }),
        });
        assert.equal(response.status, 200);
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0, await stderr);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // it exited
      }
      await child.status;
      await stderr;
      await upstream.close();
    }
  },
});
