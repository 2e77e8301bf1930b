// Backtests (POST /v1/strategies/backtest): how often a condition would have fired over
// a window, and what happened next. The alerts are drawn as markers on the window's
// candles; the summary gives, per horizon h (in candles), the mean and median forward
// return close[t+h] / close[t] - 1 and the share of alerts it was positive after.
import { $, INTERVALS, el, fmt, fmtPct, fmtTime } from "./dom.js";
import { ApiError, getJson, onAuth, request } from "./api.js";
import { candleChart, showBars, toBars } from "./chart.js";
import { instrumentKeys } from "./board.js";
import { onBacktest } from "./strategies.js";
import { watchCondition } from "./condition.js";

const MAX_CANDLES = 10000;
const ROWS_SHOWN = 200;
const bt = { chart: null, seq: 0, recheck: () => {} };

function form() {
  return $("backtest-form");
}

function input(name) {
  return form().elements.namedItem(name);
}

/** A datetime-local value read as UTC, and back. */
const utcMs = (value) => Date.parse(value + ":00Z");
const localValue = (ms) => new Date(ms).toISOString().slice(0, 16);

function defaultWindow() {
  const end = Math.floor(Date.now() / 60000) * 60000;
  input("end").value = localValue(end);
  input("start").value = localValue(end - 86400000);
}

function horizonsOf(text) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  return parts.length ? parts.map(Number) : undefined;
}

function instrumentParts(text, alerts) {
  if (alerts.length) return alerts[0].instrument;
  const i = text.indexOf(":");
  return i > 0 ? { exchange: text.slice(0, i), symbol: text.slice(i + 1) } : { exchange: null, symbol: text };
}

// ------------------------------------------------------------------ the answer

function summaryTable(summary, horizons) {
  const per = summary.horizons || {};
  const rows = horizons.map((h) => {
    const s = per[String(h)] || {};
    return el("tr", { "data-horizon": String(h) },
      el("th", { scope: "row", text: h + (h === 1 ? " candle" : " candles") }),
      el("td", { text: s.count === undefined ? "—" : String(s.count) }),
      el("td", { class: "num", text: fmtPct(s.mean) }),
      el("td", { class: "num", text: fmtPct(s.median) }),
      el("td", { class: "num", text: s.positive_share === null || s.positive_share === undefined ? "—" : fmt(s.positive_share * 100, 1) + "%" }));
  });
  const head = ["After", "Alerts with a return", "Mean", "Median", "Positive"];
  return el("div", { class: "scroll", tabindex: "0" }, el("table", { class: "summary" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows)));
}

function alertsTable(alerts, horizons) {
  if (!alerts.length) return el("p", { class: "small", text: "The condition never held in this window." });
  const head = ["Candle closed", "Instrument", "Close", ...horizons.map((h) => "+" + h)];
  const rows = alerts.slice(0, ROWS_SHOWN).map((a) => el("tr", {},
    el("td", { text: fmtTime(a.candle_close) }),
    el("td", { text: a.instrument.exchange + ":" + a.instrument.symbol }),
    el("td", { class: "num", text: fmt(a.close) }),
    ...horizons.map((h) => {
      const r = (a.forward_returns || {})[String(h)];
      return el("td", { class: "num change " + (r > 0 ? "up" : r < 0 ? "down" : ""), text: fmtPct(r) });
    })));
  const more = alerts.length > ROWS_SHOWN ? [el("p", { class: "small", text: "The first " + ROWS_SHOWN + " of " + alerts.length + " alerts." })] : [];
  return el("div", {}, el("div", { class: "scroll", tabindex: "0" }, el("table", { class: "bt-alerts" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows))), ...more);
}

/** Where the window's data has holes (the backtest saw no candles there), per instrument. */
function holesNote(answer) {
  return (answer.coverage || []).filter((c) => !c.complete).map((c) => {
    const where = c.instrument.exchange + ":" + c.instrument.symbol;
    const holes = c.holes || [];
    const first = holes.slice(0, 3).map((h) => fmtTime(h.start) + " → " + fmtTime(h.end)).join("; ");
    return el("p", { class: "warning coverage-note", "data-instrument": where, text:
      where + ": " + c.candles + " of " + c.expected_candles + " candles in this window; " + holes.length +
      " hole(s) with no data" + (first ? " (" + first + (holes.length > 3 ? "; …" : "") + ")" : "") + "." });
  });
}

async function drawChart(instrument, interval, startMs, endMs, alerts) {
  const q = new URLSearchParams({ symbol: instrument.symbol, interval, start: String(startMs), end: String(endMs), limit: String(MAX_CANDLES) });
  if (instrument.exchange) q.set("exchange", instrument.exchange);
  const bars = toBars(await getJson("/v1/candles?" + q));
  showBars(bt.chart, bars);
  const markers = alerts
    .filter((a) => a.instrument.exchange === instrument.exchange && a.instrument.symbol === instrument.symbol)
    .map((a) => ({ time: Math.floor(Date.parse(a.candle_start) / 1000), position: "belowBar", color: "#4c9aff", shape: "arrowUp", text: "" }))
    .sort((x, y) => x.time - y.time);
  bt.chart.candles.setMarkers(markers);
  Object.assign($("backtest-chart").dataset, {
    candles: String(bars.length), markers: String(markers.length), markerTimes: markers.map((m) => m.time).join(","), state: "ready",
  });
}

async function run(ev) {
  if (ev) ev.preventDefault();
  const seq = ++bt.seq;
  const error = $("backtest-error");
  error.textContent = "";
  for (const c of form().elements) c.removeAttribute("aria-invalid");
  const instrument = input("instrument").value.trim();
  const interval = input("interval").value;
  const startMs = utcMs(input("start").value);
  const endMs = utcMs(input("end").value);
  const body = {
    instruments: [instrument], interval, condition: input("condition").value,
    start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(),
    cooldown_s: Number(input("cooldown_s").value),
  };
  const horizons = horizonsOf(input("horizons").value);
  if (horizons) body.horizons = horizons;
  const result = $("backtest-result");
  result.dataset.state = "running";
  $("backtest-status").textContent = "Running…";
  let answer;
  try {
    answer = await request("POST", "/v1/strategies/backtest", body);
  } catch (err) {
    if (seq !== bt.seq) return;
    result.dataset.state = "error";
    $("backtest-status").textContent = "";
    const p = err instanceof ApiError ? err.problem : {};
    const field = String(p.field || (p.errors && p.errors[0] && p.errors[0].field) || "").split(/[.[]/)[0];
    const control = field && form().elements.namedItem(field === "instruments" ? "instrument" : field);
    if (control) control.setAttribute("aria-invalid", "true");
    error.textContent = (field ? field + ": " : "") + err.message;
    return;
  }
  if (seq !== bt.seq) return;
  const alerts = answer.alerts || [];
  const shownHorizons = answer.horizons || horizons || [];
  const summary = answer.summary || {};
  $("backtest-status").textContent =
    (summary.count ?? alerts.length) + " alert(s) of " + interval + " candles from " +
    fmtTime(body.start) + " to " + fmtTime(body.end) + ".";
  $("backtest-summary").replaceChildren(...holesNote(answer), summaryTable(summary, shownHorizons));
  $("backtest-alerts").replaceChildren(alertsTable(alerts, shownHorizons));
  const iv = INTERVALS[interval];
  const shownEnd = iv ? Math.min(endMs, startMs + MAX_CANDLES * iv * 1000) : endMs;
  await drawChart(instrumentParts(instrument, alerts), interval, startMs, shownEnd, alerts);
  if (seq !== bt.seq) return;
  Object.assign(result.dataset, { state: "ready", alerts: String(alerts.length) });
}

function fill(strategy) {
  input("instrument").value = strategy.instruments[0];
  input("interval").value = strategy.interval;
  input("condition").value = strategy.condition;
  input("cooldown_s").value = String(strategy.cooldown_s);
  bt.recheck();
  $("backtest-panel").scrollIntoView({ block: "start" });
  run().catch((err) => { $("backtest-error").textContent = err.message; });
}

export function startBacktest() {
  bt.chart = candleChart($("backtest-chart"));
  bt.recheck = watchCondition(input("condition"), $("backtest-condition-check"));
  form().addEventListener("submit", (ev) => run(ev).catch((err) => { $("backtest-error").textContent = err.message; }));
  onBacktest(fill);
  onAuth((signed) => {
    if (!signed) return;
    defaultWindow();
    const list = $("instrument-options");
    list.replaceChildren(...instrumentKeys().map((k) => el("option", { value: k })));
  });
}
