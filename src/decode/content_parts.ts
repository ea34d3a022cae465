/**
 * Content parts in every spelling clients use, as Responses parts.
 *
 * Text is `input_text` in user, system and developer messages and in tool
 * outputs, and `output_text` in assistant messages: the API rejects the other
 * one (`Invalid value: 'input_text'. Supported values are: 'output_text' and
 * 'refusal'`). Chat `text`/`image_url`/`file` parts and Anthropic `image`
 * blocks are translated, rebuilt with only the fields the API knows. The one
 * field kept beside them is the client's own `cache_control` (an
 * Anthropic-flavoured client's prompt-cache breakpoint): the anthropic
 * adapter places it on the block, and the Responses adapter, whose API
 * rejects it, removes it. Text itself is never copied, only referenced.
 */
import type { JsonObject } from "../protocol/responses.ts";
import { at, isObject, type Path, type Problems } from "./problems.ts";

export type TextType = "input_text" | "output_text";

/** `part` with the client's `cache_control` breakpoint, when `from` carries one. */
const withCacheControl = (part: JsonObject, from: Record<string, unknown>): JsonObject => {
  if (isObject(from.cache_control)) part.cache_control = from.cache_control;
  return part;
};

const imageFromChat = (part: Record<string, unknown>, path: Path, problems: Problems): JsonObject | undefined => {
  const image = part.image_url;
  const url = typeof image === "string" ? image : isObject(image) ? image.url : undefined;
  if (typeof url !== "string") {
    problems.expected(at(path, "image_url.url"), "a string");
    return undefined;
  }
  const detail = isObject(image) && typeof image.detail === "string" ? image.detail : "auto";
  return withCacheControl({ type: "input_image", image_url: url, detail }, part);
};

/** Anthropic `{type:"image", source:{type:"base64", media_type, data} | {type:"url", url}}`. */
const imageFromAnthropic = (
  part: Record<string, unknown>,
  path: Path,
  problems: Problems,
): JsonObject | undefined => {
  const source = part.source;
  if (isObject(source) && typeof source.url === "string") {
    return withCacheControl({ type: "input_image", image_url: source.url, detail: "auto" }, part);
  }
  if (isObject(source) && typeof source.data === "string" && typeof source.media_type === "string") {
    const url = `data:${source.media_type};base64,${source.data}`;
    return withCacheControl({ type: "input_image", image_url: url, detail: "auto" }, part);
  }
  problems.expected(at(path, "source"), "a base64 or url image source");
  return undefined;
};

const fileFromChat = (part: Record<string, unknown>, path: Path, problems: Problems): JsonObject | undefined => {
  const file = part.file;
  if (!isObject(file)) {
    problems.expected(at(path, "file"), "an object");
    return undefined;
  }
  const out: JsonObject = { type: "input_file" };
  if (typeof file.file_id === "string") out.file_id = file.file_id;
  if (typeof file.file_data === "string") out.file_data = file.file_data;
  if (typeof file.filename === "string") out.filename = file.filename;
  return withCacheControl(out, part);
};

/**
 * One content part as a Responses part, or `undefined` when it is dropped
 * (after adding a problem if it was malformed). Tool blocks are not handled
 * here: messages.ts splits them out first.
 */
export const contentPart = (
  part: unknown,
  textType: TextType,
  path: Path,
  problems: Problems,
): JsonObject | undefined => {
  // Some clients send bare strings in a parts array.
  if (typeof part === "string") return { type: textType, text: part };
  if (!isObject(part)) {
    problems.expected(path, "an object");
    return undefined;
  }
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text": {
      const text = part.text;
      if (typeof text !== "string") {
        problems.expected(at(path, "text"), "a string");
        return undefined;
      }
      return withCacheControl({ type: textType, text }, part);
    }
    case "refusal": {
      const refusal = part.refusal;
      if (typeof refusal !== "string") {
        problems.expected(at(path, "refusal"), "a string");
        return undefined;
      }
      // Only an assistant turn can hold a refusal; elsewhere it is just text.
      return withCacheControl(
        textType === "output_text" ? { type: "refusal", refusal } : { type: textType, text: refusal },
        part,
      );
    }
    case "image_url":
      return imageFromChat(part, path, problems);
    case "image":
      return imageFromAnthropic(part, path, problems);
    case "file":
      return fileFromChat(part, path, problems);
    // An assistant message's thinking blocks become reasoning items (reasoning.ts); anywhere else they mean nothing.
    case "thinking":
    case "redacted_thinking":
      return undefined;
    default:
      if (typeof part.type !== "string") {
        problems.expected(at(path, "type"), "a string");
        return undefined;
      }
      // input_image, input_file, and part types newer than this gateway: the upstream judges them.
      return part;
  }
};

/**
 * A tool's result (`function_call_output.output`, a chat `tool` message's
 * content, an Anthropic `tool_result`'s content) as a Responses output: a
 * string, or `input_*` parts.
 */
export const toolOutputValue = (value: unknown, path: Path, problems: Problems): string | JsonObject[] => {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) {
    const parts: JsonObject[] = [];
    for (let i = 0; i < value.length; i++) {
      const part = contentPart(value[i], "input_text", at(path, i), problems);
      if (part !== undefined) parts.push(part);
    }
    return parts;
  }
  // A structured result (some clients send the tool's JSON as is): the API takes text.
  return JSON.stringify(value);
};
