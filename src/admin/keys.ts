/**
 * The admin API for virtual keys, on when the config has an `admin_key`:
 *
 * - `GET /admin/keys`: every key with its limits, source and current usage;
 * - `POST /admin/keys`: creates a key and answers 201 with its value, shown this once;
 * - `GET|PATCH|DELETE /admin/keys/{id}`: one key; config keys are read-only (409).
 *
 * Every call needs `Authorization: Bearer <admin_key>`. Key values never
 * appear in an answer except the one that creates them.
 */
import * as Clock from "effect/Clock";
import * as Effect from "effect/Effect";
import type * as Redacted from "effect/Redacted";
import * as Schema from "effect/Schema";
import * as SchemaIssue from "effect/SchemaIssue";
import { type KeyEntry, KeyRegistry } from "../auth/KeyRegistry.ts";
import { periodBounds, windowsAt } from "../auth/periods.ts";
import { storeUnavailable } from "../auth/errors.ts";
import { type CurrentUsage, nanosToUsd, usdToNanos } from "../auth/usage_record.ts";
import { UsageStore } from "../auth/UsageStore.ts";
import { Budget, RateLimit } from "../config/schema.ts";
import { badRequest, type GatewayError, methodNotAllowed, notFound } from "../errors/GatewayError.ts";
import { readJsonBody } from "../http/body.ts";
import type { Route } from "../core/route.ts";
import { adminGuard } from "./guard.ts";

export interface AdminOptions {
  readonly adminKey: Redacted.Redacted<string>;
}

const COLLECTION = "/admin/keys";
const MAX_BODY_BYTES = 64 * 1024;

// ===== Request bodies =====

const KeyId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: "an id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
  }),
);
const Models = Schema.Array(Schema.String.check(Schema.isMinLength(1))).check(
  Schema.isMinLength(1, { message: "at least one model pattern is required" }),
);
const DateTime = Schema.String.check(
  Schema.makeFilter((s: string) => !Number.isNaN(Date.parse(s)) || "not a date-time (ISO 8601)"),
);

const CreateBody = Schema.Struct({
  id: Schema.optionalKey(KeyId),
  models: Models,
  rate_limit: Schema.optionalKey(RateLimit),
  budget: Schema.optionalKey(Budget),
  expires_at: Schema.optionalKey(DateTime),
});

const PatchBody = Schema.Struct({
  active: Schema.optionalKey(Schema.Boolean),
  models: Schema.optionalKey(Models),
  rate_limit: Schema.optionalKey(Schema.NullOr(RateLimit)),
  budget: Schema.optionalKey(Schema.NullOr(Budget)),
  expires_at: Schema.optionalKey(Schema.NullOr(DateTime)),
});

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1();

const pathText = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string =>
  (path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)
    .map((key) => typeof key === "number" ? `[${key}]` : `.${String(key)}`).join("").replace(/^\./, "") || "(body)";

/** Decodes a body strictly: unknown fields (a `value`, say) are refused, every problem named by path. */
const decodeBody = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  raw: unknown,
): Effect.Effect<S["Type"], GatewayError> => {
  const decoded = Schema.decodeUnknownExit(schema)(raw, { errors: "all", onExcessProperty: "error" });
  if (decoded._tag === "Success") return Effect.succeed(decoded.value);
  const failure = decoded.cause.reasons.find((reason) => reason._tag === "Fail");
  const problems = failure && failure._tag === "Fail"
    ? formatIssues((failure.error as Schema.SchemaError).issue).issues.map((i) => `${pathText(i.path)}: ${i.message}`)
    : ["the body could not be read"];
  return Effect.fail(badRequest(`Invalid request body: ${problems.join("; ")}.`, { code: "invalid_body" }));
};

/**
 * A key made already expired could never be used, and a date typed a year off would pass unseen:
 * a past `expires_at` is refused, by effect's `Clock` as `Auth` judges expiry.
 */
const refusePastExpiry = (expiresAt: string | null | undefined): Effect.Effect<void, GatewayError> =>
  expiresAt == null
    ? Effect.void
    : Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Date.parse(expiresAt) > now ? Effect.void : Effect.fail(
        badRequest(
          `Invalid request body: expires_at: ${expiresAt} is in the past; give a future date-time, or none for a key that does not expire.`,
          { param: "expires_at", code: "invalid_body" },
        ),
      ));

// ===== Answers =====

const usageView = (entry: KeyEntry, usage: CurrentUsage, now: number) => {
  const period = entry.budget?.period ?? "total";
  const spent = usage.spentNanos[period];
  const bounds = periodBounds(period, now);
  return {
    requests_this_minute: usage.requests,
    tokens_this_minute: usage.tokens,
    period,
    period_start: bounds ? new Date(bounds.start).toISOString() : null,
    period_end: bounds ? new Date(bounds.end).toISOString() : null,
    spent_usd: nanosToUsd(spent),
    remaining_usd: entry.budget ? nanosToUsd(Math.max(0, usdToNanos(entry.budget.maxUsd) - spent)) : null,
  };
};

const keyView = (entry: KeyEntry, usage: CurrentUsage | undefined, now: number) => ({
  id: entry.id,
  object: "virtual_key",
  source: entry.source,
  models: entry.models,
  active: entry.active,
  expires_at: entry.expiresAt !== undefined ? new Date(entry.expiresAt).toISOString() : null,
  rate_limit: entry.rateLimit
    ? {
      requests_per_minute: entry.rateLimit.requestsPerMinute ?? null,
      tokens_per_minute: entry.rateLimit.tokensPerMinute ?? null,
    }
    : null,
  budget: entry.budget ? { max_usd: entry.budget.maxUsd, period: entry.budget.period } : null,
  created_at: entry.createdAt ?? null,
  ...(usage ? { usage: usageView(entry, usage, now) } : {}),
});

// ===== Routes =====

export const adminRoutes = (
  options: AdminOptions,
): ReadonlyArray<readonly [string, Route<KeyRegistry | UsageStore>]> => {
  const authorize = adminGuard(options.adminKey);

  const withUsage = Effect.fnUntraced(function* (entry: KeyEntry) {
    const store = yield* UsageStore;
    // effect's Clock, as `Auth` reads it, so usage is read in the same windows.
    const now = yield* Clock.currentTimeMillis;
    const usage = yield* store.usage(entry.id, windowsAt(now)).pipe(Effect.mapError(() => storeUnavailable()));
    return keyView(entry, usage, now);
  });

  const list = Effect.fnUntraced(function* () {
    const registry = yield* KeyRegistry;
    const entries = yield* registry.list();
    const data = yield* Effect.forEach(entries, withUsage, { concurrency: 8 });
    return Response.json({ object: "list", data });
  });

  const create = Effect.fnUntraced(function* (request: Request) {
    const registry = yield* KeyRegistry;
    const body = yield* decodeBody(CreateBody, yield* readJsonBody(request, MAX_BODY_BYTES));
    yield* refusePastExpiry(body.expires_at);
    const { entry, value } = yield* registry.create(body);
    const view = yield* withUsage(entry);
    return Response.json({ ...view, value }, { status: 201, headers: { "cache-control": "no-store" } });
  });

  const findOne = Effect.fnUntraced(function* (id: string) {
    const registry = yield* KeyRegistry;
    const entry = (yield* registry.list()).find((key) => key.id === id);
    if (!entry) return yield* Effect.fail(notFound(`No virtual key with id '${id}'.`));
    return Response.json(yield* withUsage(entry));
  });

  const update = Effect.fnUntraced(function* (id: string, request: Request) {
    const registry = yield* KeyRegistry;
    const patch = yield* decodeBody(PatchBody, yield* readJsonBody(request, MAX_BODY_BYTES));
    yield* refusePastExpiry(patch.expires_at);
    const entry = yield* registry.update(id, patch);
    return Response.json(yield* withUsage(entry));
  });

  const remove = Effect.fnUntraced(function* (id: string) {
    const registry = yield* KeyRegistry;
    yield* registry.remove(id);
    return new Response(null, { status: 204 });
  });

  const handle = Effect.fnUntraced(function* (request: Request) {
    yield* authorize(request);
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    const method = request.method === "HEAD" ? "GET" : request.method;
    if (path === COLLECTION) {
      if (method === "GET") return yield* list();
      if (method === "POST") return yield* create(request);
      return yield* Effect.fail(methodNotAllowed(request.method, path, ["GET", "POST"]));
    }
    let id: string;
    try {
      id = decodeURIComponent(path.slice(COLLECTION.length + 1));
    } catch {
      return yield* Effect.fail(notFound(`No virtual key at ${path}.`));
    }
    if (id.includes("/")) return yield* Effect.fail(notFound(`No route for ${request.method} ${path}.`));
    if (method === "GET") return yield* findOne(id);
    if (method === "PATCH") return yield* update(id, request);
    if (method === "DELETE") return yield* remove(id);
    return yield* Effect.fail(methodNotAllowed(request.method, path, ["GET", "PATCH", "DELETE"]));
  });

  return [[COLLECTION, { prefix: true, methods: { GET: handle, POST: handle, PATCH: handle, DELETE: handle } }]];
};
