/**
 * `log_content: true`: what of a request's prompt and answer reaches its log
 * line. Off by default; when off, nothing here runs.
 */
import type { RequestContent } from "../http/RequestTrace.ts";
import type { ResponsesEvent } from "../protocol/responses.ts";

const terminal = new Set(["response.completed", "response.incomplete", "response.failed"]);

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
