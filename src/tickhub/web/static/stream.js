// The live market stream (/v1/stream): trades for the board and the chart, source states.
import { $ } from "./dom.js";
import { updatePrice } from "./board.js";
import { liveTrade } from "./chart.js";
import { isSelected } from "./selection.js";
import { sourceStatus, sourceTrade } from "./sources.js";

let retryMs = 1000;

export function connectStream() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/v1/stream?instruments=*&channels=trades,status");
  const label = $("stream-state");
  ws.addEventListener("open", () => {
    retryMs = 1000;
    label.dataset.state = "open";
    label.textContent = "Live stream: connected";
  });
  ws.addEventListener("message", (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.channel === "trades" && msg.trades.length) {
      const last = msg.trades[msg.trades.length - 1];
      updatePrice(msg.exchange, msg.symbol, msg.simulated, last.price);
      sourceTrade(msg.exchange, last.time);
      if (isSelected(msg.exchange, msg.symbol)) msg.trades.forEach(liveTrade);
    } else if (msg.channel === "status") {
      sourceStatus(msg.status);
    }
  });
  ws.addEventListener("close", () => {
    label.dataset.state = "closed";
    label.textContent = "Live stream: reconnecting…";
    setTimeout(connectStream, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  });
}
