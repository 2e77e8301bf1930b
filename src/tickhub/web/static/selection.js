// What the chart shows: the selected instrument, interval and range. Panels subscribe.

export const view = {
  selected: null, // {exchange, symbol}
  interval: "1m",
  rangeS: 86400,
};
const listeners = new Set();

/** `fn(what)` runs on every change: what is "instrument", "interval" or "range". */
export function onView(fn) {
  listeners.add(fn);
}

function changed(what) {
  for (const fn of listeners) fn(what);
}

export function select(exchange, symbol) {
  view.selected = { exchange, symbol };
  changed("instrument");
}

export function chooseInterval(interval) {
  view.interval = interval;
  changed("interval");
}

export function setRange(seconds) {
  view.rangeS = seconds;
  changed("range");
}

export function isSelected(exchange, symbol) {
  return view.selected !== null && view.selected.exchange === exchange && view.selected.symbol === symbol;
}

/** A failure to load something, shown in the header's status line. */
export function showError(err) {
  document.getElementById("stream-state").textContent = "Could not load: " + err.message;
}
