/**
 * The raw text of a custom tool's call (Cursor's ApplyPatch), read out of the JSON Claude
 * streams as `input_json_delta` fragments of `{"input": "<raw text>"}` (the tool is declared
 * as a function taking `{input: string}`, request.ts).
 *
 * The client must see the raw text as OpenAI would stream it (`custom_tool_call_input.delta`),
 * so the string value is decoded as it arrives: escapes split across fragments are held until
 * whole, and a high surrogate is held until its pair (a lone one would not survive
 * re-serialisation). Anything other than that one-key shape (keys in another order, extra
 * keys first, no `input`) falls back to reading the whole JSON when the block stops.
 */

/** Before the opening quote of the value: `{ "input" :` is still being matched. */
const HEAD_STATE = 0;
/** Inside the string value. */
const VALUE = 1;
/** After the closing quote. */
const DONE = 2;
/** Not the expected shape: the text is read whole at the end. */
const WHOLE = 3;

const HEAD = /^\s*\{\s*"input"\s*:\s*"/;
const HEAD_LIMIT = 64;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

export class CustomInputReader {
  private state: number = HEAD_STATE;
  /** All JSON received, for the final parse. */
  private json = "";
  /** Characters of the head not yet matched. */
  private head = "";
  /** An escape sequence cut by a fragment boundary (`\`, `\u12`), or a held high surrogate. */
  private pending = "";
  /** The decoded text handed out so far. */
  emitted = "";

  /** One fragment in; the newly decoded raw text out ("" when nothing is ready). */
  push(fragment: string): string {
    this.json += fragment;
    if (this.state === HEAD_STATE) {
      this.head += fragment;
      const match = HEAD.exec(this.head);
      if (match === null) {
        // The value's opening quote would be the third quote; past it (or past a `,`), the shape is another.
        if (this.head.length > HEAD_LIMIT || /[,}]/.test(this.head) || (this.head.match(/"/g)?.length ?? 0) >= 3) {
          this.state = WHOLE;
        }
        return "";
      }
      this.state = VALUE;
      fragment = this.head.slice(match[0].length);
      this.head = "";
    }
    if (this.state !== VALUE) return "";
    const text = this.decode(fragment);
    this.emitted += text;
    return text;
  }

  /** The whole raw input once the block stopped: the JSON's `input` string, else the JSON text itself. */
  finish(): string {
    if (this.json.trim() === "") return this.emitted;
    try {
      const parsed: unknown = JSON.parse(this.json);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        const input = (parsed as Record<string, unknown>).input;
        if (typeof input === "string") return input;
      }
      return this.json;
    } catch {
      // Cut short: what was decoded is all there is.
      return this.state === WHOLE ? this.json : this.emitted;
    }
  }

  private decode(fragment: string): string {
    let out = "";
    const text = this.pending + fragment;
    this.pending = "";
    let i = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22 /* " */) {
        this.state = DONE;
        break;
      }
      if (c !== 0x5c /* \ */) {
        // Copy the run up to the next quote or backslash in one slice.
        let j = i + 1;
        while (j < text.length) {
          const d = text.charCodeAt(j);
          if (d === 0x22 || d === 0x5c) break;
          j++;
        }
        out += text.slice(i, j);
        i = j;
        continue;
      }
      if (i + 1 >= text.length) {
        this.pending = text.slice(i);
        return this.holdSurrogate(out);
      }
      const kind = text[i + 1];
      if (kind === "u") {
        if (i + 6 > text.length) {
          this.pending = text.slice(i);
          return this.holdSurrogate(out);
        }
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        out += SIMPLE_ESCAPES[kind] ?? kind;
        i += 2;
      }
    }
    return this.state === DONE ? out : this.holdSurrogate(out);
  }

  /** Keeps a trailing high surrogate back until its low half arrives. */
  private holdSurrogate(out: string): string {
    const last = out.charCodeAt(out.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      // Re-encoded so the next `decode` reads it first.
      this.pending = `\\u${last.toString(16).padStart(4, "0")}${this.pending}`;
      return out.slice(0, -1);
    }
    return out;
  }
}
