/**
 * Whether a chat request is Cursor's: the rules that make long Cursor sessions
 * work (model suffixes, errors it can show, the compaction signal, refusals and
 * reasoning it can see) apply to it alone, and `/v1/chat/completions` keeps
 * strict OpenAI behaviour for every other client (issue 14).
 *
 * Cursor's requests are recognised by the `/cursor/...` routes, by the
 * per-conversation `metadata.cursorConversationId` it sends (gabrii), or by a
 * `User-Agent` naming it (`Cursor/1.0`; codex-lb, codex-proxy) — cursor.md §1.5.
 *
 * @example
 * ```ts
 * isCursorRequest("/v1/chat/completions", new Headers({ "user-agent": "Cursor/1.0" }), {}); // true
 * ```
 */
import { isObject } from "../decode/problems.ts";

export const isCursorRequest = (path: string, headers: Headers, raw: unknown): boolean => {
  if (path.startsWith("/cursor/")) return true;
  if (isObject(raw) && isObject(raw.metadata) && typeof raw.metadata.cursorConversationId === "string") return true;
  return /cursor/i.test(headers.get("user-agent") ?? "");
};
