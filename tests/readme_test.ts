/**
 * README.md cannot drift (issue 15, point 9): every command in its `sh` code
 * blocks (but the test command itself) is run in order, as a newcomer with
 * only Node and npm would run it, against a real started gateway: the start
 * on the embedded defaults, `deno task key`, the config example written as
 * gateway.json, `--check`, the start with it, and the curl checks.
 *
 * It also checks what `task start` installed in that fresh copy: the
 * server's packages alone, none of the tests' SDKs.
 *
 * What differs from a newcomer's run, and why: the commands run in a copy of
 * the checkout (so gateway.json and ./data stay out of the tree), with an
 * environment holding no provider keys, with PORT=0 (the curls get the port
 * the gateway took in place of 8080), and with the config's `openai` provider
 * pointed at a fake OpenAI (`base_url`), so the chat completion is answered.
 */
import assert from "node:assert/strict";
import { jsonFixture, startFakeUpstream } from "./support/fake_upstream.ts";
import { npxPath, refused, root, rootPath, spawn, type Spawned, urlIn } from "./support/spawn.ts";

const readme = await Deno.readTextFile(new URL("README.md", root));

interface Block {
  readonly lang: string;
  readonly text: string;
}

/** Fenced code blocks, in order. */
const codeBlocks = (markdown: string): Block[] =>
  [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }));

/** Each line of an `sh` block is a command; a trailing `\` continues it on the next line. Comment lines are skipped. */
const commandsOf = (block: Block): string[] =>
  block.text.replace(/\\\n\s*/g, " ").split("\n").map((line) => line.trim()).filter((l) => l && !l.startsWith("#"));

const blocks = codeBlocks(readme);
const commands = blocks.filter((b) => b.lang === "sh").flatMap(commandsOf);
const TEST_COMMAND = "npx --yes deno@2.9.6 task test";

// ===== Size and links =====

Deno.test("README fits in 16 KB and leaves the reference to docs/", () => {
  const bytes = new TextEncoder().encode(readme).length;
  assert.ok(bytes <= 16 * 1024, `README.md is ${bytes} bytes`);
  for (
    const doc of ["configuration", "providers", "cursor", "keys", "routing", "operations", "deploying", "security"]
  ) {
    assert.ok(readme.includes(`](docs/${doc}.md`), `README links docs/${doc}.md`);
  }
});

/** GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
const anchorsOf = (markdown: string): Set<string> =>
  new Set(
    [...markdown.replace(/^```[\s\S]*?^```$/gm, "").matchAll(/^#+ (.*)$/gm)].map((m) =>
      m[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-")
    ),
  );

Deno.test("every relative link in README.md and docs/ names a file that exists, and an anchor it has", async () => {
  const files = [
    "README.md",
    ...[...Deno.readDirSync(new URL("docs/", root))].filter((e) => e.name.endsWith(".md"))
      .map((e) => `docs/${e.name}`),
  ];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const resolved = path === "" ? new URL(file, root) : new URL(path, new URL(file, root));
      const linked = await Deno.readTextFile(resolved).catch(() => undefined);
      assert.ok(linked !== undefined || Deno.statSync(resolved).isDirectory, `${file}: ${target} does not exist`);
      if (anchor !== undefined && linked !== undefined) {
        assert.ok(anchorsOf(linked).has(anchor), `${file}: ${target}: no heading #${anchor}`);
      }
    }
  }
});

Deno.test("README's commands are what the walkthrough expects: one test command, two starts, a check, curls", () => {
  assert.equal(commands.filter((c) => c.startsWith(TEST_COMMAND)).length, 1);
  assert.ok(commands.some((c) => /^npx --yes deno@2\.9\.6 task start(\s+#.*)?$/.test(c)), "the start on the defaults");
  assert.ok(commands.some((c) => c.includes("task start --config gateway.json --check")));
  assert.ok(commands.filter((c) => c.startsWith("curl ")).length >= 3);
  assert.equal(blocks.filter((b) => b.lang === "json").length, 1, "one config example");
});

// ===== Running every command =====

/** The copy a newcomer's checkout would be, as far as running the server goes. */
const checkoutCopy = async (): Promise<string> => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-readme-" });
  for (const entry of ["deno.json", "deno.lock", "main.ts", "serve.ts", "gateway.schema.json", "src", "scripts"]) {
    await new Deno.Command("cp", { args: ["-R", `${rootPath}/${entry}`, `${dir}/${entry}`] }).output();
  }
  return dir;
};

/** A newcomer's environment: a shell's basics, no provider keys, nothing of this test's own. */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = { NO_COLOR: "1", PORT: "0" };
  for (const name of ["PATH", "HOME", "USER", "TMPDIR", "LANG", "DENO_DIR", "XDG_CACHE_HOME", "npm_config_cache"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
};

const npx = npxPath();

Deno.test({
  name: "every command in README runs against a real gateway: start, key, config, check, start, curl",
  ignore: npx === undefined || Deno.build.os === "windows",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const upstream = startFakeUpstream(() => ({ json: jsonFixture("responses/text.json") }));
    const dir = await checkoutCopy();
    const env = baseEnv();
    let server: { process: Spawned; url: string; pid?: number } | undefined;
    const stopServer = async () => {
      if (!server) return;
      const { process, url, pid } = server;
      server = undefined;
      process.child.kill("SIGTERM");
      const closed = await refused(url);
      if (!closed && pid !== undefined) Deno.kill(pid, "SIGKILL");
      await process.stop("SIGKILL");
      assert.ok(closed, "the gateway still listened after SIGTERM to npx");
    };
    try {
      // The config example, as "2. Write gateway.json" says; its provider pointed at the fake OpenAI.
      const config = JSON.parse(blocks.find((b) => b.lang === "json")!.text);
      config.providers.openai.base_url = upstream.url;
      await Deno.writeTextFile(`${dir}/gateway.json`, JSON.stringify(config, null, 2));

      const ran: string[] = [];
      for (const original of commands) {
        if (original.startsWith(TEST_COMMAND)) continue;
        const command = server ? original.replaceAll("http://127.0.0.1:8080", server.url) : original;
        ran.push(original);

        if (/^export \w+=/.test(command)) {
          // Evaluated by bash, kept for the commands after it, as in one shell session.
          const name = /^export (\w+)=/.exec(command)![1];
          const out = await new Deno.Command("bash", {
            args: ["-c", `${command}\nprintf %s "$${name}"`],
            cwd: dir,
            env,
            clearEnv: true,
          }).output();
          assert.ok(out.success, `${original}: ${new TextDecoder().decode(out.stderr)}`);
          env[name] = new TextDecoder().decode(out.stdout);
          continue;
        }

        if (command.includes("task start") && !command.includes("--check")) {
          await stopServer();
          const process = spawn("bash", { args: ["-c", `exec ${command}`], cwd: dir, env, clearEnv: true });
          const listening = await process.waitFor(/gateway listening on/, 120_000);
          const line = JSON.parse(listening);
          server = { process, url: urlIn(listening), pid: line.pid };
          if (!command.includes("--config")) {
            // README shows this line: it must be what the embedded default prints (but the port).
            const shown = blocks.find((b) => b.lang === "text")!.text.trim();
            assert.equal(line.msg.replace(server.url, "http://127.0.0.1:8080"), shown);
          } else {
            assert.match(line.msg, /providers openai \(responses\); 1 virtual key; auth: virtual keys only/);
          }
          const health = await fetch(`${server.url}/health`);
          assert.equal(health.status, 200);
          await health.body?.cancel();
          continue;
        }

        const out = await new Deno.Command("bash", { args: ["-c", command], cwd: dir, env, clearEnv: true }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, `${original}\n${stdout}\n${new TextDecoder().decode(out.stderr)}`);
        if (command.includes("--check")) assert.match(stdout, /^configuration valid \(gateway\.json\)/);
        if (command.includes("/health")) assert.deepEqual(JSON.parse(stdout), { status: "ok" });
        if (command.includes("/v1/models")) {
          assert.deepEqual(JSON.parse(stdout).data.map((m: { id: string }) => m.id), [
            "openai/gpt-5",
            "openai/gpt-5-mini",
          ]);
        }
        if (command.includes("/chat/completions")) {
          const answer = JSON.parse(stdout);
          assert.equal(answer.object, "chat.completion");
          assert.equal(answer.choices[0].message.content, "Hello, world!");
        }
      }
      assert.match(env.TEAM_KEY ?? "", /^sk-bf-[A-Za-z0-9_-]{32}$/, "TEAM_KEY came from deno task key");
      assert.equal(upstream.requests.length, 1, "the chat completion reached the (fake) provider");
      assert.equal(upstream.requests[0].headers.get("authorization"), `Bearer ${env.OPENAI_API_KEY}`);
      assert.ok(ran.length >= 8, ran.join("\n"));
      // What `task start` installed in the fresh copy: the server's packages, none of the tests' (point 7).
      const installed = [...Deno.readDirSync(`${dir}/node_modules/.deno`)].map((e) => e.name)
        .filter((name) => name !== "node_modules" && !name.startsWith("."));
      const stray = installed.filter((name) => !/^(effect|eventsource-parser|undici|redis|@redis\+[\w-]+)@/.test(name));
      assert.deepEqual(stray, [], `task start installed ${installed.join(", ")}`);
      assert.ok(installed.some((name) => name.startsWith("effect@")), installed.join(", "));
    } finally {
      await stopServer().catch(() => {});
      await upstream.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
