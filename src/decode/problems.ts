/**
 * Every problem found while decoding a body, collected so one 400 names them
 * all (`temperature: must be between 0 and 2; tools[1].name: expected a string`)
 * and the client fixes its request in one go.
 */
import { badRequest, type GatewayError } from "../errors/GatewayError.ts";

/** OpenAI's own codes for a bad parameter, so clients that branch on `code` see familiar values. */
export type ProblemCode = "missing_required_parameter" | "invalid_type" | "invalid_value";

export interface Problem {
  /** Where in the body, as `tools[1].function.name`. */
  readonly path: string;
  readonly message: string;
  readonly code: ProblemCode;
}

/** A body with thousands of bad items must not produce a megabyte of error text. */
const MAX_LISTED = 20;

export class Problems {
  readonly list: Problem[] = [];

  add(path: string, message: string, code: ProblemCode = "invalid_value"): void {
    this.list.push({ path, message, code });
  }

  /** `path: expected <what>`, the common case. */
  expected(path: string, what: string): void {
    this.list.push({ path, message: `expected ${what}`, code: "invalid_type" });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** The 400 naming every problem; `param` and `code` come from the first one. */
  toError(): GatewayError {
    const shown = this.list.slice(0, MAX_LISTED).map((p) => `${p.path}: ${p.message}`);
    const more = this.list.length - MAX_LISTED;
    const message = more > 0 ? `${shown.join("; ")}; and ${more} more` : shown.join("; ");
    return badRequest(message, { param: this.list[0]?.path ?? null, code: this.list[0]?.code ?? null });
  }
}

/** A plain JSON object (not null, not an array). */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
