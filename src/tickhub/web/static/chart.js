// The candlestick chart of the selected instrument, kept current by the live trades.
import { $, CANDLE_COLOURS, CHART_THEME, INTERVALS } from "./dom.js";
import { getJson } from "./api.js";
import { onView, showError, view } from "./selection.js";

const MAX_CANDLES = 10000;
const chart = { api: null, candles: null, volume: null, lastBar: null, loadEndMs: 0, loadSeq: 0 };

export function volumeBar(bar) {
  return { time: bar.time, value: bar.volume, color: bar.close >= bar.open ? "rgba(38,166,154,0.5)" : "rgba(239,83,80,0.5)" };
}

/** Candles as Lightweight Charts takes them (time in epoch seconds). */
export function toBars(rows) {
  return rows.map((c) => ({
    time: Math.floor(Date.parse(c.time) / 1000), open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume,
  }));
}

/** A candlestick chart with a volume histogram under it, in `container`. */
export function candleChart(container) {
  const api = window.LightweightCharts.createChart(container, {
    autoSize: true, ...CHART_THEME, timeScale: { timeVisible: true, secondsVisible: false },
  });
  const candles = api.addCandlestickSeries(CANDLE_COLOURS);
  const volume = api.addHistogramSeries({ priceFormat: { type: "volume" }, priceScaleId: "" });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
  return { api, candles, volume };
}

/** Shows `bars` on a chart made by candleChart, with a price precision that suits them. */
export function showBars(target, bars) {
  const ref = bars.length ? Math.abs(bars[bars.length - 1].close) : 100;
  const precision = ref >= 100 ? 2 : ref >= 1 ? 4 : 8;
  target.candles.applyOptions({ priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
  target.candles.setData(bars.map(({ volume, ...ohlc }) => ohlc));
  target.volume.setData(bars.map(volumeBar));
  target.api.timeScale().fitContent();
}

export async function loadCandles() {
  if (!view.selected) return;
  const seq = ++chart.loadSeq;
  const iv = INTERVALS[view.interval];
  const end = Date.now();
  const start = end - Math.min(view.rangeS, (MAX_CANDLES - 1) * iv) * 1000;
  const { exchange, symbol } = view.selected;
  const q = new URLSearchParams({ exchange, symbol, interval: view.interval, start: String(start), end: String(end), limit: String(MAX_CANDLES) });
  const chartEl = $("chart");
  chartEl.dataset.state = "loading";
  const bars = toBars(await getJson("/v1/candles?" + q));
  if (seq !== chart.loadSeq) return; // a newer request superseded this one
  showBars(chart, bars);
  chart.lastBar = bars.length ? { ...bars[bars.length - 1] } : null;
  chart.loadEndMs = end;
  Object.assign(chartEl.dataset, {
    candles: String(bars.length), interval: view.interval, exchange, symbol,
    start: String(start), end: String(end), liveUpdates: "0", state: "ready",
  });
}

/** A trade of the selected instrument, from the live stream. */
export function liveTrade(trade) {
  const tMs = Date.parse(trade.time);
  if (!chart.candles || tMs < chart.loadEndMs) return; // already in the loaded candles
  const iv = INTERVALS[view.interval];
  const bucket = Math.floor(tMs / 1000 / iv) * iv;
  let bar = chart.lastBar;
  if (bar && bucket < bar.time) return;
  if (!bar || bucket > bar.time) {
    bar = { time: bucket, open: trade.price, high: trade.price, low: trade.price, close: trade.price, volume: 0 };
    chart.lastBar = bar;
  }
  bar.high = Math.max(bar.high, trade.price);
  bar.low = Math.min(bar.low, trade.price);
  bar.close = trade.price;
  bar.volume += trade.qty;
  const { volume, ...ohlc } = bar;
  chart.candles.update(ohlc);
  chart.volume.update(volumeBar(bar));
  const chartEl = $("chart");
  chartEl.dataset.liveUpdates = String(Number(chartEl.dataset.liveUpdates || "0") + 1);
}

export function startChart() {
  Object.assign(chart, candleChart($("chart")));
  onView((what) => {
    if (what === "instrument") $("chart-instrument").textContent = view.selected.symbol + " · " + view.selected.exchange;
    loadCandles().catch(showError);
  });
}
