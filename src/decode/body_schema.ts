/**
 * The top level of a request body, as one effect Schema: the scalar fields
 * are checked here, every problem at once; the big lists (`input`,
 * `messages`, `tools`) are only checked to be arrays, and their items are
 * read by the modules that convert them, in the same single pass.
 *
 * Unknown fields are ignored (Cursor and SDKs add fields over time), and
 * `null` counts as absent, as it does for the OpenAI APIs.
 */
import { Schema, SchemaIssue } from "effect";
import { isObject, type ProblemCode, type Problems } from "./problems.ts";

/**
 * An array, checked without walking its items (they are converted later, in
 * one pass). `message` is the whole field's message: a declaration's issue is
 * the one a union reports.
 */
const anyArray = (message: string) =>
  Schema.declare((u: unknown): u is ReadonlyArray<unknown> => Array.isArray(u), { message });
/** A JSON object, passed through as it is. */
const anyObject = (message: string) =>
  Schema.declare((u: unknown): u is Record<string, unknown> => isObject(u), { message });

/** An optional field that may also be `null`; `expected` is the message for a wrong type. */
const nullable = <S extends Schema.Top>(schema: S, expected: string) =>
  Schema.optionalKey(Schema.NullOr(schema).annotate({ message: `expected ${expected}` }));

const arrayField = (what: string) => nullable(anyArray(`expected ${what}`), what);
const objectField = (what = "an object") => nullable(anyObject(`expected ${what}`), what);
const stringOr = <S extends Schema.Top>(other: (message: string) => S, what: string) =>
  nullable(Schema.Union([Schema.String, other(`expected ${what}`)]), what);

const optionalString = nullable(Schema.String, "a string");
const optionalBoolean = nullable(Schema.Boolean, "a boolean");

const between = (minimum: number, maximum: number) =>
  Schema.Number.check(
    Schema.makeFilter((n: number) => n >= minimum && n <= maximum, {
      message: `must be between ${minimum} and ${maximum}`,
    }),
  );

const integerFrom = (minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  Schema.Number.check(
    Schema.makeFilter((n: number) => Number.isInteger(n) && n >= minimum && n <= maximum, {
      message: maximum === Number.MAX_SAFE_INTEGER
        ? `must be an integer of at least ${minimum}`
        : `must be an integer between ${minimum} and ${maximum}`,
    }),
  );

const nonEmpty = Schema.makeFilter((s: string) => s.length > 0, { message: "must not be empty" });
const NonEmptyString = Schema.String.annotate({ message: "expected a string" }).check(nonEmpty);

export const RequestBody = Schema.Struct({
  model: Schema.String.annotate({ message: "expected a string" }).check(nonEmpty).annotateKey({
    messageMissingKey: "required",
  }),
  stream: optionalBoolean,
  fallbacks: nullable(Schema.Array(NonEmptyString), "an array of model names"),

  // The conversation: Responses `input` or chat `messages` (which one is used is decided in decode.ts).
  input: stringOr(anyArray, "a string or an array of items"),
  messages: arrayField("an array of messages"),
  instructions: optionalString,

  tools: arrayField("an array of tools"),
  tool_choice: stringOr(anyObject, "a string or an object"),
  parallel_tool_calls: optionalBoolean,
  max_tool_calls: nullable(integerFrom(1), "an integer"),

  // Sampling and length.
  temperature: nullable(between(0, 2), "a number"),
  top_p: nullable(between(0, 1), "a number"),
  max_output_tokens: nullable(integerFrom(1), "an integer"),
  max_completion_tokens: nullable(integerFrom(1), "an integer"),
  max_tokens: nullable(integerFrom(1), "an integer"),
  n: nullable(
    Schema.Number.check(
      Schema.makeFilter((n: number) => n === 1, { message: "must be 1: the Responses API returns a single choice" }),
    ),
    "an integer",
  ),
  logprobs: optionalBoolean,
  top_logprobs: nullable(integerFrom(0, 20), "an integer"),

  // Reasoning and output format, Responses and chat spellings.
  reasoning: objectField(),
  reasoning_effort: optionalString,
  text: objectField(),
  verbosity: optionalString,
  response_format: objectField(),

  // Responses fields carried through as they are.
  include: nullable(Schema.Array(Schema.String.annotate({ message: "expected a string" })), "an array of strings"),
  store: optionalBoolean,
  metadata: objectField(),
  previous_response_id: optionalString,
  conversation: stringOr(anyObject, "a string or an object"),
  prompt: objectField(),
  prompt_cache_key: optionalString,
  prompt_cache_retention: optionalString,
  truncation: optionalString,
  service_tier: optionalString,
  user: optionalString,
  safety_identifier: optionalString,
});

export type RequestBody = typeof RequestBody.Type;

const decodeBody = Schema.decodeUnknownExit(RequestBody);
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1();

const issuePath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path
    .map((segment) => typeof segment === "object" ? segment.key : segment)
    .map((key) => typeof key === "number" ? `[${key}]` : `.${String(key)}`)
    .join("")
    .replace(/^\./, "");

/** The messages above are ours, so their wording tells the kind of problem. */
const codeOf = (message: string): ProblemCode =>
  message === "required"
    ? "missing_required_parameter"
    : message.startsWith("expected")
    ? "invalid_type"
    : "invalid_value";

/**
 * Checks the top level of a body that is already known to be an object.
 * Returns the typed fields, or `undefined` after adding every problem to `problems`.
 */
export const readBody = (raw: Record<string, unknown>, problems: Problems): RequestBody | undefined => {
  const decoded = decodeBody(raw, { errors: "all" });
  if (decoded._tag === "Success") return decoded.value;
  for (const reason of decoded.cause.reasons) {
    if (reason._tag !== "Fail") continue;
    for (const issue of formatIssues((reason.error as Schema.SchemaError).issue).issues) {
      problems.add(issuePath(issue.path ?? []) || "(body)", issue.message, codeOf(issue.message));
    }
  }
  if (problems.empty) problems.add("(body)", "could not be decoded");
  return undefined;
};
