/**
 * The body of a streamed answer: upstream events pulled one at a time,
 * encoded to chunks, written as SSE.
 *
 * Pull-based, so a slow client slows the upstream read and memory stays
 * bounded; a client that goes away cancels the body, which aborts the
 * upstream request. While nothing is written for `keepaliveMs`, a `: keepalive`
 * comment keeps proxies from cutting a silent stream: long reasoning, or
 * start-up events routing holds back (maximhq/bifrost#5212, kortix-ai/suna#3696).
 * One deadline per stream (`routing/deadlines.ts`) that checks the time of the
 * last write, so a write costs one `performance.now()` (shared by the events of
 * one upstream read), not a timer reset.
 */
import { errorFrame } from "../errors/response.ts";
import type { ChunkEncoder } from "../encode/chunks.ts";
import { type Deadline, deadlines } from "../lib/deadlines.ts";
import { commentFrame } from "../lib/sse.ts";
import type { EventStream } from "../routing/Router.ts";

export type StreamEnd = "completed" | "failed" | "cancelled";

export interface SseBodyOptions {
  readonly events: EventStream;
  readonly encoder: ChunkEncoder;
  readonly keepaliveMs: number;
  /** Called once, when the stream is over for whatever reason. */
  readonly onEnd: (end: StreamEnd) => void;
  /** Called once, when the first bytes of output are written. */
  readonly onFirstOutput?: () => void;
  /** Graceful shutdown: when aborted, the stream ends with an error frame made from the signal's reason. */
  readonly shutdown?: AbortSignal;
}

const encoder = new TextEncoder();
const keepaliveFrame = encoder.encode(commentFrame("keepalive"));

export const sseBody = (options: SseBodyOptions): ReadableStream<Uint8Array> => {
  const { events, keepaliveMs } = options;
  let ended = false;
  let timer: Deadline | undefined;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
  let lastWrite = performance.now();

  const armKeepalive = (delay: number) => {
    timer = deadlines.at(performance.now() + Math.max(1, delay), keepalive);
  };
  const keepalive = () => {
    timer = undefined;
    if (ended || !controllerRef) return;
    const silent = performance.now() - lastWrite;
    if (silent < keepaliveMs) return armKeepalive(keepaliveMs - silent);
    try {
      controllerRef.enqueue(keepaliveFrame);
    } catch {
      return;
    }
    lastWrite = performance.now();
    armKeepalive(keepaliveMs);
  };

  /**
   * Ends the stream's bookkeeping, once. Never throws: every end path calls it before closing the
   * body, and an `onEnd` that threw would leave the body open, the client hanging and the
   * open-streams gauge counting a stream that is gone. `onEnd` owns reporting its own failures.
   */
  const finish = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    if (timer !== undefined) deadlines.cancel(timer);
    options.shutdown?.removeEventListener("abort", endForShutdown);
    try {
      options.onEnd(end);
    } catch {
      // See above: the body must still close.
    }
  };

  /** Stops the upstream read; never throws, so the end path that calls it always finishes. */
  const cancelEvents = () => {
    try {
      events.cancel();
    } catch {
      // The upstream request is going away either way.
    }
  };

  /** Enqueues and closes unless the client already cancelled the body (which makes both throw). */
  const closeWith = (controller: ReadableStreamDefaultController<Uint8Array>, tail?: string) => {
    try {
      if (tail) controller.enqueue(encoder.encode(tail));
      controller.close();
    } catch {
      // Already closed or cancelled.
    }
  };

  const endForShutdown = () => {
    if (ended || !controllerRef) return;
    const controller = controllerRef;
    let frame: string | undefined;
    try {
      frame = errorFrame(options.shutdown?.reason);
    } finally {
      finish("failed");
      cancelEvents();
      closeWith(controller, frame);
    }
  };

  let wroteOutput = false;
  /** Writes encoded chunks as one downstream chunk. */
  const write = (controller: ReadableStreamDefaultController<Uint8Array>, text: string, now: number) => {
    if (!wroteOutput) {
      wroteOutput = true;
      options.onFirstOutput?.();
    }
    controller.enqueue(encoder.encode(text));
    lastWrite = now;
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      controllerRef = controller;
      armKeepalive(keepaliveMs);
      if (options.shutdown?.aborted) queueMicrotask(endForShutdown);
      else options.shutdown?.addEventListener("abort", endForShutdown, { once: true });
    },
    /**
     * One pull writes what one upstream read brought: every event already read is encoded into
     * the same chunk, so a read that delivered ten events costs one `TextEncoder.encode`, one
     * enqueue and one socket write, not ten. Nothing waits for more: when the next event would
     * need another read, what is encoded goes out at once.
     */
    async pull(controller) {
      let text = "";
      let now = 0;
      try {
        for (;;) {
          let event = await events.next();
          if (ended) return;
          now = performance.now();
          for (;;) {
            if (event === undefined) {
              if (text !== "") write(controller, text, now);
              const tail = options.encoder.end();
              finish(options.encoder.failed ? "failed" : "completed");
              closeWith(controller, tail);
              return;
            }
            text += options.encoder.push(event, now);
            if (options.encoder.finished) {
              if (text !== "") write(controller, text, now);
              cancelEvents();
              finish(options.encoder.failed ? "failed" : "completed");
              closeWith(controller);
              return;
            }
            if (!events.ready?.()) break;
            event = await events.next();
            if (ended) return;
          }
          if (text !== "") return write(controller, text, now);
        }
      } catch (error) {
        if (ended) return closeWith(controller);
        let frame: string | undefined;
        try {
          if (text !== "") write(controller, text, now);
          frame = errorFrame(error);
        } finally {
          // Cancel first, so routing has recorded every attempt before `onEnd` reports the request.
          cancelEvents();
          finish("failed");
          closeWith(controller, frame);
        }
      }
    },
    cancel() {
      cancelEvents();
      finish("cancelled");
    },
  }, { highWaterMark: 0 });
};
