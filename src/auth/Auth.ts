/**
 * Stage 1, auth: who is calling, may they use these models, and what did it cost.
 *
 * `authenticate` looks only at headers (401 comes before any body parsing);
 * `admit` checks the decoded models; the `Grant` it returns travels with the
 * request and is settled exactly once when the request ends (served, failed
 * or cut off).
 */
import { Context, Effect, Layer } from "effect";
import type { GatewayConfig } from "../config/load.ts";
import { forbidden, type GatewayError, unauthorized } from "../errors/GatewayError.ts";
import type { Cost } from "../protocol/chat.ts";
import type { ResponsesUsage } from "../protocol/responses.ts";
import type { ModelRef } from "../routing/model_ref.ts";
import { findByDigest, modelAllowed, presentedCredentials, sha256 } from "./keys.ts";

/** What the request ended with, for accounting. */
export interface Settlement {
  /** The candidate that served the request, when one did. */
  readonly served?: ModelRef;
  readonly usage?: ResponsesUsage;
  readonly cost?: Cost;
}

/** Who is calling, established from the request headers alone. */
export interface Caller {
  /** The virtual key's id (never its value), when the caller presented one. */
  readonly virtualKeyId?: string;
  /** A non-`sk-bf-` bearer accepted as a provider key (`allow_provider_keys`). */
  readonly providerKey?: string;
}

/** Permission to serve one request; settled exactly once when the request ends. */
export interface Grant {
  readonly virtualKeyId?: string;
  /** A client-supplied provider key, used upstream for this provider only. */
  readonly providerKey?: { readonly provider: string; readonly value: string };
  /** Records what the request used. */
  readonly settle: (settlement: Settlement) => Effect.Effect<void>;
  /** Response headers the grant adds (rate-limit state, for example). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AuthShape {
  /** 401 unless the request carries a known, active virtual key (or an accepted provider key). */
  readonly authenticate: (headers: Headers) => Effect.Effect<Caller, GatewayError>;
  /** 403 for a model the key may not use; later issues add 429 and 402 here. */
  readonly admit: (caller: Caller, candidates: ReadonlyArray<ModelRef>) => Effect.Effect<Grant, GatewayError>;
  /** The USD cost of a usage at a model, when the model has a price. */
  readonly price: (ref: ModelRef, usage: ResponsesUsage) => Cost | undefined;
}

export class Auth extends Context.Service<Auth, AuthShape>()("gateway/Auth") {}

interface KeyEntry {
  readonly id: string;
  readonly digest: Uint8Array;
  readonly models: ReadonlyArray<string>;
  readonly active: boolean;
  readonly expiresAt?: number;
}

const settleNothing = (_: Settlement) => Effect.void;

/** Virtual keys from the config file, checked in constant time; no limits or budgets. */
export const make = (config: GatewayConfig): AuthShape => {
  const entries: ReadonlyArray<KeyEntry> = config.virtualKeys.map((vk) => ({
    id: vk.id,
    digest: sha256(vk.value),
    models: vk.models,
    active: vk.active,
    ...(vk.expiresAt !== undefined ? { expiresAt: Date.parse(vk.expiresAt) } : {}),
  }));

  const modelsOf = new Map(entries.map((entry) => [entry.id, entry.models]));

  const authenticate = (headers: Headers): Effect.Effect<Caller, GatewayError> => {
    const { virtualKey, bearer } = presentedCredentials(headers);
    const providerKey = config.allowProviderKeys ? bearer : undefined;
    if (virtualKey === undefined) {
      return providerKey !== undefined ? Effect.succeed({ providerKey }) : Effect.fail(unauthorized());
    }
    const entry = findByDigest(entries, sha256(virtualKey));
    if (!entry || !entry.active || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) {
      return Effect.fail(unauthorized("Invalid virtual key."));
    }
    return Effect.succeed({ virtualKeyId: entry.id, ...(providerKey !== undefined ? { providerKey } : {}) });
  };

  const admit = (caller: Caller, candidates: ReadonlyArray<ModelRef>): Effect.Effect<Grant, GatewayError> => {
    const primary = candidates[0];
    const providerKey = caller.providerKey !== undefined && primary
      ? { provider: primary.provider, value: caller.providerKey }
      : undefined;
    if (caller.virtualKeyId !== undefined) {
      const models = modelsOf.get(caller.virtualKeyId) ?? [];
      const denied = candidates.find((ref) => !modelAllowed(models, ref));
      if (denied) {
        return Effect.fail(
          forbidden(`Virtual key '${caller.virtualKeyId}' is not allowed to use model '${denied.label}'.`),
        );
      }
    }
    return Effect.succeed({
      ...(caller.virtualKeyId !== undefined ? { virtualKeyId: caller.virtualKeyId } : {}),
      ...(providerKey ? { providerKey } : {}),
      settle: settleNothing,
    });
  };

  return { authenticate, admit, price: () => undefined };
};

export const layer = (config: GatewayConfig) => Layer.succeed(Auth, make(config));
