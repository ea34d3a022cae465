/**
 * Predicates over Responses stream events that several stages share: routing
 * holds a stream back until its first output, encode writes chunks from it.
 * They live here, below both, so imports run one way down the pipeline.
 */
import type { FailureReason } from "../errors/reasons.ts";
import type { JsonObject, ResponsesEvent } from "./responses.ts";

/** Whether an event is the first real output (text, refusal, reasoning, a tool call) or the end. */
export const isOutputEvent = (event: ResponsesEvent): boolean => {
  switch (event.type) {
    case "response.output_text.delta":
    case "response.refusal.delta":
    case "response.reasoning_summary_text.delta":
    case "response.reasoning_text.delta":
    case "response.function_call_arguments.delta":
    case "response.custom_tool_call_input.delta":
    case "response.completed":
    case "response.incomplete":
      return true;
    case "response.output_item.added": {
      const type = (event.item as JsonObject | undefined)?.type;
      return type === "function_call" || type === "custom_tool_call";
    }
    default:
      return false;
  }
};

/** Whether the event ends the answer successfully (`response.completed` or `.incomplete`). */
export const isTerminalEvent = (event: ResponsesEvent): boolean =>
  event.type === "response.completed" || event.type === "response.incomplete";

/** The canonical `error` event that carries a typed reason out of a stream translator. */
export interface FailureEvent extends ResponsesEvent {
  readonly type: "error";
  readonly reason: FailureReason;
}

export const failureEvent = (reason: FailureReason): FailureEvent => ({ type: "error", reason });

export const isFailureEvent = (event: ResponsesEvent): event is FailureEvent =>
  event.type === "error" && typeof (event as { reason?: unknown }).reason === "object";
