/**
 * Stage 5, encode, as a service: Responses output and events into the client's
 * dialect. The translation itself is pure (`encodeCompletion`, `ChunkEncoder`);
 * the service is what the pipeline reads from context, so a layer can swap the
 * output dialect without touching the route.
 */
import * as Context from "effect/Context";
import * as Layer from "effect/Layer";
import type { ChatCompletion } from "../protocol/chat.ts";
import type { ResponsesResponse } from "../protocol/responses.ts";
import { ChunkEncoder } from "./chunks.ts";
import { encodeCompletion } from "./completion.ts";
import type { EncodeContext } from "./context.ts";

export interface EncoderShape {
  /** A whole answer as one `chat.completion`. */
  readonly completion: (response: ResponsesResponse, context: EncodeContext) => ChatCompletion;
  /** A stream's encoder: one per stream, fed one event at a time. */
  readonly chunks: (context: EncodeContext) => ChunkEncoder;
}

export class Encoder extends Context.Service<Encoder, EncoderShape>()("gateway/Encoder") {}

/** Chat Completions, as Cursor, the openai SDK and the Vercel AI SDK read it. */
export const layer: Layer.Layer<Encoder> = Layer.succeed(Encoder, {
  completion: encodeCompletion,
  chunks: (context) => new ChunkEncoder(context),
});
