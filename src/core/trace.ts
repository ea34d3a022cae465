/**
 * What the gateway learns about one request as it passes the stages; read at
 * the end by telemetry (log line, metrics, spans). Holds ids, never secrets,
 * and no prompt or completion text.
 */
import type { Cost } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";

export interface AttemptRecord {
  readonly provider: string;
  readonly model: string;
  /** `ok`, an HTTP status, `network`, `timeout`, `stream_error`, `cancelled`... */
  readonly outcome: string;
  /** Why routing moved on: `retry`, `rotate`, `fallback`, or absent for the last attempt. */
  readonly next?: string;
  readonly ms: number;
}

export interface RequestTrace {
  readonly requestId: string;
  readonly route: string;
  readonly startedAt: number;
  virtualKeyId?: string;
  modelRequested?: string;
  provider?: string;
  model?: string;
  stream: boolean;
  status: number;
  readonly attempts: AttemptRecord[];
  usage?: ResponsesUsage;
  cost?: Cost;
  errorType?: string;
  /** ms from the start until the first output reached the client. */
  firstTokenMs?: number;
  /** ms spent waiting on the upstream (sum over attempts). */
  upstreamMs?: number;
  latencyMs?: number;
  /** The matched route's pattern when it differs from `route` (a prefix route), for metric labels. */
  routePattern?: string;
  /** Prompt and completion, set only when `log_content: true`; logged with the request line, bounded (`content.ts`). */
  content?: RequestContent;
}

/** What `log_content: true` logs: the request's instructions and input, and the answer's output items. */
export interface RequestContent {
  readonly instructions?: unknown;
  readonly input?: unknown;
  output?: unknown;
}

export const newTrace = (requestId: string, route: string): RequestTrace => ({
  requestId,
  route,
  startedAt: performance.now(),
  stream: false,
  status: 0,
  attempts: [],
});
