/** What the bench reads about processes and the machine from Linux's `/proc`. */

/** Clock ticks per second for `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 almost everywhere). */
export const clockTicksPerSecond = async (): Promise<number> => {
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" }).output();
    const value = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
};

/** User + system CPU time of a process (all its threads, live and exited), in clock ticks. */
export const cpuTicks = (pid: number): number => {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces; the fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of the whole line
};

/** Busy CPU time of the whole machine (all cores, every process), in clock ticks, from `/proc/stat`. */
export const systemBusyTicks = (): number => {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + irq + softirq + (steal || 0);
};

/** The 1-minute load average. */
export const loadAverage = (): number => Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);

export interface Memory {
  /** Resident set size now, in KiB. */
  readonly rssKb: number;
  /** Peak resident set size since the process started (VmHWM), in KiB. */
  readonly hwmKb: number;
}

export const memory = (pid: number): Memory => {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM") };
};

export const processExists = (pid: number): boolean => {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
};

export interface Machine {
  readonly nproc: number;
  readonly memoryGiB: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly deno: string;
  readonly v8: string;
}

const readOr = (path: string, fallback: string) => {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
};

const nproc = async (): Promise<number> => {
  try {
    const out = await new Deno.Command("nproc", { stdout: "piped", stderr: "null" }).output();
    const value = Number(new TextDecoder().decode(out.stdout).trim());
    if (Number.isInteger(value) && value > 0) return value;
  } catch {
    // no coreutils: fall back to what the runtime sees
  }
  return navigator.hardwareConcurrency;
};

export const machine = async (): Promise<Machine> => {
  const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readOr("/proc/meminfo", ""))?.[1] ?? NaN);
  return {
    nproc: await nproc(),
    memoryGiB: Math.round((memTotalKb / 1024 / 1024) * 10) / 10,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(readOr("/proc/cpuinfo", ""))?.[1]?.trim() ?? "unknown",
    kernel: readOr("/proc/sys/kernel/osrelease", "unknown").trim(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
};
