/**
 * The dashboard's data, as admin endpoints that scripts can read too (JSON,
 * behind the admin key like `/admin/keys`):
 *
 * - `GET /admin/requests?limit=N`: the newest chat requests, newest first, from
 *   the in-memory table (`observability/recent_requests.ts`);
 * - `GET /admin/usage`: every virtual key's usage in its current windows and
 *   budget periods, from the store;
 * - `GET /admin/stats?window=1h`: per-minute counts, error rate, latency and
 *   time to first token, per provider and per key
 *   (`observability/minute_stats.ts`), open streams, failures by reason, and
 *   provider keys in cool-down.
 *
 * Shapes are in docs/dashboard.md.
 */
import * as Clock from "effect/Clock";
import * as Effect from "effect/Effect";
import { type KeyEntry, KeyRegistry } from "../auth/KeyRegistry.ts";
import { periodBounds, windowsAt } from "../auth/periods.ts";
import { storeUnavailable } from "../auth/errors.ts";
import { type CurrentUsage, nanosToUsd, usdToNanos } from "../auth/usage_record.ts";
import { UsageStore } from "../auth/UsageStore.ts";
import { Settings } from "../config/Settings.ts";
import type { Route } from "../core/route.ts";
import { badRequest } from "../errors/GatewayError.ts";
import { BUCKET_MS, BUCKETS, type MinuteStats } from "../observability/minute_stats.ts";
import type { RecentRequests } from "../observability/recent_requests.ts";
import { Router } from "../routing/Router.ts";
import type { AdminGuard } from "./guard.ts";

export interface DashboardData {
  readonly guard: AdminGuard;
  readonly recent: RecentRequests;
  readonly stats: MinuteStats;
  /** SSE streams open right now. */
  readonly openStreams: () => number;
  readonly logContent: boolean;
}

const noStore = { "cache-control": "no-store" };

// ===== GET /admin/requests =====

const DEFAULT_LIMIT = 100;

const limitOf = (url: URL, max: number) => {
  const raw = url.searchParams.get("limit");
  if (raw === null) return Effect.succeed(Math.min(DEFAULT_LIMIT, max));
  const limit = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  return limit >= 1 && limit <= max ? Effect.succeed(limit) : Effect.fail(
    badRequest(`limit must be a whole number from 1 to ${max}.`, { param: "limit", code: "invalid_limit" }),
  );
};

// ===== GET /admin/usage =====

const keyUsage = (entry: KeyEntry, usage: CurrentUsage, now: number) => {
  const windows = windowsAt(now);
  const budget = entry.budget;
  const bounds = budget ? periodBounds(budget.period, now) : undefined;
  const spent = budget ? usage.spentNanos[budget.period] : 0;
  return {
    id: entry.id,
    object: "key_usage",
    source: entry.source,
    active: entry.active,
    expires_at: entry.expiresAt !== undefined ? new Date(entry.expiresAt).toISOString() : null,
    limits: {
      requests_per_minute: entry.rateLimit?.requestsPerMinute ?? null,
      tokens_per_minute: entry.rateLimit?.tokensPerMinute ?? null,
    },
    minute: {
      start: new Date(windows.minute).toISOString(),
      requests: usage.requests,
      tokens: usage.tokens,
    },
    spend_usd: {
      day: nanosToUsd(usage.spentNanos["1d"]),
      week: nanosToUsd(usage.spentNanos["1w"]),
      month: nanosToUsd(usage.spentNanos["1M"]),
      total: nanosToUsd(usage.spentNanos.total),
    },
    budget: budget
      ? {
        period: budget.period,
        start: bounds ? new Date(bounds.start).toISOString() : null,
        end: bounds ? new Date(bounds.end).toISOString() : null,
        max_usd: budget.maxUsd,
        spent_usd: nanosToUsd(spent),
        remaining_usd: nanosToUsd(Math.max(0, usdToNanos(budget.maxUsd) - spent)),
      }
      : null,
  };
};

// ===== GET /admin/stats =====

/** `5m`, `15m`, `1h`: whole minutes from 1 to the hour the stats keep. */
const windowOf = (url: URL) => {
  const raw = url.searchParams.get("window") ?? "1h";
  const match = /^(\d{1,3})(m|h)$/.exec(raw);
  const minutes = match ? Number(match[1]) * (match[2] === "h" ? 60 : 1) : NaN;
  return minutes >= 1 && minutes <= BUCKETS ? Effect.succeed({ label: raw, minutes }) : Effect.fail(
    badRequest(`window must be minutes or hours up to 1h, such as 5m, 15m or 1h.`, {
      param: "window",
      code: "invalid_window",
    }),
  );
};

// ===== Routes =====

export const dashboardRoutes = (
  data: DashboardData,
): ReadonlyArray<readonly [string, Route<KeyRegistry | UsageStore | Settings | Router>]> => {
  const { guard, recent, stats } = data;

  const requests: Route<never> = {
    methods: {
      GET: Effect.fnUntraced(function* (request: Request) {
        yield* guard(request);
        const limit = yield* limitOf(new URL(request.url), recent.capacity);
        return Response.json(
          { object: "list", data: recent.list(limit), capacity: recent.capacity, log_content: data.logContent },
          { headers: noStore },
        );
      }),
    },
  };

  const usage: Route<KeyRegistry | UsageStore> = {
    methods: {
      GET: Effect.fnUntraced(function* (request: Request) {
        yield* guard(request);
        const registry = yield* KeyRegistry;
        const store = yield* UsageStore;
        // effect's Clock, as `Auth` reads it, so usage is read in the same windows.
        const now = yield* Clock.currentTimeMillis;
        const entries = yield* registry.list();
        const data = yield* Effect.forEach(
          entries,
          (entry) =>
            store.usage(entry.id, windowsAt(now)).pipe(
              Effect.mapError(() => storeUnavailable()),
              Effect.map((usage) => keyUsage(entry, usage, now)),
            ),
          { concurrency: 8 },
        );
        return Response.json({ object: "list", time: new Date(now).toISOString(), data }, { headers: noStore });
      }),
    },
  };

  const statsRoute: Route<Settings | Router> = {
    methods: {
      GET: Effect.fnUntraced(function* (request: Request) {
        yield* guard(request);
        const window = yield* windowOf(new URL(request.url));
        const settings = yield* Settings;
        const router = yield* Router;
        const now = yield* Clock.currentTimeMillis;
        const view = stats.view(window.minutes, Object.keys(settings.providers));
        const cooling = router.coolingKeys?.(now) ?? [];
        const start = (Math.floor(now / BUCKET_MS) - window.minutes + 1) * BUCKET_MS;
        return Response.json({
          object: "stats",
          window: window.label,
          bucket_seconds: BUCKET_MS / 1000,
          start: new Date(start).toISOString(),
          time: new Date(now).toISOString(),
          open_streams: data.openStreams(),
          buckets: view.buckets,
          totals: view.totals,
          providers: view.providers.map((provider) => ({
            ...provider,
            cooling_keys: cooling.filter((key) => key.provider === provider.provider).map((key) => ({
              key_id: key.keyId,
              until: new Date(key.until).toISOString(),
            })),
          })),
          keys: view.keys,
        }, { headers: noStore });
      }),
    },
  };

  return [["/admin/requests", requests], ["/admin/usage", usage], ["/admin/stats", statsRoute]];
};
