/**
 * Where finished requests are reported: one structured JSON log line each,
 * and the Prometheus metrics (`metrics.ts`). Spans are `tracing.ts`.
 *
 * Never given a secret; see `RequestTrace`. Prompt and completion text reach
 * the log line only when `log_content: true` put them on the trace, bounded
 * (`content.ts`).
 *
 * Reporting never fails a request: `make`'s `log` and `requestFinished` do
 * not throw, whatever the fields hold or the sink does (a closed stdout, a
 * value `JSON.stringify` cannot take).
 *
 * The line's fields are gathered when the request finishes; serialising and
 * writing them is the sink's, after the response is handed over
 * (`log_sink.ts`). Metrics are counted at once: `/metrics` read right after a
 * response includes it.
 */
import * as Context from "effect/Context";
import * as Layer from "effect/Layer";
import type { LogLevel } from "../config/load.ts";
import type { RequestTrace } from "../core/trace.ts";
import { boundedContent } from "./content.ts";
import { errorName, jsonLine, type LogEntry, type LogSink, stdoutSink } from "./log_sink.ts";
import { Metrics } from "./metrics.ts";

export interface TelemetryShape {
  readonly requestFinished: (trace: RequestTrace) => void;
  readonly log: (level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => void;
  /** The metrics `GET /metrics` renders; absent on a telemetry that keeps none. */
  readonly metrics?: Metrics;
}

export class Telemetry extends Context.Service<Telemetry, TelemetryShape>()("gateway/Telemetry") {}

const rank = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

/** Milliseconds to two decimals: enough for sub-millisecond overhead, short in a log line. */
const ms = (value: number | undefined) => value === undefined ? undefined : Math.round(value * 100) / 100;

/**
 * Routes whose every call would drown the log: Prometheus scrapes every few seconds, and an open
 * dashboard reads its data every 2 s. Logged at debug, not counted in the metrics.
 */
const quietRoutes = new Set(["/metrics", "/admin/requests", "/admin/usage", "/admin/stats"]);

/** The log line's fields for one request; `undefined` fields drop out of the JSON. */
export const requestFields = (trace: RequestTrace): Record<string, unknown> => {
  let fallbacks = 0;
  for (const attempt of trace.attempts) if (attempt.next === "fallback") fallbacks++;
  return {
    request_id: trace.requestId,
    route: trace.route,
    virtual_key_id: trace.virtualKeyId,
    model_requested: trace.modelRequested,
    provider: trace.provider,
    model: trace.model,
    stream: trace.stream,
    status: trace.status,
    attempts: trace.attempts.length,
    fallbacks: fallbacks > 0 ? fallbacks : undefined,
    latency_ms: ms(trace.latencyMs),
    first_token_ms: ms(trace.firstTokenMs),
    upstream_ms: ms(trace.upstreamMs ?? (trace.attempts.length > 0 ? sumMs(trace) : undefined)),
    tokens_in: trace.usage?.input_tokens,
    tokens_out: trace.usage?.output_tokens,
    cost_usd: trace.cost?.total_cost,
    error_type: trace.errorType,
    content: trace.content && boundedContent(trace.content),
  };
};

const sumMs = (trace: RequestTrace) => {
  let total = 0;
  for (const attempt of trace.attempts) total += attempt.ms;
  return total;
};

/**
 * A telemetry that writes JSON lines at or above `level` to `out` and keeps its own metrics.
 * `out` is a sink (by default the process's, `stdoutSink`: buffered, written after the
 * response), or a function given each line as it is logged, synchronously (tests read them).
 */
export const make = (level: LogLevel, out: LogSink | ((line: string) => void) = stdoutSink()): TelemetryShape => {
  const push: (entry: LogEntry) => void = typeof out === "function"
    ? (entry) => out(typeof entry === "string" ? entry : jsonLine(entry))
    : out.push;
  const log: TelemetryShape["log"] = (lineLevel, message, fields) => {
    if (rank[lineLevel] < rank[level]) return;
    // Only the record is made here: `jsonLine` merges and serialises it when the line is written.
    try {
      push({ time: Date.now(), level: lineLevel, msg: message, fields });
    } catch {
      // Nowhere left to report it: a broken sink loses lines, never requests.
    }
  };
  const metrics = new Metrics();
  return {
    log,
    metrics,
    requestFinished: (trace) => {
      try {
        if (quietRoutes.has(trace.route)) {
          if (rank.debug >= rank[level]) log("debug", "request", requestFields(trace));
          return;
        }
        metrics.record(trace);
        const lineLevel = trace.status >= 500 ? "error" : "info";
        if (rank[lineLevel] >= rank[level]) log(lineLevel, "request", requestFields(trace));
      } catch (error) {
        log("error", "request could not be reported", { request_id: trace.requestId, error: errorName(error) });
      }
    },
  };
};

/**
 * `telemetry`, also handing every finished request to `recorders` (the dashboard's request table
 * and per-minute stats, `app.ts`) after its log line and metrics. A recorder never fails a
 * request, nor keeps another from recording: one that throws loses its own record only.
 */
export const recording = (
  telemetry: TelemetryShape,
  recorders: ReadonlyArray<(trace: RequestTrace) => void>,
): TelemetryShape => ({
  ...telemetry,
  requestFinished: (trace) => {
    try {
      telemetry.requestFinished(trace);
    } finally {
      for (const record of recorders) {
        try {
          record(trace);
        } catch {
          // The dashboard misses one request; the request itself is unaffected.
        }
      }
    }
  },
});

export const layer = (level: LogLevel) => Layer.succeed(Telemetry, make(level));
