/**
 * Stage 1, auth: who is calling, may they use these models, within their
 * limits and budget, and what did it cost.
 *
 * `authenticate` looks only at headers (401 comes before any body parsing);
 * `admit` checks the decoded models (403), then asks the `UsageStore` to check
 * the key's rate limits (429) and budget (402) and count the request in one
 * atomic step; the `Grant` it returns travels with the request and is settled
 * exactly once when the request ends (served, failed or cut off), adding the
 * real tokens and cost.
 */
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Redacted from "effect/Redacted";
import { forbidden, type GatewayError, unauthorized } from "../errors/GatewayError.ts";
import type { Cost } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";
import type { ModelRef } from "../core/model.ts";
import { Settings } from "../config/Settings.ts";
import { Telemetry } from "../observability/Telemetry.ts";
import { budgetExceeded, rateLimited, storeUnavailable } from "./errors.ts";
import { type KeyEntry, KeyRegistry } from "./KeyRegistry.ts";
import { modelAllowed, presentedCredentials, sha256Hex } from "./keys.ts";
import { periodBounds, periodName, secondsToNextMinute, windowsAt } from "./periods.ts";
import { costOf, makePriceTable, tokensOf } from "./pricing.ts";
import type { AdmitRequest, CurrentUsage } from "./usage_record.ts";
import { usdToNanos } from "./usage_record.ts";
import { UsageStore } from "./UsageStore.ts";

/** What the request ended with, for accounting. */
export interface Settlement {
  /** The candidate that served the request, when one did. */
  readonly served?: ModelRef;
  readonly usage?: ResponsesUsage;
  readonly cost?: Cost;
}

/** Who is calling, established from the request headers alone. */
export interface Caller {
  /** The virtual key's id (never its value), when the caller presented one. */
  readonly virtualKeyId?: string;
  /** A non-`sk-bf-` bearer accepted as a provider key (`allow_provider_keys`). */
  readonly providerKey?: Redacted.Redacted<string>;
}

/** Permission to serve one request; settled exactly once when the request ends. */
export interface Grant {
  readonly virtualKeyId?: string;
  /**
   * A client-supplied provider key, for the provider of the request's primary model. A request that
   * carries one is served with it alone: candidates on other providers are skipped (`Router`).
   */
  readonly providerKey?: { readonly provider: string; readonly value: Redacted.Redacted<string> };
  /** Records what the request used. */
  readonly settle: (settlement: Settlement) => Effect.Effect<void>;
  /** Response headers the grant adds (rate-limit state, for example). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AuthShape {
  /** 401 unless the request carries a known, active, unexpired virtual key (or an accepted provider key). */
  readonly authenticate: (headers: Headers) => Effect.Effect<Caller, GatewayError>;
  /** 403 for a model the key may not use, 429 over a rate limit, 402 over budget; otherwise counts the request. */
  readonly admit: (caller: Caller, candidates: ReadonlyArray<ModelRef>) => Effect.Effect<Grant, GatewayError>;
  /** The USD cost of a usage at a model, when the model has a price. */
  readonly price: (ref: ModelRef, usage: ResponsesUsage) => Cost | undefined;
  /**
   * Whether the caller may use a model (the model list shows only those): a virtual key's
   * patterns judge it; a client's own provider key, which the gateway cannot check, may use any.
   */
  readonly allows: (caller: Caller, ref: ModelRef) => boolean;
}

export class Auth extends Context.Service<Auth, AuthShape>()("gateway/Auth") {}

const settleNothing = (_: Settlement) => Effect.void;

/** Why a key cannot be used now, or `undefined` when it can. */
const unusable = (entry: KeyEntry, now: number): GatewayError | undefined => {
  if (!entry.active) return unauthorized(`Virtual key '${entry.id}' is disabled.`);
  if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
    return unauthorized(`Virtual key '${entry.id}' expired at ${new Date(entry.expiresAt).toISOString()}.`);
  }
  return undefined;
};

/** OpenAI's rate-limit headers, for the limits the key has. */
const rateLimitHeaders = (entry: KeyEntry, usage: CurrentUsage, now: number): Record<string, string> => {
  const headers: Record<string, string> = {};
  const reset = `${secondsToNextMinute(now)}s`;
  const rpm = entry.rateLimit?.requestsPerMinute;
  if (rpm !== undefined) {
    headers["x-ratelimit-limit-requests"] = String(rpm);
    headers["x-ratelimit-remaining-requests"] = String(Math.max(0, rpm - usage.requests));
    headers["x-ratelimit-reset-requests"] = reset;
  }
  const tpm = entry.rateLimit?.tokensPerMinute;
  if (tpm !== undefined) {
    headers["x-ratelimit-limit-tokens"] = String(tpm);
    headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, tpm - usage.tokens));
    headers["x-ratelimit-reset-tokens"] = reset;
  }
  return headers;
};

const usd = (amount: number) => `$${Number(amount.toFixed(6))}`;

/** Virtual keys with limits and budgets, counted in the `UsageStore`. */
export const make = Effect.gen(function* () {
  const config = yield* Settings;
  const registry = yield* KeyRegistry;
  const store = yield* UsageStore;
  const telemetry = yield* Telemetry;
  // effect's Clock, read synchronously: windows and expiry cost no fiber step (tests pin it by layer).
  const effectClock = yield* Clock.Clock;
  const clock = () => effectClock.currentTimeMillisUnsafe();
  // A custom-named provider at a preset's base URL is priced as that preset (`my-groq` as `groq/...`).
  const priceOf = makePriceTable(config.pricing, { providers: config.providers });
  const unpriced = new Set<string>();

  const price = (ref: ModelRef, usage: ResponsesUsage): Cost | undefined => {
    const found = priceOf(ref);
    if (found) return costOf(found, usage);
    if (!unpriced.has(ref.label)) {
      // Model names come from clients: past a cap the set starts over, and a name may be warned about again.
      if (unpriced.size >= 1024) unpriced.clear();
      unpriced.add(ref.label);
      telemetry.log("warn", "no price for model; its requests count as 0 USD", { model: ref.label });
    }
    return undefined;
  };

  /** A refusal of an API key is confirmed against the store: it may have been changed on another instance. */
  const confirmed = (
    entry: KeyEntry,
    refusalOf: (key: KeyEntry) => GatewayError | undefined,
  ): Effect.Effect<KeyEntry, GatewayError> =>
    (entry.source === "api" ? registry.reload(entry.id) : Effect.succeed(entry)).pipe(
      Effect.flatMap((fresh) => {
        if (!fresh) return Effect.fail(unauthorized("Invalid virtual key."));
        const refusal = refusalOf(fresh);
        return refusal ? Effect.fail(refusal) : Effect.succeed(fresh);
      }),
    );

  const authenticate = (headers: Headers): Effect.Effect<Caller, GatewayError> => {
    const { virtualKey, bearer } = presentedCredentials(headers);
    // Redacted from here on: only the upstream call unwraps it, to build its auth header.
    const providerKey = config.allowProviderKeys && bearer !== undefined ? Redacted.make(bearer) : undefined;
    if (virtualKey === undefined) {
      return providerKey !== undefined ? Effect.succeed({ providerKey }) : Effect.fail(unauthorized());
    }
    const caller = (entry: KeyEntry): Caller => ({
      virtualKeyId: entry.id,
      ...(providerKey !== undefined ? { providerKey } : {}),
    });
    const digest = sha256Hex(virtualKey);
    // The common case, a cached key in use, answers without composing effects.
    const hit = registry.cachedByDigest(digest);
    if (hit && !unusable(hit, clock())) return Effect.succeed(caller(hit));
    return registry.find(digest).pipe(Effect.flatMap((entry) => {
      if (!entry) return Effect.fail(unauthorized("Invalid virtual key."));
      if (!unusable(entry, clock())) return Effect.succeed(caller(entry));
      return confirmed(entry, (fresh) => unusable(fresh, clock())).pipe(Effect.map(caller));
    }));
  };

  const deniedModel = (entry: KeyEntry, candidates: ReadonlyArray<ModelRef>): GatewayError | undefined => {
    const denied = candidates.find((ref) => !modelAllowed(entry.models, ref));
    return denied && forbidden(`Virtual key '${entry.id}' is not allowed to use model '${denied.label}'.`);
  };

  const refusal = (entry: KeyEntry, outcome: "requests" | "tokens" | "budget", usage: CurrentUsage, now: number) => {
    if (outcome === "budget") {
      const budget = entry.budget!;
      const bounds = periodBounds(budget.period, now);
      const resets = bounds ? ` It resets at ${new Date(bounds.end).toISOString()}.` : "";
      return budgetExceeded(
        `Virtual key '${entry.id}' has spent its ${periodName(budget.period)} budget of ${
          usd(budget.maxUsd)
        }.${resets}`,
      );
    }
    const retryAfter = secondsToNextMinute(now);
    const what = outcome === "requests"
      ? `${entry.rateLimit?.requestsPerMinute} requests`
      : `${entry.rateLimit?.tokensPerMinute} tokens`;
    return rateLimited(`Virtual key '${entry.id}' has used its ${what} for this minute; retry in ${retryAfter}s.`, {
      "retry-after": String(retryAfter),
      ...rateLimitHeaders(entry, usage, now),
    });
  };

  const grantFor = (
    entry: KeyEntry,
    headers: Record<string, string>,
    providerKey: Grant["providerKey"],
    counted: boolean,
  ): Grant => {
    let settled = false;
    return {
      virtualKeyId: entry.id,
      ...(providerKey ? { providerKey } : {}),
      headers,
      settle: (settlement) => {
        if (settled) return Effect.void;
        settled = true;
        const tokens = tokensOf(settlement.usage);
        const nanos = usdToNanos(settlement.cost?.total_cost ?? 0);
        if (counted && tokens === 0 && nanos === 0) return Effect.void;
        const requests = counted ? 0 : 1;
        return store.settle({ keyId: entry.id, windows: windowsAt(clock()), tokens, nanos, requests }).pipe(
          Effect.catch((error) =>
            Effect.sync(() =>
              telemetry.log("warn", "usage could not be recorded", {
                virtual_key_id: entry.id,
                tokens,
                error: error.message,
              })
            )
          ),
        );
      },
    };
  };

  // Made once (not an `Effect.gen` per call): see `http/chat_completions.ts` on generators per request.
  const admitKey: (
    entry: KeyEntry,
    candidates: ReadonlyArray<ModelRef>,
    providerKey: Grant["providerKey"],
    attempt: number,
  ) => Effect.Effect<Grant, GatewayError> = Effect.fnUntraced(function* (
    entry: KeyEntry,
    candidates: ReadonlyArray<ModelRef>,
    providerKey: Grant["providerKey"],
    attempt: number,
  ) {
    const now = clock();
    const refused = unusable(entry, now) ?? deniedModel(entry, candidates);
    if (refused) entry = yield* confirmed(entry, (key) => unusable(key, now) ?? deniedModel(key, candidates));
    // A config key without limits or budget has nothing to check: admission skips the store
    // (a local Deno KV write costs ~0.3 ms) and the request is counted when it settles.
    if (entry.source === "config" && !entry.rateLimit && !entry.budget) {
      return grantFor(entry, {}, providerKey, false);
    }
    const request: AdmitRequest = {
      keyId: entry.id,
      ...(entry.revision !== undefined ? { revision: entry.revision } : {}),
      windows: windowsAt(now),
      ...(entry.rateLimit?.requestsPerMinute !== undefined
        ? { requestsPerMinute: entry.rateLimit.requestsPerMinute }
        : {}),
      ...(entry.rateLimit?.tokensPerMinute !== undefined ? { tokensPerMinute: entry.rateLimit.tokensPerMinute } : {}),
      ...(entry.budget ? { budget: { period: entry.budget.period, maxNanos: usdToNanos(entry.budget.maxUsd) } } : {}),
    };
    const admission = yield* store.admit(request).pipe(Effect.mapError(() => storeUnavailable()));
    if (admission.outcome === "stale") {
      // Changed or deleted through another instance since this one cached it.
      const fresh = yield* registry.reload(entry.id);
      if (!fresh) return yield* Effect.fail(unauthorized("Invalid virtual key."));
      if (attempt >= 3) return yield* Effect.fail(storeUnavailable());
      return yield* admitKey(fresh, candidates, providerKey, attempt + 1);
    }
    if (admission.outcome !== "admitted") {
      return yield* Effect.fail(refusal(entry, admission.outcome, admission.usage, now));
    }
    return grantFor(entry, rateLimitHeaders(entry, admission.usage, now), providerKey, true);
  });

  const admit = (caller: Caller, candidates: ReadonlyArray<ModelRef>): Effect.Effect<Grant, GatewayError> => {
    const primary = candidates[0];
    const providerKey = caller.providerKey !== undefined && primary
      ? { provider: primary.provider, value: caller.providerKey }
      : undefined;
    if (caller.virtualKeyId === undefined) {
      // Admitted on a provider key alone: the grant must carry it, or routing would use the gateway's keys.
      if (!providerKey) return Effect.fail(unauthorized());
      return Effect.succeed({ providerKey, settle: settleNothing });
    }
    const entry = registry.cached(caller.virtualKeyId);
    if (!entry) return Effect.fail(unauthorized("Invalid virtual key."));
    // A usable config key without limits or budget has nothing to count at admission (see admitKey).
    if (entry.source === "config" && !entry.rateLimit && !entry.budget) {
      const now = clock();
      if (!unusable(entry, now) && !deniedModel(entry, candidates)) {
        return Effect.succeed(grantFor(entry, {}, providerKey, false));
      }
    }
    return admitKey(entry, candidates, providerKey, 0);
  };

  const allows = (caller: Caller, ref: ModelRef): boolean => {
    if (caller.virtualKeyId === undefined) return true;
    const entry = registry.cached(caller.virtualKeyId);
    return entry !== undefined && modelAllowed(entry.models, ref);
  };

  return { authenticate, admit, price, allows } satisfies AuthShape;
});

/** Needs `KeyRegistry`, `UsageStore` and `Telemetry`; `app.ts` composes them. */
export const layer = Layer.effect(Auth, make);
