/**
 * A fake Anthropic Messages API for the end-to-end specs: a real HTTP server on 127.0.0.1
 * (port 0) that answers from a script, serving bodies split at an exact byte size (each part
 * its own HTTP chunk, so the gateway's reader sees the cut even inside a UTF-8 character), and
 * records what it was sent. Plus a gateway whose provider `anthropic` (by preset, `base_url` at
 * the fake) serves `anthropic/<model>`.
 */
import { setImmediate } from "node:timers";
import { type RunningGateway, startGateway, testConfig } from "./gateway.ts";

export interface SentRequest {
  readonly path: string;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

export interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** The body as sent: SSE text, JSON text, or any value (served as JSON). */
  readonly body: unknown;
  /** Serve the body in parts of this many bytes (whole when absent). */
  readonly split?: number;
}

export type Script = (request: SentRequest, index: number) => Reply;

export interface AnthropicUpstream {
  /** The `base_url` of a provider: `/messages` is appended by the adapter. */
  readonly url: string;
  readonly requests: SentRequest[];
  readonly close: () => Promise<void>;
}

const encoder = new TextEncoder();

/** Yields to the event loop between parts (a macrotask, without a timer's millisecond). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export const startAnthropicUpstream = (script: Script): AnthropicUpstream => {
  const requests: SentRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const text = await request.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = { __raw: text };
    }
    const sent: SentRequest = { path: new URL(request.url).pathname, headers: request.headers, body };
    const index = requests.push(sent) - 1;
    const reply = script(sent, index);
    const bytes = encoder.encode(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
    const sse = typeof reply.body === "string" && /^(event|data):/m.test(reply.body);
    const headers = {
      "content-type": sse ? "text/event-stream; charset=utf-8" : "application/json",
      ...reply.headers,
    };
    const size = reply.split ?? bytes.length;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + size));
        offset += size;
        await tick();
      },
    });
    return new Response(bytes.length === 0 ? null : stream, { status: reply.status ?? 200, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    close: () => server.shutdown(),
  };
};

/** A fixture's text (`fixtures/<name>`). */
export const fixtureText = (name: string): string =>
  Deno.readTextFileSync(new URL(`../../fixtures/${name}`, import.meta.url));

/** Anthropic's error body. */
export const errorBody = (type: string, message: string) => ({
  type: "error",
  error: { type, message },
  request_id: "req_011E2eTest",
});

/** One SSE frame as Anthropic writes it. */
export const frame = (event: Record<string, unknown>): string =>
  `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;

export const UPSTREAM_KEY = "sk-ant-e2e-secret-0123456789";
export const BETA = "interleaved-thinking-2025-05-14,context-1m-2025-08-07";

/** Short waits, so retries and fallbacks cost nothing. */
export const fast = {
  retry: { max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5 },
  timeouts: { connect_ms: 2_000, first_byte_ms: 3_000, idle_ms: 3_000, total_ms: 8_000 },
};

export interface Setup {
  readonly gateway: RunningGateway;
  readonly upstream: AnthropicUpstream;
  /** The `openai` provider (a Responses fake) when the test asked for a fallback target. */
  readonly backup?: AnthropicUpstream;
}

/**
 * A gateway with provider `anthropic` (preset by name) at a fake Messages API answering from
 * `script`, and `openai` (the Responses API) at `backupScript`'s fake when given.
 */
export const withAnthropic = async (
  script: Script,
  options: {
    provider?: Record<string, unknown>;
    backupScript?: Script;
    virtualKey?: string;
    /** Top-level config fields beside the providers. */
    config?: Record<string, unknown>;
  },
  body: (setup: Setup) => Promise<void>,
) => {
  const upstream = startAnthropicUpstream(script);
  const backup = options.backupScript ? startAnthropicUpstream(options.backupScript) : undefined;
  const providers: Record<string, unknown> = {
    anthropic: {
      base_url: upstream.url,
      keys: [{ value: UPSTREAM_KEY }],
      headers: { "anthropic-beta": BETA },
      ...fast,
      ...options.provider,
    },
  };
  if (backup) providers.openai = { base_url: backup.url, keys: [{ value: "sk-openai-backup-secret" }], ...fast };
  const gateway = await startGateway(
    testConfig(upstream.url, {
      providers,
      default_provider: "anthropic",
      ...(options.virtualKey ? { virtual_keys: [{ id: "e2e", value: options.virtualKey, models: ["*"] }] } : {}),
      ...options.config,
    }),
  );
  try {
    await body({ gateway, upstream, backup });
  } finally {
    await gateway.close();
    await upstream.close();
    await backup?.close();
  }
};

// ===== Reading Messages streams (for JSON twins of SSE fixtures and for recordings) =====

// deno-lint-ignore no-explicit-any
type Json = any;

/** The `data:` payloads of an SSE text, in order. */
export const sseEvents = (text: string): Json[] =>
  text.split(/\r?\n\r?\n/).flatMap((block) => {
    const data = block.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) =>
      line.slice(5).trimStart()
    ).join("\n");
    return data === "" ? [] : [JSON.parse(data)];
  });

/**
 * A Messages stream folded into the message a non-streamed request gets (what Anthropic's SDKs
 * do): block starts, their deltas (text, thinking, signature, input JSON, citations), the
 * stop reason and the cumulative usage. An `error` event makes the fold throw.
 */
export const foldMessage = (text: string): Json => {
  let message: Json = undefined;
  const partial = new Map<number, string>();
  for (const event of sseEvents(text)) {
    switch (event.type) {
      case "message_start":
        message = structuredClone(event.message);
        break;
      case "content_block_start":
        message.content[event.index] = structuredClone(event.content_block);
        break;
      case "content_block_delta": {
        const block = message.content[event.index];
        const delta = event.delta;
        if (delta.type === "text_delta") block.text += delta.text;
        else if (delta.type === "thinking_delta") block.thinking += delta.thinking;
        else if (delta.type === "signature_delta") block.signature = (block.signature ?? "") + delta.signature;
        else if (delta.type === "citations_delta") (block.citations ??= []).push(delta.citation);
        else if (delta.type === "input_json_delta") {
          partial.set(event.index, (partial.get(event.index) ?? "") + delta.partial_json);
        }
        break;
      }
      case "content_block_stop": {
        const json = partial.get(event.index);
        if (json !== undefined && json !== "") message.content[event.index].input = JSON.parse(json);
        break;
      }
      case "message_delta":
        Object.assign(message, event.delta);
        message.usage = { ...message.usage, ...event.usage };
        break;
      case "error":
        throw new Error(`the stream reports an error: ${JSON.stringify(event.error)}`);
    }
  }
  return message;
};

/** What a chat client should get for a Messages answer. */
export interface ExpectedAnswer {
  readonly content: string | null;
  readonly toolCalls: Array<{ id: string; name: string; input: unknown }>;
  readonly reasoning: string;
  /** The blocks sealed in the `reasoning.encrypted` entry (thinking with signature, redacted). */
  readonly sealed: Json[];
  readonly finish: "stop" | "length" | "tool_calls" | "content_filter";
  readonly usage: { prompt: number; completion: number; cached: number };
}

/** The chat answer a Messages message stands for (the adapter's documented mapping). */
export const expectedAnswer = (message: Json): ExpectedAnswer => {
  let content = "";
  const toolCalls: ExpectedAnswer["toolCalls"] = [];
  const thinking: string[] = [];
  const sealed: Json[] = [];
  for (const block of message.content) {
    if (block.type === "text") content += block.text;
    else if (block.type === "tool_use") toolCalls.push({ id: block.id, name: block.name, input: block.input });
    else if (block.type === "thinking") {
      if (block.thinking !== "") thinking.push(block.thinking);
      sealed.push({ type: "thinking", thinking: block.thinking, signature: block.signature });
    } else if (block.type === "redacted_thinking") sealed.push({ type: "redacted_thinking", data: block.data });
  }
  const usage = message.usage ?? {};
  const read = usage.cache_read_input_tokens ?? 0;
  return {
    content: content === "" ? null : content,
    toolCalls,
    reasoning: thinking.join("\n\n"),
    sealed,
    finish: message.stop_reason === "max_tokens" || message.stop_reason === "model_context_window_exceeded"
      ? "length"
      : message.stop_reason === "refusal"
      ? "content_filter"
      : toolCalls.length > 0
      ? "tool_calls"
      : "stop",
    usage: {
      prompt: (usage.input_tokens ?? 0) + read + (usage.cache_creation_input_tokens ?? 0),
      completion: usage.output_tokens ?? 0,
      cached: read,
    },
  };
};

/** The payload of a `gw1.anthropic.` sealed reasoning entry. */
export const openSealed = (data: string): Json => {
  const prefix = "gw1.anthropic.";
  if (!data.startsWith(prefix)) throw new Error(`not sealed by the anthropic adapter: ${data.slice(0, 40)}`);
  const base64 = data.slice(prefix.length).replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64);
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
};
