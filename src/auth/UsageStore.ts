/**
 * Where virtual keys' usage and the keys made through the admin API live.
 *
 * One service, three layers: Deno KV (the embedded default, a local file, or
 * the platform's replicated KV on Deno Deploy), Redis (several instances on
 * several machines), and memory (tests, setups without persistence). Every
 * store admits with one atomic check-and-increment and settles with one
 * atomic update, so limits hold under concurrency and no increment is lost;
 * the Deno KV store folds the updates of one key that arrive together into
 * one commit (`stores/kv.ts`). A settlement is recorded for good when its
 * `settle` resolves. An amount that is not a finite number is stored as 0,
 * with a warning in the log.
 */
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as Redacted from "effect/Redacted";
import { defaults, type StoreConfig } from "../config/load.ts";
import { Settings } from "../config/Settings.ts";
import { Telemetry } from "../observability/Telemetry.ts";
import type { BudgetPeriod, Windows } from "./periods.ts";
import { makeKvStore } from "./stores/kv.ts";
import { makeMemoryStore } from "./stores/memory.ts";
import { makeRedisStore } from "./stores/redis.ts";
import type { Admission, AdmitRequest, CurrentUsage, SettleRequest, Warn } from "./usage_record.ts";

/** A key made through the admin API, as stored: the value itself is never kept, only its SHA-256. */
export interface StoredKey {
  readonly id: string;
  /** Hex SHA-256 of the key's value. */
  readonly digest: string;
  readonly models: ReadonlyArray<string>;
  readonly active: boolean;
  readonly expires_at?: string;
  readonly rate_limit?: { readonly requests_per_minute?: number; readonly tokens_per_minute?: number };
  readonly budget?: { readonly max_usd: number; readonly period: BudgetPeriod };
  readonly created_at: string;
  /** Random per write; admission compares it so a change on one instance is seen by all. */
  readonly revision: string;
}

/** The store could not be reached or answered nonsense. Messages carry no URL and no secret. */
export class StoreError extends Data.TaggedError("StoreError")<{ readonly message: string }> {}

export interface UsageStoreShape {
  readonly kind: "memory" | "kv" | "redis";
  /** Atomically checks the limits and, when they allow it, counts the request. */
  readonly admit: (request: AdmitRequest) => Effect.Effect<Admission, StoreError>;
  /** Atomically adds a finished request's tokens and cost; resolves once they are stored durably. */
  readonly settle: (request: SettleRequest) => Effect.Effect<void, StoreError>;
  readonly usage: (keyId: string, windows: Windows) => Effect.Effect<CurrentUsage, StoreError>;
  readonly listKeys: () => Effect.Effect<ReadonlyArray<StoredKey>, StoreError>;
  readonly getKey: (id: string) => Effect.Effect<StoredKey | undefined, StoreError>;
  readonly findKey: (digest: string) => Effect.Effect<StoredKey | undefined, StoreError>;
  /** False when a key with this id already exists. */
  readonly createKey: (key: StoredKey) => Effect.Effect<boolean, StoreError>;
  /** False when no key with this id exists. */
  readonly replaceKey: (key: StoredKey) => Effect.Effect<boolean, StoreError>;
  /** Deletes the key and its usage; false when it did not exist. */
  readonly deleteKey: (id: string) => Effect.Effect<boolean, StoreError>;
}

export class UsageStore extends Context.Service<UsageStore, UsageStoreShape>()("gateway/UsageStore") {}

/**
 * Warnings go to the gateway's log when the layer is built with `Telemetry`
 * (`app.ts` provides it); a store opened on its own writes them to stderr.
 */
const warnings = Effect.map(Effect.serviceOption(Telemetry), (telemetry): Warn =>
  Option.match(telemetry, {
    onSome: (telemetry) => (message, fields) => telemetry.log("warn", message, fields),
    onNone: () => (message, fields) => console.warn(JSON.stringify({ level: "warn", msg: message, ...fields })),
  }));

/** The store `store` names; without one, the embedded Deno KV file at `./data/gateway.kv`. */
const open = (store: StoreConfig | undefined) => {
  const chosen: StoreConfig = store ?? { kind: "kv", path: defaults.kvPath };
  return Effect.flatMap(warnings, (warn) => {
    switch (chosen.kind) {
      case "memory":
        return Effect.succeed(makeMemoryStore(warn));
      case "kv":
        return makeKvStore(chosen.path, warn);
      case "redis":
        return makeRedisStore(Redacted.value(chosen.url), warn, chosen.prefix);
    }
  });
};

/** The store the gateway's settings name. */
export const layer = Layer.effect(
  UsageStore,
  Effect.flatMap(Effect.service(Settings), (settings) => open(settings.store)),
);

/** A given store, outside a gateway (the store contract tests, tools). */
export const layerOf = (store: StoreConfig | undefined) => Layer.effect(UsageStore, open(store));
