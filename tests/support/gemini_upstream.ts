/**
 * A fake Gemini API for the end-to-end specs: a real HTTP server (`Deno.serve`, 127.0.0.1, port 0)
 * whose base URL ends in `/v1beta`, like Google's. Unlike `fake_upstream.ts` it records the whole
 * request target (path AND query, so `alt=sse` can be asserted), and it sends each answer's body in
 * pieces of a chosen byte size, yielding to the event loop between pieces so that the gateway's
 * reader really gets them one read at a time (measured: 2,000 one-byte pieces arrive as 2,000
 * reads in ~0.1 s), which a body written in one go never shows.
 *
 * Also here: Google's SSE framing (`data: <json>` blocks separated by CRLF CRLF, no `event:`
 * lines, no `[DONE]`), fixtures read from `fixtures/`, and a JSON answer made from a stream's
 * chunks (what `:generateContent` returns for the same answer).
 */
import { setImmediate } from "node:timers";

export interface GeminiRequest {
  /** The path without the query: `/v1beta/models/gemini-2.5-flash:streamGenerateContent`. */
  readonly path: string;
  /** The query string as sent, with its `?` (`?alt=sse`), or `""`. */
  readonly search: string;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

export interface GeminiReply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** The response body, sent as it is. */
  readonly body: string;
  /** `text/event-stream` for a stream, else `application/json; charset=UTF-8` (what Google sends). */
  readonly contentType?: string;
  /** Bytes per piece (0 or absent: the whole body in one write). */
  readonly split?: number;
}

export type GeminiScript = (request: GeminiRequest, index: number) => GeminiReply;

export interface GeminiUpstream {
  /** The provider's `base_url`. */
  readonly url: string;
  readonly requests: GeminiRequest[];
  /** Replaces the script (the next requests get the new answers). */
  script: GeminiScript;
  readonly close: () => Promise<void>;
}

const encoder = new TextEncoder();

/** Resolves after the event loop had a turn: enough for the peer to read what was written. */
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export const startGeminiUpstream = (script: GeminiScript): GeminiUpstream => {
  const requests: GeminiRequest[] = [];
  const upstream: GeminiUpstream = {
    url: "",
    requests,
    script,
    close: async () => {},
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const target = new URL(request.url);
    const text = await request.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = { __raw: text };
    }
    const recorded: GeminiRequest = { path: target.pathname, search: target.search, headers: request.headers, body };
    const index = requests.push(recorded) - 1;
    const reply = upstream.script(recorded, index);
    const bytes = encoder.encode(reply.body);
    const size = reply.split !== undefined && reply.split > 0 ? reply.split : bytes.length;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + size));
        at += size;
        await yieldTurn();
      },
    });
    const headers = new Headers(reply.headers);
    const streamed = target.search.includes("alt=sse");
    headers.set(
      "content-type",
      reply.contentType ??
        (streamed && (reply.status ?? 200) === 200 ? "text/event-stream" : "application/json; charset=UTF-8"),
    );
    return new Response(bytes.length === 0 ? null : stream, { status: reply.status ?? 200, headers });
  });
  const { port } = server.addr as Deno.NetAddr;
  return Object.assign(upstream, {
    url: `http://127.0.0.1:${port}/v1beta`,
    close: async () => {
      await server.shutdown();
    },
  });
};

// ===== Bodies =====

// deno-lint-ignore no-explicit-any
type Json = any;

/** Google's SSE framing: each `GenerateContentResponse` as one `data:` line, blocks separated by CRLF CRLF. */
export const googleSse = (chunks: ReadonlyArray<unknown>): string =>
  chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join("");

/** A fixture file's text. */
export const fixtureText = (name: string): string =>
  Deno.readTextFileSync(new URL(`../../fixtures/${name}`, import.meta.url));

/**
 * An SSE fixture with Google's CRLF framing, however it is stored (`#` comment blocks skipped): the JSON
 * payloads hold no raw line breaks, so every line break in the file is framing.
 */
export const crlfFixture = (name: string): string =>
  fixtureText(name)
    .replaceAll("\r\n", "\n")
    .split(/\n\n+/)
    .map((block) => block.trim())
    .filter((block) => block !== "" && !block.startsWith("#"))
    .map((block) => `${block.replaceAll("\n", "\r\n")}\r\n\r\n`)
    .join("");

/** The `GenerateContentResponse` chunks of an SSE body. */
export const chunksOf = (sse: string): Json[] =>
  sse.split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()))
    .filter((data) => data.length > 0)
    .map((data) => JSON.parse(data.join("\n")));

/**
 * The one `GenerateContentResponse` that `:generateContent` answers for what a stream sent in chunks: every
 * part in order, the last finish reason, the last usage, the stream's model and id, its prompt feedback.
 */
export const mergedAnswer = (chunks: ReadonlyArray<Json>): Json => {
  const parts: Json[] = [];
  let candidate: Json | undefined;
  const merged: Json = {};
  for (const chunk of chunks) {
    const first = chunk.candidates?.[0];
    if (first !== undefined) {
      candidate ??= { content: { parts, role: "model" }, index: 0 };
      for (const part of first.content?.parts ?? []) parts.push(part);
      for (const key of ["finishReason", "finishMessage", "safetyRatings"]) {
        if (first[key] !== undefined) candidate[key] = first[key];
      }
    }
    for (const key of ["promptFeedback", "usageMetadata", "modelVersion", "responseId"]) {
      if (chunk[key] !== undefined) merged[key] = chunk[key];
    }
  }
  return { ...(candidate !== undefined ? { candidates: [candidate] } : {}), ...merged };
};
