/**
 * The request's parameters as Responses fields.
 *
 * Kept as they are: the Responses fields Cursor sends (`instructions`,
 * `reasoning`, `text`, `store`, `include`, `metadata`, `prompt_cache_key`,
 * `prompt_cache_retention`, `truncation`, `parallel_tool_calls`,
 * `service_tier`, `user`, `safety_identifier`, `top_logprobs`,
 * `max_tool_calls`) and `temperature`/`top_p`, plus `conversation` and
 * `prompt`. Mapped: chat `max_tokens`/`max_completion_tokens`,
 * `response_format`, `reasoning_effort`, `verbosity`, `logprobs`.
 * Kept although the Responses API lacks it: chat `stop` (a string or a list),
 * as a list of its non-empty strings, at most `MAX_STOP` of them. The
 * Messages, Gemini and Chat APIs take it (each adapter caps it to its own
 * limit); the Responses adapter removes it before sending.
 * Made to fit what the upstream takes (issue 14, point 9): `max_output_tokens` below 16 is 16,
 * a `user` over 64 characters is its SHA-256, `metadata` values are strings.
 * Never forwarded: `stream_options` (the Responses API rejects
 * `include_usage`, cursor.md §3), `fallbacks` (the gateway's own),
 * `messages` (already converted), and chat-only sampling fields no adapter
 * maps: `presence_penalty`, `frequency_penalty`, `seed`, `logit_bias`
 * (dropping them is what every Responses bridge does; the upstream would
 * reject them as unknown parameters). `temperature` and `top_p` are dropped
 * beside a reasoning effort other than `none`, since reasoning models reject
 * them. Unknown fields are ignored.
 */
import { createHash } from "node:crypto";
import type { JsonObject, ResponsesRequest } from "../protocol/responses.ts";
import type { RequestBody } from "./body_schema.ts";
import { isObject, type Problems } from "./problems.ts";

const LOGPROBS_INCLUDE = "message.output_text.logprobs";

/**
 * Most stop sequences kept. OpenAI's Chat API takes 4, Gemini 5, Anthropic far more; the
 * adapters cap to their API's limit, this only bounds what a body can make the gateway carry.
 */
export const MAX_STOP = 16;

/** `stop` as a list: an empty sequence would stop nothing (and the APIs refuse it). */
const stopList = (stop: string | ReadonlyArray<string>): string[] => {
  const list = typeof stop === "string" ? [stop] : stop;
  const out: string[] = [];
  for (const entry of list) {
    if (entry !== "" && out.length < MAX_STOP) out.push(entry);
  }
  return out;
};

/** Fields copied as they are when present and not null. */
const CARRIED = [
  "temperature",
  "top_p",
  "parallel_tool_calls",
  "max_tool_calls",
  "top_logprobs",
  "store",
  "conversation",
  "prompt",
  "prompt_cache_retention",
  "truncation",
  "service_tier",
  "safety_identifier",
] as const satisfies ReadonlyArray<keyof RequestBody>;

// ===== Small values the upstream rejects (issue 14, point 9) =====

/** The Responses API's least `max_output_tokens` (`integer_below_min_value` under it). */
export const MIN_OUTPUT_TOKENS = 16;

/** The longest `user` the OpenAI APIs take (`string_above_max_length` over it). */
export const MAX_USER_LENGTH = 64;

/**
 * `user` as the API takes it: a longer one (a client's own user hash, an e-mail list) is replaced
 * by its SHA-256 in hex, 64 characters: still stable per user, which is all the field is for.
 */
const userField = (user: string): string =>
  user.length <= MAX_USER_LENGTH ? user : createHash("sha256").update(user).digest("hex");

/**
 * `metadata` as the API takes it, string values only (`Invalid type for 'metadata.n': expected a
 * string`): numbers, booleans and objects are written as JSON text, `null` entries dropped. The
 * same object when every value is a string already.
 */
const metadataField = (metadata: Record<string, unknown>): Record<string, string> => {
  let out: Record<string, unknown> | undefined;
  for (const key in metadata) {
    const value = metadata[key];
    if (typeof value === "string") continue;
    out ??= { ...metadata };
    if (value === null || value === undefined) delete out[key];
    else out[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return (out ?? metadata) as Record<string, string>;
};

/**
 * Chat's `response_format` as a Responses `text.format`: `json_schema` is
 * nested in chat (`{type, json_schema:{name, schema, strict}}`) and flat in
 * Responses (`{type, name, schema, strict}`).
 */
export const textFormat = (format: Record<string, unknown>, problems: Problems): JsonObject | undefined => {
  switch (format.type) {
    case "text":
    case "json_object":
      return { type: format.type };
    case "json_schema": {
      const nested = isObject(format.json_schema) ? format.json_schema : undefined;
      const source = nested ?? format;
      const where = nested ? "response_format.json_schema" : "response_format";
      if (typeof source.name !== "string") {
        problems.expected(`${where}.name`, "a string");
        return undefined;
      }
      if (source.schema !== undefined && !isObject(source.schema)) {
        problems.expected(`${where}.schema`, "an object");
        return undefined;
      }
      const out: JsonObject = { type: "json_schema", name: source.name };
      if (source.schema !== undefined) out.schema = source.schema;
      if (typeof source.strict === "boolean") out.strict = source.strict;
      if (typeof source.description === "string") out.description = source.description;
      return out;
    }
    default:
      problems.add("response_format.type", "expected one of text, json_object, json_schema");
      return undefined;
  }
};

/** Sets the parameter fields of `body` from the validated top level (`format` from `textFormat`). */
export const addParams = (body: ResponsesRequest, fields: RequestBody, format: JsonObject | undefined): void => {
  if (typeof fields.instructions === "string") body.instructions = fields.instructions;
  for (const key of CARRIED) {
    const value = fields[key];
    if (value !== undefined && value !== null) body[key] = value;
  }

  if (fields.stop !== undefined && fields.stop !== null) {
    const stop = stopList(fields.stop);
    if (stop.length > 0) body.stop = stop;
  }

  if (typeof fields.user === "string") body.user = userField(fields.user);
  if (fields.metadata !== undefined && fields.metadata !== null) body.metadata = metadataField(fields.metadata);

  const maxOutput = fields.max_output_tokens ?? fields.max_completion_tokens ?? fields.max_tokens;
  if (typeof maxOutput === "number") body.max_output_tokens = Math.max(maxOutput, MIN_OUTPUT_TOKENS);

  // Cursor sends `previous_response_id` empty or null (cursor.md §1.2); the API rejects an empty id.
  if (typeof fields.previous_response_id === "string" && fields.previous_response_id !== "") {
    body.previous_response_id = fields.previous_response_id;
  }

  // The Responses field wins over the chat one when both are given.
  const reasoning = fields.reasoning;
  const effort = fields.reasoning_effort;
  if (typeof effort === "string" && (reasoning === undefined || reasoning === null || reasoning.effort == null)) {
    body.reasoning = { ...reasoning, effort };
  } else if (reasoning !== undefined && reasoning !== null) body.reasoning = reasoning;
  // A reasoning effort means a reasoning model, which rejects sampling parameters (`400 Unsupported parameter:
  // 'temperature'`, protocol.md §1.7); Cursor's chat-shaped Agent bodies send `temperature: 0` beside `reasoning`.
  const appliedEffort = reasoning?.effort ?? effort;
  if (typeof appliedEffort === "string" && appliedEffort !== "none") {
    if (body.temperature !== undefined) delete body.temperature;
    if (body.top_p !== undefined) delete body.top_p;
  }

  const text = fields.text;
  const addFormat = format !== undefined && (text?.format === undefined || text.format === null);
  const addVerbosity = typeof fields.verbosity === "string" &&
    (text?.verbosity === undefined || text.verbosity === null);
  if (addFormat || addVerbosity) {
    body.text = {
      ...text,
      ...(addFormat ? { format } : {}),
      ...(addVerbosity ? { verbosity: fields.verbosity } : {}),
    };
  } else if (text !== undefined && text !== null) body.text = text;

  // Chat asks for logprobs with `logprobs: true` (+ `top_logprobs`); Responses with an include entry.
  const include = fields.include ?? undefined;
  const wantsLogprobs = fields.logprobs === true ||
    (typeof fields.top_logprobs === "number" && fields.top_logprobs > 0);
  if (wantsLogprobs && !include?.includes(LOGPROBS_INCLUDE)) body.include = [...(include ?? []), LOGPROBS_INCLUDE];
  else if (include !== undefined) body.include = include;

  // Cursor's per-conversation id is the best prompt-cache key it offers (gabrii, codex-lb).
  const conversationId = fields.metadata?.cursorConversationId;
  if (typeof fields.prompt_cache_key === "string") body.prompt_cache_key = fields.prompt_cache_key;
  else if (typeof conversationId === "string" && conversationId !== "") body.prompt_cache_key = conversationId;
};
