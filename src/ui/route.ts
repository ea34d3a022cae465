/**
 * `GET /ui`: the dashboard, served by the gateway itself from files embedded
 * in `assets.ts` (no CDN, no file access, works offline and when compiled).
 *
 * The page holds no data: it asks for the admin key and reads the admin API
 * with it (`admin/dashboard.ts`, `admin/keys.ts`). With no `admin_key`
 * configured, `/ui` is a page that says how to turn it on.
 *
 * A strict Content-Security-Policy backs up the page's one rule (whatever a
 * client typed is set as text, never parsed as HTML): no inline script, no
 * script or style from elsewhere, no framing.
 */
import * as Effect from "effect/Effect";
import type { Route } from "../core/route.ts";
import { notFound } from "../errors/GatewayError.ts";
import { appCss, appJs, disabledHtml, indexHtml } from "./assets.ts";

export const uiPath = "/ui";

const security = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const asset = (body: string, type: string, cache: string) => {
  const bytes = new TextEncoder().encode(body);
  const headers = { ...security, "content-type": type, "cache-control": cache };
  return () => new Response(bytes, { headers });
};

/**
 * The dashboard's routes: `/ui` and its script and style sheet. `adminEnabled` is whether the
 * config has an `admin_key` (the page's data needs it).
 */
export const uiRoutes = (adminEnabled: boolean): ReadonlyArray<readonly [string, Route<never>]> => {
  const files = new Map([
    [uiPath, asset(adminEnabled ? indexHtml : disabledHtml, "text/html; charset=utf-8", "no-store")],
    [`${uiPath}/app.js`, asset(appJs, "text/javascript; charset=utf-8", "no-cache")],
    [`${uiPath}/app.css`, asset(appCss, "text/css; charset=utf-8", "no-cache")],
  ]);
  return [[uiPath, {
    prefix: true,
    methods: {
      GET: (request) => {
        const path = new URL(request.url).pathname.replace(/\/+$/, "");
        const file = files.get(path);
        return file ? Effect.sync(file) : Effect.fail(notFound(`No route for GET ${path}.`));
      },
    },
  }]];
};
