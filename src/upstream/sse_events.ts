/**
 * Upstream SSE bytes to Responses events, one at a time, pulled on demand so
 * that a slow client slows the upstream read (backpressure end to end).
 *
 * Framing is parsed by `eventsource-parser`; each `data:` payload is one JSON
 * event. A trailing `data: [DONE]` (OpenRouter and some proxies) ends the
 * stream; OpenAI itself sends none and simply closes.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ResponsesEvent } from "../protocol/responses.ts";

/** A `data:` payload that is not a JSON object. */
export class MalformedEventError extends Error {
  constructor(readonly payload: string) {
    super("upstream sent a malformed SSE event");
    this.name = "MalformedEventError";
  }
}

export interface EventReader {
  /** The next event, or `undefined` once the upstream has finished. Rejects on transport errors and malformed frames. */
  next(): Promise<ResponsesEvent | undefined>;
  /** Stops reading and releases the upstream body. */
  cancel(reason?: unknown): void;
  /** Bytes read from the upstream so far (bounds what routing holds back before committing). */
  readonly bytes: number;
}

export const readEvents = (body: ReadableStream<Uint8Array>): EventReader => {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const queue: Array<ResponsesEvent | MalformedEventError> = [];
  let head = 0;
  let done = false;
  let bytes = 0;
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      if (done) return;
      const data = message.data;
      if (data === "[DONE]") {
        done = true;
        return;
      }
      try {
        const parsed = JSON.parse(data);
        queue.push(
          parsed !== null && typeof parsed === "object" && typeof parsed.type === "string"
            ? parsed as ResponsesEvent
            : new MalformedEventError(data),
        );
      } catch {
        queue.push(new MalformedEventError(data));
      }
    },
  });

  const shift = (): ResponsesEvent | undefined => {
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
        const chunk = await reader.read();
        if (chunk.done) {
          parser.feed(decoder.decode());
          parser.reset({ consume: true });
          done = true;
          if (head >= queue.length) return undefined;
          break;
        }
        bytes += chunk.value.byteLength;
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
      return shift();
    },
    cancel(reason) {
      done = true;
      reader.cancel(reason).catch(() => {});
    },
    get bytes() {
      return bytes;
    },
  };
};
