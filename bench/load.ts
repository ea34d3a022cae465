/**
 * The load side of the bench: closed-loop clients over `HttpConnection`, run from the bench
 * process (never inside a server), with each phase's server CPU read from `/proc` around it.
 */
import { HttpConnection, type Timing } from "./http_client.ts";
import { cpuTicks, memory } from "./procfs.ts";

export type TargetName = "direct" | "floor" | "gateway";
export type Kind = "json" | "sse" | "short" | "hold";

export interface Target {
  readonly name: TargetName;
  readonly port: number;
  /** The process charged for this target's requests: the mock for direct, else the proxy. */
  readonly pid: number;
  /** The pre-built request for each kind the target serves (the per-API targets: `json` and `sse` only). */
  readonly requests: Readonly<Partial<Record<Kind, Uint8Array>>>;
}

/** The target's pre-built request for `kind`; a bench that asks for one it never built is a bug. */
export const requestFor = (target: Target, kind: Kind): Uint8Array => {
  const request = target.requests[kind];
  if (request === undefined) throw new Error(`${target.name} has no ${kind} request`);
  return request;
};

/** Samples and counters for one target and one kind, accumulated over the blocks of a phase. */
export class Samples {
  readonly totalMs: number[] = [];
  readonly firstChunkMs: number[] = [];
  completed = 0;
  errors = 0;
  ticks = 0;
  elapsedMs = 0;
  lastError = "";
}

/** Waits for `promise`, or `ms` at most; leaves no timer behind. */
const within = async (promise: Promise<unknown>, ms: number): Promise<void> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
};

const isOk = (timing: Timing) => timing.status === 200;

/** `count` requests one after another on one kept-alive connection (concurrency 1). */
export const sequentialBlock = async (
  target: Target,
  kind: Kind,
  count: number,
  into: Samples,
  record: boolean,
): Promise<void> => {
  const request = requestFor(target, kind);
  let connection = await HttpConnection.open(target.port);
  const ticks0 = cpuTicks(target.pid);
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      try {
        const timing = await connection.send(request);
        if (!isOk(timing)) {
          into.errors++;
          into.lastError = `HTTP ${timing.status}`;
          continue;
        }
        into.completed++;
        if (record) {
          into.totalMs.push(timing.totalMs);
          into.firstChunkMs.push(timing.firstChunkMs);
        }
        if (connection.isClosed) connection = await HttpConnection.open(target.port);
      } catch (error) {
        into.errors++;
        into.lastError = String(error);
        connection.close();
        connection = await HttpConnection.open(target.port);
      }
    }
  } finally {
    into.elapsedMs += performance.now() - t0;
    into.ticks += cpuTicks(target.pid) - ticks0;
    connection.close();
  }
};

/**
 * `concurrency` connections, each sending requests back to back until `durationMs` has
 * passed; requests in flight at the deadline are finished and counted, and the elapsed time
 * runs until the last one ends.
 */
export const closedLoop = async (
  target: Target,
  kind: Kind,
  concurrency: number,
  durationMs: number,
  into: Samples,
): Promise<void> => {
  const request = requestFor(target, kind);
  const connections = await Promise.all(Array.from({ length: concurrency }, () => HttpConnection.open(target.port)));
  const ticks0 = cpuTicks(target.pid);
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async (index: number) => {
    let connection = connections[index];
    while (performance.now() < deadline) {
      try {
        const timing = await connection.send(request);
        if (!isOk(timing)) {
          into.errors++;
          into.lastError = `HTTP ${timing.status}`;
        } else {
          into.completed++;
          into.totalMs.push(timing.totalMs);
        }
        if (connection.isClosed) connection = connections[index] = await HttpConnection.open(target.port);
      } catch (error) {
        into.errors++;
        into.lastError = String(error);
        connection.close();
        connection = connections[index] = await HttpConnection.open(target.port);
      }
    }
  };
  try {
    await Promise.all(connections.map((_, i) => worker(i)));
  } finally {
    into.elapsedMs += performance.now() - t0;
    into.ticks += cpuTicks(target.pid) - ticks0;
    for (const connection of connections) connection.close();
  }
};

export interface HoldResult {
  /** Streams that delivered their first chunk while all were held open. */
  readonly open: number;
  readonly completed: number;
  readonly errors: number;
  readonly baselineRssKb: number;
  /** Highest VmRSS sampled while the streams were being opened and held open. */
  readonly peakRssKb: number;
  /** Highest VmRSS sampled after the release, while all of them finish at once. */
  readonly peakDrainRssKb: number;
  readonly lastError: string;
}

/**
 * Opens `count` streams that the mock pauses after their first delta, samples the target's
 * RSS while they are all open, then releases them and reads every one to its end.
 */
export const holdStreams = async (
  target: Target,
  count: number,
  release: () => Promise<void>,
  options: { readonly openTimeoutMs: number; readonly holdMs: number; readonly sampleEveryMs: number },
): Promise<HoldResult> => {
  const request = requestFor(target, "hold");
  const baselineRssKb = memory(target.pid).rssKb;
  let peakRssKb = baselineRssKb;
  let peakDrainRssKb = 0;
  let released = false;
  const sample = () => {
    const rss = memory(target.pid).rssKb;
    if (released) peakDrainRssKb = Math.max(peakDrainRssKb, rss);
    else peakRssKb = Math.max(peakRssKb, rss);
  };
  const sampler = setInterval(sample, options.sampleEveryMs);
  let open = 0;
  let completed = 0;
  let errors = 0;
  let lastError = "";
  // A stream has "arrived" once it delivered its first chunk or failed before that.
  let arrived = 0;
  let allArrived!: () => void;
  const allArrivedPromise = new Promise<void>((resolve) => (allArrived = resolve));
  const connections: HttpConnection[] = [];
  const streams: Promise<void>[] = [];
  const one = async (connection: HttpConnection) => {
    let counted = false;
    const arrive = () => {
      if (counted) return;
      counted = true;
      if (++arrived === count) allArrived();
    };
    try {
      const timing = await connection.send(request, {
        timeoutMs: 2 * options.openTimeoutMs + options.holdMs + 10_000,
        onFirstChunk: () => {
          open++;
          arrive();
        },
      });
      if (timing.status === 200) completed++;
      else {
        errors++;
        lastError = `HTTP ${timing.status}`;
      }
    } catch (error) {
      errors++;
      lastError = String(error);
    } finally {
      arrive();
    }
  };
  try {
    // Connect in batches so the listen backlog never overflows.
    for (let i = 0; i < count; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, () => HttpConnection.open(target.port)),
      );
      for (const connection of batch) {
        connections.push(connection);
        streams.push(one(connection));
      }
    }
    await within(allArrivedPromise, options.openTimeoutMs);
    const openNow = open;
    // Hold a little longer so the sampler sees the settled state.
    await new Promise((resolve) => setTimeout(resolve, options.holdMs));
    sample();
    released = true;
    await release();
    await within(Promise.all(streams), options.openTimeoutMs);
    sample();
    return {
      open: openNow,
      completed,
      errors,
      baselineRssKb,
      peakRssKb,
      peakDrainRssKb,
      lastError,
    };
  } finally {
    clearInterval(sampler);
    for (const connection of connections) connection.close();
  }
};
