/**
 * The adapter of each upstream API. A provider's `api` picks one; fallback
 * candidates of one request may use different ones.
 */
import { adapter as responses } from "./responses/index.ts";
import type { Adapter, Api } from "./types.ts";

const adapters: Readonly<Record<Api, Adapter | undefined>> = {
  responses,
  chat: undefined,
  anthropic: undefined,
  gemini: undefined,
};

/** The adapter for `api`; config validation guarantees every configured API has one. */
export const adapterFor = (api: Api): Adapter => {
  const adapter = adapters[api];
  if (adapter === undefined) throw new Error(`no adapter for the ${api} API`);
  return adapter;
};
