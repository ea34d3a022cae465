/**
 * Graceful shutdown: the listener closes, open streams may finish within the
 * grace period, the rest end with an error frame, every finished request is
 * reported (its usage settled) before the process exits 0 — on a real
 * SIGTERM, started both as `deno run main.ts` and as `deno task start`.
 */
import assert from "node:assert/strict";
import { makeGateway } from "../src/app.ts";
import { resolveConfig } from "../src/config/load.ts";
import * as Telemetry from "../src/observability/Telemetry.ts";
import { testConfig, VK } from "./support/gateway.ts";

const ROUTE = "/cursor/v1/chat/completions";
const root = new URL("..", import.meta.url);

// ===== A Responses upstream whose stream pauses after its first delta until released =====

const frame = (event: Record<string, unknown>) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

const head = [
  { type: "response.created", response: { id: "resp_g", status: "in_progress", output: [], usage: null } },
  {
    type: "response.output_item.added",
    output_index: 0,
    item: { id: "m", type: "message", role: "assistant", content: [] },
  },
  {
    type: "response.content_part.added",
    item_id: "m",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [] },
  },
  { type: "response.output_text.delta", item_id: "m", output_index: 0, content_index: 0, delta: "first " },
].map((event, i) => frame({ ...event, sequence_number: i }));

const done = {
  id: "m",
  type: "message",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text: "first last", annotations: [] }],
};
const tail = [
  { type: "response.output_text.delta", item_id: "m", output_index: 0, content_index: 0, delta: "last" },
  { type: "response.output_text.done", item_id: "m", output_index: 0, content_index: 0, text: "first last" },
  { type: "response.output_item.done", output_index: 0, item: done },
  {
    type: "response.completed",
    response: {
      id: "resp_g",
      status: "completed",
      model: "gpt-5",
      output: [done],
      usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
    },
  },
].map((event, i) => frame({ ...event, sequence_number: 10 + i }));

const startGatedUpstream = () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const encoder = new TextEncoder();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.text();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(head.join("")));
        await gate;
        try {
          controller.enqueue(encoder.encode(tail.join("")));
          controller.close();
        } catch {
          // the gateway ended the stream first
        }
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/v1`,
    release,
    close: () => {
      release();
      return server.shutdown();
    },
  };
};

const streamRequest = (url: string) =>
  fetch(`${url}${ROUTE}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${VK}` },
    body: JSON.stringify({ model: "openai/gpt-5", input: "hi", stream: true }),
  });

/** Reads the body until `pattern` has appeared; returns everything read so far. */
const readUntil = async (reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp, seen = "") => {
  const decoder = new TextDecoder();
  while (!pattern.test(seen)) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  return seen;
};

const readAll = async (reader: ReadableStreamDefaultReader<Uint8Array>, seen = "") => {
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return seen;
    seen += decoder.decode(value, { stream: true });
  }
};

// ===== In process =====

Deno.test("a stream still open when the grace period ends gets an error frame, and is still reported", async () => {
  const upstream = startGatedUpstream();
  const logs: string[] = [];
  const config = resolveConfig(testConfig(upstream.url), () => undefined);
  const gateway = await makeGateway(config, { telemetry: Telemetry.make("info", (line) => logs.push(line)) });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, gateway.fetch);
  try {
    const response = await streamRequest(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`);
    const reader = response.body!.getReader();
    const seen = await readUntil(reader, /first /);
    assert.equal(gateway.openStreams(), 1);

    const closed = server.shutdown();
    await gateway.shutdown(20);
    const rest = await readAll(reader, seen);
    await closed;

    const frames = rest.split("\n\n").filter((f) => f.startsWith("data: ")).map((f) => f.slice(6));
    const last = JSON.parse(frames[frames.length - 1]);
    assert.equal(last.error.code, "gateway_shutting_down");
    assert.equal(last.error.type, "server_error");
    assert.ok(!rest.includes("[DONE]"));
    assert.equal(gateway.openStreams(), 0);
    // The request line is written after its settlement completed: shutdown waited for it.
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
    assert.equal(line?.stream, true);
    assert.equal(line?.error_type, "gateway_shutting_down");
  } finally {
    await gateway.dispose();
    await upstream.close();
  }
});

// ===== A real process and a real signal =====

interface Process {
  readonly url: string;
  readonly lines: string[];
  readonly child: Deno.ChildProcess;
  /** Resolves when a stdout line matches. */
  readonly waitFor: (pattern: RegExp) => Promise<string>;
  readonly exit: Promise<Deno.CommandStatus>;
}

const spawnGateway = async (args: string[], config: Record<string, unknown>): Promise<Process> => {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let stderr = "";
  const errors = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const watchers: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const pump = (async () => {
    let buffered = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let at: number;
      while ((at = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        lines.push(line);
        for (const watcher of watchers.filter((w) => w.pattern.test(line))) {
          watchers.splice(watchers.indexOf(watcher), 1);
          watcher.resolve(line);
        }
      }
    }
  })();
  const exit = Promise.all([child.status, pump, errors]).then(([status]) => status);
  const waitFor = (pattern: RegExp) => {
    const found = lines.find((line) => pattern.test(line));
    if (found) return Promise.resolve(found);
    return Promise.race([
      new Promise<string>((resolve) => watchers.push({ pattern, resolve })),
      exit.then((status) => {
        throw new Error(`gateway exited (${status.code}) before printing ${pattern}:\n${lines.join("\n")}\n${stderr}`);
      }),
    ]);
  };
  const listening = await waitFor(/gateway listening on/);
  const url = /(http:\/\/[\d.]+:\d+)/.exec(listening)![1];
  return { url, lines, child, waitFor, exit };
};

const refused = async (url: string) => {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(`${url}/health`);
      await response.body?.cancel();
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
};

const runArgs = ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "main.ts"];

Deno.test({
  name: "on SIGTERM the listener closes, an open stream finishes, its usage is logged, and the process exits 0",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const upstream = startGatedUpstream();
    const gateway = await spawnGateway(runArgs, { ...testConfig(upstream.url), log_level: "info" });
    try {
      const response = await streamRequest(gateway.url);
      const reader = response.body!.getReader();
      const seen = await readUntil(reader, /first /);

      gateway.child.kill("SIGTERM");
      await gateway.waitFor(/"msg":"shutting down"/);
      assert.ok(await refused(gateway.url), "the listener still accepts connections");

      upstream.release();
      const rest = await readAll(reader, seen);
      assert.match(rest, /last/);
      assert.match(rest, /data: \[DONE\]/);
      const status = await gateway.exit;
      assert.equal(status.code, 0);

      const request = gateway.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
      assert.equal(request?.status, 200);
      assert.equal(request?.tokens_in, 5);
      assert.equal(request?.tokens_out, 2);
      assert.equal(request?.error_type, undefined);
      const order = gateway.lines.map((l) => JSON.parse(l).msg);
      assert.ok(order.indexOf("request") < order.indexOf("stopped"), order.join(", "));
    } finally {
      try {
        gateway.child.kill("SIGKILL");
      } catch {
        // it exited on its own
      }
      await gateway.exit;
      await upstream.close();
    }
  },
});

Deno.test({
  name: "under deno task start, SIGTERM ends a stream that outlives shutdown_grace_ms with an error frame and exits 0",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const upstream = startGatedUpstream();
    const gateway = await spawnGateway(["task", "start"], {
      ...testConfig(upstream.url),
      log_level: "info",
      shutdown_grace_ms: 50,
    });
    try {
      const response = await streamRequest(gateway.url);
      const reader = response.body!.getReader();
      const seen = await readUntil(reader, /first /);

      gateway.child.kill("SIGTERM");
      const rest = await readAll(reader, seen);
      assert.match(rest, /"code":"gateway_shutting_down"/);
      assert.ok(!rest.includes("[DONE]"));
      const status = await gateway.exit;
      assert.equal(status.code, 0);
      assert.ok(gateway.lines.some((l) => JSON.parse(l).msg === "stopped"));
      const request = gateway.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
      assert.equal(request?.error_type, "gateway_shutting_down");
    } finally {
      try {
        gateway.child.kill("SIGKILL");
      } catch {
        // it exited on its own
      }
      await gateway.exit;
      await upstream.close();
    }
  },
});
