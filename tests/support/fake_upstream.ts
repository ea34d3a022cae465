/**
 * A fake Responses API: a real HTTP server on 127.0.0.1 (port 0) that answers
 * `POST /responses` from a script, records what it was sent, and notices when
 * the gateway aborts a request.
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
  /** Close the connection without answering. */
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
  readonly close: () => Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/** Frames an event the way OpenAI does: `event: <type>` then `data: <json>`. */
export const frame = (event: Record<string, unknown>): string =>
  `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;

export const startFakeUpstream = (script: Script): FakeUpstream => {
  const requests: RecordedRequest[] = [];
  let aborted = 0;
  const encoder = new TextEncoder();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request, info) => {
    const text = await request.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text);
    } catch {
      body = { __raw: text };
    }
    const recorded = { path: new URL(request.url).pathname, headers: request.headers, body };
    const index = requests.push(recorded) - 1;
    let countedAbort = false;
    const countAbort = () => {
      if (!countedAbort) {
        countedAbort = true;
        aborted++;
      }
    };
    request.signal.addEventListener("abort", countAbort, { once: true });
    const reply = await script(recorded, index);
    if ("reset" in reply) {
      // Closing the underlying connection before any byte of the answer.
      info as unknown as { completed?: Promise<void> };
      throw new Error("fake upstream: connection reset");
    }
    if ("hang" in reply) {
      await new Promise<void>((resolve) => request.signal.addEventListener("abort", () => resolve(), { once: true }));
      return new Response(null, { status: 499 });
    }
    if (reply.delayMs) await sleep(reply.delayMs, request.signal);
    if ("json" in reply) {
      return Response.json(reply.json, { status: reply.status ?? 200, headers: reply.headers });
    }
    const steps = reply.sse;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const step of steps) {
          if (request.signal.aborted) break;
          if ("delayMs" in step) await sleep(step.delayMs, request.signal);
          else if ("drop" in step) {
            controller.error(new Error("fake upstream: dropped"));
            return;
          } else {
            try {
              controller.enqueue(encoder.encode("event" in step ? frame(step.event) : step.raw));
            } catch {
              return;
            }
          }
        }
        try {
          controller.close();
        } catch {
          // already cancelled
        }
      },
      cancel() {
        countAbort();
      },
    });
    return new Response(stream, {
      status: reply.status ?? 200,
      headers: { "content-type": "text/event-stream", ...reply.headers },
    });
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    aborted: () => aborted,
    close: () => server.shutdown(),
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
