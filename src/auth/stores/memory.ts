/**
 * The memory store: usage and API keys in this process only, lost on restart.
 * Every operation is synchronous, so each is atomic by construction.
 */
import * as Effect from "effect/Effect";
import type { StoredKey, UsageStoreShape } from "../UsageStore.ts";
import {
  admitInto,
  currentUsage,
  emptyRecord,
  settleInto,
  storable,
  type UsageRecord,
  type Warn,
} from "../usage_record.ts";

export const makeMemoryStore = (warn: Warn): UsageStoreShape => {
  const usage = new Map<string, UsageRecord>();
  const keys = new Map<string, StoredKey>();
  const digests = new Map<string, string>();

  return {
    kind: "memory",
    admit: (request) =>
      Effect.sync(() => {
        if (request.revision !== undefined && keys.get(request.keyId)?.revision !== request.revision) {
          return { outcome: "stale" } as const;
        }
        const { admission, next } = admitInto(usage.get(request.keyId) ?? emptyRecord, request);
        if (next) usage.set(request.keyId, next);
        return admission;
      }),
    settle: (request) =>
      Effect.sync(() => {
        usage.set(request.keyId, settleInto(usage.get(request.keyId) ?? emptyRecord, storable(request, warn)));
      }),
    usage: (keyId, windows) => Effect.sync(() => currentUsage(usage.get(keyId) ?? emptyRecord, windows)),
    listKeys: () => Effect.sync(() => [...keys.values()]),
    getKey: (id) => Effect.sync(() => keys.get(id)),
    findKey: (digest) =>
      Effect.sync(() => {
        const id = digests.get(digest);
        return id === undefined ? undefined : keys.get(id);
      }),
    createKey: (key) =>
      Effect.sync(() => {
        if (keys.has(key.id)) return false;
        keys.set(key.id, key);
        digests.set(key.digest, key.id);
        return true;
      }),
    replaceKey: (key) =>
      Effect.sync(() => {
        const old = keys.get(key.id);
        if (!old) return false;
        digests.delete(old.digest);
        keys.set(key.id, key);
        digests.set(key.digest, key.id);
        return true;
      }),
    deleteKey: (id) =>
      Effect.sync(() => {
        const old = keys.get(id);
        if (!old) return false;
        keys.delete(id);
        digests.delete(old.digest);
        usage.delete(id);
        return true;
      }),
  };
};
