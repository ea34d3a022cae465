/**
 * A virtual key's usage as one small record, and the pure rules that admit a
 * request against it and settle a finished one into it.
 *
 * The memory and Deno KV stores run these functions inside their atomic
 * read-modify-write; the Redis store runs the same rules as a Lua script
 * (`stores/redis.ts`). Counters are kept per window label (see `periods.ts`):
 * a counter whose label is not the current one belongs to a past window and
 * reads as zero, so windows roll over without timers or cleanup.
 *
 * Money is counted in nano-USD integers so concurrent additions are exact.
 * No amount that is not a finite number is ever added (`finiteSettlement`),
 * and one already stored (written by an older gateway) refuses admission
 * rather than reading as "under the limit": every comparison with NaN is false.
 */
import type { BudgetPeriod, Windows } from "./periods.ts";

export interface UsageRecord {
  /** Start (ms) of the minute the request and token counts belong to. */
  readonly minute: number;
  readonly requests: number;
  readonly tokens: number;
  readonly day: string;
  readonly dayNanos: number;
  readonly week: string;
  readonly weekNanos: number;
  readonly month: string;
  readonly monthNanos: number;
  readonly totalNanos: number;
}

export const emptyRecord: UsageRecord = {
  minute: 0,
  requests: 0,
  tokens: 0,
  day: "",
  dayNanos: 0,
  week: "",
  weekNanos: 0,
  month: "",
  monthNanos: 0,
  totalNanos: 0,
};

/** Usage in the current windows. */
export interface CurrentUsage {
  readonly requests: number;
  readonly tokens: number;
  /** Nano-USD spent in the current day, ISO week, month, and ever. */
  readonly spentNanos: Readonly<Record<BudgetPeriod, number>>;
}

export const NANOS_PER_USD = 1e9;

export const usdToNanos = (usd: number): number => Math.round(usd * NANOS_PER_USD);

export const nanosToUsd = (nanos: number): number => nanos / NANOS_PER_USD;

export const currentUsage = (record: UsageRecord, windows: Windows): CurrentUsage => {
  const thisMinute = record.minute === windows.minute;
  return {
    requests: thisMinute ? record.requests : 0,
    tokens: thisMinute ? record.tokens : 0,
    spentNanos: {
      "1d": record.day === windows.day ? record.dayNanos : 0,
      "1w": record.week === windows.week ? record.weekNanos : 0,
      "1M": record.month === windows.month ? record.monthNanos : 0,
      total: record.totalNanos,
    },
  };
};

/** What a store is asked when a request arrives. */
export interface AdmitRequest {
  readonly keyId: string;
  /**
   * For keys made through the admin API: the revision this instance holds.
   * The store answers `stale` when the stored key is gone or was changed, so a
   * key revoked on one instance is refused by every other at once.
   */
  readonly revision?: string;
  readonly windows: Windows;
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly budget?: { readonly period: BudgetPeriod; readonly maxNanos: number };
}

export type Refusal = "requests" | "tokens" | "budget";

export type Admission =
  /** Counted; `usage` includes this request. */
  | { readonly outcome: "admitted"; readonly usage: CurrentUsage }
  /** Refused and not counted. */
  | { readonly outcome: Refusal; readonly usage: CurrentUsage }
  | { readonly outcome: "stale" };

/** What a store is told when a request ends. */
export interface SettleRequest {
  readonly keyId: string;
  readonly windows: Windows;
  readonly tokens: number;
  readonly nanos: number;
  /**
   * Requests to count now rather than at admission: a key without limits is
   * admitted without touching the store, and its request is counted here.
   */
  readonly requests?: number;
}

/**
 * The admission rule. The budget comes first: a key out of money gets 402
 * rather than a 429 that suggests waiting a minute would help.
 */
export const refusalFor = (usage: CurrentUsage, request: AdmitRequest): Refusal | undefined => {
  // "Not under" rather than "at or over", so a NaN count refuses instead of admitting forever.
  const under = (used: number, limit: number) => used < limit;
  if (request.budget && !under(usage.spentNanos[request.budget.period], request.budget.maxNanos)) return "budget";
  if (request.requestsPerMinute !== undefined && !under(usage.requests, request.requestsPerMinute)) return "requests";
  if (request.tokensPerMinute !== undefined && !under(usage.tokens, request.tokensPerMinute)) return "tokens";
  return undefined;
};

/** Rolls every counter to the current windows (past windows become zero). */
const rolled = (record: UsageRecord, windows: Windows): UsageRecord => {
  const usage = currentUsage(record, windows);
  return {
    minute: windows.minute,
    requests: usage.requests,
    tokens: usage.tokens,
    day: windows.day,
    dayNanos: usage.spentNanos["1d"],
    week: windows.week,
    weekNanos: usage.spentNanos["1w"],
    month: windows.month,
    monthNanos: usage.spentNanos["1M"],
    totalNanos: record.totalNanos,
  };
};

/** The decision and, when admitted, the record to write back. */
export const admitInto = (
  record: UsageRecord,
  request: AdmitRequest,
): { readonly admission: Admission; readonly next?: UsageRecord } => {
  const usage = currentUsage(record, request.windows);
  const refusal = refusalFor(usage, request);
  if (refusal) return { admission: { outcome: refusal, usage } };
  const next = { ...rolled(record, request.windows), requests: usage.requests + 1 };
  return { admission: { outcome: "admitted", usage: { ...usage, requests: next.requests } }, next };
};

/**
 * A settlement whose amounts are all finite numbers: a NaN or infinite one
 * (a provider's odd usage, a price bug) becomes 0, and `clamped` names it so
 * the store can log it. One NaN added to a stored total would make it NaN for
 * good; Redis refuses the whole script instead.
 */
export const finiteSettlement = (
  request: SettleRequest,
): { readonly request: SettleRequest; readonly clamped: ReadonlyArray<string> } => {
  const clamped: string[] = [];
  const finite = (field: string, value: number) => {
    if (Number.isFinite(value)) return value;
    clamped.push(`${field}=${value}`);
    return 0;
  };
  const tokens = finite("tokens", request.tokens);
  const nanos = finite("nanos", request.nanos);
  const requests = request.requests === undefined ? undefined : finite("requests", request.requests);
  if (clamped.length === 0) return { request, clamped };
  return { request: { ...request, tokens, nanos, ...(requests !== undefined ? { requests } : {}) }, clamped };
};

/** Where a store reports what it would not store; given no secret (a key's id at most). */
export type Warn = (message: string, fields: Record<string, unknown>) => void;

/** `finiteSettlement`, with a warning when it clamped anything. */
export const storable = (request: SettleRequest, warn: Warn): SettleRequest => {
  const finite = finiteSettlement(request);
  if (finite.clamped.length > 0) {
    warn("usage amount was not a finite number; it was recorded as 0", {
      virtual_key_id: request.keyId,
      clamped: finite.clamped,
    });
  }
  return finite.request;
};

export const settleInto = (record: UsageRecord, request: SettleRequest): UsageRecord => {
  const base = rolled(record, request.windows);
  return {
    ...base,
    requests: base.requests + (request.requests ?? 0),
    tokens: base.tokens + request.tokens,
    dayNanos: base.dayNanos + request.nanos,
    weekNanos: base.weekNanos + request.nanos,
    monthNanos: base.monthNanos + request.nanos,
    totalNanos: base.totalNanos + request.nanos,
  };
};
