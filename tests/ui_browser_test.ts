/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): sign in with the admin key, watch requests arrive in the
 * live table (served, fallen back, rate limited, streamed, a model name that
 * is HTML and must stay text), open one, make a key in the Keys view and use
 * it until its usage bar moves, edit, disable and delete it, read the Health
 * view, sign out. Screenshots of each view go to `screenshots/dashboard/`
 * (gitignored); `UPDATE_DOCS_SCREENSHOTS=1` also writes the two the docs show.
 *
 * Skipped, with a message, when `/usr/bin/chromium` is missing; `.ci/services`
 * installs it for CI. playwright-core is imported here only, never by the
 * gateway.
 */
import assert from "node:assert/strict";
// playwright-core is this test's alone: pinned here, not in deno.json's imports, so that nothing
// the gateway runs can resolve it.
// deno-lint-ignore no-import-prefix
import type { Page } from "npm:playwright-core@1.65.1";
import { pinnedClock } from "./support/clock.ts";
import { ADMIN, ask, HTML_MODEL, sendTraffic, withDashboard } from "./ui_support.ts";

// What the functions run inside the page use of its DOM; declared here so that the tests' type
// check needs no DOM library.
declare const document: {
  querySelector(
    selector: string,
  ): { readonly textContent: string | null; getBoundingClientRect(): { readonly bottom: number } } | null;
  querySelectorAll(selector: string): { readonly length: number };
};
declare const sessionStorage: { getItem(key: string): string | null };
type PageElement = { readonly style: { readonly width: string }; readonly dataset: Record<string, string> };

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = new URL("../screenshots/dashboard/", import.meta.url);
const DOCS = new URL("../docs/images/", import.meta.url);
const T0 = Date.UTC(2026, 2, 4, 10, 30, 20);

const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(
    `ui_browser_test: ${CHROMIUM} not found, the browser test is skipped (apt-get install chromium; .ci/services does)`,
  );
}

Deno.test({
  name: "the dashboard in headless Chromium: sign in, live requests, details, keys and their usage bars, health",
  ignore: !hasChromium,
  // Chromium's process and its pipes outlive single steps; the test closes them at its end.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // deno-lint-ignore no-import-prefix
    const { chromium } = await import("npm:playwright-core@1.65.1");
    await Deno.mkdir(SHOTS, { recursive: true });
    const profile = await Deno.makeTempDir({ prefix: "gateway-ui-chromium-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      await withDashboard(async ({ gateway }) => {
        const page = context.pages()[0] ?? await context.newPage();
        page.setDefaultTimeout(15_000);
        const dialogs: string[] = [];
        const problems: string[] = [];
        page.on("dialog", (dialog) => {
          dialogs.push(dialog.message());
          void dialog.dismiss();
        });
        page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
        page.on("console", (message) => {
          // Failed loads are checked one by one below, from the responses.
          if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
            problems.push(`console: ${message.text()}`);
          }
        });
        const failedLoads: string[] = [];
        page.on("response", (response) => {
          if (response.status() >= 400) failedLoads.push(`${response.status()} ${new URL(response.url()).pathname}`);
        });
        const shot = (name: string) => page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname });
        /** The docs' copy: the page down to where its content ends, so no blank half of a screen. */
        const docsShot = async (name: string) => {
          if (Deno.env.get("UPDATE_DOCS_SCREENSHOTS") !== "1") return;
          const height = await page.evaluate(() => document.querySelector("main")!.getBoundingClientRect().bottom);
          await page.screenshot({
            path: new URL(`${name}.png`, DOCS).pathname,
            clip: { x: 0, y: 0, width: 1280, height: Math.min(800, Math.ceil(height)) },
          });
        };
        const text = (selector: string) => page.locator(selector).first().textContent();

        // ===== Sign in =====
        await page.goto(`${gateway.url}/ui`);
        await page.waitForSelector("#login");
        assert.equal(await page.locator("#requests").count(), 0, "without the key, only the prompt");
        assert.equal(await page.locator("#tabs").isVisible(), false);
        await shot("1-sign-in");
        await page.fill("#admin-key", "not-the-key");
        await page.click("#login button[type=submit]");
        await page.waitForFunction(() => document.querySelector("#login-error")?.textContent !== "");
        assert.equal(await text("#login-error"), "That is not the admin key.");
        await page.fill("#admin-key", ADMIN);
        await page.click("#login button[type=submit]");

        // ===== No traffic yet: the empty state says what to do =====
        await page.waitForSelector("#no-traffic");
        assert.match((await text("#no-traffic pre")) ?? "", /curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
        await shot("2-requests-empty");

        // ===== Live requests =====
        assert.deepEqual(await sendTraffic(gateway), [200, 200, 200, 429, 200, 200]);
        await page.waitForFunction(() => document.querySelectorAll("#requests-body tr.row").length >= 6);
        const rows = await page.$$eval(
          "#requests-body tr.row",
          (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
        );
        assert.equal(rows.length, 6);
        const [html, streamed, limited, , fellBack, cursor] = rows;
        // Columns: time, key, route, model, status, attempts, latency, TTFT, tokens, cost.
        assert.deepEqual([cursor[1], cursor[2], cursor[3], cursor[4], cursor[5]], [
          "team-a",
          "Cursor",
          "openai/gpt-5→openai/gpt-5",
          "200",
          "1",
        ]);
        assert.equal(cursor[8], "1,000 / 0 / 500 / 0");
        assert.equal(cursor[9], "$0.0063");
        assert.match(cursor[6] ?? "", /^\d+(\.\d)? ms$/);
        assert.deepEqual([fellBack[2], fellBack[3], fellBack[4], fellBack[5]], [
          "chat",
          "openai/gpt-broken→backup/gpt-4.1",
          "200",
          "2 fallback",
        ]);
        assert.deepEqual([limited[1], limited[4], limited[5]], ["limited", "429 rate_limit_error", "0"]);
        assert.match(streamed[7] ?? "", /^\d+(\.\d)? ms$/, "a stream shows its time to first token");
        // The client's model name is shown as text: the literal characters, no element made of them.
        assert.equal(html[3], `${HTML_MODEL}→openai/${HTML_MODEL}`);
        assert.equal(await page.locator("#requests-body img").count(), 0);
        await shot("3-requests");
        await docsShot("dashboard-requests");

        // ===== A row opens its details =====
        await page.click(`#requests-body tr.row:nth-child(5)`);
        await page.waitForSelector("#request-details");
        const attempts = await page.$$eval(
          "#request-details .attempt-list tbody tr",
          (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
        );
        assert.deepEqual(attempts.map((a) => a.slice(0, 4)), [
          ["1", "openai/gpt-broken", "500", "fallback"],
          ["2", "backup/gpt-4.1", "ok", ""],
        ]);
        assert.match((await text("#request-details")) ?? "", /"fallback_index": 1/);
        await shot("4-request-details");
        // The rate-limited one: its error message.
        await page.click(`#requests-body tr.row[data-request-id="${await rowId(page, 3)}"]`);
        await page.waitForFunction(() =>
          /has used its 1 requests/.test(document.querySelector("#request-details .error-message")?.textContent ?? "")
        );

        // ===== Keys: config keys read-only, a key made in the UI, its usage bar =====
        await page.click("#tabs a[data-view=keys]");
        await page.waitForSelector(".key-card[data-key-id=team-a]");
        assert.match(
          (await text(".key-card[data-key-id=limited]")) ?? "",
          /config.*read-only/s,
          "config keys are read-only",
        );
        assert.equal(await page.locator(".key-card[data-key-id=limited] button").count(), 0);
        await page.fill("#create-key input[name=id]", "ui-bot");
        await page.fill("#create-key input[name=models]", "openai/*");
        await page.fill("#create-key input[name=rpm]", "5");
        await page.fill("#create-key input[name=budget]", "2");
        await page.selectOption("#create-key select[name=period]", "1w");
        await page.click("#create-key button[type=submit]");
        await page.waitForSelector("#created-key-value");
        const value = (await text("#created-key-value")) ?? "";
        assert.match(value, /^sk-bf-/);
        const card = ".key-card[data-key-id=ui-bot]";
        const meterUsed = (name: string) => text(`${card} .meter[data-meter="${name}"] .used`);
        const meterWidth = (name: string) =>
          page.$eval(`${card} .meter[data-meter="${name}"] .fill`, (el) => (el as unknown as PageElement).style.width);
        await page.waitForSelector(card);
        assert.equal(await meterUsed("Requests this minute"), "0 / 5");
        assert.equal(await meterWidth("Requests this minute"), "0%");

        assert.equal(await ask(gateway, { model: "openai/gpt-5" }, value), 200);
        await page.waitForFunction(
          (selector) => document.querySelector(selector)?.textContent === "1 / 5",
          `${card} .meter[data-meter="Requests this minute"] .used`,
        );
        assert.equal(await meterWidth("Requests this minute"), "20%");
        assert.equal(await meterUsed("Spend this week"), "$0.0063 / $2.00");
        await page.click("#created-key button:text('Done')");
        await shot("5-keys");
        await docsShot("dashboard-keys");

        // Edit: a higher limit moves the bar back.
        await page.click(`${card} button:text('Edit')`);
        await page.fill(`${card} form.edit-key input[name=rpm]`, "10");
        await page.click(`${card} form.edit-key button[type=submit]`);
        await page.waitForFunction(
          (selector) => document.querySelector(selector)?.textContent === "1 / 10",
          `${card} .meter[data-meter="Requests this minute"] .used`,
        );
        assert.equal(await meterWidth("Requests this minute"), "10%");
        // Disable: the key is refused.
        await page.click(`${card} button:text('Disable')`);
        await page.waitForFunction(
          (selector) => document.querySelector(selector)?.textContent === "disabled",
          `${card} .badge.bad`,
        );
        assert.equal(await ask(gateway, { model: "openai/gpt-5" }, value), 401);
        // Delete takes a second click.
        await page.click(`${card} button:text('Delete')`);
        assert.equal(await page.locator(card).count(), 1);
        await page.click(`${card} button:text('Click again to delete')`);
        await page.waitForFunction((selector) => document.querySelector(selector) === null, card);

        // ===== Health =====
        await page.click("#tabs a[data-view=health]");
        await page.waitForSelector("#providers tbody tr[data-provider=openai]");
        const openai = (await text("#providers tbody tr[data-provider=openai]")) ?? "";
        assert.match(openai, /server_error 1/);
        assert.equal(await page.locator("#health canvas").count(), 4);
        assert.match((await text("#health .tiles")) ?? "", /8\s*requests, last hour/);
        await shot("6-health");

        // ===== Sign out: the key is gone from the tab =====
        await page.click("#sign-out");
        await page.waitForSelector("#login");
        assert.equal(await page.evaluate(() => sessionStorage.getItem("gateway.adminKey")), null);

        assert.deepEqual(dialogs, [], "no dialog: nothing a client typed ran as script");
        assert.deepEqual(problems, []);
        assert.deepEqual(failedLoads, ["401 /admin/stats"], "only the sign-in with a wrong key failed");
      }, { clock: pinnedClock(() => T0) });
    } finally {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});

/** The request id of the `n`th row (1-based) of the live table. */
const rowId = (page: Page, n: number) =>
  page.$$eval("#requests-body tr.row", (trs) => trs.map((tr) => (tr as unknown as PageElement).dataset.requestId ?? ""))
    .then((ids) => ids[n - 1]);
