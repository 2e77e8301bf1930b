// The whole market, as CoinMarketCap lists it (source `coinmarketcap`): the latest global
// metrics, BTC and ETH dominance over time, and the top listings by rank.
import { $, CHART_THEME, el, fmt, fmtBig, fmtTime } from "./dom.js";
import { ApiError, getJson } from "./api.js";
import { showError } from "./selection.js";

const TOP = 20;
const PAGE = 10000; // the most /v1/global-metrics/history answers at once
const MAX_PAGES = 5;
const market = { chart: null, btc: null, eth: null, rangeS: 86400, seq: 0 };

function change(pct) {
  if (pct === null || pct === undefined) return el("td", { text: "—" });
  return el("td", { class: "change " + (pct >= 0 ? "up" : "down"), text: (pct >= 0 ? "+" : "") + fmt(pct, 2) + "%" });
}

function renderListings(items) {
  const box = $("listings");
  box.dataset.state = "ready";
  box.dataset.count = String(items.length);
  if (!items.length) {
    box.replaceChildren(el("p", { class: "small", text:
      "No CoinMarketCap data stored yet: add coinmarketcap to TICKHUB_SOURCES (with TICKHUB_CMC_API_KEY)." }));
    return;
  }
  const head = ["#", "Coin", "Price", "1h", "24h", "7d", "Market cap", "Volume 24h"];
  const rows = items.map((c) => el("tr", { "data-symbol": c.symbol, "data-rank": String(c.rank ?? "") },
    el("td", { text: c.rank ?? "—" }),
    el("td", {}, el("strong", { text: c.symbol }), " ", el("span", { class: "small", text: c.name })),
    el("td", { class: "num", text: fmt(c.price) + " " + c.convert }),
    change(c.percent_change_1h), change(c.percent_change_24h), change(c.percent_change_7d),
    el("td", { class: "num", text: fmtBig(c.market_cap) }),
    el("td", { class: "num", text: fmtBig(c.volume_24h) })));
  const t = el("table", { class: "listings" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows));
  box.replaceChildren(el("div", { class: "scroll", tabindex: "0" }, t),
    el("p", { class: "small", text: "As fetched for " + fmtTime(items[0].time) }));
}

function renderGlobal(g) {
  const dl = $("global-metrics");
  if (!g) {
    dl.replaceChildren();
    dl.dataset.state = "empty";
    return;
  }
  const figures = [
    ["Total market cap", fmtBig(g.total_market_cap) + " " + g.convert],
    ["Volume 24h", fmtBig(g.total_volume_24h) + " " + g.convert],
    ["BTC dominance", fmt(g.btc_dominance, 2) + "%"],
    ["ETH dominance", fmt(g.eth_dominance, 2) + "%"],
    ["Active coins", fmt(g.active_cryptocurrencies, 0)],
    ["As of", fmtTime(g.time)],
  ];
  dl.replaceChildren(...figures.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  dl.dataset.state = "ready";
  dl.dataset.btcDominance = String(g.btc_dominance);
}

async function loadHistory() {
  const seq = ++market.seq;
  const end = Date.now();
  let start = end - market.rangeS * 1000;
  const items = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = new URLSearchParams({ start: String(start), end: String(end), limit: String(PAGE) });
    const h = await getJson("/v1/global-metrics/history?" + q);
    items.push(...h.items);
    if (!h.next_start) break;
    start = Date.parse(h.next_start);
  }
  if (seq !== market.seq) return;
  const point = (field) => (g) => ({ time: Math.floor(Date.parse(g.time) / 1000), value: g[field] });
  market.btc.setData(items.map(point("btc_dominance")));
  market.eth.setData(items.map(point("eth_dominance")));
  market.chart.timeScale().fitContent();
  const box = $("dominance-chart");
  box.dataset.points = String(items.length);
  box.dataset.state = items.length ? "ready" : "empty";
}

export async function loadMarket() {
  const listings = await getJson("/v1/listings?limit=" + TOP);
  renderListings(listings);
  let latest = null;
  if (listings.length) {
    try {
      latest = await getJson("/v1/global-metrics");
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err; // none fetched yet
    }
  }
  renderGlobal(latest);
  await loadHistory();
}

export function startMarket() {
  market.chart = window.LightweightCharts.createChart($("dominance-chart"), {
    autoSize: true, ...CHART_THEME, timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { scaleMargins: { top: 0.1, bottom: 0.1 } },
  });
  const percent = { type: "custom", formatter: (v) => v.toFixed(2) + "%" };
  market.btc = market.chart.addLineSeries({ color: "#f7931a", lineWidth: 2, title: "BTC", priceFormat: percent });
  market.eth = market.chart.addLineSeries({ color: "#8c8cff", lineWidth: 2, title: "ETH", priceFormat: percent });
  $("dominance-range").addEventListener("change", (ev) => {
    market.rangeS = Number(ev.target.value);
    loadHistory().catch(showError);
  });
  loadMarket().catch(showError);
  setInterval(() => loadMarket().catch(showError), 60000);
}
