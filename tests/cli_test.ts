/**
 * The gateway as an operator meets it in the first hour (issue 15): the real
 * main.ts started as a process, judged by its exit code and what it printed.
 * Strict config, the command line, the start-up line, one-line failures,
 * `deno task serve`, SIGTERM under npx, and the admin API's expiry check.
 */
import assert from "node:assert/strict";
import { freePort, npxPath, refused, root, spawn, spawnMain, urlIn } from "./support/spawn.ts";

const memory = { kind: "memory" };
const upstreamless = { base_url: "http://127.0.0.1:9/v1", keys: [{ value: "sk-upstream" }] };

const withTempDir = async (fn: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

/** Runs main.ts to its end; for commands that must not start a server. */
const runMain = async (args: string[], env: Record<string, string> = {}, cwd?: string) => {
  const process = spawnMain(args, { env: { PORT: "0", ...env }, ...(cwd ? { cwd } : {}) });
  const timer = setTimeout(() => process.stop("SIGKILL"), 30_000);
  const status = await process.exit;
  clearTimeout(timer);
  return { code: status.code, stdout: process.stdout(), stderr: process.stderr() };
};

const noStackTrace = (text: string) => {
  assert.ok(!/^\s+at /m.test(text), `a stack trace:\n${text}`);
  assert.ok(!text.includes("Uncaught"), `an uncaught error:\n${text}`);
};

// ===== Point 2: the command line =====

Deno.test("--help prints the usage and exits 0 without listening; --version prints deno.json's version", async () => {
  const help = await runMain(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task start \[options\]/);
  for (const flag of ["--config PATH", "--host HOST", "--port PORT", "--check", "--version", "-h, --help"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.ok(!help.stdout.includes("listening"));

  const { version } = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const shown = await runMain(["--version"]);
  assert.equal(shown.code, 0);
  assert.equal(shown.stdout.trim(), `gateway ${version} (deno ${Deno.version.deno})`);
});

Deno.test("an unknown flag, a stray argument or a bad port exits 2 with the usage on stderr", async () => {
  for (
    const [args, message] of [
      [["--bogus"], "gateway: unknown option --bogus"],
      [["gateway.json"], "gateway: unexpected argument gateway.json"],
      [["--port", "99999"], "gateway: --port 99999: not a port number"],
      [["--config"], "gateway: option --config needs a value"],
    ] as const
  ) {
    const run = await runMain([...args]);
    assert.equal(run.code, 2, args.join(" "));
    assert.ok(run.stderr.startsWith(message), run.stderr);
    assert.match(run.stderr, /Usage: deno task start/);
    assert.equal(run.stdout, "");
  }
});

Deno.test("--check validates, prints what would start, and exits 0 or 1 without listening", async () => {
  await withTempDir(async (dir) => {
    const good = `${dir}/good.json`;
    await Deno.writeTextFile(
      good,
      JSON.stringify({
        port: 9123,
        providers: { openai: upstreamless, claude: { preset: "anthropic", keys: [{ value: "sk-ant" }] } },
        virtual_keys: [{ id: "team", value: "sk-bf-team-0123" }],
        store: memory,
      }),
    );
    const valid = await runMain(["--config", good, "--check"], { PORT: "" });
    assert.equal(valid.code, 0, valid.stderr);
    assert.equal(
      valid.stdout,
      [
        `configuration valid (${good})`,
        "  listen: http://127.0.0.1:9123",
        "  providers: openai (responses), claude (anthropic)",
        "  virtual keys: 1",
        "  auth: virtual keys only",
        "  store: memory (lost on restart)",
        "",
      ].join("\n"),
    );

    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, JSON.stringify({ providers: { openai: { modles: [] } } }));
    const invalid = await runMain(["--check", "--config", bad]);
    assert.equal(invalid.code, 1);
    assert.equal(
      invalid.stderr,
      `invalid configuration (${bad}): providers.openai.modles: unknown key; did you mean "models"?\n`,
    );
    assert.equal(invalid.stdout, "");
  });
});

// ===== Point 1: typos are errors =====

Deno.test("a config with typos does not start: exit 1, every unknown key by path with the key it meant", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/gateway.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ providers: { openai: { modles: ["gpt-5"] } }, virtual_key: [], allow_provider_key: true }),
    );
    const run = await runMain(["--config", path]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      [
        `gateway failed to start: invalid configuration (${path}), 3 problems:`,
        '  - virtual_key: unknown key; did you mean "virtual_keys"?',
        '  - allow_provider_key: unknown key; did you mean "allow_provider_keys"?',
        '  - providers.openai.modles: unknown key; did you mean "models"?',
        "",
      ].join("\n"),
    );
    assert.ok(!run.stdout.includes("listening"));
  });
});

// ===== Point 3: the start-up line =====

Deno.test("the start-up line names the providers and APIs, the key count, the auth mode and the store", async () => {
  const config = {
    providers: {
      openai: upstreamless,
      claude: { preset: "anthropic", keys: [{ value: "sk-ant" }] },
      local: { preset: "ollama" },
    },
    virtual_keys: [{ id: "a", value: "sk-bf-a-0123" }, { id: "b", value: "sk-bf-b-0123" }],
    allow_provider_keys: true,
    store: memory,
    log_level: "warn",
  };
  const gateway = spawnMain([], { env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0" } });
  try {
    const line = JSON.parse(await gateway.waitFor(/gateway listening on/));
    assert.match(
      line.msg,
      /^gateway listening on http:\/\/127\.0\.0\.1:\d+; providers openai \(responses\), claude \(anthropic\), local \(chat\); 2 virtual keys; auth: virtual keys and provider keys; store: memory \(lost on restart\)$/,
    );
    assert.equal(line.config, "GATEWAY_CONFIG_JSON");
    assert.deepEqual(line.providers, { openai: "responses", claude: "anthropic", local: "chat" });
    assert.equal(line.virtual_keys, 2);
    assert.equal(line.auth, "virtual keys and provider keys");
    assert.equal(line.store, "memory (lost on restart)");
  } finally {
    assert.equal((await gateway.stop()).code, 0);
  }
});

Deno.test("on the embedded default the start-up line says which key variables it found, never their values", async () => {
  await withTempDir(async (dir) => {
    const gateway = spawnMain([], {
      cwd: dir,
      env: { PORT: "0", ANTHROPIC_API_KEY: "sk-ant-secret-value", GEMINI_API_KEY: "gm-secret-value" },
    });
    try {
      const line = JSON.parse(await gateway.waitFor(/gateway listening on/));
      assert.match(line.msg, /providers openai \(responses\), anthropic \(anthropic\), gemini \(gemini\)/);
      assert.match(line.msg, /0 virtual keys; auth: provider keys only; store: kv \.\/data\/gateway\.kv \(default\)/);
      assert.match(line.msg, /keys from the environment: ANTHROPIC_API_KEY, GEMINI_API_KEY$/);
      assert.equal(line.config, "embedded default");
      assert.deepEqual(line.env_keys, ["ANTHROPIC_API_KEY", "GEMINI_API_KEY"]);
    } finally {
      assert.equal((await gateway.stop()).code, 0);
    }
    assert.ok(!gateway.stdout().includes("secret-value"));
  });
});

Deno.test("a gateway that would refuse every request starts, and warns that it will", async () => {
  const config = { providers: { openai: upstreamless }, store: memory };
  const gateway = spawnMain([], { env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0" } });
  try {
    await gateway.waitFor(/gateway listening on .*auth: virtual keys only/);
    const warning = JSON.parse(await gateway.waitFor(/"level":"warn"/));
    assert.match(
      warning.msg,
      /no virtual keys, no admin_key and allow_provider_keys is off: every request will be refused/,
    );
  } finally {
    await gateway.stop();
  }
});

Deno.test("--host and --port win over env HOST and PORT", async () => {
  const config = { host: "0.0.0.0", port: 1, providers: { openai: upstreamless }, store: memory, log_level: "warn" };
  const gateway = spawnMain(["--host", "127.0.0.1", "--port", "0"], {
    env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "2", HOST: "0.0.0.0" },
  });
  try {
    const url = urlIn(await gateway.waitFor(/gateway listening on/));
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(url.endsWith(":2"), true);
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await gateway.stop();
  }
});

// ===== Point 4: one-line failures =====

const oneLineFailure = async (config: Record<string, unknown>, env: Record<string, string> = {}) => {
  const run = await runMain([], { GATEWAY_CONFIG_JSON: JSON.stringify(config), ...env });
  assert.equal(run.code, 1, run.stderr);
  noStackTrace(run.stderr);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.ok(!run.stdout.includes("listening"), run.stdout);
  return lines[0];
};

Deno.test("a port in use is one line naming the address, exit 1, no stack trace", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const line = await oneLineFailure({ providers: { openai: upstreamless }, store: memory }, { PORT: String(port) });
    assert.equal(
      line,
      `gateway failed to start: cannot listen on 127.0.0.1:${port}: address already in use (AddrInUse); ` +
        "is another gateway running? Pass --port or set PORT",
    );
  } finally {
    taken.close();
  }
});

Deno.test("a corrupt or unwritable KV path and an unreachable Redis are one line each, exit 1", async () => {
  await withTempDir(async (dir) => {
    const corrupt = `${dir}/corrupt.kv`;
    await Deno.writeTextFile(corrupt, "this is not a database\n".repeat(200));
    const notADir = `${dir}/plain-file`;
    await Deno.writeTextFile(notADir, "");
    const closed = freePort();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { kind: "kv", path: corrupt },
        /^gateway failed to start: StoreError: cannot open the Deno KV store at .*corrupt\.kv: file is not a database$/,
      ],
      [
        { kind: "kv", path: `${notADir}/sub/gateway.kv` },
        /^gateway failed to start: StoreError: cannot open the Deno KV store at .*plain-file\/sub\/gateway\.kv: /,
      ],
      [
        { kind: "redis", url: `redis://:pw-secret@127.0.0.1:${closed}` },
        new RegExp(
          `^gateway failed to start: StoreError: cannot connect to the Redis store at 127\\.0\\.0\\.1:${closed}`,
        ),
      ],
    ];
    for (const [store, expected] of cases) {
      const line = await oneLineFailure({ providers: { openai: upstreamless }, store });
      assert.match(line, expected);
      assert.ok(!line.includes("pw-secret"));
    }
  });
});

Deno.test("a config file that cannot be read is one line naming the path, exit 1", async () => {
  const run = await runMain(["--config", "/nonexistent/gateway.json"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^gateway failed to start: cannot read config file \/nonexistent\/gateway\.json: .*\n$/);
  noStackTrace(run.stderr);
});

// ===== Point 5: deno task serve binds what the config says =====

Deno.test({
  name: "deno task serve binds the config's host and port (not deno serve's 0.0.0.0:8000) and stops on SIGTERM",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withTempDir(async (dir) => {
      const port = freePort();
      const path = `${dir}/gateway.json`;
      await Deno.writeTextFile(
        path,
        JSON.stringify({ host: "127.0.0.1", port, providers: { openai: upstreamless }, store: memory }),
      );
      const serve = spawn(Deno.execPath(), { args: ["task", "serve", "--config", path], env: { PORT: "" } });
      try {
        const line = await serve.waitFor(/Listening on/);
        assert.ok(line.includes(`http://127.0.0.1:${port}/`), line);
        await serve.waitFor(/gateway loaded under deno serve; providers openai \(responses\)/);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        assert.equal(health.status, 200);
        await health.body?.cancel();
      } finally {
        const status = await serve.stop("SIGTERM");
        assert.equal(status.code, 0, serve.stderr());
      }
      assert.ok(await refused(`http://127.0.0.1:${port}`));
    });
  },
});

// ===== Point 6: SIGTERM under npx =====

const npx = npxPath();

Deno.test({
  name: "SIGTERM to `npx deno task start` stops the gateway: the port closes and it logs why",
  ignore: npx === undefined || Deno.build.os === "windows",
  fn: async () => {
    const config = { providers: { openai: upstreamless }, store: memory };
    const started = spawn(npx!, {
      args: ["--yes", `deno@${Deno.version.deno}`, "task", "start"],
      env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0" },
    });
    let gatewayPid: number | undefined;
    try {
      const listening = await started.waitFor(/gateway listening on/, 120_000);
      gatewayPid = JSON.parse(listening).pid;
      started.child.kill("SIGTERM");
      assert.ok(await refused(urlIn(listening)), "the gateway still listens after npx got SIGTERM");
      await started.waitFor(/"msg":"stopped"/);
      const shutting = JSON.parse(await started.waitFor(/"msg":"shutting down"/));
      assert.equal(shutting.reason, "npm, which started the gateway, exited");
      assert.equal((await started.exit).success, false, "npx itself died of the signal");
    } finally {
      try {
        if (gatewayPid !== undefined) Deno.kill(gatewayPid, "SIGKILL"); // only if the spec failed
      } catch {
        // it stopped, as it should
      }
      await started.stop("SIGKILL");
    }
  },
});

// ===== Point 8: a past expiry is refused by the running gateway =====

Deno.test("the running gateway's admin API answers 400 to a key created with a past expires_at", async () => {
  const config = { providers: { openai: upstreamless }, admin_key: "sk-admin-cli-test", store: memory };
  const gateway = spawnMain([], { env: { GATEWAY_CONFIG_JSON: JSON.stringify(config), PORT: "0" } });
  try {
    const url = urlIn(await gateway.waitFor(/gateway listening on/));
    const create = (expires_at: string) =>
      fetch(`${url}/admin/keys`, {
        method: "POST",
        headers: { authorization: "Bearer sk-admin-cli-test", "content-type": "application/json" },
        body: JSON.stringify({ models: ["*"], expires_at }),
      });
    const past = await create("2025-06-30T00:00:00Z");
    assert.equal(past.status, 400);
    assert.equal((await past.json()).error.param, "expires_at");
    const future = await create("2099-01-01T00:00:00Z");
    assert.equal(future.status, 201);
    assert.match((await future.json()).value, /^sk-bf-/);
  } finally {
    await gateway.stop();
  }
});

// ===== deno task key =====

Deno.test("deno task key prints one new virtual key and nothing else on stdout", async () => {
  const run = spawn(Deno.execPath(), { args: ["task", "key"] });
  const status = await run.exit;
  assert.equal(status.code, 0);
  assert.match(run.stdout(), /^sk-bf-[A-Za-z0-9_-]{32}\n$/);
});
