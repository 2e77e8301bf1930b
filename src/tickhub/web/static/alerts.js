// The signed-in user's alerts: the latest from /v1/alerts, then each new one as the
// /v1/alerts/stream WebSocket pushes it, with the values that made its condition true.
// Browsers cannot set headers on a WebSocket, so the access token goes as `?token=`;
// when the server closes with 4401 (the token expired), it is refreshed and the stream
// reopened; when the refresh fails too, the user is signed out.
import { $, el, fmt, fmtTime } from "./dom.js";
import { EXPIRED, accessToken, getJson, onAuth, refreshAccess, signOut, signedIn } from "./api.js";

const SHOWN = 50;
const CLOSE_UNAUTHENTICATED = 4401;
const feed = { ws: null, retryMs: 1000, seen: new Set(), generation: 0 };

function setState(state, text) {
  const box = $("alerts-feed");
  box.dataset.state = state;
  $("alerts-state").textContent = text;
}

function valuesList(values) {
  const entries = Object.entries(values || {});
  if (!entries.length) return el("p", { class: "small", text: "No values recorded." });
  return el("dl", { class: "values" }, ...entries.flatMap(([k, v]) => [
    el("dt", {}, el("code", { text: k })), el("dd", { "data-value": String(v), text: fmt(v) }),
  ]));
}

function item(a, source) {
  const where = a.instrument.exchange + ":" + a.instrument.symbol;
  return el("li", { class: "alert", "data-alert-id": String(a.id), "data-source": source },
    el("div", { class: "alert-head" },
      el("strong", { text: a.strategy_name }),
      el("span", { text: where + " · " + a.interval }),
      el("span", { class: "small", text: "candle closed " + fmtTime(a.candle_close) })),
    el("p", { class: "small" }, "Close ", el("strong", { text: fmt(a.close) }), " · ", el("code", { text: a.condition })),
    valuesList(a.values));
}

/** Adds an alert in its place, newest (highest id) first. */
function add(a, source) {
  if (feed.seen.has(a.id)) return;
  feed.seen.add(a.id);
  const list = $("alerts-list");
  const node = item(a, source);
  const after = [...list.children].find((li) => Number(li.dataset.alertId) < a.id);
  list.insertBefore(node, after || null);
  while (list.children.length > SHOWN) list.lastElementChild.remove();
  $("alerts-empty").hidden = true;
  list.dataset.count = String(list.children.length);
}

async function loadRecent() {
  const page = await getJson("/v1/alerts?limit=20");
  for (const a of page.items) add(a, "history");
}

function connect(generation) {
  if (generation !== feed.generation || !signedIn()) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/v1/alerts/stream?" + new URLSearchParams({ token: accessToken() }));
  feed.ws = ws;
  ws.addEventListener("open", () => {
    feed.retryMs = 1000;
    // The pong comes once the server has registered this client: from then on, no alert is missed.
    ws.send(JSON.stringify({ op: "ping" }));
  });
  ws.addEventListener("message", (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.op === "pong") {
      const box = $("alerts-feed");
      box.dataset.connections = String(Number(box.dataset.connections || "0") + 1);
      setState("live", "Live: new alerts appear here as they are raised.");
    }
    else if (msg.id !== undefined && msg.instrument) add(msg, "stream");
  });
  ws.addEventListener("close", async (ev) => {
    if (generation !== feed.generation) return; // signed out meanwhile
    setState("closed", "Alert stream closed; reconnecting…");
    if (ev.code === CLOSE_UNAUTHENTICATED && !(await refreshAccess())) {
      signOut(EXPIRED);
      return;
    }
    setTimeout(() => {
      loadRecent().catch(() => {}); // what was raised while closed
      connect(generation);
    }, feed.retryMs);
    feed.retryMs = Math.min(feed.retryMs * 2, 30000);
  });
}

function stop() {
  feed.generation++;
  if (feed.ws) feed.ws.close();
  feed.ws = null;
  feed.seen.clear();
  $("alerts-list").replaceChildren();
  $("alerts-list").dataset.count = "0";
  $("alerts-empty").hidden = false;
  setState("off", "");
}

export function startAlerts() {
  onAuth((signed) => {
    stop();
    if (!signed) return;
    const generation = feed.generation;
    setState("connecting", "Connecting…");
    loadRecent()
      .catch((err) => { $("alerts-state").textContent = "Could not load alerts: " + err.message; })
      .finally(() => connect(generation));
  });
}
