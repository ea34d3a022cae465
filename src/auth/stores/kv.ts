/**
 * The Deno KV store: the embedded default (a local SQLite file), and on Deno
 * Deploy the platform's replicated KV with the same code.
 *
 * Admission reads the key's usage record (and, for API keys, the key record)
 * and commits the new count in an `atomic()` that checks both versionstamps;
 * a concurrent writer makes the commit fail and the read-decide-commit runs
 * again, so exactly as many requests get through as the limit allows and no
 * increment is lost.
 *
 * Layout: `["gateway","usage",id]` usage record, `["gateway","key",id]` API
 * key, `["gateway","digest",sha256]` its id.
 */
import { Effect } from "effect";
import { type StoredKey, StoreError, type UsageStoreShape } from "../UsageStore.ts";
import { admitInto, currentUsage, emptyRecord, settleInto, type UsageRecord } from "../usage_record.ts";

const usageKey = (id: string): Deno.KvKey => ["gateway", "usage", id];
const keyKey = (id: string): Deno.KvKey => ["gateway", "key", id];
const digestKey = (digest: string): Deno.KvKey => ["gateway", "digest", digest];

/** Optimistic transactions give up after this many conflicts in a row (never seen in practice). */
const MAX_ATTEMPTS = 500;

const onDenoDeploy = (): boolean => {
  try {
    return Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined;
  } catch {
    return false;
  }
};

const open = async (path: string): Promise<Deno.Kv> => {
  if (onDenoDeploy()) return await Deno.openKv();
  const slash = path.lastIndexOf("/");
  if (path !== ":memory:" && slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  return await Deno.openKv(path);
};

/** After a conflict, wait a little (growing, jittered) so a crowd of writers does not collide again at once. */
const backoff = (attempt: number) =>
  attempt === 0
    ? Promise.resolve()
    : new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 8)));

/** Runs `step` until its commit succeeds; `step` returns `undefined` when it committed nothing because of a conflict. */
const retrying = async <A>(step: () => Promise<{ readonly done: true; readonly value: A } | undefined>): Promise<A> => {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await backoff(attempt);
    const result = await step();
    if (result) return result.value;
  }
  throw new Error("too many write conflicts");
};

const done = <A>(value: A) => ({ done: true as const, value });

export const makeKvStore = (path: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => open(path),
      catch: (cause) =>
        new StoreError({ message: `cannot open the Deno KV store at ${path}: ${(cause as Error).message}` }),
    }),
    (kv) => Effect.sync(() => kv.close()),
  ).pipe(Effect.map((kv): UsageStoreShape => {
    const run = <A>(what: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new StoreError({ message: `Deno KV ${what} failed: ${(cause as Error)?.message}` }),
      });

    return {
      kind: "kv",
      admit: (request) =>
        run("admit", () =>
          retrying(async () => {
            // Only keys made through the API have a record whose revision must still match.
            const [usage, key] = request.revision === undefined
              ? [await kv.get<UsageRecord>(usageKey(request.keyId))]
              : await kv.getMany<[UsageRecord, StoredKey]>([usageKey(request.keyId), keyKey(request.keyId)]);
            if (key && key.value?.revision !== request.revision) return done({ outcome: "stale" } as const);
            const { admission, next } = admitInto(usage.value ?? emptyRecord, request);
            if (!next) return done(admission);
            const op = kv.atomic().check(usage);
            if (key) op.check(key);
            const commit = await op.set(usageKey(request.keyId), next).commit();
            return commit.ok ? done(admission) : undefined;
          })),
      settle: (request) =>
        run("settle", () =>
          retrying(async () => {
            const usage = await kv.get<UsageRecord>(usageKey(request.keyId));
            const next = settleInto(usage.value ?? emptyRecord, request);
            const commit = await kv.atomic().check(usage).set(usageKey(request.keyId), next).commit();
            return commit.ok ? done(undefined) : undefined;
          })),
      usage: (keyId, windows) =>
        run(
          "read",
          async () => currentUsage((await kv.get<UsageRecord>(usageKey(keyId))).value ?? emptyRecord, windows),
        ),
      listKeys: () =>
        run("list", async () => {
          const keys: StoredKey[] = [];
          for await (const entry of kv.list<StoredKey>({ prefix: ["gateway", "key"] })) keys.push(entry.value);
          return keys;
        }),
      getKey: (id) => run("read", async () => (await kv.get<StoredKey>(keyKey(id))).value ?? undefined),
      findKey: (digest) =>
        run("read", async () => {
          const id = (await kv.get<string>(digestKey(digest))).value;
          return id === null ? undefined : (await kv.get<StoredKey>(keyKey(id))).value ?? undefined;
        }),
      createKey: (key) =>
        run("write", async () => {
          const commit = await kv.atomic()
            .check({ key: keyKey(key.id), versionstamp: null })
            .check({ key: digestKey(key.digest), versionstamp: null })
            .set(keyKey(key.id), key)
            .set(digestKey(key.digest), key.id)
            // A key made with an id used before starts from zero.
            .delete(usageKey(key.id))
            .commit();
          return commit.ok;
        }),
      replaceKey: (key) =>
        run("write", () =>
          retrying(async () => {
            const old = await kv.get<StoredKey>(keyKey(key.id));
            if (old.value === null) return done(false);
            const op = kv.atomic().check(old).set(keyKey(key.id), key);
            if (old.value.digest !== key.digest) {
              op.delete(digestKey(old.value.digest)).set(digestKey(key.digest), key.id);
            }
            return (await op.commit()).ok ? done(true) : undefined;
          })),
      deleteKey: (id) =>
        run("write", () =>
          retrying(async () => {
            const old = await kv.get<StoredKey>(keyKey(id));
            if (old.value === null) return done(false);
            const commit = await kv.atomic().check(old)
              .delete(keyKey(id))
              .delete(digestKey(old.value.digest))
              .delete(usageKey(id))
              .commit();
            return commit.ok ? done(true) : undefined;
          })),
    };
  }));
