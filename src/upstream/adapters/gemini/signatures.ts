/**
 * Thought signatures, carried through clients that know nothing of them.
 *
 * Gemini 3 rejects a replayed `functionCall` whose `thoughtSignature` is missing (providers.md §2.5), and the
 * signature is opaque bytes only Gemini can check. Where it can ride back:
 *
 * 1. **In the call's id** (what this adapter does for every signed call): the `call_id` the client sees is
 *    `<id>__thought__<signature as base64url>`. Cursor, like every chat client, replays a tool call with its
 *    `id` and arguments and the tool result with that id, and nothing else of the answer (no
 *    `reasoning_details`), so the id is the one field sure to come back. The cost is a long id (a signature is
 *    ~0.3–3 KB); only the first call of each step carries one (parallel calls sign only the first). The
 *    `__thought__` separator is LiteLLM's, so its histories restore here too (their suffix is plain base64).
 * 2. **In a reasoning item's `encrypted_content`** as `sealReasoning("gemini", {text: <sig>, signatures?: {...}})`:
 *    the signature of a text part (which Gemini does not validate, but asks to get back) has no call to ride
 *    on, so it goes there; a client that replays reasoning items (Responses-shaped histories) returns it. A
 *    `signatures` map `{<call_id>: <sig>}` in such an envelope is honoured on replay too.
 *
 * On replay a call with no signature, for a model that requires one, gets `DUMMY_SIGNATURE` on the first call
 * of its step, as Google documents for histories without signatures, instead of a 400.
 */

const SEPARATOR = "__thought__";

/** Standard base64 (what the API sends) as base64url without padding: no `+`, `/`, `=` in an id. */
const toUrl = (signature: string): string => signature.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** Back to standard padded base64: the exact text the API sent (the API accepts either spelling of bytes). */
const fromUrl = (text: string): string => {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  return standard + "=".repeat((4 - (standard.length % 4)) % 4);
};

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The call id the client sees for a call Gemini signed. */
export const bindSignature = (callId: string, signature: string | undefined): string =>
  signature === undefined || signature === "" ? callId : `${callId}${SEPARATOR}${toUrl(signature)}`;

/**
 * The signature a call id carries, if any. Exported so that another adapter may strip it (`id` before the
 * separator) when a conversation moves to an API with short id limits.
 */
export const signatureOfCallId = (callId: string): string | undefined => {
  const at = callId.indexOf(SEPARATOR);
  if (at < 0) return undefined;
  const encoded = callId.slice(at + SEPARATOR.length);
  if (encoded === "" || !BASE64.test(encoded)) return undefined;
  return /[+/=]/.test(encoded) ? encoded : fromUrl(encoded);
};

/** The id without its signature. */
export const bareCallId = (callId: string): string => {
  const at = callId.indexOf(SEPARATOR);
  return at < 0 ? callId : callId.slice(0, at);
};
