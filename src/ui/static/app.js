// The gateway's dashboard: plain DOM, no dependencies, served by the gateway itself (src/ui/route.ts).
// Everything it shows comes from the admin API with the admin key as a Bearer token; the key is kept
// in sessionStorage (this tab only). Every value a client could have typed (model names, ids, error
// messages, content) is written with textContent, never parsed as HTML.

const KEY_STORAGE = "gateway.adminKey";
const POLL_MS = 2000;
const VIEWS = ["requests", "keys", "health"];
const COLORS = ["#2f6fec", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#f08c00", "#5c7cfa"];

const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  view: "requests",
  timer: undefined,
  generation: 0,
  requests: [],
  logContent: false,
  openRow: undefined,
  seenRows: new Set(),
  keys: undefined,
  editing: undefined,
  created: undefined,
  stats: undefined,
};

// ===== DOM helpers =====

/** An element with properties (`class`, `text`, `on*`, `data*`, attributes) and children (nodes or text). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    // CSSOM, not a style attribute: the page's Content-Security-Policy refuses inline styles.
    else if (name === "style") Object.assign(el.style, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name in el && typeof el[name] !== "function") el[name] = value;
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const $ = (selector) => document.querySelector(selector);

function mount(...nodes) {
  $("#app").replaceChildren(...nodes);
}

// ===== Formatting =====

const num = new Intl.NumberFormat("en-US");

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

function fmtUsd(usd) {
  if (usd === null || usd === undefined) return "–";
  if (usd === 0) return "$0";
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

function fmtTime(iso) {
  const date = new Date(iso);
  return date.toLocaleTimeString("en-GB", { hour12: false });
}

function fmtDateTime(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return `${date.toLocaleDateString("en-CA")} ${date.toLocaleTimeString("en-GB", { hour12: false })}`;
}

function fmtTokens(n) {
  if (n === null || n === undefined) return "–";
  if (n >= 100000) return `${(n / 1000).toFixed(0)}k`;
  if (n >= 10000) return `${(n / 1000).toFixed(1)}k`;
  return num.format(n);
}

function statusClass(status, errorType) {
  if (status >= 500) return "bad";
  if (status >= 400) return "warn";
  if (errorType) return "bad";
  return "ok";
}

// ===== The admin API =====

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${state.key}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
  if (response.status === 401) throw new Unauthorized("The admin key was refused.");
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.keys = undefined;
  state.stats = undefined;
  state.requests = [];
  stopPolling();
  renderLogin(message);
}

/** Runs `task` for the current view; a 401 signs out, any other failure is shown in the header. */
async function guarded(task) {
  const generation = state.generation;
  try {
    await task(() => generation === state.generation);
    setLive(true);
  } catch (error) {
    if (error instanceof Unauthorized) signOut(error.message);
    else setLive(false, error.message);
  }
}

function setLive(ok, message) {
  const live = $("#live");
  live.hidden = false;
  live.classList.toggle("stale", !ok);
  live.textContent = ok ? `live · ${new Date().toLocaleTimeString("en-GB", { hour12: false })}` : `offline: ${message}`;
}

// ===== Sign in =====

function renderLogin(message) {
  $("#tabs").hidden = true;
  $("#sign-out").hidden = true;
  $("#live").hidden = true;
  const input = h("input", { type: "password", id: "admin-key", autocomplete: "off", placeholder: "admin key" });
  const error = h("p", { class: "error-text", id: "login-error", text: message ?? "" });
  const form = h(
    "form",
    {
      class: "panel narrow",
      id: "login",
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        state.key = key;
        try {
          await api("/admin/stats?window=5m");
          sessionStorage.setItem(KEY_STORAGE, key);
          start();
        } catch (err) {
          state.key = null;
          error.textContent = err instanceof Unauthorized ? "That is not the admin key." : err.message;
        }
      },
    },
    h("h2", { text: "Sign in" }),
    h(
      "p",
      { class: "muted" },
      "Enter the gateway's ",
      h("code", { text: "admin_key" }),
      ". It is kept in this browser tab only and sent as a Bearer token to the admin API.",
    ),
    h("div", { class: "actions" }, input, h("button", { class: "primary", type: "submit", text: "Sign in" })),
    error,
  );
  mount(form);
  input.focus();
}

// ===== Views and polling =====

function start() {
  $("#tabs").hidden = false;
  $("#sign-out").hidden = false;
  route();
}

function stopPolling() {
  clearTimeout(state.timer);
  state.timer = undefined;
  state.generation++;
}

function poll(task) {
  stopPolling();
  const generation = state.generation;
  const tick = async () => {
    await guarded(task);
    if (generation === state.generation && state.key) state.timer = setTimeout(tick, POLL_MS);
  };
  tick();
}

function route() {
  if (!state.key) return renderLogin();
  const wanted = location.hash.slice(1);
  state.view = VIEWS.includes(wanted) ? wanted : "requests";
  for (const link of document.querySelectorAll("#tabs a")) {
    link.classList.toggle("active", link.dataset.view === state.view);
  }
  if (state.view === "requests") showRequests();
  else if (state.view === "keys") showKeys();
  else showHealth();
}

function curlExample() {
  return [
    `curl ${location.origin}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer sk-bf-..." -H "content-type: application/json" \\`,
    `  -d '{"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "Hello"}]}'`,
  ].join("\n");
}

function noTraffic(what) {
  return h(
    "div",
    { class: "panel empty", id: "no-traffic" },
    h("h2", { text: `No traffic yet` }),
    h("p", { class: "muted", text: `${what} Send a request through the gateway with a virtual key:` }),
    h("pre", { text: curlExample() }),
    h("p", { class: "muted" }, "No key yet? Make one in ", h("a", { href: "#keys", text: "Keys" }), "."),
  );
}

// ===== Requests =====

function showRequests() {
  state.openRow = undefined;
  const body = h("tbody", { id: "requests-body" });
  const table = h(
    "table",
    { id: "requests" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { text: "Time" }),
        h("th", { text: "Key" }),
        h("th", { text: "Route" }),
        h("th", { text: "Model requested → served" }),
        h("th", { text: "Status" }),
        h("th", { class: "num", text: "Attempts" }),
        h("th", { class: "num", text: "Latency" }),
        h("th", { class: "num", text: "TTFT" }),
        h("th", {
          class: "num",
          text: "Tokens in / cached / out / reasoning",
          title: "prompt / cached / completion / reasoning",
        }),
        h("th", { class: "num", text: "Cost" }),
      ),
    ),
    body,
  );
  const note = h("p", { class: "muted", id: "requests-note" });
  mount(h("section", { class: "panel", id: "requests-panel" }, h("h2", { text: "Live requests" }), note, table));
  poll(async (current) => {
    const list = await api("/admin/requests?limit=100");
    if (!current()) return;
    state.requests = list.data;
    state.logContent = list.log_content;
    renderRequests();
  });
}

const rowKey = (entry) => `${entry.request_id}@${entry.time}`;

function renderRequests() {
  const body = $("#requests-body");
  if (!body) return;
  const panel = $("#requests-panel");
  const empty = $("#no-traffic");
  if (state.requests.length === 0) {
    if (!empty) panel.after(noTraffic("The table shows the newest chat requests as they finish."));
    panel.hidden = true;
    return;
  }
  empty?.remove();
  panel.hidden = false;
  $("#requests-note").textContent = `The newest ${state.requests.length} chat requests, newest first; ` +
    `updated every 2 s. Click a row for its details.` +
    (state.logContent ? "" : " Prompts and answers are shown only when log_content is on.");
  const rows = [];
  const firstRender = state.seenRows.size === 0;
  for (const entry of state.requests) {
    const key = rowKey(entry);
    const fresh = !firstRender && !state.seenRows.has(key);
    state.seenRows.add(key);
    const open = state.openRow === key;
    rows.push(requestRow(entry, key, open, fresh));
    if (open) rows.push(detailsRow(entry));
  }
  if (state.seenRows.size > 2000) state.seenRows = new Set(state.requests.map(rowKey));
  body.replaceChildren(...rows);
}

function requestRow(entry, key, open, fresh) {
  const usage = entry.usage;
  const served = entry.provider ? `${entry.provider}/${entry.model ?? ""}` : "–";
  return h(
    "tr",
    {
      class: `row${open ? " open" : ""}${fresh ? " fresh" : ""}`,
      dataset: { requestId: entry.request_id },
      onclick: () => {
        state.openRow = state.openRow === key ? undefined : key;
        renderRequests();
      },
    },
    h("td", { class: "mono", text: fmtTime(entry.time), title: entry.time }),
    h("td", { class: "key", text: entry.virtual_key_id ?? "–" }),
    h("td", { text: entry.api === "cursor" ? "Cursor" : "chat", title: entry.route }),
    h(
      "td",
      { class: "model" },
      h("span", { class: "requested", text: entry.model_requested ?? "–" }),
      h("span", { class: "arrow", text: "→" }),
      h("span", { class: "served", text: served }),
    ),
    h(
      "td",
      {},
      h("span", { class: `badge ${statusClass(entry.status, entry.error_type)}`, text: String(entry.status) }),
      entry.error_type ? h("span", { class: "muted", text: ` ${entry.error_type}` }) : null,
    ),
    h(
      "td",
      { class: "num attempts" },
      String(entry.attempts),
      entry.fallbacks > 0 ? [" ", h("span", { class: "badge warn", text: "fallback" })] : null,
    ),
    h("td", { class: "num", text: fmtMs(entry.latency_ms) }),
    h("td", { class: "num", text: entry.stream ? fmtMs(entry.first_token_ms) : "–" }),
    h(
      "td",
      { class: "num tokens" },
      usage
        ? [usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens, usage.reasoning_tokens].map(fmtTokens)
          .join(" / ")
        : "–",
    ),
    h("td", { class: "num", text: entry.cost ? fmtUsd(entry.cost.total_cost) : "–" }),
  );
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.flatMap(([name, value]) => [h("dt", { text: name }), h("dd", { text: value })]),
  );
}

function detailsRow(entry) {
  const extra = {
    request_type: entry.stream ? "responses_stream" : "responses",
    provider: entry.provider,
    model_requested: entry.model_requested,
    model: entry.model,
    latency: entry.latency_ms,
    fallback_index: entry.fallbacks,
    attempts: entry.attempts,
  };
  const attempts = h(
    "table",
    { class: "attempt-list" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { text: "#" }),
        h("th", { text: "Provider / model" }),
        h("th", { text: "Outcome" }),
        h("th", { text: "Then" }),
        h("th", { class: "num", text: "Time" }),
      ),
    ),
    h(
      "tbody",
      {},
      entry.attempt_list.length === 0
        ? h("tr", {}, h("td", { colspan: 5, class: "muted", text: "No upstream call was made." }))
        : entry.attempt_list.map((attempt, i) =>
          h(
            "tr",
            {},
            h("td", { text: String(i + 1) }),
            h("td", { class: "model", text: `${attempt.provider}/${attempt.model}` }),
            h(
              "td",
              {},
              h("span", { class: `badge ${attempt.outcome === "ok" ? "ok" : "bad"}`, text: attempt.outcome }),
            ),
            h("td", { text: attempt.next ?? "" }),
            h("td", { class: "num", text: fmtMs(attempt.ms) }),
          )
        ),
    ),
  );
  const left = h(
    "div",
    {},
    h("h3", { text: "Request" }),
    facts([
      ["request id", entry.request_id],
      ["time", fmtDateTime(entry.time)],
      ["route", entry.route],
      ["virtual key", entry.virtual_key_id ?? "–"],
      ["status", `${entry.status}${entry.error_type ? ` (${entry.error_type})` : ""}`],
      ["upstream time", fmtMs(entry.upstream_ms)],
      ["cost", entry.cost ? fmtUsd(entry.cost.total_cost) : "–"],
    ]),
    entry.error_message || entry.error_type
      ? [
        h("h3", { text: "Error" }),
        h("pre", { class: "error-message", text: entry.error_message ?? entry.error_type }),
      ]
      : null,
    h("h3", { text: "extra_fields" }),
    h("pre", { text: JSON.stringify(extra, null, 2) }),
  );
  const right = h(
    "div",
    {},
    h("h3", { text: "Attempts" }),
    attempts,
    h("h3", { text: "Content" }),
    entry.content
      ? h("pre", { class: "content", text: JSON.stringify(entry.content, null, 2) })
      : h("p", { class: "muted", text: "Prompts and answers are kept only when log_content is on." }),
  );
  return h(
    "tr",
    { class: "details" },
    h("td", { colspan: 10 }, h("div", { class: "details-grid", id: "request-details" }, left, right)),
  );
}

// ===== Keys =====

function showKeys() {
  state.editing = undefined;
  const list = h("div", { id: "keys-list" });
  mount(createKeyPanel(), h("div", { id: "created-key" }), list);
  renderCreated();
  poll(async (current) => {
    await refreshKeys(current);
  });
}

async function refreshKeys(current = () => true, full = false) {
  const [usage, stats] = await Promise.all([api("/admin/usage"), api("/admin/stats?window=1h")]);
  const known = new Set((state.keys?.keys ?? []).map((key) => key.id));
  if (full || !state.keys || usage.data.some((key) => !known.has(key.id)) || usage.data.length !== known.size) {
    const keys = await api("/admin/keys");
    if (!current()) return;
    state.keys = { keys: keys.data };
  }
  if (!current()) return;
  state.keys.usage = new Map(usage.data.map((key) => [key.id, key]));
  state.keys.spend = new Map(stats.keys.map((key) => [key.virtual_key_id, key.buckets]));
  renderKeys();
}

function numberOrUndefined(value) {
  const text = String(value ?? "").trim();
  return text === "" ? undefined : Number(text);
}

/** The create and edit forms' shared fields; `key` fills them in for an edit. */
function keyFields(key) {
  const field = (label, input, wide) => h("label", { class: wide ? "wide" : undefined }, label, input);
  const inputs = {
    models: h("input", { name: "models", value: key ? key.models.join(", ") : "*", placeholder: "openai/*, gpt-5" }),
    rpm: h("input", {
      name: "rpm",
      type: "number",
      min: "1",
      value: key?.rate_limit?.requests_per_minute ?? "",
      placeholder: "no limit",
    }),
    tpm: h("input", {
      name: "tpm",
      type: "number",
      min: "1",
      value: key?.rate_limit?.tokens_per_minute ?? "",
      placeholder: "no limit",
    }),
    budget: h("input", {
      name: "budget",
      type: "number",
      min: "0",
      step: "any",
      value: key?.budget?.max_usd ?? "",
      placeholder: "no budget",
    }),
    period: h(
      "select",
      { name: "period" },
      ["1d", "1w", "1M", "total"].map((period) =>
        h("option", {
          value: period,
          text: { "1d": "per day", "1w": "per week", "1M": "per month", total: "in total" }[period],
        })
      ),
    ),
    expires: h("input", {
      name: "expires",
      type: "datetime-local",
      value: key?.expires_at ? key.expires_at.slice(0, 16) : "",
    }),
  };
  inputs.period.value = key?.budget?.period ?? "1M";
  const fields = [
    field("Models (comma-separated patterns)", inputs.models, true),
    field("Requests / minute", inputs.rpm),
    field("Tokens / minute", inputs.tpm),
    field("Budget (USD)", inputs.budget),
    field("Budget period", inputs.period),
    field("Expires (UTC)", inputs.expires),
  ];
  const read = () => {
    const rpm = numberOrUndefined(inputs.rpm.value);
    const tpm = numberOrUndefined(inputs.tpm.value);
    const budget = numberOrUndefined(inputs.budget.value);
    const expires = inputs.expires.value ? `${inputs.expires.value}:00Z` : undefined;
    return {
      models: inputs.models.value.split(",").map((m) => m.trim()).filter(Boolean),
      rate_limit: rpm !== undefined || tpm !== undefined
        ? {
          ...(rpm !== undefined ? { requests_per_minute: rpm } : {}),
          ...(tpm !== undefined ? { tokens_per_minute: tpm } : {}),
        }
        : undefined,
      budget: budget !== undefined ? { max_usd: budget, period: inputs.period.value } : undefined,
      expires_at: expires,
    };
  };
  return { fields, read };
}

function createKeyPanel() {
  const id = h("input", { name: "id", placeholder: "optional, e.g. ci-bot" });
  const { fields, read } = keyFields();
  const error = h("p", { class: "error-text" });
  return h(
    "form",
    {
      class: "panel",
      id: "create-key",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        const values = read();
        const body = { models: values.models };
        if (id.value.trim()) body.id = id.value.trim();
        if (values.rate_limit) body.rate_limit = values.rate_limit;
        if (values.budget) body.budget = values.budget;
        if (values.expires_at) body.expires_at = values.expires_at;
        try {
          const created = await api("/admin/keys", { method: "POST", body: JSON.stringify(body) });
          state.created = { id: created.id, value: created.value };
          id.value = "";
          renderCreated();
          await guarded((current) => refreshKeys(current, true));
        } catch (err) {
          if (err instanceof Unauthorized) return signOut(err.message);
          error.textContent = err.message;
        }
      },
    },
    h("h2", { text: "Create a key" }),
    h("div", { class: "form-grid" }, h("label", {}, "Id", id), fields),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit", text: "Create key" })),
    error,
  );
}

function renderCreated() {
  const box = $("#created-key");
  if (!box) return;
  if (!state.created) return box.replaceChildren();
  const value = state.created.value;
  box.replaceChildren(
    h(
      "section",
      { class: "panel secret" },
      h("h2", { text: `Key ${state.created.id} created` }),
      h("p", { class: "muted", text: "Copy it now: the gateway keeps only its digest and will not show it again." }),
      h("code", { id: "created-key-value", text: value }),
      h(
        "div",
        { class: "actions" },
        h("button", {
          type: "button",
          text: "Copy",
          onclick: (event) => {
            navigator.clipboard?.writeText(value).then(() => (event.target.textContent = "Copied"), () => {});
          },
        }),
        h("button", {
          type: "button",
          text: "Done",
          onclick: () => {
            state.created = undefined;
            renderCreated();
          },
        }),
      ),
    ),
  );
}

function meter(label, used, limit, format) {
  const share = limit > 0 ? Math.min(1, used / limit) : 0;
  const fill = h("div", {
    class: `fill${share >= 1 ? " full" : share >= 0.8 ? " hot" : ""}`,
    style: { width: `${(share * 100).toFixed(1)}%` },
  });
  return h(
    "div",
    { class: "meter", dataset: { meter: label } },
    h(
      "div",
      { class: "label" },
      h("span", { text: label }),
      h("span", {
        class: "used",
        text: limit === null ? `${format(used)} (no limit)` : `${format(used)} / ${format(limit)}`,
      }),
    ),
    limit === null ? null : h("div", { class: "track" }, fill),
  );
}

function keyStatus(key) {
  if (!key.active) return h("span", { class: "badge bad", text: "disabled" });
  if (key.expires_at && Date.parse(key.expires_at) <= Date.now()) {
    return h("span", { class: "badge bad", text: "expired" });
  }
  return h("span", { class: "badge ok", text: "active" });
}

/** Renders the key cards; while an edit form is open, only their meters (unless `force`). */
function renderKeys(force = false) {
  const list = $("#keys-list");
  if (!list || !state.keys) return;
  if (!force && state.editing !== undefined && list.querySelector("form.edit-key")) {
    // An edit form is open: refresh the meters only, so what is being typed stays.
    for (const card of list.querySelectorAll(".key-card")) {
      const key = state.keys.keys.find((k) => k.id === card.dataset.keyId);
      const meters = card.querySelector(".meters");
      if (key && meters) meters.replaceWith(keyMeters(key));
    }
    return;
  }
  const keys = state.keys.keys;
  if (keys.length === 0) {
    list.replaceChildren(
      h(
        "div",
        { class: "panel empty", id: "no-keys" },
        h("h2", { text: "No virtual keys yet" }),
        h("p", {
          class: "muted",
          text: "Create one with the form above, list them in the config file's virtual_keys, or:",
        }),
        h("pre", {
          text: `curl -X POST ${location.origin}/admin/keys -H "Authorization: Bearer $GATEWAY_ADMIN_KEY" \\\n` +
            `  -d '{"id": "team-a", "models": ["*"], "rate_limit": {"requests_per_minute": 60}}'`,
        }),
      ),
    );
    return;
  }
  list.replaceChildren(h("div", { class: "keys" }, keys.map(keyCard)));
}

function keyMeters(key) {
  const usage = state.keys.usage.get(key.id);
  const spend = state.keys.spend.get(key.id);
  if (!usage) return h("div", { class: "meters muted", text: "No usage read yet." });
  const budget = usage.budget;
  const periodName = { "1d": "today", "1w": "this week", "1M": "this month", total: "in total" };
  return h(
    "div",
    { class: "meters" },
    meter("Requests this minute", usage.minute.requests, usage.limits.requests_per_minute, (n) => num.format(n)),
    meter("Tokens this minute", usage.minute.tokens, usage.limits.tokens_per_minute, fmtTokens),
    budget
      ? meter(`Spend ${periodName[budget.period]}`, budget.spent_usd, budget.max_usd, fmtUsd)
      : meter("Spend this month", usage.spend_usd.month, null, fmtUsd),
    h(
      "p",
      { class: "muted" },
      `Spent today ${fmtUsd(usage.spend_usd.day)} · this week ${fmtUsd(usage.spend_usd.week)} · in total ${
        fmtUsd(usage.spend_usd.total)
      }`,
    ),
    spend ? sparkline(spend) : h("p", { class: "muted", text: "No requests in the last hour." }),
  );
}

function sparkline(buckets) {
  const canvas = h("canvas", { class: "spark", width: 320, height: 40, title: "cost per minute, last hour" });
  requestAnimationFrame(() =>
    drawChart(canvas, buckets.map((b) => b.time), [
      { name: "cost", color: COLORS[0], values: buckets.map((b) => b.cost_usd) },
    ], { compact: true })
  );
  return h(
    "div",
    { class: "chart" },
    h("h3", { text: "Spend per minute, last hour" }),
    canvas,
  );
}

function keyCard(key) {
  const editing = state.editing === key.id;
  const readOnly = key.source === "config";
  const limits = [
    key.rate_limit?.requests_per_minute ? `${key.rate_limit.requests_per_minute} req/min` : null,
    key.rate_limit?.tokens_per_minute ? `${fmtTokens(key.rate_limit.tokens_per_minute)} tokens/min` : null,
    key.budget
      ? `${fmtUsd(key.budget.max_usd)} ${key.budget.period === "total" ? "in total" : `per ${key.budget.period}`}`
      : null,
  ].filter(Boolean);
  const actions = readOnly
    ? h("p", { class: "muted", text: "From the config file: read-only here. Change it in the config and restart." })
    : h(
      "div",
      { class: "actions" },
      h("button", {
        type: "button",
        text: "Edit",
        onclick: () => {
          state.editing = key.id;
          renderKeysNow();
        },
      }),
      h("button", {
        type: "button",
        text: key.active ? "Disable" : "Enable",
        onclick: () => mutate(`/admin/keys/${encodeURIComponent(key.id)}`, "PATCH", { active: !key.active }),
      }),
      h("button", {
        type: "button",
        class: "danger",
        text: "Delete",
        onclick: (event) => {
          const button = event.target;
          if (button.dataset.armed) return mutate(`/admin/keys/${encodeURIComponent(key.id)}`, "DELETE");
          button.dataset.armed = "1";
          button.textContent = "Click again to delete";
          setTimeout(() => {
            delete button.dataset.armed;
            button.textContent = "Delete";
          }, 4000);
        },
      }),
    );
  return h(
    "section",
    { class: "panel key-card", dataset: { keyId: key.id } },
    h(
      "h2",
      {},
      h("span", { class: "key-id", text: key.id }),
      h("span", { class: "badge", text: readOnly ? "config" : "api" }),
      keyStatus(key),
    ),
    h("div", { class: "models", text: `models: ${key.models.join(", ")}` }),
    h(
      "div",
      { class: "muted" },
      `${limits.length ? limits.join(" · ") : "no limits"} · expires ${fmtDateTime(key.expires_at)}`,
    ),
    keyMeters(key),
    editing ? editForm(key) : actions,
  );
}

function renderKeysNow() {
  renderKeys(true);
}

function editForm(key) {
  const { fields, read } = keyFields(key);
  const error = h("p", { class: "error-text" });
  return h(
    "form",
    {
      class: "edit-key",
      onsubmit: async (event) => {
        event.preventDefault();
        const values = read();
        const patch = {
          models: values.models,
          rate_limit: values.rate_limit ?? null,
          budget: values.budget ?? null,
          expires_at: values.expires_at ?? null,
        };
        try {
          await api(`/admin/keys/${encodeURIComponent(key.id)}`, { method: "PATCH", body: JSON.stringify(patch) });
          state.editing = undefined;
          await guarded((current) => refreshKeys(current, true));
          renderKeysNow();
        } catch (err) {
          if (err instanceof Unauthorized) return signOut(err.message);
          error.textContent = err.message;
        }
      },
    },
    h("div", { class: "form-grid" }, fields),
    h(
      "div",
      { class: "actions" },
      h("button", { class: "primary", type: "submit", text: "Save" }),
      h("button", {
        type: "button",
        text: "Cancel",
        onclick: () => {
          state.editing = undefined;
          renderKeysNow();
        },
      }),
    ),
    error,
  );
}

async function mutate(path, method, body) {
  try {
    await api(path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    await guarded((current) => refreshKeys(current, true));
  } catch (err) {
    if (err instanceof Unauthorized) return signOut(err.message);
    setLive(false, err.message);
  }
}

// ===== Health =====

function showHealth() {
  mount(h("div", { id: "health" }, h("p", { class: "muted", text: "Loading…" })));
  poll(async (current) => {
    const stats = await api("/admin/stats?window=1h");
    if (!current()) return;
    state.stats = stats;
    renderHealth();
  });
}

function tile(name, value) {
  return h(
    "div",
    { class: "tile" },
    h("div", { class: "value", text: value }),
    h("div", { class: "name", text: name }),
  );
}

function pct(errors, requests) {
  return requests > 0 ? `${((errors / requests) * 100).toFixed(1)}%` : "–";
}

function chartPanel(title, times, series, options = {}) {
  const canvas = h("canvas", { width: 600, height: 180 });
  requestAnimationFrame(() => drawChart(canvas, times, series, options));
  return h(
    "section",
    { class: "panel chart" },
    h("h2", { text: title }),
    canvas,
    h(
      "div",
      { class: "legend" },
      series.map((s) =>
        h(
          "span",
          {},
          h("span", { class: "swatch", style: { background: s.color, opacity: s.dash ? "0.6" : "1" } }),
          s.name,
        )
      ),
    ),
  );
}

function renderHealth() {
  const root = $("#health");
  const stats = state.stats;
  if (!root || !stats) return;
  const totals = stats.totals;
  const times = stats.buckets.map((b) => b.time);
  const providers = stats.providers;
  const color = (i) => COLORS[i % COLORS.length];
  const tiles = h(
    "div",
    { class: "tiles" },
    tile("requests, last hour", num.format(totals.requests)),
    tile("error rate", pct(totals.errors, totals.requests)),
    tile("latency p50 / p95", `${fmtMs(totals.latency_p50_ms)} / ${fmtMs(totals.latency_p95_ms)}`),
    tile("first token p50 / p95", `${fmtMs(totals.first_token_p50_ms)} / ${fmtMs(totals.first_token_p95_ms)}`),
    tile("open streams now", String(stats.open_streams)),
    tile("cost, last hour", fmtUsd(totals.cost_usd)),
  );
  const perProvider = (field, name) =>
    providers.map((p, i) => ({
      name: `${p.provider} ${name}`,
      color: color(i),
      values: p.buckets.map((b) => b[field]),
    }));
  const charts = h(
    "div",
    { class: "charts" },
    chartPanel("Requests per minute", times, [
      { name: "all", color: "#868e96", values: stats.buckets.map((b) => b.requests) },
      ...perProvider("requests", ""),
    ]),
    chartPanel(
      "Error rate (%)",
      times,
      [{ provider: "all", buckets: stats.buckets }, ...providers].map((p, i) => ({
        name: p.provider,
        color: i === 0 ? "#868e96" : color(i - 1),
        values: p.buckets.map((b) => b.requests > 0 ? (100 * b.errors) / b.requests : null),
      })),
      { max: 100 },
    ),
    chartPanel("Latency (ms)", times, [
      ...perProvider("latency_p50_ms", "p50"),
      ...perProvider("latency_p95_ms", "p95").map((s) => ({ ...s, dash: true })),
    ]),
    chartPanel("Time to first token (ms)", times, [
      ...perProvider("first_token_p50_ms", "p50"),
      ...perProvider("first_token_p95_ms", "p95").map((s) => ({ ...s, dash: true })),
    ]),
  );
  const rows = providers.map((p) => {
    const failures = Object.entries(p.failures).filter(([, n]) => n > 0);
    return h(
      "tr",
      { dataset: { provider: p.provider } },
      h("td", { text: p.provider }),
      h("td", { class: "num", text: num.format(p.totals.requests) }),
      h("td", { class: "num", text: pct(p.totals.errors, p.totals.requests) }),
      h("td", { class: "num", text: `${fmtMs(p.totals.latency_p50_ms)} / ${fmtMs(p.totals.latency_p95_ms)}` }),
      h(
        "td",
        {},
        failures.length === 0 ? h("span", { class: "muted", text: "none" }) : h(
          "div",
          { class: "chips" },
          failures.map(([reason, n]) => h("span", { class: "badge bad", text: `${reason} ${n}` })),
        ),
      ),
      h(
        "td",
        {},
        p.cooling_keys.length === 0
          ? h("span", { class: "muted", text: "none" })
          : p.cooling_keys.map((key) => h("div", { class: "mono", text: `${key.key_id} until ${fmtTime(key.until)}` })),
      ),
    );
  });
  const table = h(
    "section",
    { class: "panel" },
    h("h2", { text: "Providers, last hour" }),
    h(
      "table",
      { id: "providers" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { text: "Provider" }),
          h("th", { class: "num", text: "Requests" }),
          h("th", { class: "num", text: "Errors" }),
          h("th", { class: "num", text: "Latency p50 / p95" }),
          h("th", { text: "Failed attempts by reason" }),
          h("th", { text: "Keys cooling down" }),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
  const empty = totals.requests === 0
    ? noTraffic("The charts fill in as requests finish (the last hour is kept in memory).")
    : null;
  root.replaceChildren(...[tiles, empty, charts, table].filter(Boolean));
}

// ===== Charts =====

/** A line chart on a canvas: `series` share the x axis `times`; null values leave gaps. */
function drawChart(canvas, times, series, options = {}) {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const muted = style.getPropertyValue("--muted").trim() || "#667085";
  const line = style.getPropertyValue("--line").trim() || "#e3e6eb";
  const pad = options.compact ? { l: 2, r: 2, t: 4, b: 2 } : { l: 44, r: 8, t: 8, b: 20 };
  const values = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const top = niceMax(options.max ?? Math.max(0, ...values));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const x = (i) => pad.l + (times.length <= 1 ? 0 : (i / (times.length - 1)) * plotW);
  const y = (v) => pad.t + plotH - (top > 0 ? (v / top) * plotH : 0);
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  if (!options.compact) {
    for (let g = 0; g <= 4; g++) {
      const v = (top * g) / 4;
      ctx.strokeStyle = line;
      ctx.beginPath();
      ctx.moveTo(pad.l, y(v));
      ctx.lineTo(width - pad.r, y(v));
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.textAlign = "right";
      ctx.fillText(shortNumber(v), pad.l - 6, y(v) + 4);
    }
    ctx.textAlign = "center";
    for (let i = 0; i < times.length; i += 15) ctx.fillText(fmtTime(times[i]).slice(0, 5), x(i), height - 5);
  } else {
    ctx.strokeStyle = line;
    ctx.beginPath();
    ctx.moveTo(0, y(0));
    ctx.lineTo(width, y(0));
    ctx.stroke();
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 1.6;
    ctx.setLineDash(s.dash ? [4, 3] : []);
    ctx.beginPath();
    let drawing = false;
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        drawing = false;
        return;
      }
      if (drawing) ctx.lineTo(x(i), y(v));
      else ctx.moveTo(x(i), y(v));
      drawing = true;
      // A lone point (a minute between two without data) would draw nothing as a line.
      const prev = s.values[i - 1];
      const next = s.values[i + 1];
      if ((prev === null || prev === undefined) && (next === null || next === undefined)) {
        ctx.fillRect(x(i) - 1.5, y(v) - 1.5, 3, 3);
      }
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function shortNumber(v) {
  if (v >= 1000000) return `${(v / 1000000).toFixed(1)}M`;
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// ===== Start =====

$("#sign-out").addEventListener("click", () => signOut());
addEventListener("hashchange", () => {
  if (state.key) route();
});
if (state.key) start();
else renderLogin();
