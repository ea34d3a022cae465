/**
 * Stage 2, decode: a Cursor hybrid body (a Responses request posted to
 * `/chat/completions`) or a chat body, as one canonical Responses request.
 *
 * Pure and on the hot path: one pass over the turns and tools, no JSON
 * re-serialisation, strings referenced rather than copied. Every problem is
 * collected so the 400 names each bad field by path.
 *
 * @example
 * ```ts
 * const decoded = decodeRequest({ model: "openai/gpt-5", input: "hi", messages: [] });
 * // Result.succeed({ model: "openai/gpt-5", stream: false, body: { input: "hi" }, ... })
 * ```
 */
import * as Result from "effect/Result";
import { badRequest, type GatewayError } from "../errors/GatewayError.ts";
import type { JsonObject, ResponsesRequest } from "../protocol/responses.ts";
import { readBody } from "./body_schema.ts";
import { History } from "./history.ts";
import { addTurns } from "./input_items.ts";
import { addParams, textFormat } from "./params.ts";
import { isObject, Problems } from "./problems.ts";
import { chooseTurns } from "./shape.ts";
import { decodeToolChoice, decodeTools, legacyFunctionCall } from "./tools.ts";

export interface DecodedRequest {
  /** The model as the client named it (`provider/model` or a bare name). */
  readonly model: string;
  readonly fallbacks: ReadonlyArray<string>;
  readonly stream: boolean;
  /** The canonical upstream body, without `model` and `stream` (routing sets them per attempt). */
  readonly body: ResponsesRequest;
  /** Names of the request's `custom` tools: the encoder answers their calls as function calls with raw text. */
  readonly customTools: ReadonlySet<string>;
  /** Which list the conversation came from: `input` (hybrid) or `messages` (chat). */
  readonly shape: "hybrid" | "chat";
}

/**
 * The tool results a chat `messages` list holds beside the `input` that is used: Bifrost reports
 * Cursor's `input` may lack them or carry them empty while `messages` has the whole conversation
 * (cursor.md §1.2). Read only when both lists carry turns; its problems are not the request's.
 */
const resultsOf = (messages: unknown, customTools: ReadonlySet<string>) => {
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const other = new History(customTools, { stateful: true });
  addTurns(messages, "messages", other, new Problems());
  const results = other.results();
  return results.size > 0 ? results : undefined;
};

/** How a request is read beside its body. */
export interface DecodeOptions {
  /**
   * The request is Cursor's: its assistant turns may hold what the gateway wrote into Cursor's
   * content (carried reasoning, and `<think>` blocks with `reasoning_display: "think_tags"`).
   */
  readonly cursor?: { readonly stripThink: boolean };
}

export const decodeRequest = (
  raw: unknown,
  options: DecodeOptions = {},
): Result.Result<DecodedRequest, GatewayError> => {
  if (!isObject(raw)) return Result.fail(badRequest("Request body must be a JSON object.", { code: "invalid_type" }));
  const problems = new Problems();
  const fields = readBody(raw, problems);

  // The lists are read even when the top level has problems, so one 400 names them all.
  const decodedTools = decodeTools(
    Array.isArray(raw.tools) ? raw.tools : [],
    problems,
    Array.isArray(raw.functions) ? raw.functions : [],
  );
  const { customTools } = decodedTools;
  const turns = chooseTurns(raw.input, raw.messages, problems);
  let input: ResponsesRequest["input"] = "";
  if (turns !== undefined) {
    if ("text" in turns) input = turns.text;
    else {
      const stateful = (typeof raw.previous_response_id === "string" && raw.previous_response_id !== "") ||
        (raw.conversation !== undefined && raw.conversation !== null);
      const otherResults = turns.name === "input" ? resultsOf(raw.messages, customTools) : undefined;
      const history = new History(customTools, {
        stateful,
        ...(otherResults ? { otherResults } : {}),
        ...(options.cursor ? { cursorText: options.cursor } : {}),
      });
      addTurns(turns.list, turns.name, history, problems);
      input = history.finish();
    }
  }
  const choice = raw.tool_choice ??
    (typeof raw.function_call === "string" || isObject(raw.function_call)
      ? legacyFunctionCall(raw.function_call)
      : undefined);
  const toolChoice = typeof choice === "string" || isObject(choice)
    ? decodeToolChoice(choice, customTools, problems)
    : undefined;
  const format = isObject(raw.response_format) ? textFormat(raw.response_format, problems) : undefined;

  if (fields === undefined || turns === undefined || !problems.empty) return Result.fail(problems.toError());

  const body: ResponsesRequest = { input };
  if (decodedTools.tools.length > 0) body.tools = decodedTools.tools;
  if (toolChoice !== undefined) body.tool_choice = toolChoice as JsonObject | string;
  addParams(body, fields, format);
  return Result.succeed({
    model: fields.model,
    fallbacks: fields.fallbacks ?? [],
    stream: fields.stream === true,
    body,
    customTools,
    shape: turns.shape,
  });
};
