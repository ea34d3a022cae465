/**
 * A routed upstream stream: fallback inside the stream, until the first output.
 *
 * OpenAI's Responses stream opens with `response.created` and
 * `response.in_progress` and may fail only afterwards (an `error` event with
 * `insufficient_quota`, then `response.failed`). Bifrost commits on the first
 * event and so never falls back in that case (maximhq/bifrost#5395). Here the
 * start-up events are held back until the first real output (`isOutputEvent`)
 * or the end; an `error` event, `response.failed`, a dropped connection, a
 * malformed frame or a timeout in that window is an attempt failure that
 * routing retries or falls back from, and the client sees none of it. Once
 * output is committed the stream never switches: a failure rejects `next()`
 * with the classified error and `sse_body` writes the error frame.
 *
 * What is held back is bounded (Bifrost's Azure buffer uses the same limits):
 * past `MAX_HELD_EVENTS` events or `MAX_HELD_BYTES` bytes the stream commits.
 *
 * Plain async code on purpose: this is the per-event path, so no Effect here.
 */
import type { GatewayError } from "../errors/GatewayError.ts";
import { errorForReason } from "../errors/upstream.ts";
import { isOutputEvent, isTerminalEvent } from "../protocol/events.ts";
import type { ResponsesEvent } from "../protocol/responses.ts";
import { type Adapter, type AnswerContext, isFailureEvent } from "../upstream/adapters/types.ts";
import { type EventReader, readEvents } from "../upstream/sse_events.ts";
import { type AttemptFailure, brokenAttempt, streamBroken } from "./classify.ts";
import type { AttemptInfo } from "../core/model.ts";
import type { EventStream } from "./Router.ts";
import type { Watchdog } from "./watchdog.ts";

export const MAX_HELD_EVENTS = 64;
export const MAX_HELD_BYTES = 256 * 1024;

/** An attempt whose upstream answered 200 with an event stream. */
export interface StreamAttempt {
  readonly info: AttemptInfo;
  readonly response: Response;
  /** The attempt's API, whose translator turns its stream into canonical events. */
  readonly adapter: Adapter;
  readonly answer: AnswerContext;
  readonly controller: AbortController;
  readonly watchdog: Watchdog;
}

export interface RoutedStreamOptions<A extends StreamAttempt> {
  readonly first: A;
  /** Routing's answer to a failure before output: the next attempt that answered 200, or a rejection with the error that ends the request. */
  readonly failover: (failure: AttemptFailure, failed: A) => Promise<A>;
  /** The attempt's first output is about to reach the client. */
  readonly committed: (attempt: A) => void;
  /** Whether the client went away. */
  readonly isCancelled: () => boolean;
  /** The client went away: stop every retry and abort the upstream. */
  readonly cancel: (current: A) => void;
  /** The stream is over, for whatever reason; called once. */
  readonly ended: () => void;
}

export const routedStream = <A extends StreamAttempt>(options: RoutedStreamOptions<A>): EventStream => {
  let current = options.first;
  let reader: EventReader = readEvents(current.response.body!, current.adapter.stream(current.answer));
  let committed = false;
  let finished = false;
  /** Whether the upstream sent its terminal event (`response.completed` or `.incomplete`). */
  let sawTerminal = false;
  const held: Array<ResponsesEvent | undefined> = [];
  let heldAt = 0;

  const provider = () => current.info.ref.provider;

  const end = () => {
    if (finished) return;
    finished = true;
    current.watchdog.stop();
    options.ended();
  };

  const abortCurrent = () => {
    current.watchdog.stop();
    reader.cancel();
    current.controller.abort();
  };

  const broken = (cause: unknown): AttemptFailure => {
    const bound = current.watchdog.fired;
    return brokenAttempt(
      provider(),
      options.isCancelled(),
      bound ? { bound, ms: current.watchdog.limitOf(bound) } : undefined,
      cause,
    );
  };

  const failCommitted = (error: GatewayError): never => {
    abortCurrent();
    end();
    throw error;
  };

  const drain = (): ResponsesEvent | undefined => {
    const event = held[heldAt];
    held[heldAt++] = undefined;
    if (heldAt === held.length) {
      held.length = 0;
      heldAt = 0;
    }
    return event;
  };

  /** A committed stream's next event, once read: a failure event ends it with the error frame. */
  const accept = (event: ResponsesEvent): ResponsesEvent => {
    if (isFailureEvent(event)) return failCommitted(errorForReason(event.reason));
    if (isTerminalEvent(event)) sawTerminal = true;
    return event;
  };

  const readCommitted = async (): Promise<ResponsesEvent | undefined> => {
    const watchdog = current.watchdog;
    watchdog.waiting();
    let event: ResponsesEvent | undefined;
    try {
      event = await reader.next();
    } catch (cause) {
      return failCommitted(errorForReason(broken(cause)));
    }
    watchdog.received();
    if (event === undefined) {
      // A timeout that fired as the body was cancelled still ends in an error frame, not a silent end.
      if (watchdog.fired !== undefined && !options.isCancelled()) {
        return failCommitted(errorForReason(broken(undefined)));
      }
      end();
      return undefined;
    }
    return accept(event);
  };

  /**
   * An event the last read already delivered: no I/O, so no watchdog bookkeeping and no async
   * function frame (~1 µs per event), and `ready()` lets the writer put it in the same chunk.
   */
  const takeBuffered = (): Promise<ResponsesEvent | undefined> => {
    try {
      let event: ResponsesEvent;
      try {
        event = reader.shift();
      } catch (cause) {
        return failCommitted(errorForReason(broken(cause)));
      }
      return Promise.resolve(accept(event));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /**
   * After the terminal event the answer is complete: read the rest (normally just the end of
   * the chunked body) rather than abort, so the upstream connection goes back to the pool
   * instead of costing a new TCP and TLS handshake. The watchdog still bounds the wait.
   */
  const release = () => {
    finished = true;
    const { watchdog } = current;
    const rest = reader;
    void (async () => {
      try {
        for (;;) {
          watchdog.waiting();
          if ((await rest.next()) === undefined) break;
        }
      } catch {
        // Aborted by the watchdog, or broken: nothing left to keep.
      } finally {
        watchdog.stop();
        options.ended();
      }
    })();
  };

  const readUncommitted = async (): Promise<ResponsesEvent | undefined> => {
    for (;;) {
      const watchdog = current.watchdog;
      let failure: AttemptFailure | undefined;
      let event: ResponsesEvent | undefined;
      watchdog.waiting();
      try {
        event = await reader.next();
      } catch (cause) {
        failure = broken(cause);
      }
      watchdog.received();
      if (failure === undefined && (options.isCancelled() || watchdog.fired !== undefined)) failure = broken(undefined);
      if (failure === undefined) {
        if (event === undefined) {
          failure = streamBroken(provider(), "closed the stream before any output");
        } else if (isFailureEvent(event)) {
          failure = event.reason;
        } else {
          held.push(event);
          if (
            isOutputEvent(event) || isTerminalEvent(event) || held.length >= MAX_HELD_EVENTS ||
            reader.bytes >= MAX_HELD_BYTES
          ) {
            committed = true;
            options.committed(current);
            return drain();
          }
          continue;
        }
      }
      // Before any output: drop what was held back and let routing pick the next attempt.
      abortCurrent();
      held.length = 0;
      heldAt = 0;
      try {
        current = await options.failover(failure, current);
      } catch (error) {
        end();
        throw error;
      }
      reader = readEvents(current.response.body!, current.adapter.stream(current.answer));
    }
  };

  return {
    attempt: () => current.info,
    next: () => {
      if (heldAt < held.length && committed) return Promise.resolve(drain());
      if (finished) return Promise.resolve(undefined);
      if (!committed) return readUncommitted();
      return reader.buffered > 0 ? takeBuffered() : readCommitted();
    },
    ready: () => committed && (heldAt < held.length || (!finished && reader.buffered > 0)),
    cancel: () => {
      if (finished) return;
      if (sawTerminal) return release();
      options.cancel(current);
      abortCurrent();
      end();
    },
  };
};
