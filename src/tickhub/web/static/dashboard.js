/* tickhub dashboard: plain JavaScript ES modules, no build step, one module per panel.
   Same-origin only: the /v1 API, the /v1/stream and /v1/alerts/stream WebSockets and the
   sessions API. The tokens of a sign-in live in memory only (api.js). */
import { $ } from "./dom.js";
import { startAccount } from "./account.js";
import { startAlerts } from "./alerts.js";
import { startBacktest } from "./backtest.js";
import { loadSnapshot } from "./board.js";
import { startChart } from "./chart.js";
import { startMarket } from "./market.js";
import { chooseInterval, setRange, showError } from "./selection.js";
import { startSources } from "./sources.js";
import { startStats } from "./stats.js";
import { startStrategies } from "./strategies.js";
import { connectStream } from "./stream.js";

function start() {
  startChart();
  startStats();
  for (const b of document.querySelectorAll("#intervals button")) {
    b.addEventListener("click", () => {
      for (const o of document.querySelectorAll("#intervals button")) o.setAttribute("aria-pressed", String(o === b));
      chooseInterval(b.dataset.interval);
    });
  }
  $("range").addEventListener("change", (ev) => setRange(Number(ev.target.value)));
  startAccount();
  startStrategies();
  startAlerts();
  startBacktest();
  startMarket();
  startSources();
  loadSnapshot().catch(showError);
  connectStream();
  setInterval(() => loadSnapshot().catch(showError), 30000);
}

start();
