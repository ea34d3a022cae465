/**
 * Server-sent event framing, written in one place: every frame the gateway
 * sends downstream is `data: <payload>\n\n` (chunks, the error frame, the
 * closing `[DONE]`) or a `: comment\n\n` keepalive. The chunk encoder splices
 * the prefix and terminator into its precomputed templates, so they are
 * exported as constants as well as functions.
 */

/** What every data frame starts with. */
export const DATA_PREFIX = "data: ";

/** What ends every frame: the blank line. */
export const FRAME_END = "\n\n";

/** One data frame around an already-serialised payload. */
export const dataFrame = (payload: string): string => `${DATA_PREFIX}${payload}${FRAME_END}`;

/** The frame that ends a Chat Completions stream (OpenAI's own sentinel, which every client waits for). */
export const DONE_FRAME = dataFrame("[DONE]");

/** A comment frame: clients and proxies ignore it, but it keeps an idle connection alive. */
export const commentFrame = (text: string): string => `: ${text}${FRAME_END}`;
