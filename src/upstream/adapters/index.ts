/**
 * The adapter of each upstream API. A provider's `api` picks one; fallback
 * candidates of one request may use different ones.
 */
import { adapter as anthropic } from "./anthropic/index.ts";
import { adapter as chat } from "./chat/index.ts";
import { adapter as gemini } from "./gemini/index.ts";
import { adapter as responses } from "./responses/index.ts";
import type { Adapter, Api } from "./types.ts";

const adapters: Readonly<Record<Api, Adapter | undefined>> = {
  responses,
  chat,
  anthropic,
  gemini,
};

/** The adapter for `api`; config validation guarantees every configured API has one. */
export const adapterFor = (api: Api): Adapter => {
  const adapter = adapters[api];
  if (adapter === undefined) throw new Error(`no adapter for the ${api} API`);
  return adapter;
};
