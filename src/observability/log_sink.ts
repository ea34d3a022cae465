/**
 * Where log lines go: a buffer written to stdout off the request path.
 *
 * Writing a JSON line per request synchronously (`console.log`) put its
 * `JSON.stringify` and a blocking `write(2)` on every request's path: about
 * 0.1–0.2 ms of p50 at `info` against `warn` (issue 17). Here a line is pushed
 * as its fields (plain values, captured when the request finished); the
 * fields are serialised and the lines written, one write per batch, from a
 * timer `delayMs` (10 ms) after the batch's first line: the response has been
 * handed to `Deno.serve` and written by then, and under load one write (and
 * one wake-up of the reader) carries many lines. (A `setImmediate` flush,
 * tried first, was not reliably faster than writing at once: it can run
 * before the response is written, and it batches nothing at low load.)
 *
 * - Order: lines come out in the order they were pushed, each whole.
 * - Writes are asynchronous (`Deno.stdout.write`, partial writes resumed), so
 *   a slow or blocked stdout never blocks the event loop. While a write is
 *   under way, lines wait in memory up to `maxLines` lines or `maxBytes`
 *   characters; past that, new lines are dropped and counted, and once there
 *   is room one line says how many (`"msg":"log lines dropped"`).
 * - Nothing is lost on a normal end: `drain` waits for everything pushed to be
 *   written (main.ts and serve.ts await it before `Deno.exit`), and `flushSync`
 *   writes whatever is still buffered synchronously. The process's sink
 *   (`stdoutSink`) calls `flushSync` on `unload` (every `Deno.exit`, and the
 *   end of the event loop) and on an uncaught error or rejection. Only while
 *   an asynchronous write is still under way does `flushSync` write nothing:
 *   that is a stuck stdout, which a synchronous write would hang behind.
 * - A write that fails (stdout closed) loses its batch, never a request, and
 *   never throws: nothing here does.
 */
/**
 * One log line as it was logged: `{"time","level","msg",...fields}` once serialised, when the
 * batch is written (so `fields` must hold values, not objects still being changed).
 */
export interface LogRecord {
  /** `Date.now()` when it was logged; written as an ISO 8601 string. */
  readonly time: number;
  readonly level: string;
  readonly msg: string;
  /** The rest of the line; a field named `time`, `level` or `msg` replaces the one above. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** A line to write: a record, or a line already serialised. */
export type LogEntry = LogRecord | string;

export interface LogSink {
  /** Buffers one line, written with its batch `delayMs` later. Never throws. */
  readonly push: (entry: LogEntry) => void;
  /** Starts writing what is buffered now instead of `delayMs` later (the start-up line). */
  readonly flush: () => void;
  /**
   * Resolves once every line pushed so far is written (or its write failed), or after
   * `timeoutMs` with a write still under way (a stdout nobody reads).
   */
  readonly drain: (timeoutMs?: number) => Promise<void>;
  /**
   * Writes everything buffered at once, synchronously: for the last moments of the process.
   * Nothing while an asynchronous write is still under way (`drain` first).
   */
  readonly flushSync: () => void;
}

export interface LogSinkOptions {
  /** Writes some of `bytes`, resolving with how many (`Deno.stdout.write`'s contract). */
  readonly write?: (bytes: Uint8Array) => Promise<number>;
  /** Writes some of `bytes` synchronously, returning how many (`Deno.stdout.writeSync`'s contract). */
  readonly writeSync?: (bytes: Uint8Array) => number;
  /** Lines kept while a write is under way; more are dropped and counted (default 10,000). */
  readonly maxLines?: number;
  /** Characters kept while a write is under way; more are dropped and counted (default 4 MiB). */
  readonly maxBytes?: number;
  /**
   * How long the first line of a batch waits for others before the batch is written (default
   * 10 ms): one write, and one wake-up of whatever reads stdout, for many requests' lines.
   */
  readonly delayMs?: number;
}

/** An error's name only (`RangeError`): its message could quote the data that broke the line. */
export const errorName = (error: unknown): string => {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : "unknown error";
};

/**
 * `record` as one JSON line. Fields `JSON.stringify` cannot take (a cycle, a bigint, a value
 * nested too deep, a getter that throws) leave a line that still says what happened (`time`,
 * `level`, `msg`) and `log_error` with the error's name. Never throws.
 */
export const jsonLine = (record: LogRecord): string => {
  let head: { time: string; level: string; msg: string } | undefined;
  try {
    head = { time: new Date(record.time).toISOString(), level: record.level, msg: record.msg };
    return JSON.stringify(record.fields === undefined ? head : { ...head, ...record.fields });
  } catch (error) {
    try {
      if (head !== undefined) return JSON.stringify({ ...head, log_error: errorName(error) });
    } catch {
      // `msg` itself cannot be written: the line below still marks the spot.
    }
  }
  return JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "log line could not be written" });
};

const encoder = new TextEncoder();

export const makeLogSink = (options: LogSinkOptions = {}): LogSink => {
  const write = options.write ?? ((bytes: Uint8Array) => Deno.stdout.write(bytes));
  const writeSync = options.writeSync ?? ((bytes: Uint8Array) => Deno.stdout.writeSync(bytes));
  const maxLines = options.maxLines ?? 10_000;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const delayMs = options.delayMs ?? 10;

  /** Pushed, not yet serialised. */
  let queue: LogEntry[] = [];
  /** Serialised, not yet handed to a write; `chars` counts them with their newlines. */
  let lines: string[] = [];
  let chars = 0;
  /** Lines dropped since the last "dropped" line was queued. */
  let dropped = 0;
  let writing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idle: Array<() => void> = [];

  const droppedLine = (count: number) =>
    JSON.stringify({
      time: new Date().toISOString(),
      level: "warn",
      msg: "log lines dropped",
      dropped: count,
      reason: "stdout was not keeping up",
    });

  /** Once lines are accepted again after a drop, the count goes where the gap is. */
  const noteDropped = () => {
    if (dropped === 0) return;
    queue.push(droppedLine(dropped));
    dropped = 0;
  };

  /** Moves the queue to `lines`; while a write is under way, past `maxBytes` the rest is dropped unless `all`. */
  const serialise = (all = false) => {
    if (queue.length === 0) return;
    const entries = queue;
    queue = [];
    for (let i = 0; i < entries.length; i++) {
      if (!all && writing && chars >= maxBytes) {
        dropped += entries.length - i;
        return;
      }
      const entry = entries[i];
      const line = typeof entry === "string" ? entry : jsonLine(entry);
      lines.push(line);
      chars += line.length + 1;
    }
  };

  /** Takes `lines` as the bytes of one write. */
  const take = (): Uint8Array => {
    const text = lines.length === 1 ? `${lines[0]}\n` : `${lines.join("\n")}\n`;
    lines = [];
    chars = 0;
    return encoder.encode(text);
  };

  /** Writes batches until nothing is left; one runs at a time. */
  const pump = async () => {
    writing = true;
    try {
      for (;;) {
        serialise();
        if (lines.length === 0 && dropped > 0) {
          // Everything accepted is out; say how many were not.
          noteDropped();
          serialise();
        }
        if (lines.length === 0) break;
        const bytes = take();
        try {
          for (let offset = 0; offset < bytes.length;) offset += await write(bytes.subarray(offset));
        } catch {
          // stdout is closed or broken: this batch is lost, the next one tries again.
        }
      }
    } finally {
      writing = false;
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  };

  const unschedule = () => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
  };

  const flush = () => {
    unschedule();
    try {
      serialise();
      if (!writing && lines.length > 0) void pump();
    } catch {
      // Nothing here throws; a sink must not take the process down if something does.
    }
  };

  const push = (entry: LogEntry) => {
    if (writing && (queue.length + lines.length >= maxLines || chars >= maxBytes)) {
      dropped++;
      return;
    }
    noteDropped();
    queue.push(entry);
    if (timer === undefined) {
      // A timer, not an immediate: by then the response of the request being logged is written.
      const scheduled = setTimeout(flush, delayMs);
      // It does not hold the process open: an exit writes what is buffered (`flushSync`).
      Deno.unrefTimer(scheduled);
      timer = scheduled;
    }
  };

  const drain = (timeoutMs = 2_000): Promise<void> => {
    flush();
    if (!writing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  };

  const flushSync = () => {
    unschedule();
    // A write still under way at the end is a stuck stdout (writes take microseconds): a synchronous
    // write would hang the exit behind it, or cut into its bytes. Those lines are lost.
    if (writing) return;
    try {
      serialise(true);
      noteDropped();
      serialise(true);
      if (lines.length === 0) return;
      const bytes = take();
      for (let offset = 0; offset < bytes.length;) offset += writeSync(bytes.subarray(offset));
    } catch {
      // stdout is closed: nothing left to write to.
    }
  };

  return { push, flush, drain, flushSync };
};

/**
 * Log lines on Deno Deploy go through `console.log`, one call a line, which the platform
 * collects as log records; elsewhere they are bytes on stdout.
 */
const onDeploy = (): boolean => {
  try {
    return Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined;
  } catch {
    return false; // no permission to read the environment: not Deploy, which grants it
  }
};

const consoleWrite = (bytes: Uint8Array): number => {
  for (const line of new TextDecoder().decode(bytes).split("\n")) if (line !== "") console.log(line);
  return bytes.length;
};

let processSink: LogSink | undefined;

/**
 * The process's log sink, on stdout, shared by every telemetry made without a sink of its own.
 * Created once; it writes what is still buffered when the process unloads (`Deno.exit`, the
 * end of the event loop) and on an uncaught error or rejection, before the runtime ends it.
 */
export const stdoutSink = (): LogSink => {
  if (processSink !== undefined) return processSink;
  const sink = makeLogSink(
    onDeploy() ? { write: (bytes) => Promise.resolve(consoleWrite(bytes)), writeSync: consoleWrite } : {},
  );
  processSink = sink;
  for (const event of ["unload", "error", "unhandledrejection"]) {
    globalThis.addEventListener(event, () => sink.flushSync());
  }
  return sink;
};
