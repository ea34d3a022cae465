import assert from "node:assert/strict";
import { Redacted } from "effect";
import { parseCommandLine } from "../src/config/cli.ts";
import { ConfigError, defaults, loadConfig, resolveConfig } from "../src/config/load.ts";
import { closestKey } from "../src/config/problems.ts";
import { authMode, summarize, summaryText } from "../src/config/summary.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

const sources = (configPath: string | undefined, vars: Record<string, string>, files: Record<string, string> = {}) => ({
  ...(configPath !== undefined ? { configPath } : {}),
  env: env(vars),
  readTextFile: (path: string) => {
    if (!(path in files)) throw new Error(`No such file: ${path}`);
    return files[path];
  },
});

const problemsOf = (fn: () => unknown): ReadonlyArray<string> => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("expected the configuration to be rejected");
};

Deno.test("without any configuration the embedded default serves OpenAI and accepts client provider keys", () => {
  const { origin, config } = loadConfig(sources(undefined, {}));
  assert.equal(origin, "embedded default");
  assert.deepEqual(Object.keys(config.providers), ["openai"]);
  assert.equal(config.providers.openai.baseUrl, "https://api.openai.com/v1");
  assert.deepEqual(config.providers.openai.keys, []);
  assert.equal(config.allowProviderKeys, true);
  assert.equal(config.defaultProvider, "openai");
  assert.equal(config.port, defaults.port);
});

Deno.test("the embedded default keys OpenAI from OPENAI_API_KEY when it is set", () => {
  const { config } = loadConfig(sources(undefined, { OPENAI_API_KEY: "sk-live-123" }));
  assert.equal(Redacted.value(config.providers.openai.keys[0].value), "sk-live-123");
});

Deno.test("--config names a file, and it wins over GATEWAY_CONFIG and GATEWAY_CONFIG_JSON", () => {
  const file = JSON.stringify({ providers: { a: { base_url: "http://a.test/v1" } } });
  const other = JSON.stringify({ providers: { b: { base_url: "http://b.test/v1" } } });
  const { origin, config } = loadConfig(
    sources("/etc/gw.json", { GATEWAY_CONFIG: "/other.json", GATEWAY_CONFIG_JSON: other }, {
      "/etc/gw.json": file,
      "/other.json": other,
    }),
  );
  assert.equal(origin, "/etc/gw.json");
  assert.deepEqual(Object.keys(config.providers), ["a"]);
});

Deno.test("GATEWAY_CONFIG names a file and GATEWAY_CONFIG_JSON holds the JSON itself", () => {
  const json = JSON.stringify({ providers: { b: { base_url: "http://b.test/v1/" } } });
  assert.equal(loadConfig(sources(undefined, { GATEWAY_CONFIG: "/g.json" }, { "/g.json": json })).origin, "/g.json");
  const inline = loadConfig(sources(undefined, { GATEWAY_CONFIG_JSON: json }));
  assert.equal(inline.origin, "GATEWAY_CONFIG_JSON");
  assert.equal(inline.config.providers.b.baseUrl, "http://b.test/v1", "a trailing slash is trimmed");
});

Deno.test("env.NAME secrets are read from the environment at start-up", () => {
  const config = resolveConfig(
    {
      providers: {
        openai: {
          base_url: "https://api.openai.com/v1",
          keys: [{ value: "env.OAI" }],
          headers: { "x-org": "env.ORG" },
        },
      },
      virtual_keys: [{ id: "team-a", value: "env.TEAM_A_KEY", models: ["openai/*"] }],
      admin_key: "env.ADMIN",
    },
    env({ OAI: "sk-upstream", ORG: "org-1", TEAM_A_KEY: "sk-bf-team-a", ADMIN: "admin-secret" }),
  );
  assert.equal(Redacted.value(config.providers.openai.keys[0].value), "sk-upstream");
  assert.equal(Redacted.value(config.providers.openai.headers["x-org"]), "org-1");
  assert.equal(Redacted.value(config.virtualKeys[0].value), "sk-bf-team-a");
  assert.equal(Redacted.value(config.adminKey!), "admin-secret");
});

Deno.test("a missing env variable stops start-up naming the variable, never a value", () => {
  const problems = problemsOf(() =>
    resolveConfig(
      {
        providers: { openai: { base_url: "https://api.openai.com/v1", keys: [{ value: "env.MISSING_KEY" }] } },
        virtual_keys: [{ id: "a", value: "env.PRESENT" }],
      },
      env({ PRESENT: "sk-bf-secret-value" }),
    )
  );
  assert.deepEqual(problems, ["providers.openai.keys[0].value: environment variable MISSING_KEY is not set"]);
  assert.ok(!problems.join().includes("sk-bf-secret-value"));
});

Deno.test("an invalid config lists every problem by path", () => {
  const problems = problemsOf(() =>
    resolveConfig({
      port: "eighty",
      providers: { openai: { base_url: "not a url", keys: [{ value: 42 }] } },
      virtual_keys: [{ id: "", value: "sk-bf-x" }],
      store: { kind: "redis" },
    }, env({}))
  );
  const joined = problems.join("\n");
  for (
    const path of ["port", "providers.openai.base_url", "providers.openai.keys[0].value", "virtual_keys[0].id", "store"]
  ) {
    assert.match(joined, new RegExp(`^${path.replace(/[.[\]]/g, "\\$&")}`, "m"), `a problem at ${path} in:\n${joined}`);
  }
});

Deno.test("cross-field problems are reported together: unknown default provider, duplicate key ids, bad key prefix", () => {
  const problems = problemsOf(() =>
    resolveConfig({
      providers: { openai: { base_url: "https://api.openai.com/v1" } },
      default_provider: "azure",
      virtual_keys: [{ id: "a", value: "sk-bf-1" }, { id: "a", value: "not-a-vk" }],
    }, env({}))
  );
  assert.deepEqual(problems, [
    'default_provider: "azure" is not a configured provider',
    'virtual_keys[1].id: duplicate id "a"',
    'virtual_keys[1].value: a virtual key must start with "sk-bf-"',
  ]);
});

Deno.test("PORT and HOST from the environment override the file", () => {
  const config = resolveConfig(
    { host: "127.0.0.1", port: 8080, providers: { openai: { base_url: "https://api.openai.com/v1" } } },
    env({ PORT: "9999", HOST: "0.0.0.0" }),
  );
  assert.equal(config.port, 9999);
  assert.equal(config.host, "0.0.0.0");
  assert.deepEqual(
    problemsOf(() => resolveConfig({ providers: { openai: { base_url: "https://x.test" } } }, env({ PORT: "http" }))),
    ['PORT: "http" is not a port number'],
  );
});

Deno.test("a config file that is not JSON is reported with its path", () => {
  const problems = problemsOf(() => loadConfig(sources("/bad.json", {}, { "/bad.json": "{ nope" })));
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^\/bad\.json is not valid JSON/);
  assert.match(
    problemsOf(() => loadConfig(sources("/absent.json", {})))[0],
    /cannot read config file \/absent\.json/,
  );
});

Deno.test("provider defaults fill retry, timeouts and key weights", () => {
  const config = resolveConfig(
    { providers: { openai: { base_url: "https://x.test/v1", keys: [{ value: "k" }] } } },
    env({}),
  );
  const provider = config.providers.openai;
  assert.deepEqual(provider.retry, defaults.retry);
  assert.deepEqual(provider.timeouts, defaults.timeouts);
  assert.deepEqual(provider.keys.map((key) => ({ ...key, value: Redacted.value(key.value) })), [
    { id: "openai#0", value: "k", weight: 1 },
  ]);
  assert.equal(config.maxBodyBytes, 16 * 1024 * 1024);
  assert.equal(config.allowProviderKeys, false);
});

Deno.test("every secret of the resolved config is redacted: printing or serialising the config shows none", () => {
  const secrets = ["sk-live-secret-1", "sk-bf-team-secret", "admin-secret-1", "metrics-secret-1", "org-secret"];
  const config = resolveConfig(
    {
      providers: {
        openai: {
          base_url: "https://api.openai.com/v1",
          keys: [{ value: "env.OPENAI_API_KEY" }],
          headers: { "openai-organization": secrets[4] },
        },
      },
      virtual_keys: [{ id: "team", value: secrets[1] }],
      admin_key: secrets[2],
      metrics_key: secrets[3],
      store: { kind: "redis", url: "redis://:pw-secret@127.0.0.1:6379" },
    },
    (name) => (name === "OPENAI_API_KEY" ? secrets[0] : undefined),
  );
  const shown = [JSON.stringify(config), String(config.adminKey), Deno.inspect(config, { depth: 10 })].join("\n");
  for (const secret of [...secrets, "pw-secret"]) assert.equal(shown.includes(secret), false, secret);
  assert.equal(Redacted.value(config.adminKey!), secrets[2]);
});

// ===== Strict keys (issue 15, point 1) =====

Deno.test("an unknown key anywhere is a problem at its path, with the known key it most likely meant", () => {
  const problems = problemsOf(() =>
    resolveConfig({
      providers: { openai: { modles: ["gpt-5"], retry: { max_retrys: 1 } } },
      virtual_key: [],
      allow_provider_key: true,
      virtual_keys: [{ id: "a", value: "sk-bf-1", budgt: { max_usd: 1, period: "1d" } }],
      pricing: { "openai/gpt-5": { input_per_mtok: 1, output_per_mtok: 2, cached: 0.1 } },
      store: { kind: "kv", paht: "./x.kv" },
    }, env({}))
  );
  assert.deepEqual([...problems].sort(), [
    'allow_provider_key: unknown key; did you mean "allow_provider_keys"?',
    'pricing.openai/gpt-5.cached: unknown key; did you mean "cached_input_per_mtok"?',
    'providers.openai.modles: unknown key; did you mean "models"?',
    'providers.openai.retry.max_retrys: unknown key; did you mean "max_retries"?',
    'store.paht: unknown key; did you mean "path"?',
    'virtual_key: unknown key; did you mean "virtual_keys"?',
    'virtual_keys[0].budgt: unknown key; did you mean "budget"?',
  ]);
});

Deno.test("an unknown key like no known one lists the keys known at its place", () => {
  const [problem] = problemsOf(() => resolveConfig({ providers: { openai: {} }, colour: "blue" }, env({})));
  assert.match(problem, /^colour: unknown key; known keys here: \$schema, host, port, providers, /);
});

Deno.test("closestKey: one transposition or a dropped letter is a guess, a different word is not", () => {
  const known = ["models", "keys", "base_url", "headers"];
  assert.equal(closestKey("modles", known), "models");
  assert.equal(closestKey("key", known), "keys");
  assert.equal(closestKey("baseurl", known), "base_url");
  assert.equal(closestKey("colour", known), undefined);
});

Deno.test("--host and --port win over env HOST and PORT, which win over the file", () => {
  const file = { host: "127.0.0.1", port: 8080, providers: { openai: {} } };
  const vars = env({ PORT: "9999", HOST: "0.0.0.0" });
  const config = resolveConfig(file, vars, { host: "::1", port: 0 });
  assert.equal(config.host, "::1");
  assert.equal(config.port, 0);
});

// ===== What started (issue 15, point 3) =====

Deno.test("the summary names providers and APIs, the key count, the auth mode and the store, never a secret", () => {
  const config = resolveConfig({
    providers: { openai: { keys: [{ value: "sk-live" }] }, anthropic: { keys: [{ value: "sk-ant" }] } },
    virtual_keys: [{ id: "team", value: "sk-bf-team" }],
    store: { kind: "redis", url: "redis://:pw-secret@cache.internal:6379" },
  }, env({}));
  const summary = summarize(config, "gateway.json", env({}));
  assert.deepEqual(summary.providers, { openai: "responses", anthropic: "anthropic" });
  assert.equal(summary.virtual_keys, 1);
  assert.equal(summary.auth, "virtual keys only");
  assert.equal(summary.store, "redis cache.internal:6379");
  assert.equal(summary.env_keys, undefined);
  assert.deepEqual(summary.warnings, []);
  const text = summaryText(summary);
  assert.equal(
    text,
    "providers openai (responses), anthropic (anthropic); 1 virtual key; auth: virtual keys only; store: redis cache.internal:6379",
  );
  assert.ok(!text.includes("pw-secret"));
});

Deno.test("the auth mode follows allow_provider_keys, the virtual keys and the admin API", () => {
  const mode = (extra: Record<string, unknown>) =>
    authMode(resolveConfig({ providers: { openai: { keys: [{ value: "k" }] } }, ...extra }, env({})));
  assert.equal(mode({}), "virtual keys only");
  assert.equal(mode({ allow_provider_keys: true }), "provider keys only");
  assert.equal(mode({ allow_provider_keys: true, admin_key: "admin" }), "virtual keys and provider keys");
  assert.equal(
    mode({ allow_provider_keys: true, virtual_keys: [{ id: "a", value: "sk-bf-a" }] }),
    "virtual keys and provider keys",
  );
});

Deno.test("a gateway that can only refuse says so; the embedded default names the key variables it found", () => {
  const locked = summarize(resolveConfig({ providers: { openai: { keys: [{ value: "k" }] } } }, env({})), "x", env({}));
  assert.match(locked.warnings[0], /every request will be refused \(401\)/);

  const vars = env({ OPENAI_API_KEY: "sk-1", ANTHROPIC_API_KEY: "sk-2" });
  const { origin, config } = loadConfig(sources(undefined, { OPENAI_API_KEY: "sk-1", ANTHROPIC_API_KEY: "sk-2" }));
  const summary = summarize(config, origin, vars);
  assert.deepEqual(summary.env_keys, ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]);
  assert.match(summaryText(summary), /keys from the environment: OPENAI_API_KEY, ANTHROPIC_API_KEY$/);
  assert.equal(summary.auth, "provider keys only");
});

// ===== The command line (issue 15, point 2) =====

Deno.test("the command line is parsed strictly: flags, values, and usage errors", () => {
  assert.deepEqual(parseCommandLine([]), { _tag: "Run", check: false, overrides: {} });
  assert.deepEqual(parseCommandLine(["--config", "g.json", "--check", "--port=0", "--host", "0.0.0.0"]), {
    _tag: "Run",
    configPath: "g.json",
    check: true,
    overrides: { host: "0.0.0.0", port: 0 },
  });
  assert.deepEqual(parseCommandLine(["-h"]), { _tag: "Help" });
  assert.deepEqual(parseCommandLine(["--version"]), { _tag: "Version" });
  assert.deepEqual(parseCommandLine(["--bogus"]), { _tag: "Invalid", message: "unknown option --bogus" });
  assert.deepEqual(parseCommandLine(["--config"]), { _tag: "Invalid", message: "option --config needs a value" });
  assert.deepEqual(parseCommandLine(["gateway.json"]), {
    _tag: "Invalid",
    message: "unexpected argument gateway.json (every option starts with --)",
  });
  assert.deepEqual(parseCommandLine(["--port", "http"]), {
    _tag: "Invalid",
    message: "--port http: not a port number (0-65535)",
  });
});

Deno.test("gateway.schema.json refuses unknown keys as start-up does, and leaves provider and model names open", async () => {
  const schema = JSON.parse(await Deno.readTextFile(new URL("../gateway.schema.json", import.meta.url)));
  assert.equal(schema.additionalProperties, false);
  const provider = schema.properties.providers.additionalProperties;
  assert.equal(provider.type, "object", "any provider name is allowed");
  assert.equal(provider.additionalProperties, false, "a provider's own keys are checked");
  assert.ok(provider.properties.models);
});
