/**
 * Reasoning data names the API that made it.
 *
 * A reasoning item's `encrypted_content` reaches the client (as
 * `reasoning_details` of the chat answer) and comes back on the next turn.
 * OpenAI's own blob is carried as it is; what other APIs need back (Claude's
 * thinking text with its `signature`, or `redacted_thinking` data; Gemini's
 * thought signatures) rides in a tagged envelope: `gw1.<api>.<base64url JSON>`.
 * Each adapter restores only its own API's data and drops the rest, so a user
 * who switches model mid-conversation never gets a 400 for foreign reasoning.
 */
import type { Api } from "./types.ts";

const PREFIX = "gw1.";

const toBase64Url = (text: string): string => {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
};

const fromBase64Url = (text: string): string => {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
};

/** Wraps `payload` (any JSON) as reasoning data of `api`. */
export const sealReasoning = (api: Exclude<Api, "responses">, payload: unknown): string =>
  `${PREFIX}${api}.${toBase64Url(JSON.stringify(payload))}`;

/** Which API made an `encrypted_content` value, and its payload: a bare value is OpenAI's own blob. */
export type OpenedReasoning =
  | { readonly api: "responses"; readonly blob: string }
  | { readonly api: Exclude<Api, "responses">; readonly payload: unknown }
  | { readonly api: "unknown" };

export const openReasoning = (encrypted: unknown): OpenedReasoning => {
  if (typeof encrypted !== "string" || encrypted === "") return { api: "unknown" };
  if (!encrypted.startsWith(PREFIX)) return { api: "responses", blob: encrypted };
  const dot = encrypted.indexOf(".", PREFIX.length);
  const api = encrypted.slice(PREFIX.length, dot);
  if (dot < 0 || (api !== "chat" && api !== "anthropic" && api !== "gemini")) return { api: "unknown" };
  try {
    return { api, payload: JSON.parse(fromBase64Url(encrypted.slice(dot + 1))) };
  } catch {
    return { api: "unknown" };
  }
};

/** Whether `encrypted` was made by `api` (what an adapter checks before restoring it). */
export const reasoningMadeBy = (encrypted: unknown, api: Api): boolean => openReasoning(encrypted).api === api;
