/**
 * Reads a request body as JSON without ever holding more than the configured
 * limit: `content-length` is checked first, then the bytes as they arrive.
 */
import { Effect } from "effect";
import { badRequest, type GatewayError, payloadTooLarge } from "../errors/GatewayError.ts";

export const readJsonBody = (request: Request, limit: number): Effect.Effect<unknown, GatewayError> =>
  Effect.gen(function* () {
    const declared = Number(request.headers.get("content-length") ?? NaN);
    if (declared > limit) return yield* Effect.fail(payloadTooLarge(limit));
    const text = yield* Effect.tryPromise({
      try: () => readText(request, limit),
      catch: (error) =>
        error instanceof BodyTooLarge ? payloadTooLarge(limit) : badRequest("Could not read the request body."),
    });
    if (text.trim() === "") return yield* Effect.fail(badRequest("Request body is empty; expected a JSON object."));
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      return yield* Effect.fail(
        badRequest(`Request body is not valid JSON: ${(error as SyntaxError).message}`, { code: "invalid_json" }),
      );
    }
  });

class BodyTooLarge extends Error {}

const readText = async (request: Request, limit: number): Promise<string> => {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    parts.push(value);
  }
  if (parts.length === 1) return new TextDecoder().decode(parts[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return new TextDecoder().decode(all);
};
