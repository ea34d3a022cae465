/**
 * Shared by the routing tests: a gateway with two providers, each a fake
 * upstream (`openai`, the primary, and `backup`), the traces of finished
 * requests, and a reader for what a streaming client received.
 */
import type { RequestTrace } from "../../src/core/trace.ts";
import * as Telemetry from "../../src/observability/Telemetry.ts";
import { type FakeUpstream, jsonFixture, type Script, startFakeUpstream } from "./fake_upstream.ts";
import { type RunningGateway, startGateway, testConfig } from "./gateway.ts";

/** Short waits so the suite stays fast; each test overrides what it exercises. */
export const fast = {
  retry: { max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5 },
  timeouts: { connect_ms: 2_000, first_byte_ms: 2_000, idle_ms: 2_000, total_ms: 5_000 },
};

export interface Pair {
  readonly gateway: RunningGateway;
  readonly primary: FakeUpstream;
  readonly backup: FakeUpstream;
  /** The trace of the `n`th finished request (1-based), once it is reported. */
  readonly finished: (n: number) => Promise<RequestTrace>;
}

/** A telemetry that keeps every finished request's trace, so tests can read the attempts routing recorded. */
const recordingTelemetry = () => {
  const traces: RequestTrace[] = [];
  const wakers = new Set<() => void>();
  const base = Telemetry.make("silent");
  const telemetry: Telemetry.TelemetryShape = {
    ...base,
    requestFinished: (trace) => {
      traces.push(trace);
      base.requestFinished(trace);
      for (const wake of wakers) wake();
    },
  };
  const finished = (n: number) =>
    new Promise<RequestTrace>((resolve, reject) => {
      const check = () => {
        if (traces.length < n) return false;
        clearTimeout(guard);
        wakers.delete(wake);
        resolve(traces[n - 1]);
        return true;
      };
      const wake = () => void check();
      const guard = setTimeout(() => {
        wakers.delete(wake);
        reject(new Error(`expected ${n} finished request(s), saw ${traces.length}`));
      }, 5_000);
      if (!check()) wakers.add(wake);
    });
  return { telemetry, finished };
};

/** `[provider, outcome, next]` of each attempt routing recorded. */
export const attemptsOf = (trace: RequestTrace) => trace.attempts.map((a) => [a.provider, a.outcome, a.next]);

/** Runs `body` against a gateway whose providers `openai` and `backup` are fake upstreams. */
export const withPair = async (
  scripts: { primary: Script; backup?: Script },
  overrides: { primary?: Record<string, unknown>; backup?: Record<string, unknown>; top?: Record<string, unknown> },
  body: (pair: Pair) => Promise<void>,
) => {
  const primary = startFakeUpstream(scripts.primary);
  const backup = startFakeUpstream(scripts.backup ?? (() => ({ json: jsonFixture("routing/fallback_answer.json") })));
  const { telemetry, finished } = recordingTelemetry();
  const gateway = await startGateway(
    testConfig(primary.url, {
      providers: {
        openai: { base_url: primary.url, keys: [{ value: "sk-primary-secret" }], ...fast, ...overrides.primary },
        backup: { base_url: backup.url, keys: [{ value: "sk-backup-secret" }], ...fast, ...overrides.backup },
      },
      ...overrides.top,
    }),
    { telemetry },
  );
  try {
    await body({ gateway, primary, backup, finished });
  } finally {
    await gateway.close();
    await primary.close();
    await backup.close();
  }
};

export const routingHeaders = (response: Response) => ({
  provider: response.headers.get("x-gateway-provider"),
  model: response.headers.get("x-gateway-model"),
  attempts: response.headers.get("x-gateway-attempts"),
});

/** The fields of a chunk the routing tests read. */
export interface ClientChunk {
  readonly choices: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  readonly extra_fields?: { provider?: string; fallback_index?: number; attempts?: number };
  readonly usage?: unknown;
}

/** What a streaming client received, frame by frame. */
export interface ClientStream {
  /** Every SSE frame in order: `: keepalive` comments and `data:` payloads alike. */
  readonly frames: string[];
  readonly comments: string[];
  /** The JSON `data:` payloads that are chunks. */
  readonly chunks: ClientChunk[];
  /** The JSON `data:` payloads that are error frames. */
  readonly errors: Array<{ error: { message: string; type: string; code: string | null; param: string | null } }>;
  /** `delta.content` of every chunk, joined. */
  readonly content: string;
  /** Whether the stream ended with `data: [DONE]`. */
  readonly done: boolean;
  readonly text: string;
}

export const parseStream = (text: string): ClientStream => {
  const frames = text.split("\n\n").filter((frame) => frame !== "");
  const comments = frames.filter((frame) => frame.startsWith(":"));
  const data = frames.filter((frame) => frame.startsWith("data: ")).map((frame) => frame.slice("data: ".length));
  const payloads = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  const chunks = payloads.filter((p) => !("error" in p));
  return {
    frames,
    comments,
    chunks,
    errors: payloads.filter((p) => "error" in p),
    content: chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join(""),
    done: data.at(-1) === "[DONE]",
    text,
  };
};

export const readStream = async (response: Response): Promise<ClientStream> => parseStream(await response.text());
