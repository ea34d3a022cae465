/**
 * Upstream SSE bytes to canonical Responses events, one at a time, pulled on
 * demand so that a slow client slows the upstream read (backpressure end to end).
 *
 * Framing is parsed by `eventsource-parser`; each message goes to the API's
 * `StreamTranslator` (its adapter), which appends zero or more canonical events.
 * `data: [DONE]` (Chat Completions, OpenRouter, some proxies) ends the stream;
 * the translator's `end` runs once, at `[DONE]` or when the upstream closes.
 *
 * Every event that one read delivered is parsed at once; `buffered` says how
 * many are waiting, so the writer can encode them all into one chunk.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ResponsesEvent } from "../protocol/responses.ts";
import type { StreamTranslator } from "./adapters/types.ts";
import { plainBodies } from "./undici_send.ts";

/** A `data:` payload that is not a JSON object. */
export class MalformedEventError extends Error {
  constructor(readonly payload: string) {
    super("upstream sent a malformed SSE event");
    this.name = "MalformedEventError";
  }
}

/** An event's `data` as JSON; a payload that is not JSON is a `MalformedEventError` carrying it. */
export const parseEventData = (data: string): unknown => {
  try {
    return JSON.parse(data);
  } catch {
    throw new MalformedEventError(data);
  }
};

export interface EventReader {
  /** The next event, or `undefined` once the upstream has finished. Rejects on transport errors and malformed frames. */
  next(): Promise<ResponsesEvent | undefined>;
  /** Events already read and parsed: while this is above 0, `shift()` returns one without any I/O. */
  readonly buffered: number;
  /** The next already-parsed event (call only while `buffered > 0`). Throws a `MalformedEventError` for a bad frame. */
  shift(): ResponsesEvent;
  /** Stops reading and releases the upstream body. */
  cancel(reason?: unknown): void;
  /** Bytes read from the upstream so far (bounds what routing holds back before committing). */
  readonly bytes: number;
}

/**
 * The read buffer of one stream. Deno's default reader on a fetch body allocates a fresh
 * 64 KiB buffer for every read, however few bytes arrive (one SSE event is ~250 bytes);
 * zero-filling and collecting it cost ~13 µs of CPU per upstream chunk (a JS pass-through
 * measured 23.1 µs per event with it, 9.9 µs with one reused buffer), and every stream
 * waiting on its upstream held 64 KiB. A larger event is simply read in several parts.
 */
export const READ_BUFFER_BYTES = 8 * 1024;

interface ByteSource {
  read(): Promise<Uint8Array | undefined>;
  cancel(reason?: unknown): Promise<void>;
}

/** Reads into one reused buffer when the body is a byte stream (fetch's are); other streams are read as they are. */
const byteSource = (body: ReadableStream<Uint8Array>): ByteSource => {
  let byob: ReadableStreamBYOBReader | undefined;
  if (!plainBodies.has(body)) {
    try {
      byob = body.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream (a body built from a plain `ReadableStream`): no buffer to reuse.
    }
  }
  if (byob === undefined) {
    const reader = body.getReader();
    return {
      read: async () => {
        const { done, value } = await reader.read();
        return done ? undefined : value;
      },
      cancel: (reason) => reader.cancel(reason),
    };
  }
  const reader = byob;
  let buffer: ArrayBuffer = new ArrayBuffer(READ_BUFFER_BYTES);
  return {
    read: async () => {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || value === undefined) return undefined;
      // The read transferred the buffer into `value`; the next read reuses it.
      buffer = value.buffer as ArrayBuffer;
      return value;
    },
    cancel: (reason) => reader.cancel(reason),
  };
};

export const readEvents = (body: ReadableStream<Uint8Array>, translator: StreamTranslator): EventReader => {
  const source = byteSource(body);
  const decoder = new TextDecoder();
  const queue: Array<ResponsesEvent | MalformedEventError> = [];
  let head = 0;
  let done = false;
  let ended = false;
  let bytes = 0;
  /** The translator's `end`, once; a translator that throws fails the attempt instead of the process. */
  const finish = () => {
    if (ended) return;
    ended = true;
    try {
      translator.end(queue as ResponsesEvent[]);
    } catch (error) {
      queue.push(error instanceof MalformedEventError ? error : new MalformedEventError(""));
    }
  };
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      if (done) return;
      try {
        // `[DONE]` reaches the translator too: for Chat Completions it completes an answer that
        // sent no finish reason (Z.ai).
        translator.push(message, queue as ResponsesEvent[]);
      } catch (error) {
        queue.push(error instanceof MalformedEventError ? error : new MalformedEventError(message.data));
      }
      if (message.data === "[DONE]") {
        done = true;
        finish();
      }
    },
  });

  const shift = (): ResponsesEvent => {
    const item = queue[head];
    queue[head++] = undefined as never;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    if (item instanceof MalformedEventError) throw item;
    return item;
  };

  return {
    async next() {
      while (head >= queue.length) {
        if (done) return undefined;
        const chunk = await source.read();
        if (chunk === undefined) {
          parser.feed(decoder.decode());
          parser.reset({ consume: true });
          done = true;
          finish();
          if (head >= queue.length) return undefined;
          break;
        }
        bytes += chunk.byteLength;
        // Decoded before the next read reuses the buffer.
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
      return shift();
    },
    get buffered() {
      return queue.length - head;
    },
    shift,
    cancel(reason) {
      done = true;
      source.cancel(reason).catch(() => {});
    },
    get bytes() {
      return bytes;
    },
  };
};
