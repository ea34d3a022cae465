/**
 * `log_content: true`: what of a request's prompt and answer reaches its log
 * line. Off by default; when off, nothing here runs.
 *
 * What is logged is bounded: a client controls the shape of its input, and a
 * value nested 6,000 levels deep made the log line's `JSON.stringify` overflow
 * the stack (a 500 after the upstream was called and billed), while a long
 * prompt would make every log line as long as the prompt.
 */
import type { RequestContent } from "../core/trace.ts";
import type { ResponsesEvent } from "../protocol/responses.ts";

const terminal = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Deeper than any real prompt or answer (a tool schema runs to ~10), far shallower than a stack overflow. */
export const MAX_LOGGED_DEPTH = 32;
/** Per field (`instructions`, `input`, `output`), in characters of the logged JSON, roughly. */
export const MAX_LOGGED_CHARS = 64 * 1024;

/**
 * Wraps an upstream event stream so the final response's output items are
 * kept on `content` as they pass; every event is handed on unchanged.
 */
export const captureOutput = <S extends { readonly next: () => Promise<ResponsesEvent | undefined> }>(
  events: S,
  content: RequestContent,
): S => ({
  ...events,
  next: () =>
    events.next().then((event) => {
      if (event !== undefined && terminal.has(event.type)) {
        content.output = (event.response as { readonly output?: unknown } | undefined)?.output;
      }
      return event;
    }),
});

/**
 * A copy of `value` safe to serialise into a log line: parts deeper than
 * `maxDepth` become a marker string, and once about `maxChars` characters are
 * spent, strings are cut and the remaining items and fields are replaced by a
 * marker. The walk stops with the budget, so its cost is bounded too, whatever
 * the size of the value.
 *
 * @example
 * ```ts
 * boundedValue({ a: { b: { c: 1 } } }, 2); // { a: { b: "[truncated: deeper than 2 levels]" } }
 * ```
 */
export const boundedValue = (value: unknown, maxDepth = MAX_LOGGED_DEPTH, maxChars = MAX_LOGGED_CHARS): unknown => {
  let budget = maxChars;
  const deeper = `[truncated: deeper than ${maxDepth} levels]`;
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") {
      const kept = Math.max(0, budget);
      budget -= value.length + 2;
      return value.length <= kept ? value : `${value.slice(0, kept)}…[truncated ${value.length - kept} characters]`;
    }
    if (value === null || typeof value !== "object") {
      budget -= 8;
      // A bigint would make JSON.stringify throw; nothing decoded from JSON holds one, but nothing here may throw.
      return typeof value === "bigint" ? String(value) : value;
    }
    if (depth >= maxDepth) {
      budget -= deeper.length;
      return deeper;
    }
    budget -= 2;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        if (budget <= 0) {
          out.push(`[truncated: ${value.length - i} more items]`);
          break;
        }
        out.push(walk(value[i], depth + 1));
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      if (budget <= 0) {
        out["[truncated]"] = `${keys.length - i} more fields`;
        break;
      }
      const key = keys[i];
      budget -= key.length + 4;
      out[key] = walk((value as Record<string, unknown>)[key], depth + 1);
    }
    return out;
  };
  return walk(value, 0);
};

/** The `content` of a log line: each field bounded on its own (see `boundedValue`). */
export const boundedContent = (content: RequestContent): Record<string, unknown> => ({
  instructions: boundedValue(content.instructions),
  input: boundedValue(content.input),
  output: boundedValue(content.output),
});
