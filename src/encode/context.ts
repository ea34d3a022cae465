/**
 * What the encoders need to know about a request besides the upstream's answer.
 */
import type { Cost, ExtraFields } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";
import type { AttemptInfo } from "../core/model.ts";

export interface EncodeContext {
  /** `chatcmpl-...`, the same on every chunk of a stream. */
  readonly id: string;
  /** Unix seconds, the same on every chunk. */
  readonly created: number;
  /** The model exactly as the client named it (Cursor matches on it). */
  readonly model: string;
  /** The attempt that is serving the answer; read when a chunk is built. */
  readonly attempt: () => AttemptInfo;
  /** `performance.now()` when the gateway received the request, for `extra_fields.latency`. */
  readonly startedAt: number;
  /** USD cost of a usage, when the served model has a price. */
  readonly price: (usage: ResponsesUsage) => Cost | undefined;
  /**
   * Names of the request's `custom` (grammar) tools, such as Cursor's `ApplyPatch`. A
   * `function_call` the upstream returns for one of them gets its JSON-wrapped arguments
   * (`{"input":"..."}`, `{"patch":"..."}`) unwrapped to the raw text the client's tool expects.
   */
  readonly customTools?: ReadonlySet<string>;
  /**
   * Characters of what the request sent the model, for the usage estimate of an upstream that
   * reports none (`usage.ts`); read only then. Absent: the prompt counts as empty.
   */
  readonly promptChars?: () => number;
  /** The answer stands for a context overflow (`context_overflow.ts`): `extra_fields` says so. */
  readonly contextOverflow?: boolean;
  /**
   * The request is Cursor's (`http/cursor.ts`): what only `delta.refusal` and `delta.reasoning`
   * would carry is also written where Cursor reads it (issue 14, points 7 and 8).
   */
  readonly cursor?: CursorOutput;
}

/** How an answer is written for Cursor, which renders `content` only. */
export interface CursorOutput {
  /** `reasoning_display: "think_tags"`: reasoning mirrored into `content` as `<think>...</think>`. */
  readonly thinkTags?: boolean;
  /** `reasoning_carry: "comment"`: encrypted reasoning carried in `content` inside an HTML comment. */
  readonly carryReasoning?: boolean;
}

/** What `extra_fields` says of the answer beside where it came from. */
export interface AnswerFlags {
  /** `usage` is the gateway's estimate (`usage.ts`). */
  readonly usageEstimated?: boolean;
  /** The answer stands for a context overflow. */
  readonly contextOverflow?: boolean;
}

/** The gateway's `extra_fields`; `modelDeployment` is the model the upstream reported. */
export const extraFields = (
  context: EncodeContext,
  requestType: ExtraFields["request_type"],
  modelDeployment: string | undefined,
  chunkIndex?: number,
  flags: AnswerFlags = {},
): ExtraFields => {
  const attempt = context.attempt();
  // Built field by field (no spread): this runs once per streamed chunk.
  const fields: ExtraFields = {
    request_type: requestType,
    provider: attempt.ref.provider,
    model_requested: context.model,
    model_deployment: modelDeployment ?? attempt.ref.model,
    latency: Math.round(performance.now() - context.startedAt),
    fallback_index: attempt.fallbackIndex,
    attempts: attempt.attempts,
  };
  if (chunkIndex !== undefined) fields.chunk_index = chunkIndex;
  if (flags.usageEstimated) fields.usage_estimated = true;
  if (flags.contextOverflow || context.contextOverflow) fields.context_overflow = true;
  return fields;
};
