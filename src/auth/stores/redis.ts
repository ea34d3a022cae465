/**
 * The Redis store, for several gateway instances sharing limits and budgets.
 *
 * Admission and settling are each one Lua script (one round trip, atomic on
 * the server): the same rules as `usage_record.ts`, with the window labels
 * computed by the gateway and passed in, so the script needs no date logic.
 * Money is counted in integer nano-USD with `HINCRBY`, so concurrent
 * additions are exact.
 *
 * Layout (prefix `gateway:` by default): `{id}:usage` hash, `{id}:key` API key
 * JSON, `{id}:rev` its revision, `digest:<sha256>` its id, `keys` the set of
 * API key ids. The `{id}` hash tag keeps one key's entries in one slot.
 */
import * as Effect from "effect/Effect";
import type { defineScript } from "redis";
import { type StoredKey, StoreError, type UsageStoreShape } from "../UsageStore.ts";
import { type Admission, currentUsage, storable, type UsageRecord, type Warn } from "../usage_record.ts";

/**
 * Limits compare as "not under", like `refusalFor`: a count stored as NaN by an
 * older gateway (Lua's `tonumber` reads it as nan) refuses rather than admits.
 */
const ADMIT = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'stale'} end
local h = redis.call('HMGET', KEYS[1], 'minute', 'requests', 'tokens', 'day', 'day_nanos',
  'week', 'week_nanos', 'month', 'month_nanos', 'total_nanos')
local requests, tokens = 0, 0
if h[1] == ARGV[2] then requests = tonumber(h[2]) or 0; tokens = tonumber(h[3]) or 0 end
local day = (h[4] == ARGV[3] and h[5]) or '0'
local week = (h[6] == ARGV[4] and h[7]) or '0'
local month = (h[8] == ARGV[5] and h[9]) or '0'
local total = h[10] or '0'
local outcome = 'admitted'
if ARGV[8] ~= '' then
  local spent = ({['1d'] = day, ['1w'] = week, ['1M'] = month, ['total'] = total})[ARGV[8]]
  if not ((tonumber(spent) or 0/0) < tonumber(ARGV[9])) then outcome = 'budget' end
end
if outcome == 'admitted' and ARGV[6] ~= '' and not (requests < tonumber(ARGV[6])) then outcome = 'requests' end
if outcome == 'admitted' and ARGV[7] ~= '' and not (tokens < tonumber(ARGV[7])) then outcome = 'tokens' end
if outcome == 'admitted' then
  requests = requests + 1
  redis.call('HSET', KEYS[1], 'minute', ARGV[2], 'requests', requests, 'tokens', tokens,
    'day', ARGV[3], 'day_nanos', day, 'week', ARGV[4], 'week_nanos', week, 'month', ARGV[5], 'month_nanos', month)
end
return {outcome, tostring(requests), tostring(tokens), day, week, month, total}
`;

/**
 * An integer count grows; one that is not (NaN written by an older gateway) is
 * left as it is, so it goes on refusing admission instead of making `HINCRBY`
 * fail every later settlement half-way through the script.
 */
const SETTLE = `
local h = redis.call('HMGET', KEYS[1], 'minute', 'day', 'week', 'month',
  'tokens', 'requests', 'day_nanos', 'week_nanos', 'month_nanos', 'total_nanos')
local function add(field, current, n)
  if current == false or string.match(current, '^%-?%d+$') then redis.call('HINCRBY', KEYS[1], field, n) end
end
if h[1] == ARGV[1] then
  add('tokens', h[5], ARGV[5])
  add('requests', h[6], ARGV[7])
else redis.call('HSET', KEYS[1], 'minute', ARGV[1], 'requests', ARGV[7], 'tokens', ARGV[5]) end
local periods = {{'day', 2, 7}, {'week', 3, 8}, {'month', 4, 9}}
for _, p in ipairs(periods) do
  if h[p[2]] == ARGV[p[2]] then add(p[1] .. '_nanos', h[p[3]], ARGV[6])
  else redis.call('HSET', KEYS[1], p[1], ARGV[p[2]], p[1] .. '_nanos', ARGV[6]) end
end
add('total_nanos', h[10], ARGV[6])
return 'OK'
`;

/** KEYS: key, rev, digest, ids set, usage. ARGV: json, revision, id. */
const CREATE_KEY = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('DEL', KEYS[5])
return 1
`;

/** KEYS: key, rev. ARGV: json, revision. The digest of a key never changes. */
const REPLACE_KEY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: key, rev, ids set, usage. ARGV: id, digest key prefix. */
const DELETE_KEY = `
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], ARGV[2] .. cjson.decode(old).digest)
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`;

type Parser = { pushKey(key: string): void; push(...args: string[]): void };

const scriptsWith = (define: typeof defineScript) => {
  const script = (source: string, keys: number) =>
    define({
      SCRIPT: source,
      NUMBER_OF_KEYS: keys,
      parseCommand(parser: Parser, keyNames: ReadonlyArray<string>, args: ReadonlyArray<string>) {
        for (const key of keyNames) parser.pushKey(key);
        parser.push(...args);
      },
      transformReply: (reply: unknown) => reply,
    });
  return {
    gatewayAdmit: script(ADMIT, 2),
    gatewaySettle: script(SETTLE, 1),
    gatewayCreateKey: script(CREATE_KEY, 5),
    gatewayReplaceKey: script(REPLACE_KEY, 2),
    gatewayDeleteKey: script(DELETE_KEY, 4),
  };
};

/** `host:port` of a Redis URL, for messages: never the password. */
const where = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return "(unparsable URL)";
  }
};

const toNumber = (value: unknown): number => Number(value ?? 0) || 0;

const parseKey = (json: unknown): StoredKey | undefined =>
  typeof json === "string" ? JSON.parse(json) as StoredKey : undefined;

export const makeRedisStore = (url: string, warn: Warn, prefix = "gateway:") =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        // The client library is loaded only when a Redis store is configured: imported at
        // start-up it added ~26 MB to the resident memory of every gateway, whatever its store.
        const { createClient, defineScript } = await import("redis");
        let connected = false;
        const client = createClient({
          url,
          scripts: scriptsWith(defineScript),
          // Fail commands at once while the connection is down (the request gets 503) rather than queueing them.
          disableOfflineQueue: true,
          socket: {
            connectTimeout: 5_000,
            // Start-up fails fast on a wrong URL; once connected, reconnect with backoff forever.
            reconnectStrategy: (retries: number) => connected ? Math.min(50 * 2 ** retries, 2_000) : false,
          },
        });
        // Errors surface through the failing commands; the event only needs a listener.
        client.on("error", () => {});
        await client.connect();
        connected = true;
        return client;
      },
      catch: (cause) =>
        new StoreError({
          message: `cannot connect to the Redis store at ${where(url)}: ${(cause as Error)?.message ?? cause}`,
        }),
    }),
    (client) => Effect.promise(() => client.close().catch(() => client.destroy())),
  ).pipe(Effect.map((client): UsageStoreShape => {
    const usageKey = (id: string) => `${prefix}{${id}}:usage`;
    const keyKey = (id: string) => `${prefix}{${id}}:key`;
    const revKey = (id: string) => `${prefix}{${id}}:rev`;
    const digestPrefix = `${prefix}digest:`;
    const idsKey = `${prefix}keys`;

    const run = <A>(what: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new StoreError({ message: `Redis ${what} failed: ${(cause as Error)?.name ?? "error"}` }),
      });

    const getKey = (id: string) => client.get(keyKey(id)).then(parseKey);

    return {
      kind: "redis",
      admit: (request) =>
        run("admit", async (): Promise<Admission> => {
          const { windows, budget } = request;
          const reply = await client.gatewayAdmit([usageKey(request.keyId), revKey(request.keyId)], [
            request.revision ?? "",
            String(windows.minute),
            windows.day,
            windows.week,
            windows.month,
            request.requestsPerMinute !== undefined ? String(request.requestsPerMinute) : "",
            request.tokensPerMinute !== undefined ? String(request.tokensPerMinute) : "",
            budget ? budget.period : "",
            budget ? String(budget.maxNanos) : "",
          ]) as string[];
          const outcome = reply[0] as Admission["outcome"];
          if (outcome === "stale") return { outcome };
          return {
            outcome,
            usage: {
              requests: toNumber(reply[1]),
              tokens: toNumber(reply[2]),
              spentNanos: {
                "1d": toNumber(reply[3]),
                "1w": toNumber(reply[4]),
                "1M": toNumber(reply[5]),
                total: toNumber(reply[6]),
              },
            },
          };
        }),
      settle: (request) =>
        run("settle", async () => {
          // Clamped here rather than passed on: `String(NaN)` reached the script and was stored.
          request = storable(request, warn);
          const { windows } = request;
          await client.gatewaySettle([usageKey(request.keyId)], [
            String(windows.minute),
            windows.day,
            windows.week,
            windows.month,
            String(Math.round(request.tokens)),
            String(Math.round(request.nanos)),
            String(request.requests ?? 0),
          ]);
        }),
      usage: (keyId, windows) =>
        run("read", async () => {
          const h = await client.hGetAll(usageKey(keyId)) as Record<string, string>;
          const record: UsageRecord = {
            minute: toNumber(h.minute),
            requests: toNumber(h.requests),
            tokens: toNumber(h.tokens),
            day: h.day ?? "",
            dayNanos: toNumber(h.day_nanos),
            week: h.week ?? "",
            weekNanos: toNumber(h.week_nanos),
            month: h.month ?? "",
            monthNanos: toNumber(h.month_nanos),
            totalNanos: toNumber(h.total_nanos),
          };
          return currentUsage(record, windows);
        }),
      listKeys: () =>
        run("list", async () => {
          const ids = await client.sMembers(idsKey);
          if (ids.length === 0) return [];
          const values = await client.mGet(ids.map(keyKey));
          return values.map(parseKey).filter((key): key is StoredKey => key !== undefined);
        }),
      getKey: (id) => run("read", () => getKey(id)),
      findKey: (digest) =>
        run("read", async () => {
          const id = await client.get(`${digestPrefix}${digest}`);
          return id === null ? undefined : await getKey(id);
        }),
      createKey: (key) =>
        run("write", async () =>
          await client.gatewayCreateKey(
            [keyKey(key.id), revKey(key.id), `${digestPrefix}${key.digest}`, idsKey, usageKey(key.id)],
            [JSON.stringify(key), key.revision, key.id],
          ) === 1),
      replaceKey: (key) =>
        run("write", async () =>
          await client.gatewayReplaceKey([keyKey(key.id), revKey(key.id)], [JSON.stringify(key), key.revision]) === 1),
      deleteKey: (id) =>
        run("write", async () =>
          await client.gatewayDeleteKey([keyKey(id), revKey(id), idsKey, usageKey(id)], [id, digestPrefix]) === 1),
    };
  }));
