/**
 * Every virtual key the gateway knows: the config file's (read-only) and the
 * admin API's (kept in the `UsageStore`, so they survive restarts and are
 * shared by every instance on the same store).
 *
 * Only SHA-256 digests of values are held. API keys are read from the store
 * the first time their digest is presented and cached; admission checks the
 * cached revision against the store in the same atomic step that counts the
 * request, so a key changed or deleted on another instance is re-read (or
 * refused) at once.
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Redacted from "effect/Redacted";
import { Settings } from "../config/Settings.ts";
import { type GatewayError, notFound } from "../errors/GatewayError.ts";
import { conflict, storeUnavailable } from "./errors.ts";
import { newKeyValue, sha256Hex } from "./keys.ts";
import type { BudgetPeriod } from "./periods.ts";
import { type StoredKey, UsageStore } from "./UsageStore.ts";

export interface KeyEntry {
  readonly id: string;
  /** Hex SHA-256 of the value. */
  readonly digest: string;
  readonly models: ReadonlyArray<string>;
  readonly active: boolean;
  /** ms since the epoch. */
  readonly expiresAt?: number;
  readonly rateLimit?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number };
  readonly budget?: { readonly maxUsd: number; readonly period: BudgetPeriod };
  readonly source: "config" | "api";
  /** API keys only: the stored revision this entry was read at. */
  readonly revision?: string;
  readonly createdAt?: string;
}

/** The admin API's input for a new key (already validated). */
export interface NewKey {
  readonly id?: string;
  readonly models: ReadonlyArray<string>;
  readonly expires_at?: string;
  readonly rate_limit?: StoredKey["rate_limit"];
  readonly budget?: StoredKey["budget"];
}

/** The admin API's changes to a key (already validated); `null` removes a setting. */
export interface KeyPatch {
  readonly active?: boolean;
  readonly models?: ReadonlyArray<string>;
  readonly expires_at?: string | null;
  readonly rate_limit?: StoredKey["rate_limit"] | null;
  readonly budget?: StoredKey["budget"] | null;
}

export interface KeyRegistryShape {
  /** The key whose value hashes to `digest`, reading the store when it is not cached. */
  readonly find: (digest: string) => Effect.Effect<KeyEntry | undefined, GatewayError>;
  /** The cached key with this id (no I/O). */
  readonly cached: (id: string) => KeyEntry | undefined;
  /** The cached key whose value hashes to `digest` (no I/O): `find` without the effect, for the hot path. */
  readonly cachedByDigest: (digest: string) => KeyEntry | undefined;
  /** Re-reads an API key from the store after admission found it changed; `undefined` when it is gone. */
  readonly reload: (id: string) => Effect.Effect<KeyEntry | undefined, GatewayError>;
  /** Every key, API keys read fresh from the store. */
  readonly list: () => Effect.Effect<ReadonlyArray<KeyEntry>, GatewayError>;
  readonly create: (input: NewKey) => Effect.Effect<{ readonly entry: KeyEntry; readonly value: string }, GatewayError>;
  readonly update: (id: string, patch: KeyPatch) => Effect.Effect<KeyEntry, GatewayError>;
  readonly remove: (id: string) => Effect.Effect<void, GatewayError>;
}

export class KeyRegistry extends Context.Service<KeyRegistry, KeyRegistryShape>()("gateway/KeyRegistry") {}

const fromStored = (key: StoredKey): KeyEntry => ({
  id: key.id,
  digest: key.digest,
  models: key.models,
  active: key.active,
  ...(key.expires_at !== undefined ? { expiresAt: Date.parse(key.expires_at) } : {}),
  ...(key.rate_limit
    ? {
      rateLimit: {
        ...(key.rate_limit.requests_per_minute !== undefined
          ? { requestsPerMinute: key.rate_limit.requests_per_minute }
          : {}),
        ...(key.rate_limit.tokens_per_minute !== undefined
          ? { tokensPerMinute: key.rate_limit.tokens_per_minute }
          : {}),
      },
    }
    : {}),
  ...(key.budget ? { budget: { maxUsd: key.budget.max_usd, period: key.budget.period } } : {}),
  source: "api",
  revision: key.revision,
  createdAt: key.created_at,
});

const newRevision = () => crypto.randomUUID();

export const make = Effect.gen(function* () {
  const config = yield* Settings;
  const store = yield* UsageStore;
  const fromConfig = new Map<string, KeyEntry>(config.virtualKeys.map((vk) => [vk.id, {
    id: vk.id,
    digest: sha256Hex(Redacted.value(vk.value)),
    models: vk.models,
    active: vk.active,
    ...(vk.expiresAt !== undefined ? { expiresAt: Date.parse(vk.expiresAt) } : {}),
    ...(vk.rateLimit ? { rateLimit: vk.rateLimit } : {}),
    ...(vk.budget ? { budget: vk.budget } : {}),
    source: "config",
  }]));
  // Lookups are by digest: a map read on a SHA-256 reveals nothing usable about a value through timing.
  const byDigest = new Map<string, KeyEntry>([...fromConfig.values()].map((entry) => [entry.digest, entry]));
  const byId = new Map<string, KeyEntry>(fromConfig);

  const forget = (id: string) => {
    const old = byId.get(id);
    if (!old || old.source === "config") return;
    byId.delete(id);
    byDigest.delete(old.digest);
  };
  const remember = (key: StoredKey): KeyEntry | undefined => {
    // A config key keeps its id: an API key of the same id (made before the config named it) is ignored.
    if (fromConfig.has(key.id)) return undefined;
    forget(key.id);
    const entry = fromStored(key);
    byId.set(entry.id, entry);
    byDigest.set(entry.digest, entry);
    return entry;
  };
  const io = <A>(effect: Effect.Effect<A, unknown>) => effect.pipe(Effect.mapError(() => storeUnavailable()));

  const readOnly = (id: string) =>
    conflict(`Virtual key '${id}' comes from the config file and cannot be changed through the API.`);
  const unknown = (id: string) => notFound(`No virtual key with id '${id}'.`);

  const shape: KeyRegistryShape = {
    find: (digest) => {
      const hit = byDigest.get(digest);
      if (hit) return Effect.succeed(hit);
      return io(store.findKey(digest)).pipe(
        Effect.map((key) => key && key.digest === digest ? remember(key) : undefined),
      );
    },
    cached: (id) => byId.get(id),
    cachedByDigest: (digest) => byDigest.get(digest),
    reload: (id) =>
      io(store.getKey(id)).pipe(Effect.map((key) => {
        if (!key) {
          forget(id);
          return undefined;
        }
        return remember(key);
      })),
    list: () =>
      io(store.listKeys()).pipe(Effect.map((keys) => [
        ...fromConfig.values(),
        ...keys.filter((key) => !fromConfig.has(key.id)).map(fromStored).sort((a, b) => a.id.localeCompare(b.id)),
      ])),
    create: Effect.fnUntraced(function* (input) {
      const id = input.id ?? `key-${crypto.randomUUID().slice(0, 8)}`;
      if (fromConfig.has(id)) return yield* Effect.fail(conflict(`A virtual key with id '${id}' already exists.`));
      const value = newKeyValue();
      const key: StoredKey = {
        id,
        digest: sha256Hex(value),
        models: input.models,
        active: true,
        ...(input.expires_at !== undefined ? { expires_at: input.expires_at } : {}),
        ...(input.rate_limit !== undefined ? { rate_limit: input.rate_limit } : {}),
        ...(input.budget !== undefined ? { budget: input.budget } : {}),
        created_at: new Date().toISOString(),
        revision: newRevision(),
      };
      const created = yield* io(store.createKey(key));
      if (!created) return yield* Effect.fail(conflict(`A virtual key with id '${id}' already exists.`));
      return { entry: remember(key) ?? fromStored(key), value };
    }),
    update: Effect.fnUntraced(function* (id, patch) {
      if (fromConfig.has(id)) return yield* Effect.fail(readOnly(id));
      const old = yield* io(store.getKey(id));
      if (!old) return yield* Effect.fail(unknown(id));
      const { expires_at: _e, rate_limit: _r, budget: _b, ...kept } = old;
      const expiresAt = patch.expires_at === undefined ? old.expires_at : patch.expires_at ?? undefined;
      const rateLimit = patch.rate_limit === undefined ? old.rate_limit : patch.rate_limit ?? undefined;
      const budget = patch.budget === undefined ? old.budget : patch.budget ?? undefined;
      const key: StoredKey = {
        ...kept,
        ...(patch.active !== undefined ? { active: patch.active } : {}),
        ...(patch.models !== undefined ? { models: patch.models } : {}),
        ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
        ...(rateLimit !== undefined ? { rate_limit: rateLimit } : {}),
        ...(budget !== undefined ? { budget } : {}),
        revision: newRevision(),
      };
      const replaced = yield* io(store.replaceKey(key));
      if (!replaced) return yield* Effect.fail(unknown(id));
      return remember(key) ?? fromStored(key);
    }),
    remove: Effect.fnUntraced(function* (id) {
      if (fromConfig.has(id)) return yield* Effect.fail(readOnly(id));
      const removed = yield* io(store.deleteKey(id));
      forget(id);
      if (!removed) return yield* Effect.fail(unknown(id));
    }),
  };
  return shape;
});

export const layer = Layer.effect(KeyRegistry, make);
