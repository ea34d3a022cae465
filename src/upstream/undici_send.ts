/**
 * The upstream call over undici's dispatcher (Node's own HTTP/1.1 client)
 * instead of Deno's `fetch`, handing back a Web `Response` all the same.
 *
 * Why: Deno's `fetch` wakes JavaScript once per HTTP chunk of the answer, and
 * a Responses stream sends every event as its own chunk, so a 115-event
 * stream cost 115 reads (and, before `sse_events.ts` reused its buffer, 115
 * fresh 64 KiB buffers) whatever had already arrived. undici parses the
 * chunks of one socket read in one go; they are handed on as one chunk, so
 * under load one read carries many events. Throwaway pass-throughs on the
 * bench's mock (c=16, 115-event streams): Deno `fetch` with a reused buffer
 * 10-17 µs of CPU per event, undici 4.0 µs, the bare `fetch` floor 7 µs; a
 * non-streamed 8 KB request 104 µs with `fetch`, 87 µs with undici.
 *
 * What differs from `fetch`: HTTP/1.1 with a keep-alive pool (no HTTP/2), no
 * redirects followed, no `accept-encoding` added (answers come uncompressed);
 * proxies come from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` as with `fetch`
 * (`EnvHttpProxyAgent`), and TLS uses Deno's root store (`DENO_CERT` and
 * `DENO_TLS_CA_STORE` apply). undici's own header and body timeouts are off:
 * the watchdog (`routing/watchdog.ts`) bounds every attempt.
 */
import type { Dispatcher } from "undici";

/** What `send` needs to know of a call. */
export interface DispatchCall {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly signal: AbortSignal;
  /** Read the whole answer before resolving (a non-streamed call): its body then parses from bytes. */
  readonly readWhole: boolean;
}

/**
 * Bodies made here: plain streams of fresh chunks, which `sse_events.ts` reads as they are
 * (trying a BYOB reader on one throws, and building that error cost ~14 µs per stream).
 */
export const plainBodies = new WeakSet<ReadableStream<Uint8Array>>();

/**
 * A whole answer's bytes (`readWhole`), kept on its `Response` so that routing parses them as
 * they are: `response.json()` walks Deno's body machinery (a stream, a collect, a copy) for
 * bytes already in hand, ~9 µs a request more than `JSON.parse` of the decoded text.
 */
const wholeBytes = Symbol("wholeBytes");

/** The bytes of a whole answer read by `send`, or `undefined` for any other `Response`. */
export const wholeBytesOf = (response: Response): Uint8Array | undefined =>
  (response as Response & { [wholeBytes]?: Uint8Array })[wholeBytes];

/** Unread bytes a streamed body may hold before the socket is paused. */
const BODY_HIGH_WATER_BYTES = 64 * 1024;

/** Statuses whose `Response` must have no body. */
const nullBodyStatus = new Set([101, 103, 204, 205, 304]);

const joined = (parts: ReadonlyArray<Uint8Array>, size: number): Uint8Array<ArrayBuffer> => {
  // Always a copy: undici's chunks are views into the socket's read buffer.
  const all = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return all;
};

const headersOf = (raw: Record<string, string | string[] | undefined>): Headers => {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === "string") headers.append(name, value);
    else if (value !== undefined) { for (const item of value) headers.append(name, item); }
  }
  return headers;
};

/**
 * Sends one request; resolves with the `Response` once its headers arrived (or, with `readWhole`,
 * its whole body). Rejects with undici's error when no answer came (`headersReceived` false), or
 * with the error that broke a whole-body read after the headers.
 */
export const send = (dispatcher: Dispatcher, call: DispatchCall): Promise<Response> => {
  // The callbacks below live as long as the answer (minutes, for a stream): they must not hold
  // `call`, whose body (8 KB for a Cursor request) undici has already taken its own copy of.
  const { signal, readWhole } = call;
  const options: Dispatcher.DispatchOptions = {
    origin: call.url.origin,
    path: call.url.pathname + call.url.search,
    method: "POST",
    headers: call.headers,
    body: call.body,
    headersTimeout: 0,
    bodyTimeout: 0,
  };
  if (signal.aborted) return Promise.reject(signal.reason);
  let handler!: Dispatcher.DispatchHandler;
  const answer = new Promise<Response>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let status = 0;
    let statusText = "";
    let headers: Headers | undefined;
    let parts: Uint8Array[] = [];
    let size = 0;
    /** The streamed body's controller, once the answer started. */
    let body: ReadableStreamDefaultController<Uint8Array> | undefined;
    let flushing = false;

    const onAbort = () => controller?.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => signal.removeEventListener("abort", onAbort);

    /** Hands what one socket read delivered to the body as one chunk, after undici parsed all of it. */
    const flush = () => {
      flushing = false;
      if (body === undefined || size === 0) return;
      const chunk = joined(parts, size);
      parts = [];
      size = 0;
      try {
        body.enqueue(chunk);
      } catch {
        return; // cancelled meanwhile
      }
      if ((body.desiredSize ?? 1) <= 0) controller?.pause();
    };

    const stream = () => {
      const readable = new ReadableStream<Uint8Array>({
        start: (c) => {
          body = c;
        },
        pull: () => {
          if (controller?.paused) controller.resume();
        },
        cancel: (reason) => {
          body = undefined;
          controller?.abort(reason instanceof Error ? reason : new Error("upstream body cancelled"));
        },
      }, { highWaterMark: BODY_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength });
      plainBodies.add(readable);
      return readable;
    };

    handler = {
      onRequestStart: (c) => {
        controller = c;
        if (signal.aborted) c.abort(signal.reason);
      },
      onResponseStart: (_c, statusCode, raw, message) => {
        if (statusCode < 200 && statusCode !== 101) return; // 1xx informational
        status = statusCode;
        statusText = message ?? "";
        headers = headersOf(raw as Record<string, string | string[] | undefined>);
        if (readWhole) return;
        settled = true;
        resolve(new Response(nullBodyStatus.has(status) ? null : stream(), { status, statusText, headers }));
      },
      onResponseData: (_c, chunk) => {
        parts.push(chunk);
        size += chunk.byteLength;
        if (!readWhole && !flushing) {
          flushing = true;
          queueMicrotask(flush);
        }
      },
      onResponseEnd: () => {
        done();
        if (readWhole) {
          settled = true;
          const bytes = nullBodyStatus.has(status) ? null : joined(parts, size);
          const response = new Response(bytes, { status, statusText, headers });
          if (bytes !== null) Object.defineProperty(response, wholeBytes, { value: bytes });
          resolve(response);
          return;
        }
        flush();
        try {
          body?.close();
        } catch {
          // cancelled meanwhile
        }
      },
      onResponseError: (_c, error) => {
        done();
        if (!settled) {
          settled = true;
          reject(headers === undefined ? error : new BodyReadError(error));
          return;
        }
        try {
          body?.error(error);
        } catch {
          // cancelled meanwhile
        }
      },
    };
  });
  dispatcher.dispatch(options, handler);
  return answer;
};

/** A whole-body read broke after the headers arrived: the connection dropped mid-answer. */
export class BodyReadError extends Error {
  constructor(cause: unknown) {
    super("the upstream answer broke off", { cause });
    this.name = "BodyReadError";
  }
}
