/**
 * The Deno KV store: the embedded default (a local SQLite file), and on Deno
 * Deploy the platform's replicated KV with the same code.
 *
 * Admission and settlement of one key both rewrite that key's one usage
 * record, in an `atomic()` that checks the versionstamp of what it read, so
 * exactly as many requests get through as the limit allows and no increment
 * is lost. They do not each run that read-decide-commit: this process keeps
 * one queue per key, and whatever arrives while a commit for the key is in
 * flight is folded, in arrival order, into the next one commit (admissions
 * decided one after another on the record as the earlier ones left it). One
 * operation per transaction made a burst cost the square of its size: every
 * writer retried against every other, 1,000 settlements of one key took 40-60
 * s at 100% CPU (a request of that key waited 30-40 s behind them, and some
 * settlements gave up after 500 conflicts); folded, they are two or three
 * commits. A conflict now only comes from another process writing the same
 * key, and the whole batch is decided again on the fresh record.
 *
 * Durable means committed: `settle` resolves once the commit holding it
 * succeeded, so a process killed after that loses nothing. A settlement
 * waits at most for the commit in flight plus its own (a few ms locally).
 * Closing the store first lets every queued commit finish.
 *
 * Layout: `["gateway","usage",id]` usage record, `["gateway","key",id]` API
 * key, `["gateway","digest",sha256]` its id.
 */
import * as Effect from "effect/Effect";
import { type StoredKey, StoreError, type UsageStoreShape } from "../UsageStore.ts";
import {
  type Admission,
  admitInto,
  type AdmitRequest,
  currentUsage,
  emptyRecord,
  settleInto,
  type SettleRequest,
  storable,
  type UsageRecord,
  type Warn,
} from "../usage_record.ts";

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

/** An admission or a settlement waiting for its key's next commit. */
type Queued =
  | {
    readonly kind: "admit";
    readonly request: AdmitRequest;
    readonly resolve: (admission: Admission) => void;
    readonly reject: (cause: unknown) => void;
  }
  | {
    readonly kind: "settle";
    readonly request: SettleRequest;
    readonly resolve: () => void;
    readonly reject: (cause: unknown) => void;
  };

/**
 * Applies a batch, in order, to a key's record: each admission is decided on
 * the record as the ones before it left it. `changed` is false when nothing
 * needs writing (every admission refused or stale).
 */
const fold = (record: UsageRecord, revision: string | undefined, batch: ReadonlyArray<Queued>) => {
  let changed = false;
  const admissions = batch.map((queued): Admission | undefined => {
    if (queued.kind === "settle") {
      record = settleInto(record, queued.request);
      changed = true;
      return undefined;
    }
    if (queued.request.revision !== undefined && queued.request.revision !== revision) return { outcome: "stale" };
    const { admission, next } = admitInto(record, queued.request);
    if (next) {
      record = next;
      changed = true;
    }
    return admission;
  });
  return { record, changed, admissions };
};

/**
 * The per-key queues of one open store. `admit` and `settle` resolve once the
 * commit holding them succeeded; `flushed` once nothing is queued or in flight.
 */
const keyQueues = (kv: Deno.Kv) => {
  const queues = new Map<string, Queued[]>();
  /** Keys with a drain running: it takes whatever is queued for them when its commit ends. */
  const writing = new Set<string>();
  const draining = new Set<Promise<void>>();

  /** One commit of a batch, decided again from a fresh read after a conflict. */
  const commit = (keyId: string, batch: ReadonlyArray<Queued>) =>
    retrying(async () => {
      // Only keys made through the API have a record whose revision must still match.
      const withKey = batch.some((queued) => queued.kind === "admit" && queued.request.revision !== undefined);
      const [usage, key] = withKey
        ? await kv.getMany<[UsageRecord, StoredKey]>([usageKey(keyId), keyKey(keyId)])
        : [await kv.get<UsageRecord>(usageKey(keyId)), undefined];
      const folded = fold(usage.value ?? emptyRecord, key?.value?.revision, batch);
      if (!folded.changed) return done(folded.admissions);
      const op = kv.atomic().check(usage);
      if (key) op.check(key);
      const result = await op.set(usageKey(keyId), folded.record).commit();
      return result.ok ? done(folded.admissions) : undefined;
    });

  const drain = async (keyId: string) => {
    for (;;) {
      const batch = queues.get(keyId);
      if (!batch) {
        // In the same turn as the check: whatever is queued from now on starts a new drain.
        writing.delete(keyId);
        return;
      }
      queues.delete(keyId);
      try {
        const admissions = await commit(keyId, batch);
        batch.forEach((queued, i) => queued.kind === "admit" ? queued.resolve(admissions[i]!) : queued.resolve());
      } catch (cause) {
        for (const queued of batch) queued.reject(cause);
      }
    }
  };

  const enqueue = (queued: Queued) => {
    const keyId = queued.request.keyId;
    const queue = queues.get(keyId);
    if (queue) queue.push(queued);
    else queues.set(keyId, [queued]);
    if (writing.has(keyId)) return;
    writing.add(keyId);
    const drained = drain(keyId);
    draining.add(drained);
    void drained.finally(() => draining.delete(drained));
  };

  return {
    admit: (request: AdmitRequest) =>
      new Promise<Admission>((resolve, reject) => enqueue({ kind: "admit", request, resolve, reject })),
    settle: (request: SettleRequest) =>
      new Promise<void>((resolve, reject) => enqueue({ kind: "settle", request, resolve, reject })),
    flushed: async () => {
      while (draining.size > 0) await Promise.all(draining);
    },
  };
};

export const makeKvStore = (path: string, warn: Warn) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const kv = await open(path);
        return { kv, queues: keyQueues(kv) };
      },
      catch: (cause) =>
        new StoreError({ message: `cannot open the Deno KV store at ${path}: ${(cause as Error).message}` }),
    }),
    // Queued commits finish before the file closes: each belongs to a request already answered.
    ({ kv, queues }) => Effect.promise(() => queues.flushed()).pipe(Effect.andThen(Effect.sync(() => kv.close()))),
  ).pipe(Effect.map(({ kv, queues }): UsageStoreShape => {
    const run = <A>(what: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new StoreError({ message: `Deno KV ${what} failed: ${(cause as Error)?.message}` }),
      });

    return {
      kind: "kv",
      admit: (request) => run("admit", () => queues.admit(request)),
      settle: (request) => run("settle", () => queues.settle(storable(request, warn))),
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
