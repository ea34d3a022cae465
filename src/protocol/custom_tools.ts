/**
 * Custom (grammar) tools, such as Cursor's `ApplyPatch`, take raw text, not JSON.
 *
 * Upstreams without custom-tool support answer them as function calls whose arguments wrap the
 * text as `{"input":"..."}` or `{"patch":"..."}`. Cursor's patch parser then fails with
 * "Missing *** Add/Update" (codex-proxy#707, CLIProxyAPI#5753), so the wrapper is removed.
 */

/** The raw text inside `{"input":"..."}` or `{"patch":"..."}`; anything else is returned unchanged. */
export const unwrapCustomInput = (args: string): string => {
  if (!args.trimStart().startsWith("{")) return args;
  try {
    const parsed = JSON.parse(args) as unknown;
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      const fields = parsed as Record<string, unknown>;
      if (typeof fields.input === "string") return fields.input;
      if (typeof fields.patch === "string") return fields.patch;
    }
  } catch {
    // Not JSON after all (a raw patch that starts with "{"): keep it.
  }
  return args;
};
