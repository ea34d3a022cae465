/**
 * Fallback across upstream APIs, end to end: one request's candidates on providers that speak
 * different APIs (`openai`: Responses, `deepseek`: Chat Completions, `anthropic`: Messages,
 * `gemini`: generateContent), each a fake upstream behind the real gateway. A candidate that
 * fails before any output (an HTTP 500 or 429, or a stream that opens and then fails) hands the
 * request to the next one, which gets the conversation in its own API's wire format; the client
 * sees one clean answer from the provider that served (`extra_fields.provider`,
 * `x-gateway-provider`), accepted by the openai SDK's accumulator. When every candidate fails,
 * the error names the primary's failure and how many attempts were made.
 *
 * The Anthropic and Gemini answers are minimal hand-written wire bodies (the shapes of
 * fixtures/anthropic and fixtures/gemini).
 */
import assert from "node:assert/strict";
import OpenAI, { APIError } from "openai";
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import {
  type FakeReply,
  type FakeUpstream,
  jsonFixture,
  type RecordedRequest,
  type Script,
  sseFixture,
  startFakeUpstream,
} from "./support/fake_upstream.ts";
import { type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";
import { chunk, completion, type Json, originOf, sseText, usage } from "./support/chat_upstream.ts";
import { parseStream, routingHeaders } from "./support/routing.ts";

type Api = "openai" | "deepseek" | "anthropic" | "gemini";

interface Rig {
  readonly gateway: RunningGateway;
  readonly client: OpenAI;
  readonly upstreams: Readonly<Record<Api, FakeUpstream>>;
}

const fast = {
  retry: { max_retries: 0, initial_backoff_ms: 1, max_backoff_ms: 5 },
  timeouts: { connect_ms: 2_000, first_byte_ms: 3_000, idle_ms: 3_000, total_ms: 8_000 },
};

/** A provider nobody should reach in a test answers 500 with a message that says so. */
const unexpected: Script = () => ({ status: 500, json: { error: { message: "this provider was not expected" } } });

/** Four providers, by preset name, each on its own fake upstream answering with its script. */
const withApis = async (scripts: Partial<Record<Api, Script>>, body: (rig: Rig) => Promise<void>) => {
  const upstreams = {
    openai: startFakeUpstream(scripts.openai ?? unexpected),
    deepseek: startFakeUpstream(scripts.deepseek ?? unexpected),
    anthropic: startFakeUpstream(scripts.anthropic ?? unexpected),
    gemini: startFakeUpstream(scripts.gemini ?? unexpected),
  };
  const gateway = await startGateway(testConfig(upstreams.openai.url, {
    providers: {
      openai: { base_url: upstreams.openai.url, keys: [{ value: "sk-openai-secret" }], ...fast },
      deepseek: {
        base_url: `${originOf(upstreams.deepseek.url)}/v1`,
        keys: [{ value: "sk-deepseek-secret" }],
        ...fast,
      },
      anthropic: { base_url: upstreams.anthropic.url, keys: [{ value: "sk-ant-secret" }], ...fast },
      gemini: { base_url: `${originOf(upstreams.gemini.url)}/v1beta`, keys: [{ value: "gemini-secret" }], ...fast },
    },
    default_provider: "openai",
  }));
  try {
    await body({
      gateway,
      upstreams,
      client: new OpenAI({ baseURL: `${gateway.url}/cursor/v1`, apiKey: VK, maxRetries: 0, timeout: 10_000 }),
    });
  } finally {
    await gateway.close();
    for (const upstream of Object.values(upstreams)) await upstream.close();
  }
};

// ===== Requests and the clients' view =====

const request = (model: string, fallbacks: string[], stream: boolean) => ({
  model,
  fallbacks,
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello." }],
  stream,
});

interface Served {
  readonly completion: ChatCompletion;
  readonly headers: Headers;
  /** `extra_fields.provider` of every chunk (streamed) or of the answer (JSON). */
  readonly providers: string[];
}

/** A streamed request through the openai SDK: its response headers, and its chunks through the SDK's accumulator. */
const streamed = async (client: OpenAI, body: Json): Promise<Served> => {
  const { data, response } = await client.chat.completions
    .create(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming)
    .withResponse();
  const providers: string[] = [];
  const runner = ChatCompletionStream.fromReadableStream(data.toReadableStream());
  runner.on("chunk", (chunk: ChatCompletionChunk) => {
    providers.push((chunk as unknown as { extra_fields: { provider: string } }).extra_fields.provider);
  });
  return { completion: await runner.finalChatCompletion(), headers: response.headers, providers };
};

const json = async (client: OpenAI, body: Json): Promise<Served> => {
  const { data, response } = await client.chat.completions
    .create(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
    .withResponse();
  return {
    completion: data,
    headers: response.headers,
    providers: [(data as unknown as { extra_fields: { provider: string } }).extra_fields.provider],
  };
};

const served = (client: OpenAI, body: Json) => body.stream === true ? streamed(client, body) : json(client, body);

const assertServedBy = (result: Served, provider: string, text: string) => {
  assert.equal(result.completion.choices[0].message.content, text);
  assert.equal(result.completion.choices[0].finish_reason, "stop");
  assert.ok(result.providers.length > 0);
  for (const name of result.providers) assert.equal(name, provider);
};

// ===== Each API's answers =====

const RESPONSES_TEXT = "Answer from the fallback.";
const responsesReply = (request: RecordedRequest): FakeReply =>
  request.body.stream === true
    ? { sse: sseFixture("routing/fallback_text.sse") }
    : { json: jsonFixture("routing/fallback_answer.json") };

const CHAT_TEXT = "Answer from DeepSeek.";
const chatReply = (request: RecordedRequest): FakeReply =>
  request.body.stream === true
    ? {
      sse: [{
        raw: sseText([
          chunk("deepseek-chat", { role: "assistant", content: "" }),
          chunk("deepseek-chat", { content: "Answer from " }),
          chunk("deepseek-chat", { content: "DeepSeek." }),
          chunk("deepseek-chat", { content: "" }, "stop", { usage: usage(12, 4, 8) }),
        ]),
      }],
    }
    : { json: completion("deepseek-chat", { content: CHAT_TEXT }, "stop", usage(12, 4, 8)) };

const event = (name: string, data: Json) => ({ raw: `event: ${name}\ndata: ${JSON.stringify(data)}\n\n` });

const CLAUDE_TEXT = "Answer from Claude.";
const messageStart = event("message_start", {
  type: "message_start",
  message: {
    id: "msg_e2e",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 20, output_tokens: 1 },
  },
});
const anthropicReply = (request: RecordedRequest): FakeReply =>
  request.body.stream === true
    ? {
      sse: [
        messageStart,
        event("content_block_start", {
          type: "content_block_start",
          index: 0,
          content_block: { type: "text", text: "" },
        }),
        event("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: CLAUDE_TEXT },
        }),
        event("content_block_stop", { type: "content_block_stop", index: 0 }),
        event("message_delta", {
          type: "message_delta",
          delta: { stop_reason: "end_turn", stop_sequence: null },
          usage: { output_tokens: 5 },
        }),
        event("message_stop", { type: "message_stop" }),
      ],
    }
    : {
      json: {
        id: "msg_e2e_json",
        type: "message",
        role: "assistant",
        model: "claude-sonnet-4-5",
        content: [{ type: "text", text: CLAUDE_TEXT }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 30, output_tokens: 5 },
      },
    };
const anthropicOverloaded: FakeReply = {
  status: 529,
  json: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
};

const GEMINI_TEXT = "Answer from Gemini.";
const geminiReply = (request: RecordedRequest): FakeReply => {
  const answer = {
    candidates: [{ content: { parts: [{ text: GEMINI_TEXT }], role: "model" }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 4, totalTokenCount: 16 },
    modelVersion: "gemini-2.5-flash",
    responseId: "gem_e2e",
  };
  return request.path.endsWith(":streamGenerateContent")
    ? { sse: [{ raw: `data: ${JSON.stringify(answer)}\n\n` }] }
    : { json: answer };
};
const geminiUnavailable: FakeReply = {
  status: 503,
  json: { error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } },
};

const serverError = (message: string): FakeReply => ({
  status: 500,
  json: { error: { message, type: "server_error", param: null, code: null } },
});

const rateLimited: FakeReply = {
  status: 429,
  headers: { "retry-after": "0" },
  json: {
    error: {
      message: "Rate limit reached for gpt-5 in organization org-x.",
      type: "requests",
      code: "rate_limit_exceeded",
    },
  },
};

/** Responses: the stream opens (`response.created`) and fails with insufficient_quota before any output. */
const quotaAfterCreated: FakeReply = { sse: sseFixture("routing/quota_after_created.sse") };

/** Chat: the stream opens with a role chunk and fails in-stream before any output (OpenRouter style). */
const chatErrorBeforeOutput: FakeReply = {
  sse: [{
    raw: sseText([
      chunk("deepseek-chat", { role: "assistant", content: "" }),
      {
        id: "chatcmpl-e2e",
        object: "chat.completion.chunk",
        model: "deepseek-chat",
        error: { message: "Service is too busy.", code: 503 },
        choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
      },
    ]),
  }],
};

// ===== What each upstream received =====

const assertChatWire = (sent: RecordedRequest, stream: boolean) => {
  assert.equal(sent.path, "/v1/chat/completions");
  assert.equal(sent.headers.get("authorization"), "Bearer sk-deepseek-secret");
  assert.equal(sent.body.model, "deepseek-chat");
  assert.deepEqual(sent.body.messages, [{ role: "system", content: "Be brief." }, {
    role: "user",
    content: "Say hello.",
  }]);
  if (stream) assert.deepEqual(sent.body.stream_options, { include_usage: true });
  else assert.ok(!("stream" in sent.body));
};

const assertResponsesWire = (sent: RecordedRequest, stream: boolean) => {
  assert.equal(sent.path, "/v1/responses");
  assert.equal(sent.headers.get("authorization"), "Bearer sk-openai-secret");
  assert.equal(sent.body.model, "gpt-5");
  assert.deepEqual(sent.body.input, [
    { type: "message", role: "system", content: "Be brief." },
    { type: "message", role: "user", content: "Say hello." },
  ]);
  assert.equal(sent.body.stream === true, stream);
  assert.ok(!("messages" in sent.body));
};

const assertAnthropicWire = (sent: RecordedRequest, stream: boolean) => {
  assert.equal(sent.path, "/v1/messages");
  assert.equal(sent.headers.get("x-api-key"), "sk-ant-secret");
  assert.equal(sent.headers.get("authorization"), null);
  assert.equal(sent.headers.get("anthropic-version"), "2023-06-01");
  assert.equal(sent.body.model, "claude-sonnet-4-5");
  assert.equal(sent.body.stream === true, stream);
  assert.equal(typeof sent.body.max_tokens, "number");
};

const assertGeminiWire = (sent: RecordedRequest, stream: boolean) => {
  assert.equal(
    sent.path,
    `/v1beta/models/gemini-2.5-flash:${stream ? "streamGenerateContent" : "generateContent"}`,
  );
  assert.equal(sent.headers.get("x-goog-api-key"), "gemini-secret");
  assert.equal(sent.headers.get("authorization"), null);
  assert.ok(Array.isArray(sent.body.contents));
};

// ===== responses ⇄ chat =====

for (const stream of [true, false]) {
  const mode = stream ? "streamed" : "JSON";

  Deno.test(`${mode}: a responses provider answering 500 falls back to a chat provider, which serves in its own wire format`, async () => {
    await withApis(
      { openai: () => serverError("The server had an error while processing your request."), deepseek: chatReply },
      async ({ client, upstreams }) => {
        const result = await served(client, request("openai/gpt-5", ["deepseek/deepseek-chat"], stream));
        assertServedBy(result, "deepseek", CHAT_TEXT);
        assert.deepEqual(routingHeaders({ headers: result.headers } as Response), {
          provider: "deepseek",
          model: "deepseek-chat",
          attempts: "2",
        });
        assert.equal(result.completion.usage?.prompt_tokens_details?.cached_tokens, 8);
        assert.equal(upstreams.openai.requests.length, 1);
        assertResponsesWire(upstreams.openai.requests[0], stream);
        assert.equal(upstreams.deepseek.requests.length, 1);
        assertChatWire(upstreams.deepseek.requests[0], stream);
      },
    );
  });

  Deno.test(`${mode}: a responses provider answering 429 falls back to a chat provider`, async () => {
    await withApis({ openai: () => rateLimited, deepseek: chatReply }, async ({ client, upstreams }) => {
      const result = await served(client, request("openai/gpt-5", ["deepseek/deepseek-chat"], stream));
      assertServedBy(result, "deepseek", CHAT_TEXT);
      assert.equal(result.headers.get("x-gateway-provider"), "deepseek");
      assert.equal(upstreams.openai.requests.length, 1);
      assertChatWire(upstreams.deepseek.requests[0], stream);
    });
  });

  Deno.test(`${mode}: a chat provider answering 500 falls back to a responses provider`, async () => {
    await withApis(
      { deepseek: () => serverError("Internal error"), openai: responsesReply },
      async ({ client, upstreams }) => {
        const result = await served(client, request("deepseek/deepseek-chat", ["openai/gpt-5"], stream));
        assertServedBy(result, "openai", RESPONSES_TEXT);
        assert.deepEqual(routingHeaders({ headers: result.headers } as Response), {
          provider: "openai",
          model: "gpt-5",
          attempts: "2",
        });
        assertChatWire(upstreams.deepseek.requests[0], stream);
        assertResponsesWire(upstreams.openai.requests[0], stream);
      },
    );
  });

  Deno.test(`${mode}: a chat provider answering 429 falls back to a responses provider`, async () => {
    await withApis(
      {
        deepseek: () => ({ status: 429, json: { error: { message: "Rate limit reached", type: "rate_limit_error" } } }),
        openai: responsesReply,
      },
      async ({ client }) => {
        const result = await served(client, request("deepseek/deepseek-chat", ["openai/gpt-5"], stream));
        assertServedBy(result, "openai", RESPONSES_TEXT);
        assert.equal(result.headers.get("x-gateway-provider"), "openai");
      },
    );
  });
}

Deno.test("streamed: a responses stream that opens and fails with insufficient_quota before output falls back to chat invisibly", async () => {
  await withApis({ openai: () => quotaAfterCreated, deepseek: chatReply }, async ({ client, upstreams }) => {
    const result = await streamed(client, request("openai/gpt-5", ["deepseek/deepseek-chat"], true));
    assertServedBy(result, "deepseek", CHAT_TEXT);
    // The headers went out with the primary's 200, before its failure was known: only the chunks can say.
    assert.equal(result.headers.get("x-gateway-provider"), "openai");
    assert.equal(upstreams.openai.requests.length, 1);
    assertChatWire(upstreams.deepseek.requests[0], true);
  });
});

Deno.test("streamed: a chat stream that fails in-stream before output falls back to responses invisibly", async () => {
  await withApis({ deepseek: () => chatErrorBeforeOutput, openai: responsesReply }, async ({ client, upstreams }) => {
    const result = await streamed(client, request("deepseek/deepseek-chat", ["openai/gpt-5"], true));
    assertServedBy(result, "openai", RESPONSES_TEXT);
    assert.equal(result.completion.choices[0].message.content, RESPONSES_TEXT);
    assertResponsesWire(upstreams.openai.requests[0], true);
  });
});

Deno.test("JSON: a chat 200 whose body is an error falls back to responses", async () => {
  await withApis(
    {
      deepseek: () => ({ json: { error: { message: "Provider returned error", code: 502 } } }),
      openai: responsesReply,
    },
    async ({ client }) => {
      const result = await json(client, request("deepseek/deepseek-chat", ["openai/gpt-5"], false));
      assertServedBy(result, "openai", RESPONSES_TEXT);
      assert.equal(result.headers.get("x-gateway-provider"), "openai");
    },
  );
});

// ===== Both fail =====

/** What the client reads of an error: no internals, no keys, no unformatted values. */
const assertReadable = (message: string) => {
  for (const bad of ["[object Object]", "undefined", "null", "{", "sk-"]) {
    assert.ok(!message.includes(bad), `"${message}" contains ${bad}`);
  }
};

Deno.test("when the responses primary and the chat fallback both answer HTTP errors, the client gets the primary's error naming the attempts, streamed and JSON", async () => {
  await withApis(
    {
      openai: () => serverError("The server had an error while processing your request."),
      deepseek: () => ({
        status: 503,
        json: { error: { message: "Service Unavailable", type: "service_unavailable" } },
      }),
    },
    async ({ gateway }) => {
      for (const stream of [true, false]) {
        const response = await gateway.fetch("/cursor/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
          body: JSON.stringify(request("openai/gpt-5", ["deepseek/deepseek-chat"], stream)),
        });
        assert.equal(response.status, 502);
        const body = await response.json();
        assert.deepEqual(body, {
          error: {
            message:
              "Upstream error: The server had an error while processing your request. (gave up after 2 upstream attempts)",
            type: "upstream_error",
            param: null,
            code: null,
          },
        });
        assertReadable(body.error.message);
      }
    },
  );
});

Deno.test("when the chat primary and the responses fallback both fail, the chat provider's own words lead the error", async () => {
  await withApis(
    {
      // A FastAPI-style body on the chat side, an OpenAI-style 429 on the Responses side.
      deepseek: () => ({ status: 503, json: { detail: "Model deepseek-chat is loading, retry shortly." } }),
      openai: () => rateLimited,
    },
    async ({ client }) => {
      for (const stream of [true, false]) {
        const body = request("deepseek/deepseek-chat", ["openai/gpt-5"], stream);
        const error = await (stream ? streamed(client, body) : json(client, body)).then(
          () => assert.fail("the request succeeded"),
          (e: unknown) => e,
        );
        assert.ok(error instanceof APIError);
        assert.equal(error.status, 502);
        const message = (error.error as { message: string }).message;
        assert.equal(
          message,
          "Upstream error: Model deepseek-chat is loading, retry shortly. (gave up after 2 upstream attempts)",
        );
        assertReadable(message);
      }
    },
  );
});

Deno.test("when a stream's every candidate fails after opening, the one error frame reads as the primary's failure", async () => {
  await withApis(
    { openai: () => quotaAfterCreated, deepseek: () => chatErrorBeforeOutput },
    async ({ gateway, client }) => {
      const response = await gateway.fetch("/cursor/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
        body: JSON.stringify(request("openai/gpt-5", ["deepseek/deepseek-chat"], true)),
      });
      assert.equal(response.status, 200);
      const client_ = parseStream(await response.text());
      assert.equal(client_.content, "");
      assert.equal(client_.errors.length, 1);
      const error = client_.errors[0].error;
      assert.equal(
        error.message,
        "Provider 'openai' refused the gateway's key: You exceeded your current quota, please check your plan and billing details. (gave up after 2 upstream attempts)",
      );
      assert.equal(error.code, "insufficient_quota");
      assertReadable(error.message);
      assert.ok(!client_.done, "no [DONE] after an error frame");

      // The openai SDK throws it as an APIError.
      await assert.rejects(streamed(client, request("openai/gpt-5", ["deepseek/deepseek-chat"], true)), (e) => {
        assert.ok(e instanceof APIError);
        assert.match(e.message, /refused the gateway's key: You exceeded your current quota/);
        return true;
      });
    },
  );
});

// ===== anthropic ⇄ openai, gemini → anthropic → openai =====

for (const stream of [true, false]) {
  const mode = stream ? "streamed" : "JSON";

  Deno.test(`${mode}: anthropic overloaded (529) falls back to openai`, async () => {
    await withApis({ anthropic: () => anthropicOverloaded, openai: responsesReply }, async ({ client, upstreams }) => {
      const result = await served(client, request("anthropic/claude-sonnet-4-5", ["openai/gpt-5"], stream));
      assertServedBy(result, "openai", RESPONSES_TEXT);
      assert.equal(result.headers.get("x-gateway-provider"), "openai");
      assertAnthropicWire(upstreams.anthropic.requests[0], stream);
      assertResponsesWire(upstreams.openai.requests[0], stream);
    });
  });

  Deno.test(`${mode}: openai rate limited (429) falls back to anthropic`, async () => {
    await withApis({ openai: () => rateLimited, anthropic: anthropicReply }, async ({ client, upstreams }) => {
      const result = await served(client, request("openai/gpt-5", ["anthropic/claude-sonnet-4-5"], stream));
      assertServedBy(result, "anthropic", CLAUDE_TEXT);
      assert.equal(result.headers.get("x-gateway-provider"), "anthropic");
      assert.equal(result.completion.usage?.prompt_tokens_details?.cached_tokens, stream ? 20 : 0);
      assertResponsesWire(upstreams.openai.requests[0], stream);
      assertAnthropicWire(upstreams.anthropic.requests[0], stream);
      const sent = upstreams.anthropic.requests[0].body;
      assert.deepEqual((sent.system as Json[]).map((block) => block.text), ["Be brief."]);
      assert.deepEqual((sent.messages as Json[]).map((message) => message.role), ["user"]);
    });
  });

  Deno.test(`${mode}: gemini unavailable, then anthropic overloaded, then openai serves`, async () => {
    await withApis(
      { gemini: () => geminiUnavailable, anthropic: () => anthropicOverloaded, openai: responsesReply },
      async ({ client, upstreams }) => {
        const result = await served(
          client,
          request("gemini/gemini-2.5-flash", ["anthropic/claude-sonnet-4-5", "openai/gpt-5"], stream),
        );
        assertServedBy(result, "openai", RESPONSES_TEXT);
        assert.deepEqual(routingHeaders({ headers: result.headers } as Response), {
          provider: "openai",
          model: "gpt-5",
          attempts: "3",
        });
        assertGeminiWire(upstreams.gemini.requests[0], stream);
        assertAnthropicWire(upstreams.anthropic.requests[0], stream);
        assertResponsesWire(upstreams.openai.requests[0], stream);
      },
    );
  });
}

Deno.test("streamed: gemini serves when it is the one left, after anthropic failed in-stream before output", async () => {
  await withApis(
    {
      anthropic: () => ({
        sse: [
          messageStart,
          event("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
        ],
      }),
      gemini: geminiReply,
    },
    async ({ client, upstreams }) => {
      const result = await streamed(client, request("anthropic/claude-sonnet-4-5", ["gemini/gemini-2.5-flash"], true));
      assertServedBy(result, "gemini", GEMINI_TEXT);
      assertGeminiWire(upstreams.gemini.requests[0], true);
    },
  );
});
