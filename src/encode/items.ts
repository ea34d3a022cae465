/**
 * Readers for Responses output items, shared by the JSON and the streamed encoder.
 *
 * Upstream items are loosely typed JSON, so every field is checked before it is used;
 * a part or annotation of an unknown type is skipped, never fatal.
 */
import type { ReasoningDetail, UrlCitation } from "../protocol/chat.ts";
import type { JsonObject } from "../protocol/responses.ts";

export const stringOf = (value: unknown): string | undefined => typeof value === "string" ? value : undefined;

const objects = (value: unknown): JsonObject[] =>
  Array.isArray(value) ? value.filter((entry): entry is JsonObject => entry !== null && typeof entry === "object") : [];

/** A message item's content parts (`output_text`, `refusal`). */
export const contentParts = (item: JsonObject): JsonObject[] => objects(item.content);

/**
 * A `url_citation` annotation in Chat form; `offset` moves its indexes past the text of the
 * parts before it, because Chat has one `content` string where Responses has several parts.
 * Other annotation types (file citations, file paths) have no Chat form and are skipped.
 */
export const urlCitation = (annotation: unknown, offset: number): UrlCitation | undefined => {
  if (annotation === null || typeof annotation !== "object") return undefined;
  const a = annotation as JsonObject;
  if (a.type !== "url_citation" || typeof a.url !== "string") return undefined;
  const start = typeof a.start_index === "number" ? a.start_index : 0;
  const end = typeof a.end_index === "number" ? a.end_index : start;
  return {
    type: "url_citation",
    url_citation: { start_index: start + offset, end_index: end + offset, title: stringOf(a.title) ?? "", url: a.url },
  };
};

/** The url citations of an `output_text` part, appended to `into`. */
export const addUrlCitations = (part: JsonObject, offset: number, into: UrlCitation[]): void => {
  if (!Array.isArray(part.annotations)) return;
  for (const annotation of part.annotations) {
    const citation = urlCitation(annotation, offset);
    if (citation) into.push(citation);
  }
};

export type ReasoningKind = "reasoning.summary" | "reasoning.text";

/** The readable text of a reasoning item: its summary parts, then its raw `reasoning_text` parts. */
export const reasoningTexts = (item: JsonObject): Array<{ kind: ReasoningKind; text: string }> => {
  const texts: Array<{ kind: ReasoningKind; text: string }> = [];
  for (const part of objects(item.summary)) {
    if (typeof part.text === "string" && part.text !== "") texts.push({ kind: "reasoning.summary", text: part.text });
  }
  for (const part of objects(item.content)) {
    if (part.type === "reasoning_text" && typeof part.text === "string" && part.text !== "") {
      texts.push({ kind: "reasoning.text", text: part.text });
    }
  }
  return texts;
};

/** A `reasoning_details` entry in the endpoint reference's shape (`summary` or `text` by kind). */
export const reasoningDetail = (
  kind: ReasoningKind,
  text: string,
  index: number,
  id: string | undefined,
): ReasoningDetail => {
  const detail: ReasoningDetail = kind === "reasoning.summary"
    ? { type: kind, summary: text, index }
    : { type: kind, text, index };
  if (id !== undefined) detail.id = id;
  return detail;
};

/** The opaque `encrypted_content` of a reasoning item, which a client replays on the next turn. */
export const encryptedDetail = (data: string, index: number, id: string | undefined): ReasoningDetail => {
  const detail: ReasoningDetail = { type: "reasoning.encrypted", data, index };
  if (id !== undefined) detail.id = id;
  return detail;
};

/** Parts of one reasoning text joined; Chat has one `reasoning` string. */
export const REASONING_SEPARATOR = "\n\n";

/**
 * Between the texts of two message items of one answer, where Chat has one `content` string:
 * reasoning models write a commentary message before the final one (issue 14, point 11), and
 * glued together they read "...links.Here are...". Parts of one message are joined as they are.
 */
export const MESSAGE_SEPARATOR = "\n\n";
