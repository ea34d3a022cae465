/**
 * Stage 4, upstream: one HTTP call to `POST {base_url}{path}`, the path and
 * body made by the provider's adapter (`adapters/`), the key sent in the
 * provider's auth style.
 *
 * This layer knows HTTP and nothing of policy: it sends what routing decided
 * and hands back the raw `Response`; routing reads the status, retries,
 * rotates keys and falls back. The gateway's layer sends through undici
 * (`undici_send.ts` says why); `make(fetch)` sends through a `fetch`.
 */
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Redacted from "effect/Redacted";
import { Agent, type Dispatcher, EnvHttpProxyAgent } from "undici";
import type { ProviderConfig } from "../config/load.ts";
import type { AuthStyle } from "../config/presets.ts";
import { BodyReadError, send as dispatch } from "./undici_send.ts";

export interface UpstreamCall {
  readonly provider: ProviderConfig;
  /** The key to send: one of the provider's configured keys (the same object each time) or the client's own. */
  readonly apiKey: Redacted.Redacted<string> | undefined;
  /** Appended to the provider's base URL (`/responses`, `/chat/completions`, `/messages`, ...). */
  readonly path: string;
  /** The request body, already serialised in the provider's wire format for this attempt. */
  readonly body: string;
  /** Headers the provider's API requires besides auth (`anthropic-version`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the call: the client went away, or a timeout fired. */
  readonly signal: AbortSignal;
  /**
   * A non-streamed call: the answer may be read whole before the `Response` is handed back,
   * so that it parses from bytes rather than through a stream.
   */
  readonly readWhole?: boolean;
}

/** The request never got an HTTP answer: refused, reset, DNS, TLS, or aborted. */
export class UpstreamTransportError extends Data.TaggedError("UpstreamTransportError")<{
  readonly provider: string;
  readonly message: string;
  /** Why, as an error code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`) or `aborted`: never a URL. */
  readonly detail: string;
  readonly aborted: boolean;
}> {}

export interface UpstreamShape {
  readonly post: (call: UpstreamCall) => Effect.Effect<Response, UpstreamTransportError>;
  /**
   * The same call as a promise that rejects with the `UpstreamTransportError`. Routing awaits
   * it inside one plain async exchange per attempt when present; a service without it (a
   * wrapper that adds spans, a test double) is called through `post`.
   */
  readonly send?: (call: UpstreamCall) => Promise<Response>;
}

export class Upstream extends Context.Service<Upstream, UpstreamShape>()("gateway/Upstream") {}

/** The header that carries a key in each auth style (`none` sends no key at all). */
const authHeader = (style: AuthStyle, key: string): readonly [string, string] | undefined => {
  switch (style) {
    case "bearer":
      return ["authorization", `Bearer ${key}`];
    case "api-key":
      return ["api-key", key];
    case "x-api-key":
      return ["x-api-key", key];
    case "x-goog-api-key":
      return ["x-goog-api-key", key];
    case "none":
      return undefined;
  }
};

export const requestHeaders = (call: Pick<UpstreamCall, "provider" | "apiKey">): Headers => {
  const headers = new Headers();
  for (const name in call.provider.headers) headers.set(name, Redacted.value(call.provider.headers[name]));
  headers.set("content-type", "application/json");
  headers.set("accept", "application/json, text/event-stream");
  const key = call.apiKey === undefined ? "" : Redacted.value(call.apiKey);
  const auth = key !== "" ? authHeader(call.provider.auth, key) : undefined;
  if (auth) headers.set(auth[0], auth[1]);
  return headers;
};

/**
 * Why a call got no answer, in words safe to show: the error's code when it has one
 * (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, `UND_ERR_SOCKET`): a constant, so an operator
 * can tell a refused port from a TLS trust problem, and never a message that could carry a URL.
 */
const reasonOf = (cause: unknown): string => {
  const error = cause as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  const code = error?.code ?? error?.cause?.code;
  if (typeof code === "string" && /^[A-Z0-9_]{2,64}$/.test(code)) return code;
  return typeof error?.name === "string" ? error.name : "network error";
};

const transportError = (call: UpstreamCall, cause: unknown) => {
  const detail = call.signal.aborted ? "aborted" : reasonOf(cause);
  return new UpstreamTransportError({
    provider: call.provider.name,
    aborted: call.signal.aborted,
    detail,
    message: call.signal.aborted
      ? `request to provider '${call.provider.name}' was aborted`
      : `provider '${call.provider.name}' is unreachable: ${detail}`,
  });
};

/**
 * The headers for each configured key, built once per provider: building a `Headers` and
 * setting three fields cost ~3 µs per request. A client's own key (allow_provider_keys) is
 * not kept: its headers are built for the call. An API's own headers (`anthropic-version`)
 * are added per call, only for the APIs that have them.
 */
const headerCache = () => {
  // Keyed by the configured key's `Redacted` object: the only place its value is read, once.
  const built = new WeakMap<ProviderConfig, Map<Redacted.Redacted<string> | undefined, Record<string, string>>>();
  return (call: UpstreamCall): Record<string, string> => {
    let byKey = built.get(call.provider);
    if (byKey === undefined) {
      byKey = new Map();
      for (const apiKey of [undefined, ...call.provider.keys.map((key) => key.value)]) {
        byKey.set(apiKey, Object.fromEntries(requestHeaders({ provider: call.provider, apiKey })));
      }
      built.set(call.provider, byKey);
    }
    const headers = byKey.get(call.apiKey) ?? Object.fromEntries(requestHeaders(call));
    return call.headers === undefined ? headers : { ...headers, ...call.headers };
  };
};

/** Bounds the URLs kept per provider: Gemini puts the model in the path, and models are the client's to name. */
const MAX_URLS_PER_PROVIDER = 64;

/** The URL of each provider's paths, parsed once (a `new URL` costs ~2 µs). */
const urlCache = () => {
  const urls = new WeakMap<ProviderConfig, Map<string, URL>>();
  return (provider: ProviderConfig, path: string): URL => {
    let byPath = urls.get(provider);
    if (byPath === undefined) urls.set(provider, byPath = new Map());
    let url = byPath.get(path);
    if (url === undefined) {
      url = new URL(`${provider.baseUrl}${path}`);
      if (byPath.size >= MAX_URLS_PER_PROVIDER) byPath.clear();
      byPath.set(path, url);
    }
    return url;
  };
};

/** `fetch` against the provider. Error messages name the provider, never the key or the URL's credentials. */
export const make = (fetchImpl: typeof fetch = globalThis.fetch): UpstreamShape => {
  const headersOf = headerCache();
  const request = (call: UpstreamCall) =>
    fetchImpl(`${call.provider.baseUrl}${call.path}`, {
      method: "POST",
      headers: headersOf(call),
      body: call.body,
      signal: call.signal,
    });
  return {
    post: (call) => Effect.tryPromise({ try: () => request(call), catch: (cause) => transportError(call, cause) }),
    send: async (call) => {
      try {
        return await request(call);
      } catch (cause) {
        throw transportError(call, cause);
      }
    },
  };
};

/**
 * The provider through an undici dispatcher. `send` honours `readWhole`; a body that breaks
 * after the headers rejects with a `BodyReadError` (routing reports it as a dropped answer,
 * as it does a `fetch` body that fails to read). `post` hands the body back as a stream, as
 * `fetch` does, for the wrappers that call it.
 */
export const makeDispatched = (dispatcher: Dispatcher): UpstreamShape => {
  const headersOf = headerCache();
  const urlOf = urlCache();
  const send = async (call: UpstreamCall): Promise<Response> => {
    try {
      return await dispatch(dispatcher, {
        url: urlOf(call.provider, call.path),
        headers: headersOf(call),
        body: call.body,
        signal: call.signal,
        readWhole: call.readWhole === true,
      });
    } catch (cause) {
      throw cause instanceof BodyReadError ? cause : transportError(call, cause);
    }
  };
  return {
    post: (call) =>
      Effect.tryPromise({
        try: () => send({ ...call, readWhole: false }),
        catch: (cause) => cause instanceof UpstreamTransportError ? cause : transportError(call, cause),
      }),
    send,
  };
};

const proxyVariables = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"];

/** Whether the environment names a proxy (unreadable counts as none, as for `fetch`). */
const proxied = (): boolean => {
  try {
    return proxyVariables.some((name) => (Deno.env.get(name) ?? "") !== "");
  } catch {
    return false;
  }
};

/**
 * The gateway's upstream: one keep-alive pool for every provider, closed with the runtime.
 * Proxies come from the environment, as they do for `fetch`; without one a plain `Agent` is
 * used, since the proxy agent parses every request's origin against `NO_PROXY` (~5 µs each).
 */
export const layer: Layer.Layer<Upstream> = Layer.effect(
  Upstream,
  Effect.map(
    Effect.acquireRelease(
      Effect.sync((): Dispatcher => {
        const options = { headersTimeout: 0, bodyTimeout: 0, connectTimeout: 0 };
        return proxied() ? new EnvHttpProxyAgent(options) : new Agent(options);
      }),
      (agent) => Effect.promise(() => agent.destroy().catch(() => {})),
    ),
    makeDispatched,
  ),
);
