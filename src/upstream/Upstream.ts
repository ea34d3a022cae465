/**
 * Stage 4, upstream: one HTTP call to `POST {base_url}/responses`.
 *
 * This layer knows HTTP and nothing of policy: it sends what routing decided
 * and hands back the raw `Response`; routing reads the status, retries,
 * rotates keys and falls back. The gateway's layer sends through undici
 * (`undici_send.ts` says why); `make(fetch)` sends through a `fetch`.
 */
import { Context, Data, Effect, Layer } from "effect";
import { Agent, type Dispatcher, EnvHttpProxyAgent } from "undici";
import type { ProviderConfig } from "../config/load.ts";
import { BodyReadError, send as dispatch } from "./undici_send.ts";

export interface UpstreamCall {
  readonly provider: ProviderConfig;
  readonly apiKey: string | undefined;
  /** The request body, already serialised (the model and stream flags set for this attempt). */
  readonly body: string;
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

export const requestHeaders = (call: UpstreamCall): Headers => {
  const headers = new Headers(call.provider.headers);
  headers.set("content-type", "application/json");
  headers.set("accept", "application/json, text/event-stream");
  if (call.apiKey) headers.set("authorization", `Bearer ${call.apiKey}`);
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

const transportError = (call: UpstreamCall, cause: unknown) =>
  new UpstreamTransportError({
    provider: call.provider.name,
    aborted: call.signal.aborted,
    message: call.signal.aborted
      ? `request to provider '${call.provider.name}' was aborted`
      : `provider '${call.provider.name}' is unreachable: ${reasonOf(cause)}`,
  });

/**
 * The headers for each configured key, built once per provider: building a `Headers` and
 * setting three fields cost ~3 µs per request. A client's own key (allow_provider_keys) is
 * not kept: its headers are built for the call.
 */
const headerCache = () => {
  const built = new WeakMap<ProviderConfig, Map<string | undefined, Record<string, string>>>();
  return (call: UpstreamCall): Record<string, string> => {
    let byKey = built.get(call.provider);
    if (byKey === undefined) {
      byKey = new Map();
      for (const apiKey of [undefined, ...call.provider.keys.map((key) => key.value)]) {
        byKey.set(apiKey, Object.fromEntries(requestHeaders({ ...call, apiKey })));
      }
      built.set(call.provider, byKey);
    }
    return byKey.get(call.apiKey) ?? Object.fromEntries(requestHeaders(call));
  };
};

/** `fetch` against the provider. Error messages name the provider, never the key or the URL's credentials. */
export const make = (fetchImpl: typeof fetch = globalThis.fetch): UpstreamShape => {
  const headersOf = headerCache();
  const request = (call: UpstreamCall) =>
    fetchImpl(`${call.provider.baseUrl}/responses`, {
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
  const urls = new WeakMap<ProviderConfig, URL>();
  const urlOf = (provider: ProviderConfig) => {
    let url = urls.get(provider);
    if (url === undefined) urls.set(provider, url = new URL(`${provider.baseUrl}/responses`));
    return url;
  };
  const send = async (call: UpstreamCall): Promise<Response> => {
    try {
      return await dispatch(dispatcher, {
        url: urlOf(call.provider),
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
