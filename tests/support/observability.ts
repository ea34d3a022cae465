/**
 * Shared by the observability, shutdown and bundle tests: upstream answers
 * built from the Responses protocol, and a wait for a request's log line.
 */
import assert from "node:assert/strict";
import type { SseStep } from "./fake_upstream.ts";
import type { RunningGateway } from "./gateway.ts";

/** A non-streamed Responses answer with one text message. */
export const jsonAnswer = (text: string, input: number, output: number) => ({
  id: "resp_m1",
  object: "response",
  created_at: 1,
  status: "completed",
  model: "gpt-5-2025-08-07",
  output: [{
    type: "message",
    id: "msg_m1",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  }],
  usage: { input_tokens: input, output_tokens: output, total_tokens: input + output },
});

/** A complete Responses stream of `parts`, with `pause` (a step) after the first delta when given. */
export const textStream = (parts: string[], usage: { input: number; output: number }, pause?: SseStep): SseStep[] => {
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id: "resp_s1",
    object: "response",
    created_at: 1,
    status,
    model: "gpt-5-2025-08-07",
    output,
    usage: withUsage
      ? { input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output }
      : null,
  });
  const text = parts.join("");
  const item = { id: "msg_s1", type: "message", role: "assistant", status: "completed", content: [] as unknown[] };
  const done = { ...item, content: [{ type: "output_text", text, annotations: [] }] };
  let seq = 0;
  const ev = (event: Record<string, unknown>): SseStep => ({ event: { ...event, sequence_number: seq++ } });
  const deltas = parts.map((delta) =>
    ev({ type: "response.output_text.delta", item_id: "msg_s1", output_index: 0, content_index: 0, delta })
  );
  return [
    ev({ type: "response.created", response: response("in_progress", [], false) }),
    ev({ type: "response.output_item.added", output_index: 0, item: { ...item, status: "in_progress" } }),
    ev({
      type: "response.content_part.added",
      item_id: "msg_s1",
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] },
    }),
    deltas[0],
    ...(pause ? [pause] : []),
    ...deltas.slice(1),
    ev({ type: "response.output_text.done", item_id: "msg_s1", output_index: 0, content_index: 0, text }),
    ev({
      type: "response.content_part.done",
      item_id: "msg_s1",
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text, annotations: [] },
    }),
    ev({ type: "response.output_item.done", output_index: 0, item: done }),
    ev({ type: "response.completed", response: response("completed", [done], true) }),
  ];
};

/** Waits until `count` request lines (scrapes aside) are logged; a stream is reported once its settlement ran. */
export const untilLogged = async (gateway: RunningGateway, count: number) => {
  const isRequest = (line: string) => {
    const fields = JSON.parse(line);
    return fields.msg === "request" && fields.route !== "/metrics";
  };
  for (let i = 0; i < 500; i++) {
    if (gateway.logs.filter(isRequest).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`expected ${count} request log lines, got:\n${gateway.logs.join("\n")}`);
};
