/**
 * The top level of a request body: the scalar fields are checked here, every
 * problem at once, in the order below; the big lists (`input`, `messages`,
 * `tools`) are only checked to be arrays, and their items are read by the
 * modules that convert them, in the same single pass.
 *
 * Unknown fields are ignored (Cursor and SDKs add fields over time), and
 * `null` counts as absent, as it does for the OpenAI APIs.
 *
 * Checked by hand, in one loop over a table: this runs on every request, and
 * the effect Schema it replaces cost ~11 µs per request (a Cursor body has
 * ~15 top-level fields) against ~1 µs here, with the same messages.
 */
import { at, isObject, type Path, type ProblemCode, type Problems } from "./problems.ts";

type JsonObject = Record<string, unknown>;

/** The top-level fields once checked (absent or `null` when not given). */
export interface RequestBody {
  readonly model: string;
  readonly stream?: boolean | null;
  readonly fallbacks?: ReadonlyArray<string> | null;
  readonly input?: string | ReadonlyArray<unknown> | null;
  readonly messages?: ReadonlyArray<unknown> | null;
  readonly instructions?: string | null;
  readonly tools?: ReadonlyArray<unknown> | null;
  readonly tool_choice?: string | JsonObject | null;
  /** Chat's legacy spelling of `tools` (`[{name, description, parameters}]`). */
  readonly functions?: ReadonlyArray<unknown> | null;
  /** Chat's legacy spelling of `tool_choice` (`"auto"`, `"none"`, `{name}`). */
  readonly function_call?: string | JsonObject | null;
  readonly parallel_tool_calls?: boolean | null;
  readonly max_tool_calls?: number | null;
  readonly temperature?: number | null;
  readonly top_p?: number | null;
  readonly max_output_tokens?: number | null;
  readonly max_completion_tokens?: number | null;
  readonly max_tokens?: number | null;
  readonly n?: number | null;
  readonly logprobs?: boolean | null;
  readonly top_logprobs?: number | null;
  readonly stop?: string | ReadonlyArray<string> | null;
  readonly reasoning?: JsonObject | null;
  readonly reasoning_effort?: string | null;
  readonly text?: JsonObject | null;
  readonly verbosity?: string | null;
  readonly response_format?: JsonObject | null;
  readonly include?: ReadonlyArray<string> | null;
  readonly store?: boolean | null;
  readonly metadata?: JsonObject | null;
  readonly previous_response_id?: string | null;
  readonly conversation?: string | JsonObject | null;
  readonly prompt?: JsonObject | null;
  readonly prompt_cache_key?: string | null;
  readonly prompt_cache_retention?: string | null;
  readonly truncation?: string | null;
  readonly service_tier?: string | null;
  readonly user?: string | null;
  readonly safety_identifier?: string | null;
}

/** What is wrong with a present, non-null value, or `undefined` when it is fine. */
type Check = (value: unknown, path: Path, problems: Problems) => string | undefined;

const problem = (path: Path, message: string, problems: Problems) => problems.add(path, message, codeOf(message));

/** The messages here are ours, so their wording tells the kind of problem. */
const codeOf = (message: string): ProblemCode =>
  message === "required"
    ? "missing_required_parameter"
    : message.startsWith("expected")
    ? "invalid_type"
    : "invalid_value";

const typed = (test: (value: unknown) => boolean, what: string): Check => (value) =>
  test(value) ? undefined : `expected ${what}`;

const isString = (value: unknown) => typeof value === "string";
const isBoolean = (value: unknown) => typeof value === "boolean";

const string = typed(isString, "a string");
const boolean = typed(isBoolean, "a boolean");
const object = typed(isObject, "an object");
const array = (what: string) => typed(Array.isArray, what);
const stringOr = (other: (value: unknown) => boolean, what: string) =>
  typed((value) => typeof value === "string" || other(value), what);

const between = (minimum: number, maximum: number): Check => (value) =>
  typeof value !== "number"
    ? "expected a number"
    : value >= minimum && value <= maximum
    ? undefined
    : `must be between ${minimum} and ${maximum}`;

const integerFrom = (minimum: number, maximum?: number): Check => (value) =>
  typeof value !== "number"
    ? "expected an integer"
    : Number.isInteger(value) && value >= minimum && value <= (maximum ?? Number.MAX_SAFE_INTEGER)
    ? undefined
    : maximum === undefined
    ? `must be an integer of at least ${minimum}`
    : `must be an integer between ${minimum} and ${maximum}`;

/** An array whose every item is checked (each bad item named by index); `what` is the whole field's message. */
const arrayOf = (what: string, item: Check): Check => (value, path, problems) => {
  if (!Array.isArray(value)) return `expected ${what}`;
  for (let i = 0; i < value.length; i++) {
    const message = item(value[i], at(path, i), problems);
    if (message !== undefined) problem(at(path, i), message, problems);
  }
  return undefined;
};

const nonEmptyString: Check = (value) =>
  typeof value !== "string" ? "expected a string" : value.length > 0 ? undefined : "must not be empty";

/**
 * Longest model name (and fallback), in UTF-8 bytes. Provider model ids are a
 * few dozen bytes; a name is logged, quoted in errors and sent upstream on
 * every attempt, so a longer one is no model, only a cost to every stage.
 */
export const MAX_MODEL_BYTES = 256;

/** UTF-8 bytes of `text`, counted without encoding it: one to three bytes a UTF-16 unit (a pair makes four). */
const utf8Bytes = (text: string): number => {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x800 && (unit < 0xd800 || unit > 0xdfff)) bytes += 2;
    else if (unit >= 0x80) bytes += 1;
  }
  return bytes;
};

const modelName: Check = (value, path, problems) => {
  const message = nonEmptyString(value, path, problems);
  if (message !== undefined) return message;
  const text = value as string;
  // A UTF-16 unit is at most 3 bytes, so short names skip the count.
  return text.length * 3 <= MAX_MODEL_BYTES || utf8Bytes(text) <= MAX_MODEL_BYTES
    ? undefined
    : `must be at most ${MAX_MODEL_BYTES} bytes`;
};

const integer = integerFrom(1);

/** Every field, in the order its problems are listed. */
const FIELDS: ReadonlyArray<readonly [keyof RequestBody, Check]> = [
  ["stream", boolean],
  ["fallbacks", arrayOf("an array of model names", modelName)],

  // The conversation: Responses `input` or chat `messages` (which one is used is decided in decode.ts).
  ["input", stringOr(Array.isArray, "a string or an array of items")],
  ["messages", array("an array of messages")],
  ["instructions", string],

  ["tools", array("an array of tools")],
  ["tool_choice", stringOr(isObject, "a string or an object")],
  ["functions", array("an array of functions")],
  ["function_call", stringOr(isObject, "a string or an object")],
  ["parallel_tool_calls", boolean],
  ["max_tool_calls", integer],

  // Sampling and length.
  ["temperature", between(0, 2)],
  ["top_p", between(0, 1)],
  ["max_output_tokens", integer],
  ["max_completion_tokens", integer],
  ["max_tokens", integer],
  [
    "n",
    (value) =>
      typeof value !== "number"
        ? "expected an integer"
        : value === 1
        ? undefined
        : "must be 1: the Responses API returns a single choice",
  ],
  ["logprobs", boolean],
  ["top_logprobs", integerFrom(0, 20)],
  [
    "stop",
    typed(
      (value) => isString(value) || (Array.isArray(value) && value.every(isString)),
      "a string or an array of strings",
    ),
  ],

  // Reasoning and output format, Responses and chat spellings.
  ["reasoning", object],
  ["reasoning_effort", string],
  ["text", object],
  ["verbosity", string],
  ["response_format", object],

  // Responses fields carried through as they are.
  ["include", arrayOf("an array of strings", string)],
  ["store", boolean],
  ["metadata", object],
  ["previous_response_id", string],
  ["conversation", stringOr(isObject, "a string or an object")],
  ["prompt", object],
  ["prompt_cache_key", string],
  ["prompt_cache_retention", string],
  ["truncation", string],
  ["service_tier", string],
  ["user", string],
  ["safety_identifier", string],
];

/**
 * Checks the top level of a body that is already known to be an object.
 * Returns it typed, or `undefined` after adding every problem to `problems`.
 */
export const readBody = (raw: JsonObject, problems: Problems): RequestBody | undefined => {
  const before = problems.list.length;
  if (!Object.hasOwn(raw, "model")) problem("model", "required", problems);
  else {
    const message = modelName(raw.model, "model", problems);
    if (message !== undefined) problem("model", message, problems);
  }
  for (const [key, check] of FIELDS) {
    const value = raw[key];
    if (value === null || (value === undefined && !Object.hasOwn(raw, key))) continue;
    const message = check(value, key, problems);
    if (message !== undefined) problem(key, message, problems);
  }
  return problems.list.length === before ? raw as unknown as RequestBody : undefined;
};
