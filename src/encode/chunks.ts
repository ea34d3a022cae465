/**
 * Stage 5, encode (streamed): Responses events into `chat.completion.chunk` SSE frames.
 * PLACEHOLDER: being replaced by the full encoder.
 */
import type { ResponsesEvent, ResponsesUsage } from "../protocol/responses.ts";
import type { EncodeContext } from "./context.ts";

/** Whether an event is the first real output (text, refusal, reasoning, a tool call) or the end. */
export const isOutputEvent = (event: ResponsesEvent): boolean =>
  event.type.endsWith(".delta") || event.type === "response.completed" || event.type === "response.incomplete";

export class ChunkEncoder {
  /** True once a terminal frame (finish + usage + [DONE], or an error frame) was produced. */
  finished = false;
  /** True when the terminal frame was an error frame. */
  failed = false;
  usage: ResponsesUsage | undefined;
  constructor(private readonly context: EncodeContext) {}

  /** SSE text for one event ("" when it produces nothing). */
  push(event: ResponsesEvent): string {
    if (event.type === "response.output_text.delta") {
      return `data: ${
        JSON.stringify({
          id: this.context.id,
          object: "chat.completion.chunk",
          created: this.context.created,
          model: this.context.model,
          choices: [{ index: 0, delta: { role: "assistant", content: event.delta }, finish_reason: null }],
        })
      }\n\n`;
    }
    if (event.type === "response.completed") {
      this.finished = true;
      return `data: ${
        JSON.stringify({
          id: this.context.id,
          object: "chat.completion.chunk",
          created: this.context.created,
          model: this.context.model,
          choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
        })
      }\n\ndata: [DONE]\n\n`;
    }
    return "";
  }

  /** SSE text for an upstream that ended without a terminal event. */
  end(): string {
    return "";
  }
}
