/**
 * `deno task compile`: the gateway as single binaries, one per target, in
 * `dist/bin/` (`gateway-<target>`, `.exe` on Windows).
 *
 * `deno compile` needs a `denort` runtime for each target, which it downloads
 * from Deno's own host (dl.deno.land). Where that host is unreachable, this
 * task says so and exits 0 without building anything; the release workflow
 * (`.github/workflows/release.yml`) builds the binaries where it is reachable.
 * `DENORT_BIN` (a `denort` binary for this machine) is honoured: then only
 * this machine's target is built, unless targets are named.
 *
 *     deno task compile                                  # every target
 *     deno task compile x86_64-unknown-linux-gnu         # named targets only
 *     deno task compile --strict                         # fail when the runtime is unreachable (releases)
 */

export const targets = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** The permissions `deno task start` grants, baked into the binary. */
export const runtimeFlags = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  "--unstable-kv",
  "--unstable-no-legacy-abort",
];

export const outputFor = (target: string) => `dist/bin/gateway-${target}${target.includes("windows") ? ".exe" : ""}`;

/** How `deno compile` reports that it could not fetch the runtime it needs. */
export const isDownloadFailure = (stderr: string): boolean =>
  /Setting up base binary|error sending request for url \(https:\/\/dl\.deno\.land|Download.*denort/i.test(stderr) &&
  /error sending request|dns error|Connect|timed out|failed to (download|lookup)/i.test(stderr);

const compile = async (target: string) => {
  const root = new URL("..", import.meta.url);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...runtimeFlags, "--target", target, "--output", outputFor(target), "main.ts"],
    cwd: root,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
};

/** `deno compile` leaves its half-written temporary file behind when the download fails. */
const removeLeftovers = async () => {
  const dir = new URL("../dist/bin/", import.meta.url);
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.includes(".tmp-")) await Deno.remove(new URL(entry.name, dir));
    }
  } catch {
    // nothing was written
  }
};

if (import.meta.main) {
  const named = Deno.args.filter((arg) => !arg.startsWith("-"));
  const strict = Deno.args.includes("--strict");
  const denort = Deno.env.get("DENORT_BIN");
  const chosen = named.length > 0 ? named : denort ? [Deno.build.target] : [...targets];
  for (const target of chosen) {
    const { code, stderr } = await compile(target);
    if (code === 0) {
      console.log(`built ${outputFor(target)}`);
      continue;
    }
    if (isDownloadFailure(stderr) && !strict) {
      console.log(
        `deno compile needs Deno's runtime (denort) for ${target} from dl.deno.land, which is unreachable here; ` +
          "skipping the binaries. Set DENORT_BIN to a denort binary for this machine, or let the release " +
          "workflow (.github/workflows/release.yml) build them.",
      );
      await removeLeftovers();
      Deno.exit(0);
    }
    console.error(stderr);
    Deno.exit(code);
  }
}
