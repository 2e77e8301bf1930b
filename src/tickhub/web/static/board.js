// The ticker board. Rows are grouped by asset: base and quote group (USD and its
// stablecoins together, as /v1/compare groups them); each group shows the spread between
// its venues' prices.
import { $, el, fmt } from "./dom.js";
import { getJson } from "./api.js";
import { isSelected, onView, select, view } from "./selection.js";

const USD_LIKE = new Set(["USD", "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "PYUSD", "USDE", "USDS"]);
const EUR_LIKE = new Set(["EUR", "EURC", "EURI", "AEUR"]);
const QUOTES = [...USD_LIKE, ...EUR_LIKE, "BTC", "ETH", "BNB", "GBP", "TRY", "JPY"].sort((a, b) => b.length - a.length);
const ALIASES = { XBT: "BTC", XDG: "DOGE" };

const rows = new Map(); // "exchange:SYMBOL" -> {item, el, button, group}
const groups = new Map(); // "BTC/USD" -> {el, list, spread, keys}

export function key(exchange, symbol) {
  return exchange + ":" + symbol;
}

function quoteGroup(quote) {
  const q = ALIASES[quote] || quote;
  return USD_LIKE.has(q) ? "USD" : EUR_LIKE.has(q) ? "EUR" : q;
}

function assetOf(item) {
  let base = (item.base || "").toUpperCase();
  let quote = (item.quote || "").toUpperCase();
  if (!base || !quote) {
    const s = item.symbol.toUpperCase();
    quote = QUOTES.find((q) => s.endsWith(q) && s.length > q.length) || "";
    base = quote ? s.slice(0, -quote.length) : s;
  }
  return (ALIASES[base] || base) + "/" + quoteGroup(quote);
}

function assetGroup(asset) {
  let group = groups.get(asset);
  if (group) return group;
  const spread = el("span", { class: "spread", text: "" });
  const list = el("ul", { class: "venues" });
  const li = el("li", { class: "asset", "data-asset": asset });
  li.append(el("div", { class: "asset-head" }, el("span", { class: "asset-name", text: asset }), spread), list);
  $("board").append(li);
  group = { asset, el: li, list, spread, keys: [] };
  groups.set(asset, group);
  return group;
}

function renderSpread(group) {
  const priced = group.keys.map((k) => rows.get(k)).filter((r) => r && r.item.price !== null && r.item.price !== undefined);
  const real = priced.filter((r) => !r.item.simulated);
  const prices = (real.length ? real : priced).map((r) => r.item.price);
  if (!prices.length) {
    group.spread.textContent = "";
    group.spread.dataset.venues = "0";
    return;
  }
  const high = Math.max(...prices);
  const low = Math.min(...prices);
  const pct = low > 0 ? ((high - low) / low) * 100 : 0;
  group.spread.dataset.venues = String(prices.length);
  group.spread.dataset.spread = String(high - low);
  group.spread.textContent =
    prices.length > 1
      ? "spread " + fmt(high - low) + " (" + fmt(pct, 3) + "%) over " + prices.length + " venues"
      : "one venue";
}

function boardRow(item) {
  const k = key(item.exchange, item.symbol);
  const button = el("button", { type: "button", class: "tick", "aria-pressed": String(isSelected(item.exchange, item.symbol)) });
  const name = el("span", { class: "name", text: item.symbol });
  if (item.simulated) name.append(el("span", { class: "badge", text: "simulated" }));
  button.append(
    name,
    el("span", { class: "price", text: "—" }),
    el("span", { class: "exchange", text: item.exchange }),
    el("span", { class: "change", text: "—" }),
  );
  button.addEventListener("click", () => select(item.exchange, item.symbol));
  const li = el("li", { "data-key": k, "data-updates": "0", "data-simulated": String(item.simulated) });
  li.append(button);
  const group = assetGroup(assetOf(item));
  group.list.append(li);
  group.keys.push(k);
  const row = { item: { ...item }, el: li, button, group };
  rows.set(k, row);
  renderRow(row);
  return row;
}

function renderRow(row) {
  const it = row.item;
  const price = row.button.querySelector(".price");
  const change = row.button.querySelector(".change");
  price.textContent = fmt(it.price);
  row.el.dataset.price = it.price === null || it.price === undefined ? "" : String(it.price);
  if (it.price !== null && it.price !== undefined && it.open_24h) {
    const diff = it.price - it.open_24h;
    const pct = (diff / it.open_24h) * 100;
    change.textContent = (diff >= 0 ? "+" : "") + fmt(pct, 2) + "% 24h";
    change.className = "change " + (diff >= 0 ? "up" : "down");
  } else {
    change.textContent = "— 24h";
    change.className = "change";
  }
  row.button.setAttribute(
    "aria-label",
    it.symbol + " on " + it.exchange + (it.simulated ? " (simulated)" : "") + ", " + price.textContent,
  );
  renderSpread(row.group);
}

/** A live price from the stream. */
export function updatePrice(exchange, symbol, simulated, price) {
  const row = rows.get(key(exchange, symbol)) || boardRow({ exchange, symbol, simulated, price: null, open_24h: null });
  const before = row.item.price;
  row.item.price = price;
  renderRow(row);
  row.el.dataset.updates = String(Number(row.el.dataset.updates) + 1);
  if (before !== null && before !== undefined && before !== price) {
    const cls = price > before ? "flash-up" : "flash-down";
    row.button.classList.remove("flash-up", "flash-down");
    void row.button.offsetWidth; // restart the animation
    row.button.classList.add(cls);
  }
}

export async function loadSnapshot() {
  const snap = await getJson("/v1/snapshot");
  for (const item of snap.items) {
    const row = rows.get(key(item.exchange, item.symbol));
    if (row) {
      row.item.open_24h = item.open_24h;
      if (row.item.price === null || row.item.price === undefined) row.item.price = item.price;
      renderRow(row);
    } else {
      boardRow(item);
    }
  }
  $("board").dataset.state = "ready";
  if (!view.selected && snap.items.length) {
    const first = snap.items.find((i) => i.price !== null) || snap.items[0];
    select(first.exchange, first.symbol);
  }
}

/** The instruments on the board, "exchange:SYMBOL". */
export function instrumentKeys() {
  return [...rows.keys()];
}

onView((what) => {
  if (what !== "instrument") return;
  for (const [k, row] of rows) row.button.setAttribute("aria-pressed", String(k === key(view.selected.exchange, view.selected.symbol)));
});
