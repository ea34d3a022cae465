/**
 * What every bench run sets up: the mock upstream, the floor and the gateway as child
 * processes, one target per server with its pre-built requests, a gateway target per upstream
 * API, and a check that each one answers the way it should before anything is measured.
 */
import { buildRequest, HttpConnection } from "./http_client.ts";
import { hybridBody } from "./hybrid_body.ts";
import { type Kind, requestFor, type Target, type TargetName } from "./load.ts";
import { answerText, type Api, apis, callArguments, callName, jsonText, responsesJson, tokens } from "./mock_wires.ts";
import { gatewayPort, jsonPort, type Server, startServer } from "./servers.ts";

export const root = new URL("..", import.meta.url).pathname;
const here = (file: string) => new URL(`./${file}`, import.meta.url).pathname;

export const kinds: ReadonlyArray<Kind> = ["json", "sse", "short", "hold"];

export interface SetupOptions {
  /** Text deltas in a `sse` (and `hold`) stream, and in a `short` one. */
  readonly deltas: number;
  readonly shortDeltas: number;
  /** The guards kill every server after this long. */
  readonly deadlineMs: number;
  /** Run the floor and the gateway under `--cpu-prof`, writing profiles here. */
  readonly profileDir?: string;
  /** More `deno run` flags for the gateway only (`--v8-flags=--trace-gc`, say). */
  readonly gatewayFlags?: ReadonlyArray<string>;
}

/**
 * The gateway's providers for the per-API phase, `json` and `sse` mode each: the Responses
 * path is the bench's own `json` and `sse` providers; the others speak their API to the mock
 * under the same prefixes, asked for a model of that API's family (the Gemini adapter, for one,
 * sets thinking by the model's name).
 */
const apiProviders: Readonly<Record<Api, { readonly prefix: string; readonly model: string }>> = {
  responses: { prefix: "", model: "gpt-5" },
  chat: { prefix: "chat-", model: "gpt-4.1" },
  anthropic: { prefix: "anthropic-", model: "claude-sonnet-4-5" },
  gemini: { prefix: "gemini-", model: "gemini-2.5-flash" },
};

export interface BenchServers {
  readonly mock: Server;
  readonly floor: Server;
  readonly gateway: Server;
  readonly targets: Readonly<Record<TargetName, Target>>;
  /** The gateway once per upstream API, with a `json` and an `sse` request each. */
  readonly apiTargets: Readonly<Record<Api, Target>>;
  /** Request body bytes per kind (identical for every target). */
  readonly bodies: Readonly<Record<Kind, Uint8Array>>;
  /** Lets every held stream finish. */
  readonly release: () => Promise<void>;
}

/** The mock's path prefix for `kind`: `json`, `sse-N`, `hold-N`. */
export const mockMode = (kind: Kind, options: Pick<SetupOptions, "deltas" | "shortDeltas">): string =>
  kind === "json"
    ? "json"
    : kind === "sse"
    ? `sse-${options.deltas}`
    : kind === "short"
    ? `sse-${options.shortDeltas}`
    : `hold-${options.deltas}`;

export const startBenchServers = async (options: SetupOptions): Promise<BenchServers> => {
  const mode = (kind: Kind) => mockMode(kind, options);
  const virtualKey = `sk-bf-bench-${crypto.randomUUID().replaceAll("-", "")}`;
  const profileFlags = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  // NO_COLOR keeps a failing child's error readable in the bench's message.
  const common = { cwd: root, deadlineMs: options.deadlineMs, env: { NO_COLOR: "1" } };

  const mock = await startServer({
    ...common,
    name: "mock upstream",
    // Held streams are released by the bench, or after a minute at most.
    args: ["run", "--allow-net", here("mock_upstream.ts"), "60000"],
    portFrom: jsonPort,
  });
  const floor = await startServer({
    ...common,
    name: "floor",
    args: ["run", "--allow-net", ...profileFlags, here("floor.ts"), `http://127.0.0.1:${mock.port}`],
    portFrom: jsonPort,
  });
  const provider = (api: Api, kind: Kind) => ({
    ...(api === "responses" ? {} : { api }),
    base_url: `http://127.0.0.1:${mock.port}/${mode(kind)}/v1`,
    keys: [{ value: "sk-bench-upstream-not-a-secret" }],
    models: [apiProviders[api].model],
    retry: { max_retries: 0 },
  });
  const config = {
    providers: Object.fromEntries([
      ...kinds.map((kind) => [kind, provider("responses", kind)]),
      ...apis.filter((api) => api !== "responses").flatMap((api) =>
        (["json", "sse"] as const).map((kind) => [`${apiProviders[api].prefix}${kind}`, provider(api, kind)])
      ),
    ]),
    default_provider: "json",
    virtual_keys: [{ id: "bench", value: virtualKey, models: ["*"] }],
    store: { kind: "memory" },
    // No log_level: the gateway logs at its default (info), one JSON line per request, as deployed.
  };
  const gateway = await startServer({
    ...common,
    name: "gateway",
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      ...profileFlags,
      ...(options.gatewayFlags ?? []),
      `${root}main.ts`,
    ],
    env: {
      ...common.env,
      // The config as JSON in the environment, as the other harnesses pass it: no file to leave behind.
      GATEWAY_CONFIG_JSON: JSON.stringify(config),
      // A GATEWAY_CONFIG path in the operator's environment would win over it; empty counts as unset.
      ...(Deno.env.get("GATEWAY_CONFIG") !== undefined ? { GATEWAY_CONFIG: "" } : {}),
      // HOST and PORT override the config; set them so an operator's environment cannot move the gateway.
      HOST: "127.0.0.1",
      PORT: "0",
    },
    portFrom: gatewayPort,
  });

  const encoder = new TextEncoder();
  const body = (model: string, kind: Kind) =>
    encoder.encode(JSON.stringify(hybridBody({ model, stream: kind !== "json" })));
  const bodies = Object.fromEntries(
    kinds.map((kind) => [kind, body(`${kind}/gpt-5`, kind)]),
  ) as Record<Kind, Uint8Array>;
  const headers = { "content-type": "application/json", authorization: `Bearer ${virtualKey}` };
  const target = (name: TargetName, server: Server): Target => ({
    name,
    port: server.port,
    pid: server.pid,
    requests: Object.fromEntries(kinds.map((kind) => [
      kind,
      buildRequest(
        server.port,
        name === "gateway" ? "/cursor/v1/chat/completions" : `/${mode(kind)}/v1/responses`,
        bodies[kind],
        headers,
      ),
    ])) as Record<Kind, Uint8Array>,
  });
  const apiTarget = (api: Api): Target => ({
    name: "gateway",
    port: gateway.port,
    pid: gateway.pid,
    requests: Object.fromEntries((["json", "sse"] as const).map((kind) => {
      const { prefix, model } = apiProviders[api];
      return [
        kind,
        buildRequest(gateway.port, "/cursor/v1/chat/completions", body(`${prefix}${kind}/${model}`, kind), headers),
      ];
    })),
  });

  const release = async () => {
    const connection = await HttpConnection.open(mock.port);
    try {
      await connection.send(buildRequest(mock.port, "/control/release", new Uint8Array(), {}));
    } finally {
      connection.close();
    }
  };

  return {
    mock,
    floor,
    gateway,
    targets: { direct: target("direct", mock), floor: target("floor", floor), gateway: target("gateway", gateway) },
    apiTargets: Object.fromEntries(apis.map((api) => [api, apiTarget(api)])) as Record<Api, Target>,
    bodies,
    release,
  };
};

const frameCount = (text: string) => text.split("\n\n").filter((frame) => frame.trim() !== "").length;

/**
 * Sends one request of each measured kind and checks the answer's shape: a `chat.completion`
 * or a stream ending in `[DONE]` from the gateway, the mock's Responses answer (its own
 * response id, so a peer that answers on its own is caught) from the others. Returns the SSE
 * frames the client got for one `sse` stream.
 */
export const validate = async (target: Target, server: Server): Promise<number> => {
  const connection = await HttpConnection.open(target.port);
  const fail = (what: string, status: number, body: string): never => {
    throw new Error(`${target.name} answered ${what} with HTTP ${status}: ${body.slice(0, 400)}\n${server.recent()}`);
  };
  try {
    let frames = 0;
    for (const kind of ["json", "sse", "short"] as const) {
      const timing = await connection.send(requestFor(target, kind), { keepBody: true });
      const text = new TextDecoder().decode(timing.body);
      if (timing.status !== 200) fail(kind, timing.status, text);
      if (kind === "json") {
        let answer: { object?: unknown; id?: unknown } = {};
        try {
          answer = JSON.parse(text);
        } catch {
          fail("json (not JSON)", timing.status, text);
        }
        const expected = target.name === "gateway" ? "chat.completion" : "response";
        if (answer.object !== expected) {
          fail(`json (object "${answer.object}", expected "${expected}")`, timing.status, text);
        }
        if (target.name !== "gateway" && answer.id !== responsesJson.id) {
          fail(`json (not the mock's response ${responsesJson.id})`, timing.status, text);
        }
        continue;
      }
      const complete = target.name === "gateway"
        ? text.trimEnd().endsWith("data: [DONE]")
        : text.includes("event: response.completed") && text.includes(responsesJson.id);
      if (!complete) fail(`${kind} (the stream did not finish)`, timing.status, text.slice(-400));
      if (kind === "sse") frames = frameCount(text);
    }
    return frames;
  } finally {
    connection.close();
  }
};

/** The `data:` payloads of an SSE body, `[DONE]` left out. */
const dataOf = (text: string): string[] =>
  text.split("\n\n").flatMap((frame) => frame.startsWith("data: ") && frame !== "data: [DONE]" ? [frame.slice(6)] : []);

interface ChatUsage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
}

const sameUsage = (usage: ChatUsage | undefined) =>
  usage?.prompt_tokens === tokens.input && usage?.completion_tokens === tokens.output;

/**
 * Sends the `json` and `sse` request of one upstream API through the gateway and checks that the
 * client gets the mock's answer in Chat Completions shape: the whole text (`deltas` of them when
 * streamed), the `ReadFile` call, and the mock's token counts. Returns the SSE frames the client
 * got for one stream.
 */
export const validateApi = async (api: Api, target: Target, server: Server, deltas: number): Promise<number> => {
  const connection = await HttpConnection.open(target.port);
  const fail = (what: string, status: number, body: string): never => {
    throw new Error(
      `the gateway's ${api} path answered ${what} with HTTP ${status}: ${body.slice(-600)}\n${server.recent()}`,
    );
  };
  try {
    const json = await connection.send(requestFor(target, "json"), { keepBody: true });
    const jsonBody = new TextDecoder().decode(json.body);
    if (json.status !== 200) fail("json", json.status, jsonBody);
    let answer: { object?: string; choices?: { message?: { content?: string } }[]; usage?: ChatUsage } = {};
    try {
      answer = JSON.parse(jsonBody);
    } catch {
      fail("json (not JSON)", json.status, jsonBody);
    }
    if (answer.object !== "chat.completion" || answer.choices?.[0]?.message?.content !== jsonText) {
      fail(`json (expected a chat.completion saying "${jsonText}")`, json.status, jsonBody);
    }
    if (!sameUsage(answer.usage)) fail("json (not the mock's usage)", json.status, jsonBody);

    const sse = await connection.send(requestFor(target, "sse"), { keepBody: true });
    const text = new TextDecoder().decode(sse.body);
    if (sse.status !== 200) fail("sse", sse.status, text);
    if (!text.trimEnd().endsWith("data: [DONE]")) fail("sse (the stream did not finish)", sse.status, text);
    let content = "";
    const calls = new Map<number, { name: string; arguments: string }>();
    let usage: ChatUsage | undefined;
    for (const data of dataOf(text)) {
      const chunk = JSON.parse(data) as {
        choices?: {
          delta?: {
            content?: string | null;
            tool_calls?: { index: number; function?: { name?: string; arguments?: string } }[];
          };
        }[];
        usage?: ChatUsage | null;
      };
      const delta = chunk.choices?.[0]?.delta;
      content += delta?.content ?? "";
      for (const call of delta?.tool_calls ?? []) {
        const seen = calls.get(call.index) ?? { name: "", arguments: "" };
        calls.set(call.index, {
          name: seen.name + (call.function?.name ?? ""),
          arguments: seen.arguments + (call.function?.arguments ?? ""),
        });
      }
      usage = chunk.usage ?? usage;
    }
    if (content !== answerText(deltas)) fail(`sse (not the mock's ${deltas} deltas)`, sse.status, text);
    const call = calls.get(0);
    if (calls.size !== 1 || call?.name !== callName || call.arguments !== callArguments) {
      fail(`sse (not the mock's ${callName} call)`, sse.status, text);
    }
    if (!sameUsage(usage ?? undefined)) fail("sse (not the mock's usage)", sse.status, text);
    return frameCount(text);
  } finally {
    connection.close();
  }
};
