/**
 * Routing of streamed requests through the real handler, against fake
 * upstreams on 127.0.0.1 that misbehave on purpose. Before the first output
 * a failure is handled invisibly (retry or fallback); after it, the client
 * gets an error frame and the stream never switches.
 */
import assert from "node:assert/strict";
import { sseFixture, type SseStep } from "./support/fake_upstream.ts";
import { postJson, VK } from "./support/gateway.ts";
import { attemptsOf, type ClientStream, readStream, routingHeaders, withPair } from "./support/routing.ts";

const request = {
  model: "openai/gpt-5",
  fallbacks: ["backup/gpt-4.1"],
  input: [{ role: "user", content: "hi" }],
  stream: true,
};

const primaryText = sseFixture("routing/primary_text.sse");
const fallbackText = () => ({ sse: sseFixture("routing/fallback_text.sse") });
/** `response.created`, `response.in_progress` and the empty message and part openings: nothing to show yet. */
const startUp = primaryText.slice(0, 4);
/** The start-up events and the first text delta ("Answer "). */
const firstOutput = primaryText.slice(0, 5);

const stream = (sse: ReadonlyArray<SseStep>) => ({ sse });

/** Every chunk names the attempt that served it. */
const assertServedBy = (client: ClientStream, provider: string, fallbackIndex: number, attempts: number) => {
  assert.ok(client.chunks.length > 0);
  for (const chunk of client.chunks) {
    assert.equal(chunk.extra_fields?.provider, provider);
    assert.equal(chunk.extra_fields?.fallback_index, fallbackIndex);
    assert.equal(chunk.extra_fields?.attempts, attempts);
  }
};

Deno.test("response.created then an insufficient_quota error falls back invisibly (bifrost#5395)", async () => {
  await withPair(
    { primary: () => stream(sseFixture("routing/quota_after_created.sse")), backup: fallbackText },
    {},
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
      // The headers went out with the primary's 200, before its failure was known.
      assert.deepEqual(routingHeaders(response), { provider: "openai", model: "gpt-5", attempts: "1" });
      const client = await readStream(response);
      assert.equal(client.content, "Answer from the fallback.");
      assert.deepEqual(client.errors, []);
      assert.ok(!client.text.includes("quota"), "nothing of the failure reaches the client");
      assert.ok(client.done);
      assertServedBy(client, "backup", 1, 2);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 1);
      assert.equal(backup.requests[0].body.model, "gpt-4.1");
      assert.equal(backup.requests[0].body.stream, true);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "stream_error", "fallback"], [
        "backup",
        "ok",
        undefined,
      ]]);
    },
  );
});

Deno.test("response.failed with server_error before any output is retried on the same provider, invisibly", async () => {
  await withPair(
    {
      primary: (_r, index) =>
        index === 0 ? stream(sseFixture("routing/failed_before_output.sse")) : stream(primaryText),
    },
    {},
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      const client = await readStream(response);
      assert.equal(client.content, "Answer from the primary.");
      assert.deepEqual(client.errors, []);
      assert.ok(client.done);
      assertServedBy(client, "openai", 0, 2);
      assert.equal(primary.requests.length, 2);
      assert.equal(backup.requests.length, 0);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "stream_error", "retry"], [
        "openai",
        "ok",
        undefined,
      ]]);
    },
  );
});

Deno.test("a connection reset before the first byte of a stream is retried, then falls back", async () => {
  await withPair({ primary: () => ({ reset: true }), backup: fallbackText }, {}, async (pair) => {
    const response = await postJson(pair.gateway, "/cursor/v1/chat/completions", request);
    assert.equal(response.status, 200);
    // No attempt had answered before the fallback did: its headers are the ones sent.
    assert.deepEqual(routingHeaders(response), { provider: "backup", model: "gpt-4.1", attempts: "3" });
    const client = await readStream(response);
    assert.equal(client.content, "Answer from the fallback.");
    assert.deepEqual(client.errors, []);
    assertServedBy(client, "backup", 1, 3);
    assert.equal(pair.primary.requests.length, 2);
    assert.equal(pair.backup.requests.length, 1);
    assert.deepEqual(attemptsOf(await pair.finished(1)), [
      ["openai", "network", "retry"],
      ["openai", "network", "fallback"],
      ["backup", "ok", undefined],
    ]);
  });
});

Deno.test("a connection dropped mid-answer before any output falls back; after output it is an error frame", async () => {
  await withPair(
    { primary: () => stream([...startUp, { drop: true }]), backup: fallbackText },
    { primary: { retry: { max_retries: 0 } } },
    async (pair) => {
      const client = await readStream(await postJson(pair.gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer from the fallback.");
      assert.deepEqual(client.errors, []);
      assert.equal(pair.primary.requests.length, 1);
      assert.equal(pair.backup.requests.length, 1);
    },
  );
  await withPair(
    { primary: () => stream([...firstOutput, { drop: true }]) },
    { primary: { retry: { max_retries: 0 } } },
    async (pair) => {
      const client = await readStream(await postJson(pair.gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer ");
      assert.equal(client.errors.length, 1);
      assert.equal(client.errors[0].error.code, "upstream_stream_error");
      assert.equal(client.done, false);
      assert.equal(pair.primary.requests.length, 1);
      assert.equal(pair.backup.requests.length, 0);
    },
  );
});

Deno.test("an error after output began ends with an error frame and never falls back", async () => {
  await withPair(
    { primary: () => stream(sseFixture("routing/error_after_output.sse")) },
    {},
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      const client = await readStream(response);
      assert.equal(client.content, "Partial answer");
      assert.equal(client.errors.length, 1);
      assert.equal(client.errors[0].error.message, "The model crashed mid-answer.");
      assert.equal(client.errors[0].error.code, "server_error");
      assert.ok(!client.chunks.some((c) => c.choices[0]?.finish_reason), "no fake finish");
      assert.equal(client.done, false);
      assertServedBy(client, "openai", 0, 1);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "ok", undefined]]);
    },
  );
});

Deno.test("a stall before the first event times out (first_byte_ms), aborts the upstream and falls back", async () => {
  await withPair(
    { primary: () => stream([{ delayMs: 60_000 }]), backup: fallbackText },
    { primary: { retry: { max_retries: 0 }, timeouts: { first_byte_ms: 150 } } },
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      const client = await readStream(response);
      assert.equal(client.content, "Answer from the fallback.");
      assert.deepEqual(client.errors, []);
      assertServedBy(client, "backup", 1, 2);
      await primary.waitForAborts(1);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 1);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "timeout", "fallback"], ["backup", "ok", undefined]]);
    },
  );
});

Deno.test("an upstream that never answers a stream's headers is cut at connect_ms and the fallback serves", async () => {
  await withPair(
    { primary: () => ({ sse: primaryText, delayMs: 60_000 }), backup: fallbackText },
    { primary: { retry: { max_retries: 0 }, timeouts: { connect_ms: 150 } } },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.deepEqual(routingHeaders(response), { provider: "backup", model: "gpt-4.1", attempts: "2" });
      const client = await readStream(response);
      assert.equal(client.content, "Answer from the fallback.");
      await primary.waitForAborts(1);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 1);
    },
  );
});

Deno.test("a stall while start-up events are held back (idle_ms) is an invisible failure too", async () => {
  await withPair(
    { primary: () => stream([...startUp, { delayMs: 60_000 }]), backup: fallbackText },
    { primary: { retry: { max_retries: 0 }, timeouts: { idle_ms: 150 } } },
    async ({ gateway, primary, backup }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer from the fallback.");
      assert.deepEqual(client.errors, []);
      await primary.waitForAborts(1);
      assert.equal(backup.requests.length, 1);
    },
  );
});

Deno.test("a stall in the middle, after output, ends with an idle_ms error frame and aborts the upstream", async () => {
  await withPair(
    { primary: () => stream([...firstOutput, { delayMs: 60_000 }, ...primaryText.slice(5)]) },
    { primary: { timeouts: { idle_ms: 150 } } },
    async ({ gateway, primary, backup, finished }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer ");
      assert.equal(client.errors.length, 1);
      assert.equal(client.errors[0].error.type, "timeout_error");
      assert.match(client.errors[0].error.message, /idle_ms 150 ms/);
      assert.equal(client.done, false);
      await primary.waitForAborts(1);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
      assert.deepEqual(attemptsOf(await finished(1)), [["openai", "ok", undefined]]);
      assert.equal((await finished(1)).errorType, "stream_error");
    },
  );
});

Deno.test("a malformed SSE frame before output is an attempt failure; after output it is an error frame", async () => {
  const malformed = {
    raw: 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n',
  };
  await withPair(
    { primary: () => stream([...startUp, malformed, ...primaryText.slice(4)]), backup: fallbackText },
    { primary: { retry: { max_retries: 0 } } },
    async (pair) => {
      const client = await readStream(await postJson(pair.gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer from the fallback.");
      assert.deepEqual(client.errors, []);
      assert.equal(pair.primary.requests.length, 1);
      assert.equal(pair.backup.requests.length, 1);
      assert.deepEqual(attemptsOf(await pair.finished(1)), [
        ["openai", "stream_error", "fallback"],
        ["backup", "ok", undefined],
      ]);
    },
  );
  await withPair(
    { primary: () => stream([...firstOutput, malformed, ...primaryText.slice(5)]) },
    { primary: { retry: { max_retries: 0 } } },
    async (pair) => {
      const client = await readStream(await postJson(pair.gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer ");
      assert.equal(client.errors.length, 1);
      assert.match(client.errors[0].error.message, /malformed/);
      assert.equal(pair.primary.requests.length, 1);
      assert.equal(pair.backup.requests.length, 0);
    },
  );
});

Deno.test("a client that disconnects mid-stream aborts the upstream at once, and nothing is retried", async () => {
  await withPair(
    { primary: () => stream([...firstOutput, { delayMs: 60_000 }, ...primaryText.slice(5)]) },
    {},
    async ({ gateway, primary, backup, finished }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      const reader = response.body!.getReader();
      let seen = "";
      const decoder = new TextDecoder();
      while (!seen.includes("Answer ")) {
        const { value, done } = await reader.read();
        assert.equal(done, false);
        seen += decoder.decode(value);
      }
      await reader.cancel();
      await primary.waitForAborts(1);
      const trace = await finished(1);
      assert.equal(trace.errorType, "client_cancelled");
      assert.deepEqual(attemptsOf(trace), [["openai", "ok", undefined]]);
      assert.deepEqual(primary.abortedRequests(), [0]);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("a client that disconnects while start-up events are held back stops the retries too", async () => {
  await withPair(
    { primary: () => stream([...startUp, { delayMs: 60_000 }]) },
    { primary: { retry: { max_retries: 3, initial_backoff_ms: 1, max_backoff_ms: 5 } } },
    async ({ gateway, primary, backup, finished }) => {
      const client = new AbortController();
      const response = await gateway.fetch("/cursor/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
        body: JSON.stringify(request),
        signal: client.signal,
      });
      assert.equal(response.status, 200);
      client.abort();
      await response.body?.cancel().catch(() => {});
      await primary.waitForAborts(1);
      const trace = await finished(1);
      assert.deepEqual(attemptsOf(trace), [["openai", "cancelled", undefined]]);
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("keepalive comments flow while start-up events are held back, then the answer follows", async () => {
  await withPair(
    { primary: () => stream([...startUp, { delayMs: 300 }, ...primaryText.slice(4)]) },
    { top: { keepalive_ms: 25 } },
    async ({ gateway, primary }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      const firstData = client.frames.findIndex((frame) => frame.startsWith("data: "));
      assert.ok(firstData > 0, "comments came before any data");
      assert.ok(client.frames.slice(0, firstData).every((frame) => frame === ": keepalive"));
      assert.equal(client.content, "Answer from the primary.");
      assert.ok(client.done);
      assert.equal(primary.requests.length, 1);
    },
  );
});

Deno.test("keepalive comments flow while a committed stream is silent between events", async () => {
  await withPair(
    { primary: () => stream([...firstOutput, { delayMs: 300 }, ...primaryText.slice(5)]) },
    { top: { keepalive_ms: 25 } },
    async ({ gateway }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      const firstText = client.frames.findIndex((frame) => frame.includes('"content":"Answer "'));
      const secondText = client.frames.findIndex((frame) => frame.includes('"content":"from the "'));
      assert.ok(firstText >= 0 && secondText > firstText);
      assert.ok(client.frames.slice(firstText + 1, secondText).includes(": keepalive"));
      assert.equal(client.content, "Answer from the primary.");
    },
  );
});

Deno.test("an upstream HTTP error on every attempt still reaches a streaming client with its status and envelope", async () => {
  const overloaded = () => ({
    status: 503,
    json: { error: { message: "The engine is overloaded.", type: "server_error", param: null, code: null } },
  });
  await withPair({ primary: overloaded, backup: overloaded }, {}, async ({ gateway, primary, backup }) => {
    const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
    assert.equal(response.status, 502);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await response.json(), {
      error: {
        message: "Upstream error: The engine is overloaded. (gave up after 4 upstream attempts)",
        type: "upstream_error",
        param: null,
        code: null,
      },
    });
    assert.equal(primary.requests.length, 2);
    assert.equal(backup.requests.length, 2);
  });
});

Deno.test("a streamed 400 is final: the client gets 400 and the upstream's message, no fallback", async () => {
  await withPair(
    {
      primary: () => ({
        status: 400,
        json: {
          error: {
            message: "Invalid 'input[0].content': string too long.",
            type: "invalid_request_error",
            param: "input[0].content",
            code: "string_above_max_length",
          },
        },
      }),
    },
    {},
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), {
        error: {
          message: "Invalid 'input[0].content': string too long.",
          type: "invalid_request_error",
          param: "input[0].content",
          code: "string_above_max_length",
        },
      });
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("an invalid_request_error event before output is final: one error frame, no fallback", async () => {
  const created = startUp[0];
  await withPair(
    {
      primary: () =>
        stream([created, {
          event: {
            type: "error",
            sequence_number: 1,
            error: {
              type: "invalid_request_error",
              code: "context_length_exceeded",
              message: "Your input exceeds the context window of this model.",
              param: "input",
            },
          },
        }]),
    },
    // The error itself: on Cursor's route a context overflow is otherwise the answer Cursor compacts on
    // (issue 14, point 4; tests/cursor_context_overflow_test.ts).
    { top: { cursor_context_overflow: "error" } },
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      const client = await readStream(response);
      assert.deepEqual(client.chunks, []);
      assert.equal(client.errors.length, 1);
      assert.equal(client.errors[0].error.message, "Your input exceeds the context window of this model.");
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("when every attempt fails before output, the stream ends with the primary's error frame naming the attempts", async () => {
  await withPair(
    {
      primary: () => stream(sseFixture("routing/failed_before_output.sse")),
      backup: () => stream(sseFixture("routing/failed_before_output.sse")),
    },
    {},
    async ({ gateway, primary, backup }) => {
      const response = await postJson(gateway, "/cursor/v1/chat/completions", request);
      assert.equal(response.status, 200);
      const client = await readStream(response);
      assert.deepEqual(client.chunks, []);
      assert.equal(client.errors.length, 1);
      assert.equal(
        client.errors[0].error.message,
        "The server had an error while processing your request. (gave up after 4 upstream attempts)",
      );
      assert.equal(primary.requests.length, 2);
      assert.equal(backup.requests.length, 2);
    },
  );
});

Deno.test("held-back start-up events are bounded: past 64 of them the stream commits, and a later error is a frame", async () => {
  const created = startUp[0];
  const inProgress = startUp[1];
  const chatter: SseStep[] = Array.from({ length: 70 }, () => inProgress);
  const failure = {
    event: { type: "error", error: { type: "server_error", code: "server_error", message: "Late failure." } },
  };
  await withPair(
    { primary: () => stream([created, ...chatter, failure]), backup: fallbackText },
    { primary: { retry: { max_retries: 0 } } },
    async ({ gateway, primary, backup }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.errors.length, 1);
      assert.equal(client.errors[0].error.message, "Late failure.");
      assert.equal(primary.requests.length, 1);
      assert.equal(backup.requests.length, 0, "committed streams never switch");
    },
  );
});

Deno.test("total_ms bounds a whole streamed attempt even while events keep coming", async () => {
  const trickle: SseStep[] = [...firstOutput];
  for (let i = 0; i < 40; i++) trickle.push({ delayMs: 20 }, primaryText[5]);
  await withPair(
    { primary: () => stream(trickle) },
    { primary: { timeouts: { idle_ms: 5_000, total_ms: 250 } } },
    async ({ gateway, primary, backup }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      assert.ok(client.content.startsWith("Answer from the "));
      assert.equal(client.errors.length, 1);
      assert.match(client.errors[0].error.message, /total_ms 250 ms/);
      await primary.waitForAborts(1);
      assert.equal(backup.requests.length, 0);
    },
  );
});

Deno.test("a completed stream is read to its end rather than aborted, so the upstream connection can be reused", async () => {
  await withPair(
    { primary: () => stream([...primaryText, { delayMs: 100 }]) },
    {},
    async ({ gateway, primary, finished }) => {
      const client = await readStream(await postJson(gateway, "/cursor/v1/chat/completions", request));
      assert.equal(client.content, "Answer from the primary.");
      assert.ok(client.done);
      await finished(1);
      // The upstream sent its last bytes 100 ms after response.completed: the gateway waited for them.
      await primary.settled();
      assert.equal(primary.aborted(), 0);
      assert.equal(primary.requests.length, 1);
    },
  );
});
