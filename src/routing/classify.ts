/**
 * An attempt's failure as routing sees it: a typed `FailureReason`
 * (`errors/reasons.ts`), made by the attempt's adapter from the upstream's
 * answer, or here when there was no answer to read (a refused connection, a
 * timeout, a dropped or malformed stream, the client going away).
 *
 * Routing reads only what a reason allows (retry, another key, fallback);
 * `errors/` alone turns the reason that ends a request into a status and an
 * envelope.
 */
import { cancelled, type FailureReason, malformedAnswer, timeout, unreachable } from "../errors/reasons.ts";
import type { Adapter, AnswerContext } from "../upstream/adapters/types.ts";
import { MalformedEventError } from "../upstream/sse_events.ts";
import type { UpstreamTransportError } from "../upstream/Upstream.ts";

/** A failed upstream attempt. */
export type AttemptFailure = FailureReason;

/** How much of an error body is read: enough for any provider's message, never a whole runaway answer. */
const ERROR_BODY_LIMIT = 64 * 1024;

const readCapped = async (response: Response): Promise<string> => {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.length >= ERROR_BODY_LIMIT) {
        reader.cancel().catch(() => {});
        break;
      }
    }
  } catch {
    // A body that breaks while being read still has a status to go by.
  }
  return text.slice(0, ERROR_BODY_LIMIT);
};

/** An upstream HTTP error answer as the adapter's reason (reads its body, capped). */
export const failureFromHttp = async (
  adapter: Adapter,
  context: AnswerContext,
  response: Response,
): Promise<AttemptFailure> =>
  adapter.failure({ status: response.status, headers: response.headers, body: await readCapped(response) }, context);

/** An upstream stream that broke: dropped, truncated or malformed. */
export const streamBroken = (provider: string, detail: string, outcome = "stream_error"): AttemptFailure =>
  malformedAnswer({ provider, outcome, detail });

/**
 * An attempt that broke without an HTTP error: the client went away, a
 * timeout fired, the connection failed or dropped, or a stream frame was not
 * the API's JSON. All but the first may be retried.
 */
export const brokenAttempt = (
  provider: string,
  isCancelled: boolean,
  timedOut: { readonly bound: string; readonly ms: number } | undefined,
  cause: unknown,
): AttemptFailure => {
  if (isCancelled) return cancelled(provider);
  if (timedOut) return timeout({ provider, outcome: "timeout", bound: timedOut.bound, ms: timedOut.ms });
  if (cause instanceof MalformedEventError) return streamBroken(provider, "sent a malformed stream event");
  if ((cause as { _tag?: unknown } | undefined)?._tag === "UpstreamTransportError") {
    return unreachable({ provider, outcome: "network", detail: (cause as UpstreamTransportError).detail });
  }
  return streamBroken(provider, "dropped the connection mid-answer", "network");
};
