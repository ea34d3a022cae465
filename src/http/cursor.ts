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
import { GatewayError } from "../errors/GatewayError.ts";

export const isCursorRequest = (path: string, headers: Headers, raw: unknown): boolean => {
  if (path.startsWith("/cursor/")) return true;
  if (isObject(raw) && isObject(raw.metadata) && typeof raw.metadata.cursorConversationId === "string") return true;
  return /cursor/i.test(headers.get("user-agent") ?? "");
};

// ===== Errors Cursor can show =====

/** What each code of a final upstream failure says happened, in words Cursor shows as they are. */
const KINDS: Readonly<Record<string, string>> = {
  rate_limit_exceeded: "is rate limiting the gateway",
  upstream_overloaded: "is overloaded",
  upstream_unreachable: "is unreachable",
  upstream_timeout: "did not answer in time",
  insufficient_quota: "refused the gateway's key: its quota is exhausted",
  upstream_auth_failed: "rejected the gateway's credentials",
  upstream_stream_error: "sent a broken answer",
  upstream_stream_incomplete: "ended its answer early",
};

/** A provider's own code for the same kinds (`overloaded_error`, `rate_limit_error`, ...). */
const kindOf = (code: string): string | undefined =>
  /overload/.test(code)
    ? KINDS.upstream_overloaded
    : /rate_limit/.test(code)
    ? KINDS.rate_limit_exceeded
    : /timeout/.test(code)
    ? KINDS.upstream_timeout
    : undefined;

/** The attempts routing made, as the trace records them. */
interface Attempted {
  readonly provider: string;
  readonly outcome: string;
}

/**
 * A final upstream failure as Cursor can show it (issue 14, point 6): Cursor replaces the message
 * of any 5xx or 429 with its own generic notice (cursor.md §2.6, clyde), so with
 * `cursor_visible_errors` such a failure is answered as HTTP 400 whose message says which provider
 * failed, how, and after how many attempts, with `code` keeping the real kind. Other statuses (the
 * caller's own faults, 4xx the upstream said) are shown already and stay as they are; the 401,
 * 402, 403 and 429 the gateway itself raises never come here.
 */
export const visibleError = (error: GatewayError, attempts: ReadonlyArray<Attempted>): GatewayError => {
  if (error.status < 500 && error.status !== 429) return error;
  const code = error.code ?? (error.status === 504 ? "upstream_timeout" : "upstream_unavailable");
  const provider = attempts[0]?.provider;
  const outcomes = attempts.map((attempt) => attempt.outcome);
  const kind = KINDS[code] ?? kindOf(code) ??
    (outcomes.length > 0 ? `failed (${[...new Set(outcomes)].join(", ")})` : "failed");
  const headline = provider === undefined
    ? "The gateway could not reach a provider"
    : `Provider '${provider}' ${kind}; the gateway gave up after ${attempts.length} attempt${
      attempts.length === 1 ? "" : "s"
    }`;
  // The routing error's own words, without the attempt count the headline already gives.
  const detail = error.message.replace(/\s*\(gave up after \d+ upstream attempts?\)$/, "");
  return new GatewayError({
    status: 400,
    type: "upstream_error",
    message: `${headline}. ${detail}`,
    code,
    param: error.param,
  });
};
