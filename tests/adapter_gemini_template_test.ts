/**
 * The Gemini stream's chunk templates (src/upstream/adapters/gemini/chunk_template.ts): a chunk read by the
 * template of another must read as `JSON.parse` reads it, as far as `GeminiStream` looks; a chunk `JSON.parse`
 * rejects must never be read. Checked on every pair of chunks of the fixtures and the bench's mock stream,
 * and on thousands of one-character edits of them; and a stream translated with templates gives the events
 * it gives without them.
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { streamMessages } from "../bench/mock_wires.ts";
import type { ResponsesEvent } from "../src/protocol/responses.ts";
import { GeminiStream } from "../src/upstream/adapters/gemini/answer.ts";
import { ChunkTemplate } from "../src/upstream/adapters/gemini/chunk_template.ts";

const FIXTURES = new URL("../fixtures/gemini/", import.meta.url);

/** The `data:` payloads of an SSE fixture. */
const payloads = (text: string): string[] => {
  const out: string[] = [];
  const parser = createParser({ onEvent: (message) => out.push(message.data) });
  parser.feed(text);
  parser.reset({ consume: true });
  return out;
};

/** Each SSE fixture's payloads, or only the first `chunks` of the named ones. */
const fixtureStreams = (names?: ReadonlyArray<string>, chunks?: number): string[][] => {
  const streams: string[][] = [];
  for (const entry of Deno.readDirSync(FIXTURES)) {
    if (!entry.isFile || !entry.name.endsWith(".sse") || (names !== undefined && !names.includes(entry.name))) continue;
    streams.push(payloads(Deno.readTextFileSync(new URL(entry.name, FIXTURES))).slice(0, chunks));
  }
  return streams;
};

/** A few chunks shaped like Google's, with the spacing Google writes. */
const spaced = [
  '{"candidates": [{"content": {"parts": [{"text": "Hello"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 1,"totalTokenCount": 13},"modelVersion": "gemini-2.5-flash","responseId": "r1"}',
  '{"candidates": [{"content": {"parts": [{"text": ", \\"wor\\u006cd\\"\\n\\\\"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 30,"totalTokenCount": 1.5e2},"modelVersion": "gemini-2.5-flash","responseId": "r1"}',
  '{"candidates": [{"content": {"parts": [{"text": "x"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": -0,"candidatesTokenCount": 123456789012345678,"totalTokenCount": 0.5},"modelVersion": "gemini-2.5-flash","responseId": "r1"}',
  '{"candidates": [{"content": {"parts": [{"text": "a","thought": true,"thoughtSignature": "c2ln"},{"text": "b"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 2,"totalTokenCount": 14,"thoughtsTokenCount": 9},"modelVersion": "gemini-2.5-pro","responseId": "r2"}',
  '{"candidates": [{"content": {"parts": [{"text": "c","thought": true,"thoughtSignature": "c2ln"},{"text": "d"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 3,"totalTokenCount": 15,"thoughtsTokenCount": 10},"modelVersion": "gemini-2.5-pro","responseId": "r2"}',
  '{"candidates": [{"content": {"parts": [{"text": "1","text": "2"}]}}],"usageMetadata": {"promptTokenCount": 1,"promptTokenCount": 2}}',
  '{"candidates": [{"content": {"parts": [{"text": "x"}]}}],"usageMetadata": {"promptTokenCount": 1},"candidates": []}',
  '{"usageMetadata": {"promptTokenCount": 4,"totalTokenCount": 5}}',
  '{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f","args": {"n": 1}}}]},"finishReason": "STOP"}],"usageMetadata": {"promptTokenCount": 4}}',
  '{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f","args": {"n": 2}}}]},"finishReason": "STOP"}],"usageMetadata": {"promptTokenCount": 5}}',
  '{"candidates": [{"content": {"parts": [{"text": "t"}]}, "finishReason": "MAX_TOKENS", "finishMessage": "m"}]}',
  '{"promptFeedback": {"blockReason": "SAFETY"},"usageMetadata": {"promptTokenCount": 4}}',
  '{"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}',
  ' {"candidates": [{"content": {"parts": [{"text": "w"}]}}]} ',
  '{"c\\u0061ndidates": [{"content": {"parts": [{"te\\u0078t": "esc"}]}}],"__proto__": {"x": 1}}',
];

const mock = streamMessages("gemini", 40).map((message) => message.data);

const allStreams = (): string[][] => [...fixtureStreams(), spaced, mock];

const USAGE_KEYS = [
  "promptTokenCount",
  "toolUsePromptTokenCount",
  "candidatesTokenCount",
  "thoughtsTokenCount",
  "cachedContentTokenCount",
  "totalTokenCount",
];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** What GeminiStream reads of a chunk (answer.ts `chunk`, `start`, `part`, `call`, `usageOf`, failure.ts `googleErrorOf`). */
const view = (root: Json): unknown => {
  const candidates = root.candidates;
  const candidate = Array.isArray(candidates) && isObject(candidates[0]) ? candidates[0] : undefined;
  const content = candidate?.content;
  const parts = isObject(content) && Array.isArray(content.parts) ? content.parts : undefined;
  const usage = root.usageMetadata;
  return {
    error: root.error,
    promptFeedback: root.promptFeedback,
    modelVersion: root.modelVersion,
    responseId: root.responseId,
    candidate: candidate === undefined ? undefined : {
      finishReason: candidate.finishReason,
      finishMessage: candidate.finishMessage,
      parts: parts?.map((part) =>
        isObject(part)
          ? { text: part.text, thought: part.thought, thoughtSignature: part.thoughtSignature, call: part.functionCall }
          : { notAnObject: part }
      ),
    },
    usage: isObject(usage) ? USAGE_KEYS.map((key) => usage[key]) : usage === undefined ? undefined : "not an object",
  };
};

const parseOrUndefined = (data: string): unknown => {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
};

/** `read` agrees with `JSON.parse`: nothing for what it rejects, the same view of what it accepts (or nothing). */
const check = (template: ChunkTemplate, data: string, where: string): boolean => {
  const read = template.read(data);
  const parsed = parseOrUndefined(data);
  if (parsed === undefined) {
    // (Messages built only on failure: this runs some 300,000 times.)
    if (read !== undefined) assert.fail(`${where}: read a payload JSON.parse rejects: ${JSON.stringify(data)}`);
    return false;
  }
  if (read === undefined) return false;
  assert.ok(isObject(parsed), `${where}: read a payload that is not an object`);
  assert.deepEqual(view(read), view(parsed), `${where}: ${data}`);
  // -0 stays -0, as JSON.parse reads it.
  const usage = isObject(read.usageMetadata) ? USAGE_KEYS.map((key) => (read.usageMetadata as Json)[key]) : [];
  const expected = isObject(parsed.usageMetadata) ? USAGE_KEYS.map((key) => (parsed.usageMetadata as Json)[key]) : [];
  usage.forEach((value, i) => assert.ok(Object.is(value, expected[i]), `${where}: ${USAGE_KEYS[i]} in ${data}`));
  return true;
};

const templatesOf = (stream: string[]): Array<[string, ChunkTemplate]> =>
  stream.flatMap((data) => {
    const parsed = parseOrUndefined(data);
    const template = parsed === undefined ? undefined : ChunkTemplate.learn(data, parsed);
    return template === undefined ? [] : [[data, template] as [string, ChunkTemplate]];
  });

Deno.test("a chunk read by another chunk's template reads as JSON.parse reads it", () => {
  let hits = 0;
  for (const stream of allStreams()) {
    for (const [source, template] of templatesOf(stream)) {
      for (const data of stream) if (check(template, data, `template of ${source}`)) hits++;
    }
  }
  // Most chunks of a stream fit the template of the chunk before.
  assert.ok(hits > 1500, `only ${hits} chunks were read by a template`);
});

Deno.test("a template reads its own chunk, and the mock stream's text chunks, without JSON.parse", () => {
  const [first] = mock;
  const template = ChunkTemplate.learn(first, JSON.parse(first))!;
  assert.ok(template !== undefined);
  const read = mock.filter((data) => template.read(data) !== undefined);
  assert.equal(read.length, mock.length - 1, "every text chunk; not the closing call");
});

Deno.test("no template takes a repeated key where a hole would be, nor what is not a JSON object", () => {
  for (const data of ['{"candidates": [{"content": {"parts": [{"text": "1","text": "2"}]}}]}', "[{}]", "42", '"x"']) {
    assert.equal(ChunkTemplate.learn(data, JSON.parse(data)), undefined, data);
  }
});

Deno.test("one-character edits of a chunk: never read when JSON.parse rejects them, else read as JSON.parse reads them", () => {
  const inserts = ['"', "\\", "\n", "\u0001", "0", "-", ".", "e", "}", "]", ",", " ", "u", "\u2028"];
  let hits = 0;
  let rejected = 0;
  const fixtures = ["text_stream.sse", "thoughts_stream.sse", "g3_parallel_calls_stream.sse", "apply_patch_stream.sse"];
  for (const stream of [spaced.slice(0, 5), mock.slice(0, 3), ...fixtureStreams(fixtures, 2)]) {
    for (let i = 0; i < stream.length; i++) {
      // Edits of each chunk, read by its own template and by the template of the chunk before (what a stream tries).
      const data = stream[i];
      const templates = templatesOf(i === 0 ? [data] : [stream[i - 1], data]);
      for (let at = 0; at <= data.length; at++) {
        const edits = [data.slice(0, at) + data.slice(at + 1)];
        for (const insert of inserts) {
          edits.push(data.slice(0, at) + insert + data.slice(at), data.slice(0, at) + insert + data.slice(at + 1));
        }
        for (const edit of edits) {
          for (const [source, template] of templates) {
            if (check(template, edit, `template of ${source}`)) hits++;
            else rejected++;
          }
        }
      }
    }
  }
  assert.ok(hits > 5000 && rejected > 100000, `${hits} read, ${rejected} not`);
});

/** A stream's events pushed as SSE messages (with templates) and chunk by chunk from JSON.parse (without). */
const eventsBothWays = (stream: string[]): [ResponsesEvent[], ResponsesEvent[]] => {
  const context = { provider: "gemini", model: "gemini-2.5-flash", keyOrigin: "gateway" as const, now: 1767225600000 };
  const withTemplates = new GeminiStream(context);
  const without = new GeminiStream(context);
  const a: ResponsesEvent[] = [];
  const b: ResponsesEvent[] = [];
  for (const data of stream) {
    withTemplates.push({ data }, a);
    const parsed = JSON.parse(data);
    if (Array.isArray(parsed)) { for (const element of parsed) without.chunk(element, b, data); }
    else without.chunk(parsed, b, data);
  }
  withTemplates.end(a);
  without.end(b);
  return [a, b];
};

Deno.test("a stream translated with templates gives the events it gives without them", () => {
  for (const stream of [...fixtureStreams(), mock, spaced.slice(0, 5), spaced.slice(3, 5)]) {
    const [withTemplates, without] = eventsBothWays(stream);
    assert.deepEqual(withTemplates, without);
  }
});
