/**
 * A route of the gateway's HTTP surface, as features declare it (the admin
 * API, `/metrics`, the chat route). Here, below every stage, so a feature
 * declares its routes without importing the handler that serves them.
 */
import type * as Effect from "effect/Effect";
import type { GatewayError } from "../errors/GatewayError.ts";
import type { RequestTrace } from "./trace.ts";

/** One method of a route: the request and its trace in, a response (or the error to answer) out. */
export type RouteHandler<R> = (request: Request, trace: RequestTrace) => Effect.Effect<Response, GatewayError, R>;

export interface Route<R> {
  readonly methods: Readonly<Record<string, RouteHandler<R>>>;
  /** Paths under this prefix match too (`/admin/keys/{id}`). */
  readonly prefix?: boolean;
}
