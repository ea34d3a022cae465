/**
 * Reasoning a chat client sends back, as canonical `reasoning` items
 * (`{type:"reasoning", summary, encrypted_content}`), placed before the
 * assistant turn it preceded:
 *
 * - `reasoning_details` on an assistant message, as the gateway answers them
 *   (encode/items.ts) and OpenRouter spells them: `reasoning.encrypted`
 *   `{data, id?}` entries, and `reasoning.summary` `{summary}` /
 *   `reasoning.text` `{text, signature?}` entries whose text becomes the
 *   summary of the item they belong to (same `id`, or, without ids, the next
 *   encrypted entry: the gateway writes an item's texts before its data).
 *   Each encrypted entry makes one item; `data` is carried as it is, OpenAI's
 *   blob or the gateway's `gw1.<api>.` envelope;
 * - Anthropic `thinking` `{thinking, signature}` and `redacted_thinking`
 *   `{data}` blocks, which Cursor sends in messages for `claude-*` models
 *   (recordings/cursor/11): sealed as the anthropic adapter's own
 *   `{blocks}` envelope, which it restores on the next request.
 *
 * Malformed entries are skipped, never a 400: reasoning is a help the model
 * can do without, and refusing the body would end a conversation the upstream
 * would have served. Texts without encrypted data make no item: a stateless
 * request cannot use reasoning the upstream cannot verify (history.ts).
 */
import type { JsonObject } from "../protocol/responses.ts";
import { sealReasoning } from "../upstream/adapters/reasoning_envelope.ts";
import type { History } from "./history.ts";
import { isObject } from "./problems.ts";

/** A Claude thinking block as the anthropic adapter restores it (anthropic/messages.ts `restoredThinking`). */
export type ThinkingBlock =
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "redacted_thinking"; readonly data: string };

/** The anthropic envelope of a run of thinking blocks, the payload shape the anthropic answer seals. */
const sealedThinking = (blocks: ReadonlyArray<ThinkingBlock>): string => sealReasoning("anthropic", { blocks });

const reasoningItem = (summary: JsonObject[], encrypted: string): JsonObject => ({
  type: "reasoning",
  summary,
  encrypted_content: encrypted,
});

/** One `thinking` or `redacted_thinking` block as the adapter needs it, or `undefined` when it cannot be verified. */
export const thinkingBlock = (block: Record<string, unknown>): ThinkingBlock | undefined => {
  if (block.type === "thinking") {
    const { thinking, signature } = block;
    // Claude refuses thinking without the signature it made.
    if (typeof thinking !== "string" || typeof signature !== "string" || signature === "") return undefined;
    return { type: "thinking", thinking, signature };
  }
  if (block.type === "redacted_thinking" && typeof block.data === "string" && block.data !== "") {
    return { type: "redacted_thinking", data: block.data };
  }
  return undefined;
};

export const isThinkingBlock = (part: unknown): part is Record<string, unknown> =>
  isObject(part) && (part.type === "thinking" || part.type === "redacted_thinking");

/** A run of consecutive thinking blocks, as one reasoning item waiting in the history. */
export const addThinkingRun = (blocks: ReadonlyArray<ThinkingBlock>, history: History): void => {
  if (blocks.length > 0) history.reasoning(reasoningItem([], sealedThinking(blocks)));
};

/** The reasoning item being assembled from `reasoning_details` entries. */
interface Group {
  readonly summary: Array<{ type: "summary_text"; text: string }>;
  /** Claude's blocks, from OpenRouter-style entries (a `signature`, `format: "anthropic-claude-v1"`). */
  readonly thinking: ThinkingBlock[];
  encrypted?: string;
  /** `index` and type of the last text entry: the fragments of one streamed text share them. */
  lastText?: { readonly index: unknown; readonly type: unknown };
  /** The summary part the last thinking block was made from, which a later signed fragment replaces. */
  signedPart?: { text: string };
}

/** The prefix of the gateway's envelopes (reasoning_envelope.ts): data the gateway itself handed out. */
const ENVELOPE = "gw1.";

const newGroup = (): Group => ({ summary: [], thinking: [] });

/** Whether encrypted `data` with this `format` is OpenAI's blob (no format: the gateway's own answer). */
const isOpenAiFormat = (format: unknown): boolean =>
  format === undefined || format === null || (typeof format === "string" && format.startsWith("openai"));

const isAnthropicFormat = (format: unknown): boolean => typeof format === "string" && format.startsWith("anthropic");

/** A summary or text entry: its text joins the group's summary, a fragment of the last one joins that one. */
const addText = (group: Group, entry: Record<string, unknown>): void => {
  const raw = entry.type === "reasoning.summary" ? entry.summary : entry.text;
  const text = typeof raw === "string" ? raw : "";
  const signature = typeof entry.signature === "string" && entry.signature !== "" ? entry.signature : undefined;
  if (text === "" && signature === undefined) return;
  const last = group.lastText;
  const fragment = last !== undefined && typeof entry.index === "number" && last.index === entry.index &&
    last.type === entry.type && group.summary.length > 0;
  group.lastText = { index: entry.index, type: entry.type };
  let part: { type: "summary_text"; text: string } | undefined;
  if (fragment) {
    part = group.summary[group.summary.length - 1];
    part.text += text;
  } else if (text !== "") group.summary.push(part = { type: "summary_text", text });
  // Claude's thinking signed by Claude, as OpenRouter hands it out: the signature comes with the text's last fragment.
  if (signature === undefined) return;
  if (part !== undefined && part === group.signedPart) group.thinking.pop();
  group.thinking.push({ type: "thinking", thinking: part?.text ?? "", signature });
  group.signedPart = part;
};

/**
 * Adds the reasoning items of an assistant message's `reasoning_details` to the history, in
 * order; the message's own items, added next, are the ones they wait for.
 */
export const addReasoningDetails = (details: unknown, history: History): void => {
  if (!Array.isArray(details) || details.length === 0) return;
  const groups: Group[] = [];
  const byId = new Map<string, Group>();
  /** The group collecting entries without an id; OpenAI's encrypted entry ends it. */
  let open: Group | undefined;
  const groupOf = (id: unknown): Group => {
    if (typeof id === "string" && id !== "") {
      let group = byId.get(id);
      if (group === undefined || group.encrypted !== undefined) {
        group = newGroup();
        byId.set(id, group);
        groups.push(group);
      }
      return group;
    }
    if (open === undefined) groups.push(open = newGroup());
    return open;
  };

  for (const entry of details) {
    if (!isObject(entry)) continue;
    if (entry.type === "reasoning.summary" || entry.type === "reasoning.text") addText(groupOf(entry.id), entry);
    else if (entry.type === "reasoning.encrypted" && typeof entry.data === "string" && entry.data !== "") {
      const group = groupOf(entry.id);
      const data = entry.data;
      if (data.startsWith(ENVELOPE) || isOpenAiFormat(entry.format)) {
        group.encrypted = data;
        if (group === open) open = undefined;
      } else if (isAnthropicFormat(entry.format)) group.thinking.push({ type: "redacted_thinking", data });
      // Another API's raw data (a Gemini signature relayed by OpenRouter) would be taken for
      // OpenAI's blob and refused with the whole request: it is dropped.
    }
  }

  for (const group of groups) {
    if (group.encrypted !== undefined) {
      history.reasoning(reasoningItem(group.summary, group.encrypted));
    } else if (group.thinking.length > 0) {
      history.reasoning(reasoningItem(group.summary, sealedThinking(group.thinking)));
    }
  }
};
