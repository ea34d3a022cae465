/**
 * The dashboard's live table: the last few hundred chat requests, newest
 * first, kept in memory (`GET /admin/requests` reads it).
 *
 * Hot path: `record` copies a dozen fields of the finished request's trace
 * into one of `capacity` slots allocated up front, overwriting the oldest: no
 * allocation, no JSON. The answer's shape is built only when someone reads
 * (`list`), at most every 2 s per open dashboard.
 *
 * What is kept is what the log line holds: ids, configured names, numbers,
 * and never a key. Model names are the client's (whatever it typed), so they
 * are cut to `MAX_NAME` characters, copied so the cut does not keep the whole
 * string alive. Prompt and answer are kept only with `log_content: true`,
 * bounded like the log line's but smaller (`MAX_CONTENT_CHARS` per field).
 */
import type { Cost } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";
import type { AttemptRecord, RequestTrace } from "../core/trace.ts";
import { boundedValue, MAX_LOGGED_DEPTH } from "./content.ts";

/** How many requests the table keeps; the oldest is overwritten. */
export const CAPACITY = 500;
/** Longest model name kept (a real one is under 100; an invented one can be megabytes). */
export const MAX_NAME = 200;
/** Longest error message kept. */
export const MAX_MESSAGE = 1000;
/** Per content field (`instructions`, `input`, `output`) when `log_content` is on, in characters of JSON, roughly. */
export const MAX_CONTENT_CHARS = 16 * 1024;

/**
 * `text` cut to `max` characters, as a string of its own. V8 makes a slice
 * longer than 12 characters a view that keeps its parent alive, and the parent
 * here is a client's body; joining the characters builds a fresh string. Rare:
 * only over-long names pay for it.
 */
const capped = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max).split("").join("")}…`;

/** Whether a request belongs in the table: the chat routes; not `/metrics`, `/admin/*`, the dashboard itself. */
export const isChatRoute = (route: string): boolean => route.endsWith("/chat/completions");

/** One finished request, as the slot holds it until it is overwritten. Fields in a fixed order (one hidden class). */
class Slot {
  /** Wall time (ms) the request started. */
  time = 0;
  requestId = "";
  route = "";
  virtualKeyId: string | undefined = undefined;
  modelRequested: string | undefined = undefined;
  provider: string | undefined = undefined;
  model: string | undefined = undefined;
  stream = false;
  status = 0;
  errorType: string | undefined = undefined;
  errorMessage: string | undefined = undefined;
  latencyMs: number | undefined = undefined;
  firstTokenMs: number | undefined = undefined;
  upstreamMs: number | undefined = undefined;
  attempts: ReadonlyArray<AttemptRecord> = [];
  usage: ResponsesUsage | undefined = undefined;
  cost: Cost | undefined = undefined;
  content: Readonly<Record<string, unknown>> | undefined = undefined;
}

/** An attempt of `GET /admin/requests`' `attempt_list`. */
export interface AttemptView {
  readonly provider: string;
  readonly model: string;
  readonly outcome: string;
  readonly next: string | null;
  readonly ms: number;
}

/** One entry of `GET /admin/requests`. */
export interface RequestView {
  readonly request_id: string;
  /** When the request arrived (ISO 8601, the gateway's clock). */
  readonly time: string;
  readonly route: string;
  /** `cursor` for the `/cursor/...` routes, `chat` for the others. */
  readonly api: "cursor" | "chat";
  readonly virtual_key_id: string | null;
  readonly model_requested: string | null;
  readonly provider: string | null;
  readonly model: string | null;
  readonly stream: boolean;
  readonly status: number;
  readonly error_type: string | null;
  readonly error_message: string | null;
  readonly latency_ms: number | null;
  readonly first_token_ms: number | null;
  readonly upstream_ms: number | null;
  /** Upstream calls made. */
  readonly attempts: number;
  /** Moves to the next fallback model (0: served, or failed, at the primary). */
  readonly fallbacks: number;
  readonly attempt_list: ReadonlyArray<AttemptView>;
  readonly usage: {
    readonly prompt_tokens: number;
    readonly cached_tokens: number;
    readonly completion_tokens: number;
    readonly reasoning_tokens: number;
    readonly total_tokens: number;
  } | null;
  readonly cost: Cost | null;
  /** Only with `log_content: true`. */
  readonly content?: Readonly<Record<string, unknown>>;
}

const ms = (value: number | undefined) => value === undefined ? null : Math.round(value * 100) / 100;

const attemptsOf = (attempts: ReadonlyArray<AttemptRecord>): ReadonlyArray<AttemptRecord> => {
  for (const attempt of attempts) {
    if (attempt.model.length > MAX_NAME) {
      return attempts.map((a) => a.model.length > MAX_NAME ? { ...a, model: capped(a.model, MAX_NAME) } : a);
    }
  }
  return attempts;
};

const view = (slot: Slot): RequestView => {
  let fallbacks = 0;
  for (const attempt of slot.attempts) if (attempt.next === "fallback") fallbacks++;
  const usage = slot.usage;
  const input = usage?.input_tokens ?? 0;
  const output = usage?.output_tokens ?? 0;
  return {
    request_id: slot.requestId,
    time: new Date(slot.time).toISOString(),
    route: slot.route,
    api: slot.route.startsWith("/cursor/") ? "cursor" : "chat",
    virtual_key_id: slot.virtualKeyId ?? null,
    model_requested: slot.modelRequested ?? null,
    provider: slot.provider ?? null,
    model: slot.model ?? null,
    stream: slot.stream,
    status: slot.status,
    error_type: slot.errorType ?? null,
    error_message: slot.errorMessage ?? null,
    latency_ms: ms(slot.latencyMs),
    first_token_ms: ms(slot.firstTokenMs),
    upstream_ms: ms(slot.upstreamMs),
    attempts: slot.attempts.length,
    fallbacks,
    attempt_list: slot.attempts.map((a) => ({
      provider: a.provider,
      model: a.model,
      outcome: a.outcome,
      next: a.next ?? null,
      ms: Math.round(a.ms * 100) / 100,
    })),
    usage: usage
      ? {
        prompt_tokens: input,
        cached_tokens: usage.input_tokens_details?.cached_tokens ?? 0,
        completion_tokens: output,
        reasoning_tokens: usage.output_tokens_details?.reasoning_tokens ?? 0,
        total_tokens: usage.total_tokens ?? input + output,
      }
      : null,
    cost: slot.cost ?? null,
    ...(slot.content ? { content: slot.content } : {}),
  };
};

/**
 * A bounded ring of the newest finished chat requests.
 *
 * @example
 * ```ts
 * const recent = new RecentRequests({ now: Date.now });
 * recent.record(trace); // when the request is over
 * recent.list(20); // the 20 newest, newest first
 * ```
 */
export class RecentRequests {
  readonly capacity: number;
  readonly #slots: Slot[];
  readonly #now: () => number;
  /** Requests recorded so far; the newest is in slot `(#count - 1) % capacity`. */
  #count = 0;

  constructor(options: { readonly now: () => number; readonly capacity?: number }) {
    this.capacity = Math.max(1, options.capacity ?? CAPACITY);
    this.#now = options.now;
    this.#slots = Array.from({ length: this.capacity }, () => new Slot());
  }

  /** Requests recorded since start-up (the table holds at most `capacity` of them). */
  get recorded(): number {
    return this.#count;
  }

  /** Keeps a finished request; any other route than the chat ones is ignored. Never throws. */
  record(trace: RequestTrace): void {
    if (!isChatRoute(trace.route)) return;
    const slot = this.#slots[this.#count % this.capacity];
    this.#count++;
    const latency = trace.latencyMs;
    slot.time = this.#now() - (latency ?? 0);
    slot.requestId = trace.requestId;
    slot.route = trace.route;
    slot.virtualKeyId = trace.virtualKeyId;
    const requested = trace.modelRequested;
    slot.modelRequested = requested === undefined ? undefined : capped(requested, MAX_NAME);
    slot.provider = trace.provider;
    const model = trace.model;
    slot.model = model === undefined ? undefined : capped(model, MAX_NAME);
    slot.stream = trace.stream;
    slot.status = trace.status;
    slot.errorType = trace.errorType;
    slot.errorMessage = undefined;
    slot.latencyMs = latency;
    slot.firstTokenMs = trace.firstTokenMs;
    slot.upstreamMs = trace.upstreamMs;
    slot.attempts = attemptsOf(trace.attempts);
    slot.usage = trace.usage;
    slot.cost = trace.cost;
    slot.content = trace.content
      ? {
        instructions: boundedValue(trace.content.instructions, MAX_LOGGED_DEPTH, MAX_CONTENT_CHARS),
        input: boundedValue(trace.content.input, MAX_LOGGED_DEPTH, MAX_CONTENT_CHARS),
        output: boundedValue(trace.content.output, MAX_LOGGED_DEPTH, MAX_CONTENT_CHARS),
      }
      : undefined;
  }

  /**
   * Adds the error message the client was answered with to the newest entry of `requestId`
   * that has none (the trace carries the error's type only). Looks at the newest few entries:
   * the handler records a request just before it answers.
   */
  noteError(requestId: string, message: string): void {
    const slot = this.#awaiting(requestId);
    if (slot !== undefined) slot.errorMessage = capped(message, MAX_MESSAGE);
  }

  /** Whether the table has an entry of `requestId` that failed and has no message yet. */
  awaitsMessage(requestId: string): boolean {
    return this.#awaiting(requestId) !== undefined;
  }

  #awaiting(requestId: string): Slot | undefined {
    const newest = this.#count - 1;
    for (let i = newest; i >= 0 && i > newest - 16 && i > newest - this.capacity; i--) {
      const slot = this.#slots[i % this.capacity];
      if (slot.requestId !== requestId) continue;
      return slot.status >= 400 && slot.errorMessage === undefined ? slot : undefined;
    }
    return undefined;
  }

  /** The newest `limit` requests, newest first. */
  list(limit = 100): RequestView[] {
    const count = Math.min(Math.max(0, Math.floor(limit)), this.capacity, this.#count);
    const out: RequestView[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = view(this.#slots[(this.#count - 1 - i) % this.capacity]);
    return out;
  }
}

/**
 * Reads the error message of a JSON error answer into `recent` (off the success path: only
 * answers of 400 and above, and only those of a request in the table, are read, from a clone).
 */
export const noteErrorAnswer = (recent: RecentRequests, response: Response): void => {
  if (response.status < 400) return;
  const requestId = response.headers.get("x-request-id");
  if (requestId === null || !recent.awaitsMessage(requestId)) return;
  if (response.headers.get("content-type")?.includes("json") !== true) return;
  response.clone().json().then(
    (body: { error?: { message?: unknown } }) => {
      const message = body?.error?.message;
      if (typeof message === "string") recent.noteError(requestId, message);
    },
    () => {},
  );
};
