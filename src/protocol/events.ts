/**
 * Predicates over Responses stream events that several stages share: routing
 * holds a stream back until its first output, encode writes chunks from it.
 * They live here, below both, so imports run one way down the pipeline.
 */
import type { FailureReason } from "../errors/reasons.ts";
import type { JsonObject, ResponsesEvent, ResponsesResponse } from "./responses.ts";

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

// ===== Known and unknown stream events =====
//
// As effect's OpenAI language model reads the Responses stream: the events the gateway acts on
// form a discriminated union with their fields typed as the protocol gives them; any other
// event type is unknown and skipped. `knownEvent` is the one place an upstream's loose JSON
// becomes that union, so the encoder narrows by `type` instead of casting field by field.
// Fields stay `unknown` where an upstream may send anything: the encoder checks them.

/** Where an item event points: the item's id, or its index when an upstream leaves the id out. */
export interface ItemRef {
  readonly item_id?: unknown;
  readonly output_index?: unknown;
}

export interface TextDeltaEvent extends ItemRef {
  readonly type: "response.output_text.delta" | "response.refusal.delta";
  readonly content_index?: unknown;
  readonly delta?: unknown;
}

export interface ReasoningDeltaEvent extends ItemRef {
  readonly type: "response.reasoning_summary_text.delta" | "response.reasoning_text.delta";
  readonly summary_index?: unknown;
  readonly content_index?: unknown;
  readonly delta?: unknown;
}

export interface ToolDeltaEvent extends ItemRef {
  readonly type: "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta";
  readonly delta?: unknown;
}

export interface ToolDoneEvent extends ItemRef {
  readonly type: "response.function_call_arguments.done" | "response.custom_tool_call_input.done";
  readonly arguments?: unknown;
  readonly input?: unknown;
}

export interface AnnotationEvent extends ItemRef {
  readonly type: "response.output_text.annotation.added";
  readonly content_index?: unknown;
  readonly annotation?: unknown;
}

export interface ItemEvent {
  readonly type: "response.output_item.added" | "response.output_item.done";
  readonly output_index?: unknown;
  readonly item?: unknown;
}

export interface LifecycleEvent {
  readonly type: "response.created" | "response.in_progress" | "response.completed" | "response.incomplete";
  readonly response?: ResponsesResponse;
}

export interface FailedEvent {
  readonly type: "error" | "response.failed";
  readonly response?: ResponsesResponse;
  readonly reason?: FailureReason;
}

export type KnownEvent =
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | ToolDeltaEvent
  | ToolDoneEvent
  | AnnotationEvent
  | ItemEvent
  | LifecycleEvent
  | FailedEvent;

const knownTypes: ReadonlySet<string> = new Set<KnownEvent["type"]>([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
  "response.function_call_arguments.done",
  "response.custom_tool_call_input.done",
  "response.output_text.annotation.added",
  "response.output_item.added",
  "response.output_item.done",
  "response.created",
  "response.in_progress",
  "response.completed",
  "response.incomplete",
  "error",
  "response.failed",
]);

/** The event as the known union, or `undefined` for a type the gateway does not act on. */
export const knownEvent = (event: ResponsesEvent): KnownEvent | undefined =>
  knownTypes.has(event.type) ? event as unknown as KnownEvent : undefined;
