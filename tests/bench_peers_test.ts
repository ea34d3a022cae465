/**
 * The parts of `deno task bench --peers` that need no network: a peer that cannot be installed
 * is reported with its reason and never as a number, the report's sections are placed and kept,
 * and Portkey's start-up line and npm's errors are read. Installing and measuring Portkey needs
 * npm's registry and is left to `deno task bench --quick --peers` by hand.
 */
import assert from "node:assert/strict";
import { installPortkey, npmReason, portkeyPort } from "../bench/peers.ts";
import {
  type BenchResults,
  type Figures,
  PEERS_SECTION,
  peersSection,
  putSection,
  sectionOf,
} from "../bench/report.ts";

Deno.test("a peer whose node or npm cannot be run is a reason, and leaves no install folder behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-peers-" });
  try {
    const noNode = await installPortkey({ dir: `${dir}/portkey`, node: `${dir}/no-node` });
    assert.equal(noNode.ok, false);
    assert.match(noNode.ok ? "" : noNode.reason, /^Node\.js is needed to run it: `.*no-node` was not found on PATH$/);

    // Deno answers `--version` as Node would, so the run gets as far as npm wherever Node is missing.
    const noNpm = await installPortkey({ dir: `${dir}/portkey`, node: Deno.execPath(), npm: `${dir}/no-npm` });
    assert.equal(noNpm.ok, false);
    assert.match(noNpm.ok ? "" : noNpm.reason, /^npm could not install it: `.*no-npm` was not found on PATH$/);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no half-made install folder is left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npm's failure is told by its code and first message, without the stack and the advice", () => {
  const stderr = [
    "npm error code ECONNREFUSED",
    "npm error syscall connect",
    "npm error errno ECONNREFUSED",
    "npm error FetchError: request to http://127.0.0.1:9/@portkey-ai%2fgateway failed, reason: connect ECONNREFUSED",
    "npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)",
    "npm error",
    "npm error If you are behind a proxy, please make sure that the 'proxy' config is set properly.",
    "npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log",
  ].join("\n");
  assert.equal(
    npmReason(stderr),
    "ECONNREFUSED: FetchError: request to http://127.0.0.1:9/@portkey-ai%2fgateway failed, reason: connect ECONNREFUSED",
  );
  assert.equal(npmReason("something else\nwent wrong\n"), "something else / went wrong");
});

Deno.test("Portkey's start-up line gives its port", () => {
  assert.equal(portkeyPort("   \x1b[1;4;32mhttp://localhost:40499\x1b[0m"), 40499);
  assert.equal(portkeyPort("\r⠋ Starting AI Gateway..."), undefined);
});

const failedRun = {
  settings: { rounds: 20, block: 50, concurrency: 64, durationS: 10 },
  command: "deno task bench --peers",
  peers: [{
    kind: "failed",
    name: "Portkey",
    what: "`@portkey-ai/gateway` 1.15.2",
    reason: "npm could not install it: `npm` was not found on PATH",
  }],
} as unknown as BenchResults;

Deno.test("a peer that was not measured is a sentence with its reason in the Peers section, never a number", () => {
  const section = peersSection(failedRun, {} as Figures);
  assert.equal(
    section,
    `${PEERS_SECTION}\n\n- **Portkey** (\`@portkey-ai/gateway\` 1.15.2) was not measured: npm could not install it: ` +
      "`npm` was not found on PATH.\n",
  );
  assert.ok(!section.includes("|"), "no table");
});

Deno.test("the Peers section goes before the method, replaces its earlier self, and is found again", () => {
  const report = "# Benchmarks\n\n## Figures\n\nfigures\n\n## Per upstream API\n\napis\n\n## Method\n\nmethod\n";
  const section = `${PEERS_SECTION}\n\nfirst run\n`;
  const once = putSection(report, PEERS_SECTION, section);
  assert.equal(
    once,
    "# Benchmarks\n\n## Figures\n\nfigures\n\n## Per upstream API\n\napis\n\n## Peers\n\nfirst run\n\n## Method\n\nmethod\n",
  );
  assert.equal(sectionOf(once, PEERS_SECTION), "## Peers\n\nfirst run\n\n");
  const twice = putSection(once, PEERS_SECTION, `${PEERS_SECTION}\n\nsecond run\n`);
  assert.equal(twice, once.replace("first run", "second run"));
  // A document that ends with the section, or has no method to go before.
  assert.equal(putSection("# B\n\n## Peers\n\nold\n", PEERS_SECTION, section), "# B\n\n## Peers\n\nfirst run\n");
  assert.equal(putSection("# B\n", PEERS_SECTION, section), "# B\n\n## Peers\n\nfirst run\n");
  assert.equal(sectionOf("# B\n", PEERS_SECTION), undefined);
});
