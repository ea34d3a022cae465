/**
 * Reading a V8 `.cpuprofile` (what `deno run --cpu-prof` writes): self and inclusive time per
 * function, and per owner (gateway code, effect, Deno's runtime, V8 builtins, GC), within a
 * time window. The profile samples the main JS thread only; `(program)` is native work on that
 * thread (Deno ops, hyper, V8 outside JS) and `(garbage collector)` is GC on it.
 */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: ReadonlyArray<number>;
}

export interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>;
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: ReadonlyArray<number>;
  readonly timeDeltas: ReadonlyArray<number>;
}

export interface Summary {
  /** Sampled time in the window, µs, idle excluded. */
  readonly busyUs: number;
  readonly idleUs: number;
  /** µs of self time per owner, largest first. */
  readonly owners: ReadonlyArray<readonly [string, number]>;
  /** µs of self time per function, largest first. */
  readonly selfTime: ReadonlyArray<readonly [string, number, string]>;
  /** µs of inclusive time per gateway-code function, largest first. */
  readonly gatewayInclusive: ReadonlyArray<readonly [string, number]>;
}

/** Who a frame belongs to, from its script URL. */
export const ownerOf = (frame: CallFrame, projectRoot: string): string => {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName.startsWith("(")) return functionName;
    // Ops are Deno's native bindings (fetch, reads, writes), called from its JS runtime.
    if (functionName.startsWith("op_")) return "Deno ops (native)";
    return "V8 builtins";
  }
  if (url.includes("/node_modules/")) {
    const match = /node_modules\/\.deno\/([^/]+?)@/.exec(url) ?? /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    return `npm:${match?.[1] ?? "?"}`;
  }
  if (url.startsWith("ext:") || url.startsWith("node:")) return "Deno runtime (ext:)";
  if (url.startsWith(`file://${projectRoot}`)) {
    const rel = url.slice(`file://${projectRoot}`.length);
    return rel.startsWith("src/") || rel === "main.ts" ? "gateway code" : `project: ${rel}`;
  }
  return url;
};

const shortUrl = (url: string, projectRoot: string) =>
  url.replace(`file://${projectRoot}`, "").replace(/^.*node_modules\/\.deno\/[^/]+\/node_modules\//, "npm:");

export const summarize = (
  profile: CpuProfile,
  projectRoot: string,
  window?: { readonly fromUs: number; readonly toUs: number },
): Summary => {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const key = (frame: CallFrame) =>
    frame.url === ""
      ? frame.functionName || "(anonymous)"
      : `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url, projectRoot)}:${frame.lineNumber + 1}`;

  const owners = new Map<string, number>();
  const self = new Map<string, { us: number; owner: string }>();
  const inclusive = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  // Sample i covers the time until sample i+1.
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    const duration = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    const relative = t - profile.startTime;
    if (window && (relative < window.fromUs || relative > window.toUs)) continue;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += duration;
      continue;
    }
    busyUs += duration;
    const owner = ownerOf(frame, projectRoot);
    owners.set(owner, (owners.get(owner) ?? 0) + duration);
    const k = key(frame);
    const entry = self.get(k) ?? { us: 0, owner };
    entry.us += duration;
    self.set(k, entry);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (ownerOf(f, projectRoot) !== "gateway code") continue;
      const fk = key(f);
      if (seen.has(fk)) continue;
      seen.add(fk);
      inclusive.set(fk, (inclusive.get(fk) ?? 0) + duration);
    }
  }
  const sorted = <V>(map: Map<string, V>, value: (v: V) => number) =>
    [...map].sort((a, b) => value(b[1]) - value(a[1]));
  return {
    busyUs,
    idleUs,
    owners: sorted(owners, (v) => v),
    selfTime: sorted(self, (v) => v.us).map(([k, v]) => [k, v.us, v.owner] as const),
    gatewayInclusive: sorted(inclusive, (v) => v),
  };
};
