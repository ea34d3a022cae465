/**
 * Canonical (Responses) content parts as Messages content blocks (providers.md §1.3):
 * text, images (`image` with a `base64` or `url` source) and files (`document` with a
 * `base64` PDF, a `text` source for plain text, or a PDF `url`).
 *
 * Anthropic refuses what it cannot read with a 400 for the whole request (an empty text
 * block, an image type other than JPEG/PNG/GIF/WebP, an OpenAI `file_id`), so such parts
 * are left out rather than sent. A `cache_control` the client put on a part is kept.
 */
import { isJsonObject as isObject, type JsonObject } from "../../../protocol/responses.ts";

export type Block = JsonObject;

/** The image types the API takes as a base64 source. */
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/** `data:<type>;base64,<data>`, split; `undefined` for another URL or a data URL that is not base64. */
const dataUrl = (url: string): { mediaType: string; data: string } | undefined => {
  if (!url.startsWith("data:")) return undefined;
  const comma = url.indexOf(",");
  if (comma < 0) return undefined;
  const meta = url.slice(5, comma).split(";");
  if (!meta.includes("base64")) return undefined;
  return { mediaType: meta[0].trim().toLowerCase(), data: url.slice(comma + 1) };
};

const isHttpUrl = (url: string): boolean => url.startsWith("https://") || url.startsWith("http://");

/** Keeps the client's own breakpoint on the block (it counts toward the API's four). */
const withCacheControl = (block: Block, part: JsonObject): Block => {
  if (isObject(part.cache_control)) block.cache_control = part.cache_control;
  return block;
};

export const textBlock = (text: string): Block => ({ type: "text", text });

/** `input_image`: a data URL as a base64 source, an http(s) URL as a url source; a `file_id` has no Messages form. */
const imageBlock = (part: JsonObject): Block | undefined => {
  const url = typeof part.image_url === "string"
    ? part.image_url
    : isObject(part.image_url) && typeof part.image_url.url === "string"
    ? part.image_url.url
    : undefined;
  if (url === undefined) return undefined;
  const data = dataUrl(url);
  if (data !== undefined) {
    const mediaType = data.mediaType === "image/jpg" ? "image/jpeg" : data.mediaType;
    if (!IMAGE_TYPES.has(mediaType)) return undefined;
    return withCacheControl(
      { type: "image", source: { type: "base64", media_type: mediaType, data: data.data } },
      part,
    );
  }
  return isHttpUrl(url) ? withCacheControl({ type: "image", source: { type: "url", url } }, part) : undefined;
};

const decodeBase64Text = (data: string): string | undefined => {
  try {
    const binary = atob(data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
};

/**
 * `input_file`: `file_data` (a data URL, or bare base64 taken as a PDF) as a base64 PDF or a
 * plain-text source; `file_url` as a url source (the API reads PDFs by URL). Other types
 * (Word, spreadsheets) and OpenAI `file_id`s have no Messages form.
 */
const documentBlock = (part: JsonObject): Block | undefined => {
  let source: JsonObject | undefined;
  if (typeof part.file_data === "string" && part.file_data !== "") {
    const data = dataUrl(part.file_data);
    if (data === undefined) {
      if (part.file_data.startsWith("data:")) return undefined;
      source = { type: "base64", media_type: "application/pdf", data: part.file_data };
    } else if (data.mediaType === "application/pdf") {
      source = { type: "base64", media_type: "application/pdf", data: data.data };
    } else if (data.mediaType.startsWith("text/")) {
      const text = decodeBase64Text(data.data);
      if (text === undefined || text === "") return undefined;
      source = { type: "text", media_type: "text/plain", data: text };
    } else return undefined;
  } else if (typeof part.file_url === "string" && isHttpUrl(part.file_url)) {
    source = { type: "url", url: part.file_url };
  } else return undefined;
  const block: Block = { type: "document", source };
  if (typeof part.filename === "string" && part.filename !== "") block.title = part.filename;
  return withCacheControl(block, part);
};

/**
 * One part of a user message or tool result as a block, or `undefined` when it has no
 * Messages form. Text of any spelling (`input_text`, `output_text`, `text`, a refusal) is text.
 */
export const userBlock = (part: unknown): Block | undefined => {
  if (typeof part === "string") return part === "" ? undefined : textBlock(part);
  if (!isObject(part)) return undefined;
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return typeof part.text === "string" && part.text !== ""
        ? withCacheControl(textBlock(part.text), part)
        : undefined;
    case "refusal":
      return typeof part.refusal === "string" && part.refusal !== ""
        ? withCacheControl(textBlock(part.refusal), part)
        : undefined;
    case "input_image":
    case "image_url":
      return imageBlock(part);
    case "input_file":
      return documentBlock(part);
    default:
      return undefined;
  }
};

/** An assistant turn holds only text of its own (a refusal is what it said). */
export const assistantBlock = (part: unknown): Block | undefined => {
  if (typeof part === "string") return part === "" ? undefined : textBlock(part);
  if (!isObject(part)) return undefined;
  const text = part.type === "refusal" ? part.refusal : part.text;
  return typeof text === "string" && text !== "" ? withCacheControl(textBlock(text), part) : undefined;
};

/** A message's content (a string or parts) as blocks, appended to `into`. */
export const addContent = (
  content: unknown,
  convert: (part: unknown) => Block | undefined,
  into: Block[],
): void => {
  if (typeof content === "string") {
    if (content !== "") into.push(textBlock(content));
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    const block = convert(part);
    if (block !== undefined) into.push(block);
  }
};

/**
 * A tool's output as `tool_result` content: a string as it is, parts as text, image and
 * document blocks (the block types a result may hold). `undefined` when nothing is left: the
 * block then goes without `content`, which the API takes as an empty result.
 */
export const toolResultContent = (output: unknown): string | Block[] | undefined => {
  if (typeof output === "string") return output === "" ? undefined : output;
  if (!Array.isArray(output)) return output === undefined || output === null ? undefined : JSON.stringify(output);
  const blocks: Block[] = [];
  addContent(output, userBlock, blocks);
  return blocks.length > 0 ? blocks : undefined;
};
