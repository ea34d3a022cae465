/**
 * Starts the real gateway handler on 127.0.0.1 (port 0) with a given config,
 * so tests and SDK clients talk to it over real HTTP.
 */
import { type GatewayOptions, makeGateway } from "../../src/app.ts";
import { type GatewayConfig, resolveConfig } from "../../src/config/load.ts";
import * as Telemetry from "../../src/observability/Telemetry.ts";

export interface RunningGateway {
  readonly url: string;
  readonly config: GatewayConfig;
  readonly logs: string[];
  readonly fetch: (path: string, init?: RequestInit) => Promise<Response>;
  readonly close: () => Promise<void>;
}

export const VK = "sk-bf-test-key-0123456789";

/** A config with one provider `openai` at `upstreamUrl` and one virtual key `VK`; `overrides` are merged on top. */
export const testConfig = (upstreamUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  providers: {
    openai: { base_url: upstreamUrl, keys: [{ value: "sk-upstream-secret-1" }], models: ["gpt-5", "gpt-4.1"] },
  },
  default_provider: "openai",
  virtual_keys: [{ id: "team-a", value: VK, models: ["*"] }],
  log_level: "silent",
  // Tests keep usage in memory unless they test a store; the embedded default is a KV file.
  store: { kind: "memory" },
  ...overrides,
});

export const startGateway = async (
  rawConfig: Record<string, unknown>,
  options: GatewayOptions & { env?: Record<string, string> } = {},
): Promise<RunningGateway> => {
  const env = options.env ?? {};
  const config = resolveConfig(rawConfig, (name) => env[name]);
  const logs: string[] = [];
  // Every log line is captured at debug level, so tests can assert what is (and is not) logged.
  const gateway = await makeGateway(config, {
    telemetry: Telemetry.make("debug", (line) => logs.push(line)),
    ...options,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, gateway.fetch);
  const { port } = server.addr as Deno.NetAddr;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    config,
    logs,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    close: async () => {
      await server.shutdown();
      await gateway.dispose();
    },
  };
};

/** JSON POST with the test virtual key. */
export const postJson = (gateway: RunningGateway, path: string, body: unknown, headers: Record<string, string> = {}) =>
  gateway.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${VK}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
