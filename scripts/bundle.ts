/**
 * `deno task bundle`: the gateway as one self-contained JavaScript file,
 * `dist/gateway.js` (or the path given as the first argument), with every npm
 * dependency inlined. It runs with only the Deno binary, no `node_modules`,
 * no config file and no registry:
 *
 *     deno run --allow-net --allow-env --allow-read --allow-write --allow-sys \
 *       --unstable-kv --unstable-no-legacy-abort dist/gateway.js --config gateway.json
 */

export const defaultOut = "dist/gateway.js";

/** Bundles `main.ts` to `out`; resolves to the bundler's exit status. */
export const bundle = async (out: string): Promise<number> => {
  const root = new URL("..", import.meta.url);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform=deno", "--output", out, "main.ts"],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
};

if (import.meta.main) {
  const out = Deno.args[0] ?? defaultOut;
  const code = await bundle(out);
  if (code === 0) console.log(`wrote ${out}`);
  Deno.exit(code);
}
