/**
 * `GET /metrics`: the Prometheus scrape endpoint. When `metrics_key` is
 * configured, it answers only `Authorization: Bearer <metrics_key>` (compared
 * as digests in constant time); otherwise it is open, like Bifrost's.
 */
import * as Effect from "effect/Effect";
import * as Redacted from "effect/Redacted";
import { digestsEqual, sha256 } from "../auth/keys.ts";
import { GatewayError } from "../errors/GatewayError.ts";
import type { Route } from "../core/route.ts";
import { contentType } from "../observability/metrics.ts";
import type { TelemetryShape } from "../observability/Telemetry.ts";

export const metricsPath = "/metrics";

const bearerOf = (request: Request): string | undefined =>
  /^\s*bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];

const missingKey = () =>
  new GatewayError({
    status: 401,
    type: "authentication_error",
    message: "Missing or invalid metrics key. Pass the configured metrics_key as a Bearer token.",
    param: null,
    code: "invalid_api_key",
    headers: { "www-authenticate": 'Bearer realm="metrics"' },
  });

export const metricsRoute = (
  metricsKey: Redacted.Redacted<string> | undefined,
  telemetry: TelemetryShape,
): Route<never> => {
  const expected = metricsKey ? sha256(Redacted.value(metricsKey)) : undefined;
  const headers = { "content-type": contentType, "cache-control": "no-store" };
  return {
    methods: {
      GET: (request) => {
        if (expected) {
          const presented = bearerOf(request);
          if (presented === undefined || !digestsEqual(sha256(presented), expected)) {
            return Effect.fail(missingKey());
          }
        }
        return Effect.sync(() => new Response(telemetry.metrics?.render() ?? "", { headers }));
      },
    },
  };
};
