/**
 * `GET /v1/models`, `/cursor/v1/models` and `.../models/{id}`: the configured models as
 * `provider/model` ids, and the config's model aliases by their own names.
 *
 * Cursor verifies a key with this call before any chat request (cursor.md §0.1), so when the
 * gateway has keys (virtual keys in the config, or the admin API that makes them) the call
 * needs a valid one, as a chat request does: a mistyped key fails here, where Cursor reports it,
 * not on the first chat turn. A virtual key sees only the models its patterns allow; a client's
 * own provider key (`allow_provider_keys`), which the gateway cannot check, sees them all
 * (issue 14, point 10).
 *
 * @example
 * ```ts
 * // GET /v1/models/openai/gpt-5  ->  {"id":"openai/gpt-5","object":"model","created":0,"owned_by":"openai"}
 * ```
 */
import * as Effect from "effect/Effect";
import { Auth, type Caller } from "../auth/Auth.ts";
import type { GatewayConfig } from "../config/load.ts";
import { Settings } from "../config/Settings.ts";
import type { ModelRef } from "../core/model.ts";
import { GatewayError } from "../errors/GatewayError.ts";
import { resolveModel } from "../routing/model_ref.ts";

export interface ModelEntry {
  readonly id: string;
  readonly object: "model";
  readonly created: number;
  readonly owned_by: string;
}

interface Listed {
  readonly entry: ModelEntry;
  /** What a key's patterns judge: the model itself, or the model an alias stands for. */
  readonly ref: ModelRef;
}

const entry = (id: string, owner: string): ModelEntry => ({ id, object: "model", created: 0, owned_by: owner });

/** Every model the config names: each provider's `models`, then the aliases. */
const listed = (config: GatewayConfig): ReadonlyArray<Listed> => {
  const out: Listed[] = [];
  for (const provider of Object.values(config.providers)) {
    for (const model of provider.models) {
      const ref = { provider: provider.name, model, label: `${provider.name}/${model}` };
      out.push({ entry: entry(ref.label, provider.name), ref });
    }
  }
  for (const [name, alias] of config.modelAliases ?? []) {
    const ref = resolveModel(alias.model, config);
    out.push({ entry: entry(name, ref.provider), ref });
  }
  return out;
};

const modelNotFound = (id: string) =>
  new GatewayError({
    status: 404,
    type: "invalid_request_error",
    message: `The model '${id}' does not exist or this key may not use it.`,
    param: "model",
    code: "model_not_found",
  });

/** Whether the gateway has keys a caller must present: virtual keys in the config, or the admin API's. */
const keysConfigured = (config: GatewayConfig): boolean =>
  config.virtualKeys.length > 0 || config.adminKey !== undefined;

/**
 * The models route: `base` is the path of the list (`/v1/models`); a path below it names one
 * model (`/v1/models/openai/gpt-5`, percent-encoded or not).
 */
export const modelsRoute = (base: string) =>
  // One generator function per route, not one per request (see `chat_completions.ts`).
  Effect.fnUntraced(function* (request: Request, path: string) {
    const config = yield* Settings;
    const auth = yield* Auth;
    let caller: Caller | undefined;
    if (keysConfigured(config)) caller = yield* auth.authenticate(request.headers);
    const visible = listed(config).filter((model) => caller === undefined || auth.allows(caller, model.ref));
    if (path === base) {
      return Response.json({ object: "list", data: visible.map((model) => model.entry) });
    }
    let id = path.slice(base.length + 1);
    try {
      id = decodeURIComponent(id);
    } catch {
      return yield* Effect.fail(modelNotFound(id));
    }
    // A bare name finds the model of the default provider, as a chat request's `model` would.
    const label = resolveModel(id, config).label;
    const found = visible.find((model) => model.entry.id === id) ?? visible.find((model) => model.entry.id === label);
    if (found === undefined) return yield* Effect.fail(modelNotFound(id));
    return Response.json(found.entry);
  });
