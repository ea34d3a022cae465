/**
 * The log sink (issue 17): lines are buffered and written off the request
 * path, one write a batch, in order and whole; a stdout that does not keep up
 * blocks nobody and costs bounded memory; flushSync writes what is left; a
 * broken stdout fails nothing. The writers here are real functions
 * that record bytes, not stand-ins for the sink.
 */
import assert from "node:assert/strict";
import { jsonLine, type LogRecord, type LogSinkOptions, makeLogSink } from "../src/observability/log_sink.ts";

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
