/**
 * Stage 2, decode: a Cursor hybrid body or a chat body into one canonical
 * Responses request. PLACEHOLDER: being replaced by the full decoder.
 */
import { Result } from "effect";
import { badRequest, type GatewayError } from "../errors/GatewayError.ts";
import type { ResponsesRequest } from "../protocol/responses.ts";

export interface DecodedRequest {
  /** The model as the client named it (`provider/model` or a bare name). */
  readonly model: string;
  readonly fallbacks: ReadonlyArray<string>;
  readonly stream: boolean;
  /** The canonical upstream body, without `model` and `stream` (routing sets them per attempt). */
  readonly body: ResponsesRequest;
}

export const decodeRequest = (raw: unknown): Result.Result<DecodedRequest, GatewayError> => {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return Result.fail(badRequest("Request body must be a JSON object."));
  }
  const body = raw as Record<string, unknown>;
  if (typeof body.model !== "string") return Result.fail(badRequest("model: expected a string", { param: "model" }));
  const input = (body.input ?? body.messages) as ResponsesRequest["input"];
  return Result.succeed({ model: body.model, fallbacks: [], stream: body.stream === true, body: { input } });
};
