// Statistics of the selected instrument over the shown range, and its coverage.
import { $, el, fmt, fmtTime } from "./dom.js";
import { getJson } from "./api.js";
import { isSelected, onView, showError, view } from "./selection.js";

export async function loadStats() {
  if (!view.selected) return;
  const { exchange, symbol } = view.selected;
  const end = Date.now();
  const start = end - view.rangeS * 1000;
  const [stats, cov] = await Promise.all([
    getJson("/v1/statistics?" + new URLSearchParams({ exchange, symbol, start: String(start), end: String(end) })),
    getJson("/v1/coverage?" + new URLSearchParams({ exchange, symbol })),
  ]);
  if (!isSelected(exchange, symbol)) return;
  const dl = $("stats");
  const figures = [
    ["Trades", fmt(stats.count, 0)], ["Open", fmt(stats.open)], ["High", fmt(stats.high)],
    ["Low", fmt(stats.low)], ["Close", fmt(stats.close)], ["Change", stats.change_pct === null ? "—" : fmt(stats.change_pct, 2) + "%"],
    ["Mean", fmt(stats.mean)], ["Median", fmt(stats.median)], ["Std dev", fmt(stats.std)],
    ["VWAP", fmt(stats.vwap)], ["Volume", fmt(stats.volume, 4)], ["Quote volume", fmt(stats.quote_volume, 2)],
  ];
  dl.replaceChildren(...figures.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  dl.dataset.state = "ready";
  dl.dataset.count = String(stats.count);

  const box = $("coverage");
  const status = el("p", {
    class: cov.complete ? "state connected" : "state reconnecting",
    text: cov.complete
      ? "Complete: no trade id is missing"
      : cov.completeness === "time"
        ? "Completeness not known: this venue has no consecutive trade ids"
        : cov.gaps.length + " open gap(s)",
  });
  const list = el("ul", { class: "small" });
  for (const r of cov.ranges.slice(-5)) {
    list.append(el("li", { text: "ids " + r.first_id + "–" + r.last_id + ": " + fmtTime(r.start) + " → " + fmtTime(r.end) }));
  }
  for (const g of cov.gaps.slice(-5)) {
    list.append(el("li", { text: "gap: " + g.missing + " missing (ids " + g.first_id + "–" + g.last_id + ") after " + fmtTime(g.after) }));
  }
  box.replaceChildren(status, el("p", { class: "small", text: cov.ranges.length + " stored range(s)" }), list);
  box.dataset.state = "ready";
  box.dataset.complete = String(cov.complete);
}

export function startStats() {
  onView((what) => {
    if (what !== "interval") loadStats().catch(showError);
  });
  setInterval(() => loadStats().catch(showError), 15000);
}
