/**
 * The admin API's one way in: `Authorization: Bearer <admin_key>`, compared as
 * SHA-256 digests in constant time. Every `/admin/*` route (keys, requests,
 * usage, stats) checks it first.
 */
import * as Effect from "effect/Effect";
import * as Redacted from "effect/Redacted";
import { bearerToken, digestsEqual, sha256 } from "../auth/keys.ts";
import { type GatewayError, unauthorized } from "../errors/GatewayError.ts";

/** Succeeds when `request` carries the admin key, else fails with a 401. */
export type AdminGuard = (request: Request) => Effect.Effect<void, GatewayError>;

/**
 * The guard of `adminKey`, its digest taken once.
 *
 * @example
 * ```ts
 * const guard = adminGuard(Redacted.make("sk-admin"));
 * Effect.runSync(guard(new Request("http://x/admin/keys", { headers: { authorization: "Bearer sk-admin" } })));
 * ```
 */
export const adminGuard = (adminKey: Redacted.Redacted<string>): AdminGuard => {
  const adminDigest = sha256(Redacted.value(adminKey));
  // Only `Authorization: Bearer`, as documented: `x-bf-vk` is where virtual keys go, and a header
  // that clients, proxies and logs treat as a virtual key must not also open the admin API.
  return (request) => {
    const presented = bearerToken(request.headers);
    return presented !== undefined && digestsEqual(sha256(presented), adminDigest)
      ? Effect.void
      : Effect.fail(unauthorized("Missing or invalid admin key. Pass the admin key as a Bearer token."));
  };
};
