/**
 * Stage 2, decode, as a service: the hybrid or chat body into one canonical
 * Responses request. The translation itself is the pure `decodeRequest`; the
 * service is what the pipeline reads from context, so a layer can swap the
 * decoder (another input dialect) without touching the route.
 */
import * as Context from "effect/Context";
import * as Layer from "effect/Layer";
import type * as Result from "effect/Result";
import type { GatewayError } from "../errors/GatewayError.ts";
import { type DecodedRequest, type DecodeOptions, decodeRequest } from "./decode.ts";

export interface DecoderShape {
  /** The canonical request, or the 400 that names every bad field. */
  readonly request: (raw: unknown, options?: DecodeOptions) => Result.Result<DecodedRequest, GatewayError>;
}

export class Decoder extends Context.Service<Decoder, DecoderShape>()("gateway/Decoder") {}

/** Cursor's hybrid bodies and plain Chat Completions bodies. */
export const layer: Layer.Layer<Decoder> = Layer.succeed(Decoder, { request: decodeRequest });
