/** The decode stage as tests use it: the decoded request, or the 400 it answers. */
import { Result } from "effect";
import { decodeRequest } from "../../src/decode/decode.ts";

/** Decodes a body that must be accepted; throws with the 400's message otherwise. */
export const decode = (raw: unknown) => {
  const result = decodeRequest(raw);
  if (Result.isFailure(result)) throw new Error(`expected a decoded request, got 400: ${result.failure.message}`);
  return result.success;
};

/** Decodes a body that must be refused, and returns its 400. */
export const reject = (raw: unknown) => {
  const result = decodeRequest(raw);
  if (Result.isSuccess(result)) throw new Error("expected a 400, got a decoded request");
  return result.failure;
};
