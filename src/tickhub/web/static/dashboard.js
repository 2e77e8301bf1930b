/* tickhub dashboard: plain JavaScript, no build step. Same-origin only: the /v1 API, the
   /v1/stream WebSocket and the sessions API. The access token lives in memory only. */
(function () {
  "use strict";

  const INTERVALS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };
  const MAX_CANDLES = 10000;
  const state = {
    rows: new Map(), // "exchange:SYMBOL" -> {item, el}
    selected: null, // {exchange, symbol}
    interval: "1m",
    rangeS: 86400,
    chart: null,
    candles: null,
    volume: null,
    lastBar: null,
    loadEndMs: 0,
    loadSeq: 0,
    sources: new Map(),
    groups: new Map(), // "BTC/USD" -> {el, list, spread, keys}
    token: null,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    const d = digits === undefined ? (Math.abs(value) >= 100 ? 2 : Math.abs(value) >= 1 ? 4 : 8) : digits;
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  async function getJson(path, token) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch(path, { headers, cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  function key(exchange, symbol) {
    return exchange + ":" + symbol;
  }

  // ------------------------------------------------------------------ ticker board
  // Rows are grouped by asset: base and quote group (USD and its stablecoins together, as
  // /v1/compare groups them); each group shows the spread between its venues' prices.

  const USD_LIKE = new Set(["USD", "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "PYUSD", "USDE", "USDS"]);
  const EUR_LIKE = new Set(["EUR", "EURC", "EURI", "AEUR"]);
  const QUOTES = [...USD_LIKE, ...EUR_LIKE, "BTC", "ETH", "BNB", "GBP", "TRY", "JPY"].sort((a, b) => b.length - a.length);
  const ALIASES = { XBT: "BTC", XDG: "DOGE" };

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
    let group = state.groups.get(asset);
    if (group) return group;
    const spread = el("span", { class: "spread", text: "" });
    const list = el("ul", { class: "venues" });
    const li = el("li", { class: "asset", "data-asset": asset });
    li.append(el("div", { class: "asset-head" }, el("span", { class: "asset-name", text: asset }), spread), list);
    $("board").append(li);
    group = { asset, el: li, list, spread, keys: [] };
    state.groups.set(asset, group);
    return group;
  }

  function renderSpread(group) {
    const rows = group.keys.map((k) => state.rows.get(k)).filter((r) => r && r.item.price !== null && r.item.price !== undefined);
    const real = rows.filter((r) => !r.item.simulated);
    const priced = real.length ? real : rows;
    const prices = priced.map((r) => r.item.price);
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
    const button = el("button", { type: "button", class: "tick", "aria-pressed": "false" });
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
    state.rows.set(k, row);
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
    if (row.group) renderSpread(row.group);
  }

  function updatePrice(exchange, symbol, simulated, price) {
    const k = key(exchange, symbol);
    const row = state.rows.get(k) || boardRow({ exchange, symbol, simulated, price: null, open_24h: null });
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

  async function loadSnapshot() {
    const snap = await getJson("/v1/snapshot");
    for (const item of snap.items) {
      const row = state.rows.get(key(item.exchange, item.symbol));
      if (row) {
        row.item.open_24h = item.open_24h;
        if (row.item.price === null || row.item.price === undefined) row.item.price = item.price;
        renderRow(row);
      } else {
        boardRow(item);
      }
    }
    $("board").dataset.state = "ready";
    if (!state.selected && snap.items.length) {
      const first = snap.items.find((i) => i.price !== null) || snap.items[0];
      select(first.exchange, first.symbol);
    }
  }

  // ------------------------------------------------------------------ chart

  function makeChart() {
    const lib = window.LightweightCharts;
    const chart = lib.createChart($("chart"), {
      autoSize: true,
      layout: { background: { color: "#182029" }, textColor: "#c8d0d9" },
      grid: { vertLines: { color: "#222c37" }, horzLines: { color: "#222c37" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    state.candles = chart.addCandlestickSeries({
      upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false,
    });
    state.volume = chart.addHistogramSeries({ priceFormat: { type: "volume" }, priceScaleId: "" });
    state.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    state.candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    state.chart = chart;
  }

  function volumeBar(bar) {
    return { time: bar.time, value: bar.volume, color: bar.close >= bar.open ? "rgba(38,166,154,0.5)" : "rgba(239,83,80,0.5)" };
  }

  async function loadCandles() {
    if (!state.selected) return;
    const seq = ++state.loadSeq;
    const iv = INTERVALS[state.interval];
    const end = Date.now();
    const start = end - Math.min(state.rangeS, (MAX_CANDLES - 1) * iv) * 1000;
    const { exchange, symbol } = state.selected;
    const q = new URLSearchParams({ exchange, symbol, interval: state.interval, start: String(start), end: String(end), limit: String(MAX_CANDLES) });
    const chartEl = $("chart");
    chartEl.dataset.state = "loading";
    const rows = await getJson("/v1/candles?" + q);
    if (seq !== state.loadSeq) return; // a newer request superseded this one
    const bars = rows.map((c) => ({
      time: Math.floor(Date.parse(c.time) / 1000), open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume,
    }));
    const ref = bars.length ? Math.abs(bars[bars.length - 1].close) : 100;
    const precision = ref >= 100 ? 2 : ref >= 1 ? 4 : 8;
    state.candles.applyOptions({ priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
    state.candles.setData(bars.map(({ volume, ...ohlc }) => ohlc));
    state.volume.setData(bars.map(volumeBar));
    state.chart.timeScale().fitContent();
    state.lastBar = bars.length ? { ...bars[bars.length - 1] } : null;
    state.loadEndMs = end;
    Object.assign(chartEl.dataset, {
      candles: String(bars.length), interval: state.interval, exchange, symbol,
      start: String(start), end: String(end), liveUpdates: "0", state: "ready",
    });
  }

  function liveTrade(trade) {
    const tMs = Date.parse(trade.time);
    if (!state.candles || tMs < state.loadEndMs) return; // already in the loaded candles
    const iv = INTERVALS[state.interval];
    const bucket = Math.floor(tMs / 1000 / iv) * iv;
    let bar = state.lastBar;
    if (bar && bucket < bar.time) return;
    if (!bar || bucket > bar.time) {
      bar = { time: bucket, open: trade.price, high: trade.price, low: trade.price, close: trade.price, volume: 0 };
      state.lastBar = bar;
    }
    bar.high = Math.max(bar.high, trade.price);
    bar.low = Math.min(bar.low, trade.price);
    bar.close = trade.price;
    bar.volume += trade.qty;
    const { volume, ...ohlc } = bar;
    state.candles.update(ohlc);
    state.volume.update(volumeBar(bar));
    const chartEl = $("chart");
    chartEl.dataset.liveUpdates = String(Number(chartEl.dataset.liveUpdates || "0") + 1);
  }

  // ------------------------------------------------------------------ statistics, coverage

  async function loadStats() {
    if (!state.selected) return;
    const { exchange, symbol } = state.selected;
    const end = Date.now();
    const start = end - state.rangeS * 1000;
    const [stats, cov] = await Promise.all([
      getJson("/v1/statistics?" + new URLSearchParams({ exchange, symbol, start: String(start), end: String(end) })),
      getJson("/v1/coverage?" + new URLSearchParams({ exchange, symbol })),
    ]);
    if (!state.selected || state.selected.exchange !== exchange || state.selected.symbol !== symbol) return;
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

  // ------------------------------------------------------------------ source health

  function stateLabel(s) {
    const simRunning = [...state.sources.values()].some((x) => x.state === "simulated");
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
    const items = [...state.sources.values()].sort((a, b) => a.source.localeCompare(b.source));
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

  async function loadSources() {
    for (const s of await getJson("/v1/sources")) state.sources.set(s.source, s);
    renderSources();
  }

  // ------------------------------------------------------------------ live stream

  let retryMs = 1000;
  function connect() {
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
        const src = state.sources.get(msg.exchange);
        if (src && (!src.last_trade_time || src.last_trade_time < last.time)) {
          src.last_trade_time = last.time;
          scheduleSources();
        }
        const sel = state.selected;
        if (sel && sel.exchange === msg.exchange && sel.symbol === msg.symbol) msg.trades.forEach(liveTrade);
      } else if (msg.channel === "status") {
        state.sources.set(msg.status.source, msg.status);
        scheduleSources();
      }
    });
    ws.addEventListener("close", () => {
      label.dataset.state = "closed";
      label.textContent = "Live stream: reconnecting…";
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    });
  }

  let sourcesPending = false;
  function scheduleSources() {
    if (sourcesPending) return;
    sourcesPending = true;
    setTimeout(() => { sourcesPending = false; renderSources(); }, 1000);
  }

  // ------------------------------------------------------------------ selection

  function select(exchange, symbol) {
    state.selected = { exchange, symbol };
    for (const [k, row] of state.rows) row.button.setAttribute("aria-pressed", String(k === key(exchange, symbol)));
    $("chart-instrument").textContent = symbol + " · " + exchange;
    refreshChart();
  }

  function refreshChart() {
    loadCandles().catch(showError);
    loadStats().catch(showError);
  }

  function showError(err) {
    const p = $("stream-state");
    p.textContent = "Could not load: " + err.message;
  }

  // ------------------------------------------------------------------ signed-in user

  async function signIn(ev) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const error = $("signin-error");
    error.textContent = "";
    const body = { email: form.email.value.trim(), password: form.password.value };
    const r = await fetch("/api/token", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!r.ok) {
      error.textContent = r.status === 429 ? "Too many attempts; wait a moment." : "Sign-in failed: wrong e-mail or password.";
      return;
    }
    state.token = (await r.json()).access;
    form.password.value = "";
    form.hidden = true;
    $("account").hidden = false;
    $("account-email").textContent = "Signed in as " + body.email;
    await loadSessions();
  }

  function signOut() {
    state.token = null;
    $("account").hidden = true;
    $("sessions").replaceChildren();
    $("sessions").dataset.state = "empty";
    $("signin").hidden = false;
  }

  function table(headers, rows) {
    const t = el("table");
    t.append(el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))));
    t.append(el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", { text: String(c) }))))));
    return el("div", { class: "scroll", tabindex: "0" }, t);
  }

  async function loadSessions() {
    const box = $("sessions");
    const page = await getJson("/session?limit=100", state.token);
    const blocks = [];
    for (const s of page.sessions) {
      const txs = await getJson("/session/" + s.id + "/transaction?limit=100", state.token);
      const d = s.derived || {};
      const block = el("article", { class: "session", "data-session-id": String(s.id) });
      block.append(
        el("h3", { text: s.session_name + " (" + s.type + ", " + s.crypto_type + ")" }),
        table(
          ["Start balance", "End balance", "Start coins", "End coins", "Trades", "Profit/loss"],
          [[fmt(s.starting_balance, 2), fmt(s.ending_balance, 2), fmt(s.starting_coins), fmt(s.ending_coins),
            s.number_of_trades ?? "—", d.profit_loss === undefined ? "—" : fmt(d.profit_loss, 2)]],
        ),
        txs.transactions.length
          ? table(["Step", "Type", "Amount", "Value", "Time"],
            txs.transactions.map((t) => [t.step ?? "—", t.type, fmt(t.amount), fmt(t.value, 2), t.transaction_date_time ?? "—"]))
          : el("p", { class: "small", text: "No transactions yet." }),
      );
      blocks.push(block);
    }
    if (!blocks.length) blocks.push(el("p", { class: "small", text: "No trading sessions yet." }));
    box.replaceChildren(...blocks);
    box.dataset.state = "ready";
    box.dataset.count = String(page.sessions.length);
  }

  // ------------------------------------------------------------------ start

  function start() {
    makeChart();
    for (const b of document.querySelectorAll("#intervals button")) {
      b.addEventListener("click", () => {
        state.interval = b.dataset.interval;
        for (const o of document.querySelectorAll("#intervals button")) o.setAttribute("aria-pressed", String(o === b));
        loadCandles().catch(showError);
      });
    }
    $("range").addEventListener("change", (ev) => {
      state.rangeS = Number(ev.target.value);
      refreshChart();
    });
    $("signin").addEventListener("submit", (ev) => signIn(ev).catch((err) => {
      $("signin-error").textContent = "Sign-in failed: " + err.message;
    }));
    $("signout").addEventListener("click", signOut);
    loadSources().catch(showError);
    loadSnapshot().catch(showError);
    connect();
    setInterval(() => loadSnapshot().catch(showError), 30000);
    setInterval(() => loadStats().catch(showError), 15000);
    setInterval(() => loadSources().catch(showError), 30000);
  }

  start();
})();
