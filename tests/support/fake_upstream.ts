/**
 * A fake Responses API: a real HTTP/1.1 server on 127.0.0.1 (port 0) that
 * answers `POST /responses` from a script, records what it was sent, and
 * notices when the gateway aborts a request.
 *
 * It speaks HTTP over a raw TCP listener (`Deno.listen`) rather than
 * `Deno.serve`, so that it can misbehave the ways real upstreams do: close the
 * connection before the first byte (`reset`), cut a chunked body short
 * (`drop`), stall anywhere. Every answer is `connection: close`, one request
 * per connection, so a closed connection always means the gateway gave up.
 */

export interface RecordedRequest {
  readonly path: string;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** One step of a scripted SSE body: an event object, raw SSE text, a pause, or a dropped connection. */
export type SseStep =
  | { readonly event: Record<string, unknown> }
  | { readonly raw: string }
  | { readonly delayMs: number }
  | { readonly drop: true };

export type FakeReply =
  | {
    readonly status?: number;
    readonly headers?: Record<string, string>;
    readonly json: unknown;
    readonly delayMs?: number;
  }
  | {
    readonly status?: number;
    readonly headers?: Record<string, string>;
    readonly sse: ReadonlyArray<SseStep>;
    readonly delayMs?: number;
  }
  /** Close the connection without answering: not a byte of the response is sent. */
  | { readonly reset: true }
  /** Never answer (until the gateway aborts). */
  | { readonly hang: true };

export type Script = (request: RecordedRequest, index: number) => FakeReply | Promise<FakeReply>;

export interface FakeUpstream {
  /** Base URL to put in a provider's `base_url`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** How many requests the gateway aborted while they were in flight. */
  readonly aborted: () => number;
  /** Indexes (into `requests`) of the requests the gateway aborted, in the order it aborted them. */
  readonly abortedRequests: () => ReadonlyArray<number>;
  /** Resolves once `count` requests were aborted; rejects after `guardMs` so a broken gateway fails the test, not hangs it. */
  readonly waitForAborts: (count: number, guardMs?: number) => Promise<void>;
  /** Resolves once every request so far is over: answered in full, aborted, or reset. */
  readonly settled: () => Promise<void>;
  /** Stops the server; safe to call more than once. */
  readonly close: () => Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const reasons: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  413: "Payload Too Large",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** Frames an event the way OpenAI does: `event: <type>` then `data: <json>`. */
export const frame = (event: Record<string, unknown>): string =>
  `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;

const indexOf = (haystack: Uint8Array, needle: Uint8Array, from = 0): number => {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const CRLF = encoder.encode("\r\n");
const HEAD_END = encoder.encode("\r\n\r\n");

/** Reads bytes from `conn` into `buffered` until `done(buffered)` says enough; `undefined` if the peer closed first. */
const readUntil = async (
  conn: Deno.Conn,
  buffered: Uint8Array,
  done: (bytes: Uint8Array) => boolean,
): Promise<Uint8Array | undefined> => {
  const chunk = new Uint8Array(16 * 1024);
  while (!done(buffered)) {
    const n = await conn.read(chunk);
    if (n === null) return undefined;
    buffered = concat(buffered, chunk.subarray(0, n));
  }
  return buffered;
};

/** Parses one request (head, then a `content-length` or chunked body) off a fresh connection. */
const readRequest = async (
  conn: Deno.Conn,
): Promise<{ path: string; headers: Headers; body: string } | undefined> => {
  let bytes = await readUntil(conn, new Uint8Array(0), (b) => indexOf(b, HEAD_END) >= 0);
  if (bytes === undefined) return undefined;
  const headEnd = indexOf(bytes, HEAD_END);
  const [requestLine, ...lines] = decoder.decode(bytes.subarray(0, headEnd)).split("\r\n");
  const target = requestLine.split(" ")[1] ?? "/";
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let rest = bytes.subarray(headEnd + HEAD_END.length);
  let body: Uint8Array;
  if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
    const parts: Uint8Array[] = [];
    for (;;) {
      const withSize = await readUntil(conn, rest, (b) => indexOf(b, CRLF) >= 0);
      if (withSize === undefined) return undefined;
      const lineEnd = indexOf(withSize, CRLF);
      const size = parseInt(decoder.decode(withSize.subarray(0, lineEnd)), 16);
      const need = lineEnd + 2 + size + 2;
      const whole = await readUntil(conn, withSize, (b) => b.length >= need);
      if (whole === undefined) return undefined;
      if (size === 0) break;
      parts.push(whole.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = whole.subarray(need);
    }
    body = parts.reduce(concat, new Uint8Array(0));
  } else {
    const length = Number(headers.get("content-length") ?? "0");
    bytes = await readUntil(conn, rest, (b) => b.length >= length);
    if (bytes === undefined) return undefined;
    body = bytes.subarray(0, length);
  }
  return { path: new URL(target, "http://fake").pathname, headers, body: decoder.decode(body) };
};

const writeAll = async (conn: Deno.Conn, bytes: Uint8Array): Promise<void> => {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
};

const head = (status: number, headers: Record<string, string>): Uint8Array => {
  let text = `HTTP/1.1 ${status} ${reasons[status] ?? "Status"}\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return encoder.encode(`${text}\r\n`);
};

const lowerKeys = (headers: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));

export const startFakeUpstream = (script: Script): FakeUpstream => {
  const requests: RecordedRequest[] = [];
  const abortedIndexes: number[] = [];
  const abortWaiters = new Set<() => void>();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<{ conn: Deno.Conn; gone: AbortController }>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  const serve = async (conn: Deno.Conn) => {
    const gone = new AbortController();
    const entry = { conn, gone };
    open.add(entry);
    let closed = false;
    const closeConn = () => {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
    };
    try {
      const parsed = await readRequest(conn).catch(() => undefined);
      if (parsed === undefined) return;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(parsed.body);
      } catch {
        body = { __raw: parsed.body };
      }
      const recorded: RecordedRequest = { path: parsed.path, headers: parsed.headers, body };
      const index = requests.push(recorded) - 1;
      let finished = false;
      const markAborted = () => {
        if (finished || closing || abortedIndexes.includes(index)) return;
        abortedIndexes.push(index);
        for (const wake of abortWaiters) wake();
      };
      // The request is fully read, so any read from now on ends only when the gateway closes the connection.
      const watcher = conn.read(new Uint8Array(1)).then(
        () => {
          if (!closed) markAborted();
          gone.abort();
        },
        () => {
          if (!closed) markAborted();
          gone.abort();
        },
      );

      const reply = await script(recorded, index);
      if ("reset" in reply) {
        finished = true;
        closeConn();
        await watcher;
        return;
      }
      if ("hang" in reply) {
        await new Promise<void>((resolve) => gone.signal.addEventListener("abort", () => resolve(), { once: true }));
        closeConn();
        await watcher;
        return;
      }
      if (reply.delayMs) await sleep(reply.delayMs, gone.signal);
      try {
        if (gone.signal.aborted) return;
        const extra = lowerKeys(reply.headers);
        if ("json" in reply) {
          const payload = encoder.encode(JSON.stringify(reply.json));
          await writeAll(
            conn,
            concat(
              head(reply.status ?? 200, {
                "content-type": "application/json",
                ...extra,
                "content-length": String(payload.length),
                connection: "close",
              }),
              payload,
            ),
          );
          finished = true;
          return;
        }
        await writeAll(
          conn,
          head(reply.status ?? 200, {
            "content-type": "text/event-stream",
            ...extra,
            "transfer-encoding": "chunked",
            connection: "close",
          }),
        );
        for (const step of reply.sse) {
          if (gone.signal.aborted) return;
          if ("delayMs" in step) await sleep(step.delayMs, gone.signal);
          else if ("drop" in step) {
            // Cut the chunked body short: the gateway sees a connection that died mid-answer.
            finished = true;
            return;
          } else {
            const data = encoder.encode("event" in step ? frame(step.event) : step.raw);
            await writeAll(conn, concat(encoder.encode(`${data.length.toString(16)}\r\n`), concat(data, CRLF)));
          }
        }
        if (gone.signal.aborted) return;
        await writeAll(conn, encoder.encode("0\r\n\r\n"));
        finished = true;
      } catch {
        // A write failed: the gateway closed the connection.
        markAborted();
      } finally {
        closeConn();
        await watcher;
      }
    } finally {
      closeConn();
      open.delete(entry);
    }
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        if (closing) {
          conn.close();
          continue;
        }
        const task = serve(conn).catch(() => {});
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // listener closed
    }
  })();

  const { port } = listener.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    aborted: () => abortedIndexes.length,
    abortedRequests: () => abortedIndexes,
    waitForAborts: (count, guardMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        if (abortedIndexes.length >= count) return resolve();
        const timer = setTimeout(() => {
          abortWaiters.delete(check);
          reject(new Error(`fake upstream: expected ${count} aborted request(s), saw ${abortedIndexes.length}`));
        }, guardMs);
        const check = () => {
          if (abortedIndexes.length < count) return;
          clearTimeout(timer);
          abortWaiters.delete(check);
          resolve();
        };
        abortWaiters.add(check);
      }),
    settled: async () => {
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
    close: async () => {
      if (closing) return await accepting;
      closing = true;
      listener.close();
      for (const { conn, gone } of open) {
        gone.abort();
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await accepting;
      await Promise.all([...tasks]);
    },
  };
};

/** Reads an SSE fixture (`event:`/`data:` frames) into script steps. */
export const sseFixture = (name: string): SseStep[] =>
  Deno.readTextFileSync(new URL(`../../fixtures/${name}`, import.meta.url))
    .split(/\n\n+/)
    .map((block) => block.trim())
    .filter((block) => block !== "" && !block.startsWith("#"))
    .map((block) => ({ raw: `${block}\n\n` }));

export const jsonFixture = (name: string): unknown =>
  JSON.parse(Deno.readTextFileSync(new URL(`../../fixtures/${name}`, import.meta.url)));
