/**
 * Where finished requests are reported: one structured log line each, and
 * (later) metrics and spans. Never given a secret; see `RequestTrace`.
 */
import { Context, Layer } from "effect";
import type { LogLevel } from "../config/load.ts";
import type { RequestTrace } from "../http/RequestTrace.ts";

export interface TelemetryShape {
  readonly requestFinished: (trace: RequestTrace) => void;
  readonly log: (level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => void;
}

export class Telemetry extends Context.Service<Telemetry, TelemetryShape>()("gateway/Telemetry") {}

const rank = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

export const make = (level: LogLevel, write: (line: string) => void = (line) => console.log(line)): TelemetryShape => {
  const log: TelemetryShape["log"] = (lineLevel, message, fields) => {
    if (rank[lineLevel] < rank[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, msg: message, ...fields }));
  };
  return {
    log,
    requestFinished: (trace) =>
      log(trace.status >= 500 ? "error" : "info", "request", {
        request_id: trace.requestId,
        route: trace.route,
        virtual_key_id: trace.virtualKeyId,
        model_requested: trace.modelRequested,
        provider: trace.provider,
        model: trace.model,
        stream: trace.stream,
        status: trace.status,
        attempts: trace.attempts.length,
        latency_ms: trace.latencyMs,
        tokens_in: trace.usage?.input_tokens,
        tokens_out: trace.usage?.output_tokens,
        cost_usd: trace.cost?.total_cost,
        error_type: trace.errorType,
      }),
  };
};

export const layer = (level: LogLevel) => Layer.succeed(Telemetry, make(level));
