/**
 * The memory probe (`deno task probe:memory`) is not part of the suite; these tests only check
 * that its harness works: a tiny run starts the servers, reads the gateway's memory, and produces
 * the section it puts in BENCHMARKS.md, in place of the old one.
 */
import assert from "node:assert/strict";
import { formatReport, replaceSection, runProbes, SECTION } from "../bench/memory_probe.ts";

Deno.test("a tiny probe run measures both probes and reports them as a markdown table", async () => {
  const report = await runProbes({ names: 20, nameBytes: 1024, connections: 3, seconds: 1, idleSeconds: 0 });

  assert.equal(report.results.length, 2);
  for (const result of report.results) {
    for (const kb of [result.beforeKb, result.afterKb, result.idleKb]) assert.ok(kb > 10_000, `RSS ${kb} KiB`);
    assert.ok(result.peakKb >= result.idleKb, "the peak is never below a later reading");
  }
  const answers = [...report.results[0].notes.matchAll(/(\d+) × \d{3}/g)].reduce((n, m) => n + Number(m[1]), 0);
  assert.equal(answers, 20, report.results[0].notes);
  assert.match(report.results[0].notes, /GET \/metrics after: HTTP 200/);

  const section = formatReport(report);
  assert.ok(section.startsWith(`${SECTION}\n`));
  assert.match(section, /^\| \(a\) 20 invented 1024-byte model names \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/m);
  assert.match(section, /^\| \(b\) 3 connections declaring 16 MiB, a byte a second for 1 s \|/m);
});

Deno.test("the probe's section replaces its old copy and leaves the other sections alone", () => {
  const fresh = `${SECTION}\n\nnew table\n`;
  const document = `# Benchmarks\n\n## Figures\n\nfigures\n\n${SECTION}\n\nold table\n\n## Details\n\ndetails\n`;
  assert.equal(
    replaceSection(document, fresh),
    `# Benchmarks\n\n## Figures\n\nfigures\n\n${SECTION}\n\nnew table\n\n## Details\n\ndetails\n`,
  );
  assert.equal(replaceSection(`# Benchmarks\n\n${SECTION}\n\nold table\n`, fresh), `# Benchmarks\n\n${fresh}`);
  assert.equal(replaceSection("# Benchmarks\n\nfigures\n", fresh), `# Benchmarks\n\nfigures\n\n${fresh}`);
});
