// hooksim portal: each page's data comes from the JSON API (the CLI's API), fetched with the
// session cookie; state-changing requests carry the page's CSRF token. All text reaches the page
// through textContent, never innerHTML, so payloads show as text.
"use strict";

const meta = document.querySelector('meta[name="csrf-token"]');
const CSRF = meta ? meta.content : "";
const CSRF_HEADER = meta ? meta.dataset.header : "X-CSRF-Token";

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = CSRF;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) { location.assign("/login?next=" + encodeURIComponent(location.pathname)); }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function flash(message, kind) {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = "flash " + (kind || "ok");
  box.hidden = false;
}

const CATEGORY_NAMES = JSON.parse(document.body.dataset.categories || "{}");
function categoryLabel(slug) { return CATEGORY_NAMES[slug] || slug; }

function when(text) { return text ? text.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—"; }

const STATUS_LABEL = { ACTIVE: "Active", PAUSED: "Paused", STOPPED: "Stopped", SUCCESS: "Success",
  PENDING: "Pending", NOT_SENT: "Not sent", FAILURE: "Failure", RESUMED: "Resumed",
  RESTARTED: "Restarted" };
function badge(status) {
  return el("span", { class: "badge " + String(status).toLowerCase() }, STATUS_LABEL[status] || status);
}

function fillRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns }, emptyText))]));
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {  // clipboard API needs a secure context; fall back to a selection copy
    const area = el("textarea", {}, text);
    document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
}

// Long values (URLs, GUIDs, secrets) stay on one line: cut with an ellipsis, the whole value in
// the tooltip, a Copy button beside it; rows keep one line and the page keeps its width.
function longValue(text, label, { kind = "guid", shown } = {}) {
  if (!text) return "—";
  const value = shown || el("code", {}, text);
  value.classList.add("truncate", kind);
  if (!value.title) value.title = text;
  return el("span", { class: "long" }, value,
    el("button", { type: "button", class: "small copy", "aria-label": `Copy ${label}`,
      onclick: (event) => copyText(text, event.currentTarget) }, "Copy"));
}

function dateParam(value, end) {
  // <input type=date> gives YYYY-MM-DD; the API wants a time with a zone (UTC days).
  if (!value) return "";
  if (!end) return value + "T00:00:00Z";
  const next = new Date(value + "T00:00:00Z");
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString();
}

function setupDialogs() {
  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
}

// Errors show next to their fields, all at once, in words a person reads.
function showFieldErrors(form, errors) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  let first = null;
  for (const [field, message] of Object.entries(errors)) {
    const target = form.querySelector("#err-" + CSS.escape(field)) || form.querySelector("#err-form");
    if (target) target.textContent = message;
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
  }
  if (first) first.focus();
}

const FIELD_LABEL = { url: "The webhook URL", name: "The name", notificationEmail: "The notification email",
  eventCategory: "The event category" };
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// The API answers one problem at a time, in its own field names: checked here first, all at
// once, and any answer it still gives is reworded.
function webhookFormErrors(body) {
  const errors = {};
  if (!body.url) errors.url = "Enter the URL the platform sends webhooks to.";
  else {
    let parsed = null;
    try { parsed = new URL(body.url); } catch (e) { parsed = null; }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol) || !parsed.hostname) {
      errors.url = "Enter a full web address starting with http:// or https://, like https://example.com/webhooks.";
    }
  }
  if (!body.name) errors.name = "Enter a name for this webhook.";
  else if (body.name.length > 200) errors.name = "Keep the name to 200 characters or fewer.";
  if (!body.notificationEmail) errors.notificationEmail = "Enter the email address that hears about pauses and stops.";
  else if (!EMAIL.test(body.notificationEmail)) errors.notificationEmail = "Enter an email address, like ops@example.com.";
  return errors;
}

function apiFieldError(error) {
  const field = (error.body && error.body.field) || "form";
  let message = error.message;
  if (field === "notificationEmail") message = "Enter an email address, like ops@example.com.";
  else if (FIELD_LABEL[field]) message = message.replace(new RegExp("^" + field + "\\b"), FIELD_LABEL[field]);
  return { [field]: message.charAt(0).toUpperCase() + message.slice(1) };
}

// The Add/Edit webhook dialog, shared by the webhooks page and a webhook's events page.
function webhookForm(onSaved) {
  const dialog = document.getElementById("webhook-dialog");
  const form = document.getElementById("webhook-form");
  const category = form.elements.eventCategory;
  const deleteButton = document.getElementById("webhook-delete");
  let nameTouched = false;

  function open(title, sub) {
    form.reset();
    showFieldErrors(form, {});
    document.getElementById("webhook-dialog-title").textContent = title;
    form.elements.guid.value = sub ? sub.guid : "";
    category.disabled = Boolean(sub);   // the category of a subscription never changes
    deleteButton.hidden = !sub;
    if (sub) {
      category.value = sub.eventCategory;
      form.elements.url.value = sub.url;
      form.elements.name.value = sub.name;
      form.elements.notificationEmail.value = sub.notificationEmail;
    } else {
      form.elements.name.value = category.selectedOptions[0].dataset.name;
    }
    nameTouched = Boolean(sub);
    dialog.showModal();
    (sub ? form.elements.url : category).focus();
  }
  form.elements.name.addEventListener("input", () => { nameTouched = true; });
  category.addEventListener("change", () => {
    if (!nameTouched) form.elements.name.value = category.selectedOptions[0].dataset.name;
  });
  deleteButton.addEventListener("click", () => {
    // As on the platform: deleting a subscription goes through support.
    document.getElementById("delete-guid").textContent = form.elements.guid.value;
    document.getElementById("delete-dialog").showModal();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const guid = form.elements.guid.value;
    const body = { url: form.elements.url.value.trim(), name: form.elements.name.value.trim(),
      notificationEmail: form.elements.notificationEmail.value.trim() };
    const errors = webhookFormErrors(body);
    if (Object.keys(errors).length) { showFieldErrors(form, errors); return; }
    if (!guid) body.eventCategory = category.value;
    try {
      if (guid) await api("PATCH", `/api/subscriptions/${guid}`, body);
      else await api("POST", "/api/subscriptions", body);
      dialog.close();
      flash(guid ? "Webhook saved." : "Webhook added.");
      await onSaved();
    } catch (e) { showFieldErrors(form, apiFieldError(e)); }
  });
  return { openAdd: () => open("Add webhook", null), openEdit: (sub) => open(`Edit webhook ${sub.name}`, sub) };
}

function secretControls(secret, label) {
  // Hidden until revealed; copied without being shown.
  const value = el("code", { class: "secret", "data-hidden": "true", title: "hidden: Reveal shows it" }, "••••••••");
  const reveal = el("button", { type: "button", class: "small", "aria-label": `Reveal ${label}`,
    onclick: () => {
      const hidden = value.dataset.hidden === "true";
      value.textContent = hidden ? secret : "••••••••";
      value.title = hidden ? secret : "hidden: Reveal shows it";
      value.dataset.hidden = hidden ? "false" : "true";
      reveal.textContent = hidden ? "Hide" : "Reveal";
    } }, "Reveal");
  return [longValue(secret, label, { kind: "secret", shown: value }), " ", reveal];
}

// A from/to pair of dates: an end before the start is an error, never a stale list.
function reversedRange(from, to) {
  return from && to && to < from ? "The end date is before the start date: swap them or change one." : "";
}

// -- Home ----------------------------------------------------------------------------------------
async function homePage() {
  const arrivals = document.querySelector("#arrivals tbody");
  async function load() {
    let data;
    try { data = await api("GET", "/api/overview"); } catch (e) { flash(e.message, "bad"); return; }
    const counts = data.subscriptions;
    document.getElementById("count-active").textContent = counts.ACTIVE;
    document.getElementById("count-paused").textContent = counts.PAUSED;
    document.getElementById("count-stopped").textContent = counts.STOPPED;
    document.getElementById("hour-attempts").textContent = data.lastHour.attempts;
    document.getElementById("hour-failed").textContent = data.lastHour.failed;
    document.getElementById("hour-now").textContent = `Platform time now: ${when(data.now)}`;
    const health = document.getElementById("health");
    const troubled = data.needsAttention.length;
    health.className = "health " + (troubled ? "bad" : data.lastHour.failed ? "warn" : "ok");
    health.textContent = troubled ? `${troubled} webhook(s) paused or stopped: see below.`
      : data.lastHour.failed ? `All webhooks active; ${data.lastHour.failed} failed attempt(s) in the last hour.`
      : "Everything is healthy: every webhook is active and no attempt failed in the last hour.";
    fillRows(document.querySelector("#attention tbody"), data.needsAttention.map((sub) => el("tr", {},
      el("td", {}, el("a", { href: `/webhooks/${sub.guid}/events` }, sub.name)), el("td", {}, badge(sub.status)),
      el("td", {}, categoryLabel(sub.eventCategory)), el("td", {}, sub.pausedUntil ? when(sub.pausedUntil) : "—"),
      el("td", {}, el("a", { class: "button small", href: `/webhooks/${sub.guid}/backoff` }, "Back-off")))),
      "Nothing paused or stopped.", 5);
    if (arrivals) {
      try {
        const page = await api("GET", "/api/messages?limit=5");
        fillRows(arrivals, page.messages.map((m) => el("tr", {}, el("td", {}, when(m.receivedAt)),
          el("td", {}, m.endpoint), el("td", {}, m.type || "—"), el("td", {}, verification(m).text),
          el("td", {}, String(m.status)))), "Nothing received yet.", 5);
      } catch (e) { fillRows(arrivals, [], `The receiver did not answer: ${e.message}`, 5); }
    }
  }
  await load();
  setInterval(load, 5000);
}

// -- Webhooks ----------------------------------------------------------------------------------
async function webhooksPage() {
  const tbody = document.querySelector("#webhooks tbody");
  const form = webhookForm(() => load());

  async function lastDelivery(guid, cell) {
    try {
      const page = await api("GET", `/api/subscriptions/${guid}/deliveries?limit=1`);
      const last = page.items[0];
      cell.replaceChildren(last ? el("span", {}, when(last.firstSentAt || last.createdAt), " ", badge(last.status)) : "none yet");
    } catch (e) { cell.textContent = "?"; }
  }

  function secretCell(sub) {
    return el("td", { class: "nowrap" }, ...secretControls(sub.secret, `secret of ${sub.name}`));
  }

  async function load() {
    const data = await api("GET", "/api/subscriptions");
    const rows = data.items.map((sub) => {
      const last = el("td", {}, "…");
      lastDelivery(sub.guid, last);
      return el("tr", { dataset: { guid: sub.guid } },
        el("td", { class: "name" }, sub.name),
        el("td", {}, badge(sub.status)),
        el("td", { class: "nowrap" }, longValue(sub.guid, `GUID of ${sub.name}`)),
        el("td", {}, categoryLabel(sub.eventCategory)),
        el("td", { class: "nowrap" }, longValue(sub.url, `URL of ${sub.name}`, { kind: "url" })),
        last,
        secretCell(sub),
        el("td", {}, el("div", { class: "row-actions" },
          el("button", { type: "button", class: "small", onclick: () => form.openEdit(sub) }, "Edit"),
          el("a", { href: `/webhooks/${sub.guid}/events`, class: "button small" }, "Events"),
          el("a", { href: `/webhooks/${sub.guid}/backoff`, class: "button small" }, "Back-off"),
          sub.status === "STOPPED" ? el("button", { type: "button", class: "small primary",
            onclick: () => restart(sub) }, "Restart") : null)));
    });
    fillRows(tbody, rows, "No webhooks yet: add one.", 8);
  }

  async function restart(sub) {
    try {
      await api("POST", `/api/subscriptions/${sub.guid}/restart`);
      flash(`${sub.name} restarted: Active again.`);
    } catch (e) { flash(e.message, "bad"); }
    await load();
  }

  document.getElementById("add-webhook").addEventListener("click", () => form.openAdd());
  await load();
  setInterval(load, 2000);   // statuses change as the back-off acts
}

// -- Webhook events ----------------------------------------------------------------------------
async function eventsPage(guid) {
  const tbody = document.querySelector("#events tbody");
  const filters = document.getElementById("event-filters");
  const dialog = document.getElementById("event-dialog");
  const pageInfo = document.getElementById("page-info");
  const nextButton = document.getElementById("next-page");
  let cursor = null, nextCursor = null, pageNumber = 1, current = null;

  const form = webhookForm(() => header());
  let sub = null, shownSecret = null;

  async function header() {
    // The webhook's own details above its events, as on the platform's Webhook events page.
    try { sub = await api("GET", `/api/subscriptions/${guid}`); }
    catch (e) { flash(e.message, "bad"); return; }
    document.getElementById("sub-name").textContent = sub.name;
    document.getElementById("h-name").textContent = sub.name;
    document.getElementById("h-url").replaceChildren(longValue(sub.url, "webhook URL", { kind: "url" }));
    document.getElementById("h-email").textContent = sub.notificationEmail;
    document.getElementById("sub-status").replaceChildren(badge(sub.status));
    document.getElementById("h-category").textContent = categoryLabel(sub.eventCategory);
    document.getElementById("h-guid").replaceChildren(longValue(sub.guid, "subscription GUID"));
    if (shownSecret !== sub.secret) {   // redrawn only when it changes: Reveal stays revealed
      shownSecret = sub.secret;
      document.getElementById("h-secret").replaceChildren(...secretControls(sub.secret, "secret key"));
    }
  }
  document.getElementById("edit-webhook").addEventListener("click", () => { if (sub) form.openEdit(sub); });
  const toggle = document.getElementById("filters-toggle");
  toggle.addEventListener("click", () => {
    filters.hidden = !filters.hidden;
    toggle.setAttribute("aria-expanded", String(!filters.hidden));
    if (!filters.hidden) filters.elements.status.focus();
  });
  function summarise() {
    const f = filters.elements, parts = [];
    if (f.status.value) parts.push(f.status.selectedOptions[0].textContent);
    if (f.period.value) parts.push(f.period.selectedOptions[0].textContent);
    if (f.from.value || f.to.value) parts.push(`${f.from.value || "…"} to ${f.to.value || "…"}`);
    document.getElementById("filter-summary").textContent = parts.length ? "Showing: " + parts.join(", ") : "";
  }

  function query() {
    const params = new URLSearchParams({ limit: "25" });
    const f = filters.elements;
    if (f.status.value) params.set("status", f.status.value);
    if (f.period.value) params.set("period", f.period.value);
    if (f.from.value) params.set("from", dateParam(f.from.value, false));
    if (f.to.value) params.set("to", dateParam(f.to.value, true));
    if (cursor) params.set("cursor", cursor);
    return params;
  }

  async function load() {
    const error = document.getElementById("filter-error");
    error.textContent = reversedRange(filters.elements.from.value, filters.elements.to.value);
    if (error.textContent) { fillRows(tbody, [], "No events: the dates are reversed.", 7); return; }
    let page;
    try { page = await api("GET", `/api/subscriptions/${guid}/deliveries?${query()}`); }
    catch (e) { error.textContent = e.message; return; }
    nextCursor = page.nextCursor;
    nextButton.disabled = !nextCursor;
    pageInfo.textContent = `Page ${pageNumber}`;
    const rows = page.items.map((d) => el("tr", { dataset: { webhook: d.webhookGuid } },
      el("td", { class: "nowrap" }, longValue(d.webhookGuid, `webhook GUID ${d.webhookGuid}`, { shown:
        el("button", { type: "button", class: "link mono", onclick: () => openDetails(d.webhookGuid),
          "aria-label": `Details of ${d.webhookGuid}` }, d.webhookGuid) })),
      el("td", {}, d.eventType),
      el("td", {}, when(d.firstSentAt)),
      el("td", {}, String(d.totalAttempts)),
      el("td", {}, d.responseCode === null ? "—" : String(d.responseCode)),
      el("td", {}, badge(d.status)),
      el("td", {}, el("button", { type: "button", class: "small", onclick: () => replay(d.webhookGuid) }, "Replay"))));
    fillRows(tbody, rows, "No events match.", 7);
  }

  async function replay(webhookGuid) {
    try {
      await api("POST", `/api/deliveries/${webhookGuid}/replay`);
      flash(`Replay of ${webhookGuid} queued.`);
    } catch (e) { flash(e.message, "bad"); }
    await load();
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  async function openDetails(webhookGuid) {
    const d = await api("GET", `/api/deliveries/${webhookGuid}`);
    current = webhookGuid;
    const fields = [
      ["Webhook GUID", d.webhookGuid], ["Event GUID", d.eventGuid], ["Event category", categoryLabel(d.eventCategory)],
      ["Event type", d.eventType], ["Status", STATUS_LABEL[d.status] || d.status],
      ["Webhook URL", d.webhookUrl], ["Route key", d.routeKey], ["Signature", d.signature],
      ["Created", when(d.createdAt)], ["First sent", when(d.firstSentAt)],
      ["Attempts (this series)", d.attempts], ["Total attempts", d.totalAttempts], ["Series", d.series],
      ["Response code", d.responseCode ?? "—"], ["Last outcome", d.lastOutcome ?? "—"],
      ["Next attempt", when(d.nextAttemptAt)], ["Subscription GUID", d.subscriptionGuid],
    ];
    document.getElementById("event-fields").replaceChildren(
      ...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
    fillRows(document.querySelector("#attempts tbody"), d.attemptHistory.map((a) => el("tr", {},
      el("td", {}, a.series), el("td", {}, a.attemptNumber), el("td", {}, when(a.at)),
      el("td", {}, a.outcome), el("td", {}, a.responseCode ?? "—"), el("td", {}, `${a.latencyMs} ms`),
      el("td", {}, a.detail || a.responseExcerpt || ""))), "Not attempted yet.", 7);
    document.getElementById("event-body").textContent = pretty(d.body);
    dialog.showModal();
    dialog.querySelector("[data-close]").focus();
    dialog.scrollTop = 0;   // focus moved the view to the buttons; start reading at the top
  }

  document.getElementById("dialog-replay").addEventListener("click", async () => {
    dialog.close();
    if (current) await replay(current);
  });
  filters.addEventListener("submit", (event) => {
    event.preventDefault(); cursor = null; pageNumber = 1; summarise(); load();
  });
  nextButton.addEventListener("click", () => { if (nextCursor) { cursor = nextCursor; pageNumber += 1; load(); } });
  document.getElementById("first-page").addEventListener("click", () => { cursor = null; pageNumber = 1; load(); });
  await Promise.all([header(), load()]);
  setInterval(() => { header(); if (!dialog.open) load(); }, 3000);
}

// -- Back-off ----------------------------------------------------------------------------------
async function backoffPage(guid) {
  const HISTORY_PAGE = 10;
  let historyPage = 0, history = [];
  const older = document.getElementById("history-older");
  const newer = document.getElementById("history-newer");

  function showHistory() {
    // Newest first, a page at a time: the latest transition is what people look for.
    const newest = [...history].reverse();
    const pages = Math.max(1, Math.ceil(newest.length / HISTORY_PAGE));
    historyPage = Math.min(historyPage, pages - 1);
    const shown = newest.slice(historyPage * HISTORY_PAGE, (historyPage + 1) * HISTORY_PAGE);
    fillRows(document.querySelector("#history tbody"), shown.map((t) => el("tr", {},
      el("td", {}, when(t.at)), el("td", {}, badge(t.kind)), el("td", {}, t.errorsInWindow),
      el("td", {}, t.pausesInWindow), el("td", {}, t.reason))), "No pauses or stops.", 5);
    document.getElementById("history-info").textContent =
      `Page ${historyPage + 1} of ${pages} · ${history.length} transition(s), newest first`;
    newer.disabled = historyPage === 0;
    older.disabled = historyPage >= pages - 1;
  }

  function showState(state, rates) {
    // A stopped subscription's window is cleared; what matters is what stopped it, which the
    // STOPPED transition recorded.
    const stop = state.status === "STOPPED" ? [...state.history].reverse().find((t) => t.kind === "STOPPED") : null;
    document.getElementById("bo-status").replaceChildren(badge(state.status));
    document.getElementById("bo-errors-label").textContent = stop ? "Errors when stopped" : "Errors in the window";
    document.getElementById("bo-pauses-label").textContent = stop ? "Pauses when stopped" : "Pauses in the window";
    document.getElementById("bo-until-label").textContent = stop ? "Stopped at" : "Paused until";
    const errors = stop ? stop.errorsInWindow : state.errorsInWindow;
    const pauses = stop ? stop.pausesInWindow : state.pausesInWindow;
    document.getElementById("bo-errors").textContent = `${errors} (pause at ${rates.errorsToPause})`;
    document.getElementById("bo-pauses").textContent = `${pauses} (stop at ${rates.pausesToStop})`;
    document.getElementById("bo-until").textContent = stop ? when(stop.at)
      : state.status === "STOPPED" ? "—" : when(state.pausedUntil);
  }

  async function load() {
    let sub, state, rates;
    try {
      [sub, state, rates] = await Promise.all([api("GET", `/api/subscriptions/${guid}`),
        api("GET", `/api/subscriptions/${guid}/backoff`),
        api("GET", `/api/subscriptions/${guid}/backoff/errors?minutes=30`)]);
    } catch (e) { flash(e.message, "bad"); return; }
    document.getElementById("sub-name").textContent = `${sub.name} (${categoryLabel(sub.eventCategory)})`;
    showState(state, rates);
    history = state.history;
    showHistory();
    drawChart(document.getElementById("chart"), rates, state);
  }
  older.addEventListener("click", () => { historyPage += 1; showHistory(); });
  newer.addEventListener("click", () => { historyPage -= 1; showHistory(); });
  await load();
  setInterval(load, 2000);
}

function drawChart(box, rates, state) {
  // Inline SVG: a few dozen bars and rectangles need no chart library.
  const NS = "http://www.w3.org/2000/svg";
  const W = 900, H = 260, L = 40, B = 30, T = 10;
  const svg = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const minutes = rates.minutes;
  const start = Date.parse(minutes[0].at), end = Date.parse(rates.now) + 1000;
  const windowMinutes = rates.errorWindowSeconds / 60;
  // Errors in the sliding window ending at each minute, against the pause threshold.
  const sliding = minutes.map((_, i) => minutes.slice(Math.max(0, i - Math.ceil(windowMinutes) + 1), i + 1)
    .reduce((sum, m) => sum + m.errors, 0));
  const top = Math.max(rates.errorsToPause * 1.2, ...minutes.map((m) => m.errors), ...sliding, 1);
  const x = (t) => L + (W - L - 10) * (t - start) / (end - start);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "chart" });
  // Shade paused and stopped periods from the history (oldest first).
  const history = state.history;   // the API gives it oldest first
  let openKind = null, openAt = null;
  const shade = (kind, from, to) => {
    const x1 = Math.max(x(from), L), x2 = Math.min(x(to), W - 10);
    if (x2 > x1) root.append(svg("rect", { x: x1, y: T, width: x2 - x1, height: H - T - B, class: "shade " + kind.toLowerCase() }));
  };
  for (const t of history) {
    const at = Date.parse(t.at);
    if (openKind) shade(openKind, openAt, at);
    openKind = t.kind === "PAUSED" || t.kind === "STOPPED" ? t.kind : null;
    openAt = at;
  }
  if (openKind) shade(openKind, openAt, end);
  const barWidth = (W - L - 10) / minutes.length;
  minutes.forEach((m, i) => {
    const bx = x(Date.parse(m.at));
    root.append(svg("rect", { x: bx + 1, y: y(m.errors), width: Math.max(barWidth - 2, 1), height: y(0) - y(m.errors), class: "bar" },));
    if (i % 5 === 0) root.append(svg("text", { x: bx, y: H - 10, class: "tick" }, m.at.slice(11, 16)));
  });
  root.append(svg("polyline", { class: "window", fill: "none",
    points: minutes.map((m, i) => `${x(Date.parse(m.at)) + barWidth / 2},${y(sliding[i])}`).join(" ") }));
  root.append(svg("line", { x1: L, x2: W - 10, y1: y(rates.errorsToPause), y2: y(rates.errorsToPause), class: "threshold" }));
  root.append(svg("text", { x: L + 4, y: y(rates.errorsToPause) - 4, class: "tick" },
    `${rates.errorsToPause} errors in ${windowMinutes} min: pause`));
  for (const v of [0, Math.round(top / 2), Math.round(top)]) root.append(svg("text", { x: 4, y: y(v) + 4, class: "tick" }, v));
  box.replaceChildren(root);
}

// -- Credentials -------------------------------------------------------------------------------
async function credentialsPage() {
  const secretBox = document.getElementById("client-secret");
  const reveal = document.getElementById("reveal-secret");
  const dialog = document.getElementById("rotate-dialog");
  const form = document.getElementById("rotate-form");
  const confirmInput = form.elements.confirm;
  const submit = document.getElementById("rotate-submit");
  let secret = "";

  function showCredentials(c) {
    document.getElementById("client-name").textContent = c.clientName;
    document.getElementById("client-id").textContent = c.clientId;
    document.getElementById("rotated-at").textContent = c.secretRotatedAt ? when(c.secretRotatedAt) : "never";
    secret = c.clientSecret;
    if (secretBox.dataset.hidden === "false") secretBox.textContent = secret;
  }
  reveal.addEventListener("click", () => {
    const hidden = secretBox.dataset.hidden === "true";
    secretBox.textContent = hidden ? secret : "••••••••••••••••";
    secretBox.dataset.hidden = hidden ? "false" : "true";
    reveal.textContent = hidden ? "Hide" : "Reveal";
  });
  document.getElementById("copy-secret").addEventListener("click", (e) => copyText(secret, e.currentTarget));
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", () => copyText(document.querySelector(button.dataset.copy).textContent, button));
  }
  document.getElementById("rotate-open").addEventListener("click", () => {
    form.reset(); submit.disabled = true; document.getElementById("err-confirm").textContent = "";
    dialog.showModal(); confirmInput.focus();
  });
  confirmInput.addEventListener("input", () => { submit.disabled = confirmInput.value !== "ROTATE SECRET"; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await api("POST", "/api/credentials/rotate", { confirm: confirmInput.value });
      dialog.close();
      showCredentials(result);
      flash("Client secret rotated. The credentials file has the new secret; the Activity log lists the rotation.");
    } catch (e) { document.getElementById("err-confirm").textContent = e.message; }
  });
  showCredentials(await api("GET", "/api/credentials"));
}

// -- Activity log ------------------------------------------------------------------------------
async function activityPage() {
  const form = document.getElementById("activity-filters");
  const tbody = document.querySelector("#activity tbody");
  async function load() {
    const f = form.elements;
    const error = document.getElementById("activity-error");
    error.textContent = reversedRange(f.from.value, f.to.value);
    if (error.textContent) { fillRows(tbody, [], "No activity: the dates are reversed.", 5); return; }
    const params = new URLSearchParams();
    if (f.from.value) params.set("from", f.from.value);
    if (f.to.value) params.set("to", f.to.value);
    try {
      const data = await api("GET", "/api/activity?" + params);
      fillRows(tbody, data.activity.map((a) => el("tr", {},
        el("td", {}, when(a.at)), el("td", {}, a.kind === "CLIENT_SECRET_ROTATED" ? "Client secret rotated" : a.kind),
        el("td", { class: "nowrap" }, longValue(a.clientId, "client ID")), el("td", {}, a.address), el("td", {}, a.detail))),
        "No activities match these dates.", 5);
    } catch (e) { error.textContent = e.message; fillRows(tbody, [], "No activity shown.", 5); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  await load();
}

// -- Connected restaurants ---------------------------------------------------------------------
async function restaurantsPage() {
  const form = document.getElementById("restaurant-filters");
  const exportLink = document.getElementById("export-csv");
  let timer = null, generation = 0, applied = { from: "", to: "" };
  function params() {
    const p = new URLSearchParams();
    if (form.elements.q.value.trim()) p.set("q", form.elements.q.value.trim());
    if (applied.from) p.set("from", applied.from);
    if (applied.to) p.set("to", applied.to);
    return p;
  }
  const tbody = document.querySelector("#restaurants tbody");
  const count = document.getElementById("restaurant-count");
  async function load() {
    const mine = ++generation;   // answers to older keystrokes are dropped
    const p = params();
    exportLink.href = "/api/restaurants/export.csv" + (p.toString() ? "?" + p : "");
    const error = document.getElementById("restaurant-error");
    error.textContent = reversedRange(applied.from, applied.to);
    if (error.textContent) {
      fillRows(tbody, [], "No restaurants: the dates are reversed.", 6);
      count.textContent = "";
      exportLink.hidden = true;
      return;
    }
    exportLink.hidden = false;
    try {
      const data = await api("GET", "/api/restaurants?" + p);
      if (mine !== generation) return;
      error.textContent = "";
      fillRows(tbody, data.items.map((r) => el("tr", {},
        el("td", {}, r.restaurantName), el("td", {}, r.locationName), el("td", {}, [r.restaurantCity, r.restaurantState].filter(Boolean).join(", ")),
        el("td", { class: "nowrap" }, longValue(r.restaurantGuid, `GUID of ${r.restaurantName}`)), el("td", {}, when(r.connectedAt)),
        el("td", {}, `${r.lastEventType} · ${when(r.lastEventAt)}`))), "No connected restaurants match.", 6);
      count.textContent = `${data.items.length} connected restaurant(s)`;
    } catch (e) { if (mine === generation) error.textContent = e.message; }
  }
  // The search applies as you type; the date range when Apply is pressed.
  form.elements.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    applied = { from: form.elements.from.value, to: form.elements.to.value };
    load();
  });
  await load();
}

// The API says verified true (signature checked and good), false (rejected, with a reason code)
// or null (the endpoint has no secret to check against): one word a person reads for each.
const REJECTION = { missing_signature: "no signature", malformed_signature: "malformed signature",
  signature_mismatch: "signature does not match", body_without_timestamp: "no timestamp in the body",
  unreadable_body: "unreadable body" };
function verification(m) {
  if (m.verified === true) return { kind: "success", text: "Verified", filter: "yes" };
  if (m.verified === false) {
    const why = REJECTION[m.reason] || m.reason;
    return { kind: "failure", text: why ? `Rejected: ${why}` : "Rejected", filter: "no" };
  }
  return { kind: "unchecked", text: "Unchecked", filter: "unchecked" };
}

// -- Receiver inbox ----------------------------------------------------------------------------
async function inboxPage() {
  const tbody = document.querySelector("#inbox tbody");
  const form = document.getElementById("inbox-filters");
  const dialog = document.getElementById("message-dialog");
  const live = document.getElementById("live-state");
  let nextCursor = null, source = null;

  function params() {
    const p = new URLSearchParams();
    for (const name of ["endpoint", "category", "type", "verified", "duplicate", "q"]) {
      const value = form.elements[name].value.trim();
      if (value) p.set(name, value);
    }
    return p;
  }
  function matches(m) {   // live arrivals are filtered the way the API filters the list
    const f = form.elements;
    if (f.endpoint.value && m.endpoint !== f.endpoint.value.trim()) return false;
    if (f.category.value && m.category !== f.category.value.trim()) return false;
    if (f.type.value && m.type !== f.type.value.trim()) return false;
    if (f.verified.value && verification(m).filter !== f.verified.value) return false;
    if (f.duplicate.value && String(m.duplicate) !== f.duplicate.value) return false;
    return !f.q.value.trim();   // text search needs the body: those show on reload only
  }
  function marks(m) {
    const verdict = verification(m);
    return el("span", { class: "marks" },
      el("span", { class: "badge " + verdict.kind, title: verdict.text }, verdict.text),
      m.duplicate ? el("span", { class: "badge paused" }, "Duplicate") : null,
      m.fault ? el("span", { class: "badge stopped" }, "Fault: " + m.fault) : null);
  }
  function row(m) {
    return el("tr", { dataset: { id: m.id } },
      el("td", {}, el("button", { type: "button", class: "link", onclick: () => openMessage(m.id),
        "aria-label": `Details of message ${m.id}` }, when(m.receivedAt))),
      el("td", {}, m.endpoint), el("td", {}, m.type || "—"), el("td", { class: "nowrap" }, longValue(m.restaurantGuid, "restaurant GUID")),
      el("td", {}, marks(m)), el("td", {}, String(m.status)));
  }
  async function load(append) {
    const p = params();
    p.set("limit", "50");
    if (append && nextCursor) p.set("cursor", nextCursor);
    const error = document.getElementById("inbox-error");
    try {
      // A filtered page checks a bounded window of messages, so it can come back short with a
      // cursor to go on from: follow it (a few times) until the page is full.
      let page = await api("GET", "/api/messages?" + p);
      let messages = page.messages;
      for (let more = 0; more < 20 && page.nextCursor && messages.length < 50; more++) {
        p.set("cursor", page.nextCursor);
        page = await api("GET", "/api/messages?" + p);
        messages = messages.concat(page.messages);
      }
      error.textContent = "";
      nextCursor = page.nextCursor;
      document.getElementById("inbox-more").disabled = !nextCursor;
      const rows = messages.map(row);
      if (append) tbody.append(...rows);
      else fillRows(tbody, rows, "Nothing received yet.", 6);
    } catch (e) { error.textContent = e.message; }
  }
  function connect() {
    if (source) source.close();
    source = new EventSource("/api/messages/stream");
    source.onopen = () => { live.textContent = "live: new arrivals appear at the top"; };
    source.onerror = () => { live.textContent = "reconnecting…"; };
    source.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if (!matches(m)) return;
      const empty = tbody.querySelector("td[colspan]");
      if (empty) empty.parentElement.remove();
      tbody.prepend(row(m));
      while (tbody.rows.length > 500) tbody.deleteRow(-1);   // the page stays light
    };
  }
  async function openMessage(id) {
    const m = await api("GET", `/api/messages/${id}`);
    const fields = [["Received", when(m.receivedAt)], ["Endpoint", m.endpoint], ["Path", m.path],
      ["Event GUID", m.eventGuid || "—"], ["Category", m.category || "—"], ["Event type", m.type || "—"],
      ["Restaurant", m.restaurantGuid || "—"], ["Signature", verification(m).text],
      ["Duplicate", m.duplicate ? `yes (${m.duplicateCount})` : "no"], ["Answered", m.status],
      ["Fault", m.fault || "—"], ["From", m.remote], ["Size", `${m.bodySize} bytes`]];
    document.getElementById("message-fields").replaceChildren(
      ...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
    document.querySelector("#message-headers tbody").replaceChildren(
      ...m.headers.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", { class: "mono" }, v))));
    document.getElementById("message-body").textContent = m.body ?? `(not UTF-8; base64) ${m.bodyBase64}`;
    dialog.showModal();
    dialog.querySelector("[data-close]").focus();
    dialog.scrollTop = 0;   // focus moved the view to the buttons; start reading at the top
  }

  function faultRow(e) {
    // e is null for the last row, which names any other endpoint (auto endpoints are listed
    // only once they have faults).
    const f = e ? e.faults : {};
    const label = e ? e.name : "new endpoint";
    const nameInput = e ? null : el("input", { size: 10, "aria-label": "Endpoint name", placeholder: "name" });
    const status = el("input", { type: "number", min: "100", max: "599", value: f.status || "",
      "aria-label": `${label}: answer status` });
    const rate = el("input", { type: "number", min: "0", max: "1", step: "0.05", value: f.failureRate || 0,
      "aria-label": `${label}: failure rate` });
    const delay = el("input", { type: "number", min: "0", value: f.delayMs || 0, "aria-label": `${label}: delay in ms` });
    const hang = el("input", { type: "checkbox", checked: f.hang, "aria-label": `${label}: hang` });
    const close = el("input", { type: "checkbox", checked: f.close, "aria-label": `${label}: close connection` });
    const apply = async (body) => {
      const name = e ? e.name : nameInput.value.trim();
      if (!name) { flash("Name the endpoint first.", "bad"); nameInput.focus(); return; }
      try {
        await api("PUT", `/api/receiver/endpoints/${encodeURIComponent(name)}/faults`, body);
        flash(Object.keys(body).length ? `Faults set on ${name}.` : `Faults cleared on ${name}.`);
      } catch (err) { flash(err.message, "bad"); }
      await loadEndpoints();
    };
    const settings = () => {
      const body = {};
      if (status.value) body.status = Number(status.value);
      if (Number(rate.value)) body.failureRate = Number(rate.value);
      if (Number(delay.value)) body.delayMs = Number(delay.value);
      if (hang.checked) body.hang = true;
      if (close.checked) body.close = true;
      return body;
    };
    return el("tr", { dataset: { endpoint: e ? e.name : "" } },
      el("th", { scope: "row" }, e ? e.name : nameInput,
        e && f.currentPhase ? el("small", {}, ` (${f.currentPhase})`) : null),
      el("td", {}, status), el("td", {}, rate), el("td", {}, delay), el("td", {}, hang), el("td", {}, close),
      el("td", { class: "nowrap" },
        el("button", { type: "button", class: "small primary", onclick: () => apply(settings()) }, "Apply"), " ",
        e ? el("button", { type: "button", class: "small", onclick: () => apply({}) }, "Clear") : null));
  }

  async function loadEndpoints() {
    const data = await api("GET", "/api/receiver/endpoints");
    document.querySelector("#endpoints tbody").replaceChildren(...data.endpoints.map(faultRow), faultRow(null));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load(false); });
  document.getElementById("inbox-more").addEventListener("click", () => load(true));
  await Promise.all([load(false), loadEndpoints()]);
  connect();
}

// -- start -------------------------------------------------------------------------------------
const PAGES = { home: homePage, webhooks: webhooksPage, events: eventsPage, backoff: backoffPage,
  credentials: credentialsPage, activity: activityPage, restaurants: restaurantsPage, inbox: inboxPage };
document.addEventListener("DOMContentLoaded", () => {
  setupDialogs();
  const page = PAGES[document.body.dataset.page];
  if (page) page(document.body.dataset.guid).catch((e) => flash(e.message, "bad"));
});
