/**
 * Shared by the end-to-end Chat Completions specs: the chat presets as the specs expect them
 * (base path, auth style, the body fields each takes), builders for the streams and JSON answers
 * an OpenAI-compatible provider sends, and a byte-exact fake upstream that sends a body in
 * pieces of N bytes (cutting UTF-8 characters in half), each piece its own TCP write, so the
 * gateway really reads the stream split where the spec says.
 */
import type { RecordedRequest } from "./fake_upstream.ts";

// ===== The presets =====

export interface ChatPresetCase {
  /** The preset's name, also the configured provider's name (`deepseek/deepseek-reasoner`). */
  readonly preset: string;
  /** The model the client names after the provider prefix (sent upstream as it is). */
  readonly model: string;
  /** The path of the vendor's documented base URL: `/chat/completions` is appended to it. */
  readonly basePath: string;
  /** `bearer` (a key configured, `authorization: Bearer <key>`) or `none` (local servers: no key, no header). */
  readonly auth: "bearer" | "none";
  /** Whether `reasoning_effort` goes upstream (the provider takes it). */
  readonly reasoningEffort: boolean;
  /** Top-level fields the provider refuses, so the gateway never sends them (Mistral: `user`, `stream_options`). */
  readonly omits: ReadonlyArray<string>;
  /** Whether each assistant turn carries `reasoning_content` back (DeepSeek thinking with tools). */
  readonly replaysReasoning: boolean;
  /**
   * How this provider streams its reasoning: `reasoning_content` (DeepSeek, xAI, vLLM, ...),
   * `reasoning` (gpt-oss on Groq and Cerebras, Ollama), OpenRouter's `reasoning` beside
   * `reasoning_details`, or Magistral's `thinking` content parts.
   */
  readonly reasoningStyle: "reasoning_content" | "reasoning" | "reasoning_details" | "thinking_parts";
  /** Whether usage comes on the finish chunk (DeepSeek, Mistral, Cerebras) rather than a later `choices: []` chunk. */
  readonly usageOnFinish: boolean;
  /**
   * How usage counts cached and reasoning tokens: OpenAI's `prompt_tokens_details.cached_tokens`;
   * DeepSeek's `prompt_cache_hit_tokens`/`prompt_cache_miss_tokens`; xAI's reasoning tokens
   * counted outside `completion_tokens` (only `total_tokens` includes them); OpenRouter's cache
   * writes beside the reads (`prompt_tokens_details.cache_write_tokens`).
   */
  readonly usageStyle: "openai" | "deepseek" | "xai" | "openrouter";
}

const preset = (
  name: string,
  model: string,
  basePath: string,
  fields: Partial<Omit<ChatPresetCase, "preset" | "model" | "basePath">> = {},
): ChatPresetCase => ({
  preset: name,
  model,
  basePath,
  auth: "bearer",
  reasoningEffort: false,
  omits: [],
  replaysReasoning: false,
  reasoningStyle: "reasoning_content",
  usageOnFinish: false,
  usageStyle: "openai",
  ...fields,
});

/** Every chat preset, with what the issue says each one sends (src/config/presets.ts must agree). */
export const CHAT_PRESETS: ReadonlyArray<ChatPresetCase> = [
  preset("deepseek", "deepseek-reasoner", "/v1", {
    replaysReasoning: true,
    usageOnFinish: true,
    usageStyle: "deepseek",
  }),
  preset("groq", "openai/gpt-oss-120b", "/openai/v1", { reasoningEffort: true, reasoningStyle: "reasoning" }),
  preset("mistral", "magistral-medium-latest", "/v1", {
    omits: ["user", "stream_options"],
    reasoningStyle: "thinking_parts",
    usageOnFinish: true,
  }),
  preset("openrouter", "anthropic/claude-sonnet-4.5", "/api/v1", {
    reasoningStyle: "reasoning_details",
    usageStyle: "openrouter",
  }),
  preset("together", "deepseek-ai/DeepSeek-R1", "/v1"),
  preset("fireworks", "accounts/fireworks/models/deepseek-r1", "/inference/v1", { reasoningEffort: true }),
  preset("xai", "grok-3-mini", "/v1", { reasoningEffort: true, usageStyle: "xai" }),
  preset("cerebras", "gpt-oss-120b", "/v1", {
    reasoningEffort: true,
    reasoningStyle: "reasoning",
    usageOnFinish: true,
  }),
  preset("ollama", "qwen3:8b", "/v1", { auth: "none", reasoningStyle: "reasoning" }),
  preset("vllm", "Qwen/Qwen3-8B", "/v1", { auth: "none" }),
  preset("lmstudio", "qwen/qwen3-8b", "/v1", { auth: "none" }),
];

/** The key configured for a keyed preset (never for a `none` one). */
export const keyOf = (c: ChatPresetCase): string => `sk-${c.preset}-upstream-secret`;

/** The provider entry of a preset pointed at `origin` (a fake's `http://127.0.0.1:port`). */
export const presetProvider = (c: ChatPresetCase, origin: string, extra: Record<string, unknown> = {}) => ({
  preset: c.preset,
  base_url: `${origin}${c.basePath}`,
  ...(c.auth === "bearer" ? { keys: [{ value: keyOf(c) }] } : {}),
  retry: { max_retries: 0, initial_backoff_ms: 1, max_backoff_ms: 5 },
  timeouts: { connect_ms: 2_000, first_byte_ms: 3_000, idle_ms: 3_000, total_ms: 8_000 },
  ...extra,
});

/** `http://127.0.0.1:port` of a fake upstream whose `url` ends in `/v1`. */
export const originOf = (url: string): string => new URL(url).origin;

// ===== Chat Completions wire bodies =====

export type Json = Record<string, unknown>;

const CREATED = 1767225600;

/** One `chat.completion.chunk` of choice 0. */
export const chunk = (
  model: string,
  delta: Json,
  finish: string | null = null,
  extra: Json = {},
): Json => ({
  id: "chatcmpl-e2e",
  object: "chat.completion.chunk",
  created: CREATED,
  model,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...extra,
});

/** The usage-only chunk OpenAI-style providers send after the finish (`choices: []`). */
export const usageChunk = (model: string, usage: Json): Json => ({
  id: "chatcmpl-e2e",
  object: "chat.completion.chunk",
  created: CREATED,
  model,
  choices: [],
  usage,
});

/** Chat usage with cached prompt tokens and reasoning tokens. */
export const usage = (prompt: number, completion: number, cached: number, reasoning = 0): Json => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: cached },
  completion_tokens_details: { reasoning_tokens: reasoning },
});

/**
 * Usage as `c` reports it: `prompt` tokens of which `cached` were read from the cache (and, for
 * a provider that says so, `written` written to it), `completion` of which `reasoning` reasoned.
 */
export const presetUsage = (
  c: ChatPresetCase,
  prompt: number,
  completion: number,
  cached: number,
  reasoning = 0,
  written = 0,
): Json => {
  switch (c.usageStyle) {
    case "openai":
      return usage(prompt, completion, cached, reasoning);
    case "openrouter":
      return {
        ...usage(prompt, completion, cached, reasoning),
        prompt_tokens_details: { cached_tokens: cached, cache_write_tokens: written, audio_tokens: 0 },
        cost: 0.000669,
        is_byok: false,
      };
    case "deepseek":
      return {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        completion_tokens_details: { reasoning_tokens: reasoning },
        prompt_cache_hit_tokens: cached,
        prompt_cache_miss_tokens: prompt - cached,
      };
    case "xai":
      return {
        prompt_tokens: prompt,
        completion_tokens: completion - reasoning,
        total_tokens: prompt + completion,
        prompt_tokens_details: { text_tokens: prompt, cached_tokens: cached },
        completion_tokens_details: { reasoning_tokens: reasoning },
      };
  }
};

/** A delta carrying `text` as reasoning, the way `c` streams it. */
export const reasoningDelta = (c: ChatPresetCase, text: string): Json => {
  switch (c.reasoningStyle) {
    case "reasoning_content":
      return { content: null, reasoning_content: text };
    case "reasoning":
      return { content: "", reasoning: text };
    case "reasoning_details":
      return {
        content: "",
        reasoning: text,
        reasoning_details: [{ type: "reasoning.text", text, format: "anthropic-claude-v1", index: 0 }],
      };
    case "thinking_parts":
      return { content: [{ type: "thinking", thinking: [{ type: "text", text }] }] };
  }
};

/** A whole answer's message fields: its reasoning the way `c` sends it, then its text. */
export const answerMessage = (c: ChatPresetCase, reasoning: string, text: string | null): Json => {
  switch (c.reasoningStyle) {
    case "reasoning_content":
      return { content: text, reasoning_content: reasoning };
    case "reasoning":
      return { content: text, reasoning };
    case "reasoning_details":
      return {
        content: text,
        reasoning,
        reasoning_details: [{ type: "reasoning.text", text: reasoning, format: "anthropic-claude-v1", index: 0 }],
      };
    case "thinking_parts":
      return {
        content: [
          { type: "thinking", thinking: [{ type: "text", text: reasoning }] },
          ...(text === null ? [] : [{ type: "text", text }]),
        ],
      };
  }
};

/** The end of a stream: the finish, and the usage on it or in a `choices: []` chunk after it. */
export const finishChunks = (c: ChatPresetCase, finish: string, usageValue: Json): Json[] =>
  c.usageOnFinish
    ? [chunk(c.model, { content: "" }, finish, { usage: usageValue })]
    : [chunk(c.model, {}, finish), usageChunk(c.model, usageValue)];

/** `data:` frames of the payloads, then `data: [DONE]` unless `done` is false. */
export const sseText = (payloads: ReadonlyArray<unknown>, done = true): string =>
  payloads.map((payload) => `data: ${JSON.stringify(payload)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");

/** A whole `chat.completion`. */
export const completion = (model: string, message: Json, finish: string, usageValue: Json): Json => ({
  id: "chatcmpl-e2e-json",
  object: "chat.completion",
  created: CREATED,
  model,
  choices: [{ index: 0, message: { role: "assistant", ...message }, logprobs: null, finish_reason: finish }],
  usage: usageValue,
});

// ===== A byte-exact fake upstream =====

export interface ByteUpstream {
  /** `http://127.0.0.1:port` */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  readonly close: () => Promise<void>;
}

/** A reply of the byte fake: a status, a content type, and the body's pieces, each written on its own. */
export interface BytesReply {
  readonly status?: number;
  readonly contentType: string;
  readonly pieces: ReadonlyArray<Uint8Array>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF = encoder.encode("\r\n");

/** `bytes` cut every `size` bytes (`Infinity`: whole), wherever that falls, UTF-8 characters included. */
export const splitBytes = (bytes: Uint8Array, size: number): Uint8Array[] => {
  if (!Number.isFinite(size) || size >= bytes.length) return [bytes];
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
  return pieces;
};

const findHeadEnd = (bytes: Uint8Array): number => {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
};

const readRequest = async (conn: Deno.Conn): Promise<RecordedRequest | undefined> => {
  let buffered = new Uint8Array(0);
  const more = async (): Promise<boolean> => {
    const chunkBuffer = new Uint8Array(64 * 1024);
    const n = await conn.read(chunkBuffer);
    if (n === null) return false;
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunkBuffer.subarray(0, n), buffered.length);
    buffered = next;
    return true;
  };
  let headEnd = findHeadEnd(buffered);
  while (headEnd < 0) {
    if (!await more()) return undefined;
    headEnd = findHeadEnd(buffered);
  }
  const [requestLine, ...lines] = decoder.decode(buffered.subarray(0, headEnd)).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  // The gateway sends its bodies with a content-length (it serialises them whole).
  const length = Number(headers.get("content-length") ?? "0");
  while (buffered.length < headEnd + 4 + length) if (!await more()) return undefined;
  const text = decoder.decode(buffered.subarray(headEnd + 4, headEnd + 4 + length));
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { __raw: text };
  }
  return { path: new URL(requestLine.split(" ")[1] ?? "/", "http://fake").pathname, headers, body };
};

const writeAll = async (conn: Deno.Conn, bytes: Uint8Array): Promise<void> => {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
};

/**
 * A raw HTTP/1.1 server on 127.0.0.1 that answers each request with `reply(request)`, a chunked
 * body written one piece per chunk and per write (the reader gets them one read at a time).
 */
export const startByteUpstream = (reply: (request: RecordedRequest) => BytesReply): ByteUpstream => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: RecordedRequest[] = [];
  const tasks = new Set<Promise<void>>();
  const serve = async (conn: Deno.Conn) => {
    try {
      const request = await readRequest(conn);
      if (request === undefined) return;
      requests.push(request);
      const answer = reply(request);
      await writeAll(
        conn,
        encoder.encode(
          `HTTP/1.1 ${answer.status ?? 200} OK\r\ncontent-type: ${answer.contentType}\r\n` +
            "transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        ),
      );
      for (const piece of answer.pieces) {
        if (piece.length === 0) continue;
        const head = encoder.encode(`${piece.length.toString(16)}\r\n`);
        const framed = new Uint8Array(head.length + piece.length + 2);
        framed.set(head);
        framed.set(piece, head.length);
        framed.set(CRLF, head.length + piece.length);
        await writeAll(conn, framed);
      }
      await writeAll(conn, encoder.encode("0\r\n\r\n"));
    } catch {
      // The gateway closed the connection.
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const task = serve(conn);
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // listener closed
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  let closed = false;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      if (closed) return;
      closed = true;
      listener.close();
      await accepting;
      await Promise.all([...tasks]);
    },
  };
};
