/**
 * What the gateway writes into an assistant's `content` for Cursor, which renders nothing else,
 * and takes back out of the assistant turns Cursor replays (issue 14, point 8; cursor.md §2.7):
 *
 * - reasoning mirrored as `<think>\n…\n</think>\n\n` (`reasoning_display: "think_tags"`): Cursor
 *   shows it as text, and sends it back with the turn, where the upstream must not read it as
 *   the model's answer;
 * - encrypted reasoning (OpenAI's `encrypted_content`, the gateway's `gw1.` envelopes of Claude's
 *   signed thinking and Gemini's thought signatures) in an HTML comment,
 *   `<!--gw-reasoning DATA-->` (`reasoning_carry: "comment"`), which Markdown hides: Cursor drops
 *   `reasoning_content` and every reasoning field on replay, but keeps the content, so the
 *   reasoning comes back with it and the next request restores it as a reasoning item (clyde
 *   smuggles Claude's thinking the same way). Both alphabets (base64, base64url with dots) have no
 *   `>`, so the data never ends the comment early.
 *
 * Encode (stage 5) writes these and decode (stage 2) reads them, so they live here, below both.
 *
 * @example
 * ```ts
 * carryComment("gAAAAB…"); // "<!--gw-reasoning gAAAAB…-->\n\n"
 * cleanAssistantText("<!--gw-reasoning gAAAAB…-->\n\nDone.", { stripThink: false, onReasoning: restore }); // "Done."
 * ```
 */

export const THINK_OPEN = "<think>\n";
export const THINK_CLOSE = "\n</think>\n\n";

const CARRY_OPEN = "<!--gw-reasoning ";
const CARRY_CLOSE = "-->";

/** One reasoning item's encrypted data as the comment that carries it through Cursor. */
export const carryComment = (data: string): string => `${CARRY_OPEN}${data}${CARRY_CLOSE}\n\n`;

const CARRIED = /<!--gw-reasoning ([^\s>]+)-->\s*/g;
const THINK = /<think>[\s\S]*?<\/think>\s*/g;

export interface CleanOptions {
  /** Remove `<think>…</think>` blocks (the gateway's mirrored reasoning). */
  readonly stripThink: boolean;
  /** Called with the data of each carried reasoning comment, in order, as it is removed. */
  readonly onReasoning: (data: string) => void;
}

/**
 * An assistant turn's text without what the gateway wrote for Cursor. The common case (no `<`
 * of either kind) returns the text as it is, after one scan for each marker.
 */
export const cleanAssistantText = (text: string, options: CleanOptions): string => {
  let cleaned = text;
  if (cleaned.includes(CARRY_OPEN)) {
    cleaned = cleaned.replace(CARRIED, (_, data: string) => {
      options.onReasoning(data);
      return "";
    });
  }
  if (options.stripThink && cleaned.includes("<think>")) cleaned = cleaned.replace(THINK, "");
  return cleaned;
};
