/**
 * The dashboard's embedded files: `src/ui/assets.ts` is what `deno task ui`
 * makes of `src/ui/static/` now, and the page's script never parses a string
 * as HTML nor loads anything from elsewhere.
 */
import assert from "node:assert/strict";
import { assetsPath, assetsText } from "../scripts/ui.ts";
import { appCss, appJs, indexHtml } from "../src/ui/assets.ts";

Deno.test("the committed src/ui/assets.ts is what `deno task ui` generates now", async () => {
  const committed = await Deno.readTextFile(assetsPath);
  assert.ok(committed === await assetsText(), "src/ui/assets.ts is stale: run `deno task ui` and commit the result");
});

Deno.test("the dashboard's script sets text, never HTML", () => {
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
    assert.ok(!appJs.includes(sink), `app.js uses ${sink}`);
  }
});

Deno.test("the dashboard loads nothing from another origin (it works offline)", () => {
  for (const [name, text] of [["index.html", indexHtml], ["app.js", appJs], ["app.css", appCss]]) {
    assert.doesNotMatch(text, /(src|href|url)\s*[=(]\s*["']?(https?:)?\/\//, name);
    assert.doesNotMatch(text, /@import/, name);
  }
});
