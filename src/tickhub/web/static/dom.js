// Small DOM and formatting helpers shared by every panel.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

export function fmt(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const d = digits === undefined ? (Math.abs(value) >= 100 ? 2 : Math.abs(value) >= 1 ? 4 : 8) : digits;
  return Number(value).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** A fraction as a signed percentage: 0.0123 -> "+1.23%". */
export function fmtPct(fraction, digits = 2) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "—";
  const pct = fraction * 100;
  return (pct > 0 ? "+" : "") + fmt(pct, digits) + "%";
}

/** A large amount in short form: 2.41e12 -> "2.41 T". */
export function fmtBig(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const units = [[1e12, " T"], [1e9, " B"], [1e6, " M"], [1e3, " k"]];
  for (const [size, suffix] of units) if (Math.abs(value) >= size) return fmt(value / size, 2) + suffix;
  return fmt(value, 2);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function table(headers, rows) {
  const t = el("table");
  t.append(el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))));
  t.append(el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", { text: String(c) }))))));
  return el("div", { class: "scroll", tabindex: "0" }, t);
}

export const INTERVALS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };

/** Colours of the charts (the page's palette). */
export const CHART_THEME = {
  layout: { background: { color: "#182029" }, textColor: "#c8d0d9" },
  grid: { vertLines: { color: "#222c37" }, horzLines: { color: "#222c37" } },
};
export const CANDLE_COLOURS = {
  upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false,
};
