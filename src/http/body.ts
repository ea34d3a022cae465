/**
 * Reads a request body as JSON without ever holding more than the configured
 * limit: `content-length` is checked first, then the bytes as they arrive.
 */
import { Effect } from "effect";
import { badRequest, GatewayError, payloadTooLarge } from "../errors/GatewayError.ts";

export const readJsonBody = (request: Request, limit: number): Effect.Effect<unknown, GatewayError> =>
  Effect.tryPromise({
    try: () => readJson(request, limit),
    catch: (error) => error instanceof GatewayError ? error : badRequest("Could not read the request body."),
  });

/** The body parsed as JSON; rejects with the `GatewayError` to answer (413, or 400 for an empty or invalid body). */
export const readJson = async (request: Request, limit: number): Promise<unknown> => {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw payloadTooLarge(limit);
  let text: string;
  try {
    text = await readText(request, limit, declared);
  } catch (error) {
    throw error instanceof BodyTooLarge ? payloadTooLarge(limit) : badRequest("Could not read the request body.");
  }
  if (text.trim() === "") throw badRequest("Request body is empty; expected a JSON object.");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`Request body is not valid JSON: ${(error as SyntaxError).message}`, { code: "invalid_json" });
  }
};

class BodyTooLarge extends Error {}

const readText = async (request: Request, limit: number, declared: number): Promise<string> => {
  if (!request.body) return "";
  // A declared length within the limit is enforced by the HTTP server (the body cannot run past
  // it), so the body is read in one native call. Reading it through a stream reader instead
  // cost a fresh 64 KiB buffer per read and ~8 µs for an 8 KB body.
  if (declared >= 0 && !request.headers.has("transfer-encoding")) return await request.text();
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
