/**
 * Key material helpers: hashing, constant-time comparison, model patterns.
 *
 * Only SHA-256 digests of virtual keys are kept in memory; comparing digests
 * with `timingSafeEqual` (and scanning every entry) keeps lookups constant-time.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export const sha256 = (value: string): Uint8Array => createHash("sha256").update(value).digest();

export const sha256Hex = (value: string): string => createHash("sha256").update(value).digest("hex");

/** True when the digests match; examines every byte whatever the input. */
export const digestsEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

/** Finds the entry whose digest matches, looking at every entry so timing does not reveal position. */
export const findByDigest = <T extends { readonly digest: Uint8Array }>(
  entries: ReadonlyArray<T>,
  presented: Uint8Array,
): T | undefined => {
  let found: T | undefined;
  for (const entry of entries) {
    if (digestsEqual(entry.digest, presented) && found === undefined) found = entry;
  }
  return found;
};

const patternCache = new Map<string, RegExp>();

const patternToRegExp = (pattern: string): RegExp => {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    patternCache.set(pattern, re);
  }
  return re;
};

/**
 * Whether a model is allowed by a key's patterns: `*`, `openai/*`, `openai/gpt-5`,
 * or a bare model name (`gpt-5`), which allows that model at any provider.
 */
export const modelAllowed = (
  patterns: ReadonlyArray<string>,
  ref: { readonly label: string; readonly model: string },
): boolean =>
  patterns.some((pattern) =>
    pattern === "*" || patternToRegExp(pattern).test(ref.label) ||
    (!pattern.includes("/") && patternToRegExp(pattern).test(ref.model))
  );

/** The token of `Authorization: Bearer <token>`, whatever it looks like; `undefined` without one. */
export const bearerToken = (headers: Headers): string | undefined =>
  /^\s*bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1];

/** The credential a request presents: a virtual key, and/or a provider key to pass through. */
export const presentedCredentials = (headers: Headers): { readonly virtualKey?: string; readonly bearer?: string } => {
  const bearer = bearerToken(headers);
  const headerKey = headers.get("x-bf-vk")?.trim() || undefined;
  const virtualKey = headerKey ?? (bearer?.startsWith("sk-bf-") ? bearer : undefined);
  return {
    ...(virtualKey !== undefined ? { virtualKey } : {}),
    ...(bearer !== undefined && !bearer.startsWith("sk-bf-") ? { bearer } : {}),
  };
};

/** A new virtual key value: `sk-bf-` and 32 characters from 24 random bytes (192 bits). */
export const newKeyValue = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `sk-bf-${btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")}`;
};
