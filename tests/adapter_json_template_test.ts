/**
 * Event templates (src/upstream/adapters/json_template.ts), with the holes the Gemini and Chat Completions
 * streams use: an event read by the template of another must deep-equal what `JSON.parse` gives for it, and
 * an event `JSON.parse` rejects must never be read. Checked on every pair of events of the fixtures and the
 * bench's mock streams, and on some 300,000 one-character edits of them; and a stream translated with
 * templates gives the events it gives without them.
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { type Api, streamMessages } from "../bench/mock_wires.ts";
import type { ResponsesEvent } from "../src/protocol/responses.ts";
import { CHAT_HOLES, ChatStreamTranslator } from "../src/upstream/adapters/chat/stream.ts";
import { GEMINI_HOLES, GeminiStream } from "../src/upstream/adapters/gemini/answer.ts";
import { type HoleSpec, JsonTemplate } from "../src/upstream/adapters/json_template.ts";

/** The `data:` payloads of an SSE text. */
const payloads = (text: string): string[] => {
  const out: string[] = [];
  const parser = createParser({ onEvent: (message) => out.push(message.data) });
  parser.feed(text);
  parser.reset({ consume: true });
  return out;
};

/** Each SSE fixture of an API's folder, or only the first `chunks` of the named ones. */
const fixtureStreams = (folder: string, names?: ReadonlyArray<string>, chunks?: number): string[][] => {
  const dir = new URL(`../fixtures/${folder}/`, import.meta.url);
  const streams: string[][] = [];
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isFile || !entry.name.endsWith(".sse") || (names !== undefined && !names.includes(entry.name))) continue;
    streams.push(payloads(Deno.readTextFileSync(new URL(entry.name, dir))).slice(0, chunks));
  }
  return streams;
};

const mock = (api: Api, deltas: number): string[] => streamMessages(api, deltas).map((message) => message.data);

/** Gemini chunks with the spacing Google writes, escapes, odd numbers, repeated keys, `__proto__`. */
const geminiCases = [
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
  ' {"candidates": [{"content": {"parts": [{"text": "w"}]}}],"usageMetadata": {"__proto__": 1,"totalTokenCount": 2}} ',
  '{"c\\u0061ndidates": [{"content": {"parts": [{"te\\u0078t": "esc"}]}}],"__proto__": {"x": 1}}',
];

/** Chat chunks: OpenAI's with `obfuscation`, reasoning fields, tool-call fragments, usage. */
const chatCases = [
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null,"obfuscation":"a1B"}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" \\"there\\"\\u2028"},"finish_reason":null}],"usage":null,"obfuscation":"zz9xQ"}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"think","content":null},"finish_reason":null}]}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"more","content":null},"finish_reason":null}]}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":"}}]},"finish_reason":null}]}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":null}]}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"y"},"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
];

type Case = readonly [name: string, holes: ReadonlyArray<HoleSpec>, streams: string[][]];

const cases = (): Case[] => [
  ["gemini", GEMINI_HOLES, [...fixtureStreams("gemini"), geminiCases, mock("gemini", 40)]],
  ["chat", CHAT_HOLES, [...fixtureStreams("chat"), chatCases, mock("chat", 40)]],
];

const parseOrUndefined = (data: string): unknown => {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
};

/** `read` agrees with `JSON.parse`: nothing for what it rejects, the same value for what it reads (or nothing). */
const check = (template: JsonTemplate, data: string, where: string): boolean => {
  const read = template.read(data);
  const parsed = parseOrUndefined(data);
  if (parsed === undefined) {
    // (Messages built only on failure: this runs some 300,000 times.)
    if (read !== undefined) assert.fail(`${where}: read a payload JSON.parse rejects: ${JSON.stringify(data)}`);
    return false;
  }
  if (read === undefined) return false;
  assert.deepStrictEqual(read, parsed, `${where}: ${data}`);
  return true;
};

/** A template of each payload that has one (each from its own parse: a template keeps and changes it). */
const templatesOf = (stream: string[], holes: ReadonlyArray<HoleSpec>): Array<[string, JsonTemplate]> =>
  stream.flatMap((data) => {
    const parsed = parseOrUndefined(data);
    const template = parsed === undefined ? undefined : JsonTemplate.learn(data, parsed, holes);
    return template === undefined ? [] : [[data, template] as [string, JsonTemplate]];
  });

Deno.test("an event read by another event's template is what JSON.parse makes of it", () => {
  for (const [name, holes, streams] of cases()) {
    let hits = 0;
    for (const stream of streams) {
      for (const [source, template] of templatesOf(stream, holes)) {
        for (const data of stream) if (check(template, data, `${name}, template of ${source}`)) hits++;
      }
    }
    // Most events of a stream fit the template of the one before.
    assert.ok(hits > 1500, `${name}: only ${hits} events were read by a template`);
  }
});

Deno.test("a template reads every text chunk of the mock streams", () => {
  for (const [api, holes, first] of [["gemini", GEMINI_HOLES, 0], ["chat", CHAT_HOLES, 1]] as const) {
    const stream = mock(api, 40);
    const template = JsonTemplate.learn(stream[first], JSON.parse(stream[first]), holes);
    assert.ok(template !== undefined, api);
    const read = stream.filter((data) => template.read(data) !== undefined);
    assert.equal(read.length, 40, `${api}: every text delta, nothing else`);
  }
});

Deno.test("no template for a repeated key, a payload without holes, or one that is not a JSON object", () => {
  for (
    const data of [
      '{"candidates": [{"content": {"parts": [{"text": "1","text": "2"}]}}]}',
      '{"candidates": [], "candidates": [{"content": {"parts": [{"text": "1"}]}}]}',
      '{"modelVersion": "m"}',
      "[{}]",
      "42",
      '"x"',
    ]
  ) {
    assert.equal(JsonTemplate.learn(data, JSON.parse(data), GEMINI_HOLES), undefined, data);
  }
});

Deno.test("one-character edits of an event: never read when JSON.parse rejects them, else read as JSON.parse reads them", () => {
  const inserts = ['"', "\\", "\u0001", "0", "-", ".", "e", "}", ",", " "];
  const streams: Array<[ReadonlyArray<HoleSpec>, string[]]> = [
    [GEMINI_HOLES, geminiCases.slice(0, 5)],
    [GEMINI_HOLES, mock("gemini", 3)],
    ...fixtureStreams("gemini", ["thoughts_stream.sse"], 2).map((s) =>
      [GEMINI_HOLES, s] as [ReadonlyArray<HoleSpec>, string[]]
    ),
    [CHAT_HOLES, chatCases.slice(0, 6)],
    [CHAT_HOLES, mock("chat", 2)],
  ];
  let hits = 0;
  let rejected = 0;
  for (const [holes, stream] of streams) {
    for (let i = 0; i < stream.length; i++) {
      // Edits of each event, read by its own template and by the template of the event before (what a stream tries).
      const data = stream[i];
      const templates = templatesOf(i === 0 ? [data] : [stream[i - 1], data], holes);
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

const context = { provider: "p", model: "m", keyOrigin: "gateway" as const, now: 1767225600000 };

Deno.test("a Gemini stream translated with templates gives the events it gives without them", () => {
  for (const stream of [...fixtureStreams("gemini"), mock("gemini", 40), geminiCases.slice(0, 5)]) {
    const withTemplates = new GeminiStream(context);
    const without = new GeminiStream(context);
    const a: ResponsesEvent[] = [];
    const b: ResponsesEvent[] = [];
    for (const data of stream) {
      try {
        withTemplates.push({ data }, a);
      } catch (error) {
        a.push({ type: "thrown", error: String(error) });
      }
      try {
        const parsed = JSON.parse(data);
        if (Array.isArray(parsed)) { for (const element of parsed) without.chunk(element, b, data); }
        else without.chunk(parsed, b, data);
      } catch (error) {
        b.push({ type: "thrown", error: String(error) });
      }
    }
    withTemplates.end(a);
    without.end(b);
    assert.deepStrictEqual(a, b);
  }
});

Deno.test("a Chat Completions stream translated with templates gives the events it gives without them", () => {
  for (const stream of [...fixtureStreams("chat"), mock("chat", 40), chatCases]) {
    const withTemplates = new ChatStreamTranslator(context);
    const without = new ChatStreamTranslator(context);
    const a: ResponsesEvent[] = [];
    const b: ResponsesEvent[] = [];
    for (const data of stream) {
      try {
        withTemplates.push({ data }, a);
      } catch (error) {
        a.push({ type: "thrown", error: String(error) });
      }
      if (data.trim() === "[DONE]") {
        without.complete(b);
        continue;
      }
      const parsed = parseOrUndefined(data);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        without.chunk(parsed as Record<string, unknown>, b);
      } else if (!without.finished) {
        b.push({ type: "thrown", error: "MalformedEventError: upstream sent a malformed SSE event" });
      }
    }
    withTemplates.end(a);
    without.end(b);
    assert.deepStrictEqual(a, b);
  }
});
