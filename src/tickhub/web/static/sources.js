// Source health: each source's state and its last trade.
import { $, el, fmtTime } from "./dom.js";
import { getJson } from "./api.js";
import { showError } from "./selection.js";

const sources = new Map();

function stateLabel(s) {
  const simRunning = [...sources.values()].some((x) => x.state === "simulated");
  switch (s.state) {
    case "connected": return ["connected", "Connected"];
    case "connecting":
    case "reconnecting": return ["reconnecting", "Reconnecting"];
    case "simulated": return ["simulated", "Simulated market running"];
    case "offline": return ["offline", simRunning ? "Offline, simulation running" : "Offline"];
    default: return ["offline", s.state];
  }
}

function renderSources() {
  const ul = $("sources");
  const items = [...sources.values()].sort((a, b) => a.source.localeCompare(b.source));
  ul.replaceChildren(...items.map((s) => {
    const [cls, label] = stateLabel(s);
    const name = el("strong", { text: s.source });
    if (s.simulated) name.append(el("span", { class: "badge", text: "simulated" }));
    return el("li", { "data-source": s.source, "data-state": s.state },
      name,
      el("span", { class: "state " + cls, text: label }),
      el("span", { class: "small", text: "Last trade: " + fmtTime(s.last_trade_time) }));
  }));
  ul.dataset.state = "ready";
}

let pending = false;
function scheduleRender() {
  if (pending) return;
  pending = true;
  setTimeout(() => { pending = false; renderSources(); }, 1000);
}

/** A source's status pushed by the live stream. */
export function sourceStatus(status) {
  sources.set(status.source, status);
  scheduleRender();
}

/** A trade seen on the live stream moves its source's last trade time on. */
export function sourceTrade(exchange, time) {
  const src = sources.get(exchange);
  if (src && (!src.last_trade_time || src.last_trade_time < time)) {
    src.last_trade_time = time;
    scheduleRender();
  }
}

async function loadSources() {
  for (const s of await getJson("/v1/sources")) sources.set(s.source, s);
  renderSources();
}

export function startSources() {
  loadSources().catch(showError);
  setInterval(() => loadSources().catch(showError), 30000);
}
