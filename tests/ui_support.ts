/**
 * Shared by the dashboard's tests: a gateway with an admin key, two fake
 * providers (`openai`, whose `gpt-broken` answers 500 and `gpt-rejected` 401,
 * and `backup`), a virtual key without limits and one limited to a request a
 * minute, and the requests that fill the dashboard (served, fallen back, rate
 * limited, streamed, a model name that is HTML).
 */
import type { GatewayOptions } from "../src/app.ts";
import { type FakeUpstream, jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { postJson, type RunningGateway, startGateway, testConfig, VK } from "./support/gateway.ts";
import { textStream } from "./support/observability.ts";

export const ADMIN = "sk-admin-dashboard-secret-7";
export const LIMITED = "sk-bf-limited-key-0123456789";
/** A model name a client may type; the dashboard must show it as text. */
export const HTML_MODEL = "<img src=x onerror=alert(1)>";

const answer = jsonFixture("responses/priced_1000_in_500_out.json");

const upstreamError = (status: number, message: string) => ({
  status,
  json: { error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code: null } },
});

export interface Dashboard {
  readonly gateway: RunningGateway;
  readonly primary: FakeUpstream;
  readonly backup: FakeUpstream;
}

export const withDashboard = async (
  fn: (dashboard: Dashboard) => Promise<void>,
  options: { readonly clock?: GatewayOptions["clock"]; readonly top?: Record<string, unknown> } = {},
) => {
  const script = (served: string) => (request: { body: Record<string, unknown> }) => {
    if (request.body.model === "gpt-broken") return upstreamError(500, "The primary broke.");
    if (request.body.model === "gpt-rejected") return upstreamError(401, "Incorrect API key provided.");
    if (request.body.stream === true) return { sse: textStream(["Hello", " from ", served], { input: 12, output: 3 }) };
    return { json: answer };
  };
  const primary = startFakeUpstream(script("openai"));
  const backup = startFakeUpstream(script("backup"));
  const fast = { retry: { max_retries: 0 }, timeouts: { connect_ms: 2_000, first_byte_ms: 2_000, total_ms: 5_000 } };
  const gateway = await startGateway(
    testConfig(primary.url, {
      providers: {
        openai: {
          base_url: primary.url,
          keys: [{ value: "sk-primary-secret", id: "primary-key-1" }],
          models: ["gpt-5", "gpt-4.1"],
          ...fast,
        },
        backup: { base_url: backup.url, keys: [{ value: "sk-backup-secret", id: "backup-key-1" }], ...fast },
      },
      virtual_keys: [
        { id: "team-a", value: VK, models: ["*"] },
        { id: "limited", value: LIMITED, models: ["*"], rate_limit: { requests_per_minute: 1 } },
      ],
      admin_key: ADMIN,
      ...options.top,
    }),
    options.clock ? { clock: options.clock } : {},
  );
  try {
    await fn({ gateway, primary, backup });
  } finally {
    await gateway.close();
    await primary.close();
    await backup.close();
  }
};

/** A chat request with `key`; answers with the status, the body read. */
export const ask = async (
  gateway: RunningGateway,
  body: Record<string, unknown>,
  key = VK,
  path = "/v1/chat/completions",
) => {
  const response = await postJson(gateway, path, { messages: [{ role: "user", content: "hi" }], ...body }, {
    authorization: `Bearer ${key}`,
  });
  await response.text();
  return response.status;
};

/** The requests the dashboard tests show: served, fallen back, rate limited (the second), streamed, an HTML name. */
export const sendTraffic = async (gateway: RunningGateway) => {
  const statuses = [
    await ask(gateway, { model: "openai/gpt-5" }, VK, "/cursor/v1/chat/completions"),
    await ask(gateway, { model: "openai/gpt-broken", fallbacks: ["backup/gpt-4.1"] }),
    await ask(gateway, { model: "openai/gpt-5" }, LIMITED),
    await ask(gateway, { model: "openai/gpt-5" }, LIMITED),
    await ask(gateway, { model: "openai/gpt-5", stream: true }),
    await ask(gateway, { model: HTML_MODEL }),
  ];
  return statuses;
};

/** GET `path` with the admin key (or `key`, or none when `null`), as JSON. */
export const adminGet = async (gateway: RunningGateway, path: string, key: string | null = ADMIN) => {
  const response = await gateway.fetch(path, key === null ? {} : { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: await response.json() };
};

/** Waits until the request table holds `count` entries (a stream is recorded once its settlement ran). */
export const untilRecorded = async (gateway: RunningGateway, count: number) => {
  for (let i = 0; i < 400; i++) {
    const { body } = await adminGet(gateway, "/admin/requests?limit=500");
    if (body.data.length >= count) return body.data;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the request table never held ${count} entries`);
};
