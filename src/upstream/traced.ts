/**
 * The upstream service with a client span per attempt, when tracing is on
 * (`observability/tracing.ts` says how tracing is set up).
 */
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { hostOf } from "../observability/tracing_setup.ts";
import { Upstream } from "./Upstream.ts";

/** Wraps the upstream layer so every call is a client span under the stage that made it. */
export const traceUpstream = (inner: Layer.Layer<Upstream>): Layer.Layer<Upstream> =>
  Layer.effect(
    Upstream,
    Effect.map(Effect.service(Upstream), (upstream) => ({
      post: (call) =>
        upstream.post(call).pipe(
          Effect.tap((response) =>
            Effect.annotateCurrentSpan({
              "http.response.status_code": response.status,
              ...(response.ok ? {} : { "error.type": String(response.status) }),
            })
          ),
          Effect.withSpan("gateway.upstream_attempt", {
            kind: "client",
            attributes: {
              "http.request.method": "POST",
              "gen_ai.provider.name": call.provider.name,
              "server.address": hostOf(call.provider.baseUrl),
            },
          }, { captureStackTrace: false }),
        ),
    })),
  ).pipe(Layer.provide(inner));
