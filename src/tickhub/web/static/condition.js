// A condition checked as it is typed (POST /v1/strategies/check): shortly after each
// keystroke, its canonical reading and the candles it needs, or where and why it does
// not parse. Answers that arrive after a newer keystroke are dropped.
import { el } from "./dom.js";
import { ApiError, request } from "./api.js";

const CHECK_DELAY_MS = 250;

function pointAt(condition, position) {
  // The condition with the fault marked: up to 30 characters either side of it.
  const from = Math.max(0, position - 30);
  const before = condition.slice(from, position);
  const at = condition.slice(position, position + 1) || " ";
  const after = condition.slice(position + 1, position + 31);
  return el("code", { class: "where" }, (from ? "…" : "") + before, el("mark", { text: at }), after);
}

/** Checks `textarea` as it is typed, showing the verdict in `output`; answers a function
 *  that checks again now (after the textarea was filled by code). */
export function watchCondition(textarea, output) {
  let seq = 0;
  let timer = null;

  function show(state, ...content) {
    output.dataset.state = state;
    output.replaceChildren(...content);
    textarea.setAttribute("aria-invalid", String(state === "error"));
  }

  async function checkNow(condition, mine) {
    try {
      const c = await request("POST", "/v1/strategies/check", { condition });
      if (mine !== seq) return;
      const needs = c.lookback > 1 ? " · needs " + c.lookback + " candles" : "";
      show("ok", el("span", { class: "ok", text: "✓ " }), "Reads as ", el("code", { text: c.canonical }), needs);
    } catch (err) {
      if (mine !== seq) return;
      if (!(err instanceof ApiError) || err.status >= 500 || err.status === 401) {
        show("unknown", "Could not check the condition: " + err.message);
        return;
      }
      const p = err.problem;
      const parts = [el("span", { class: "bad", text: "✗ " }), p.reason || p.detail || err.message];
      if (typeof p.position === "number") parts.push(" at character " + (p.position + 1) + ": ", pointAt(condition, p.position));
      show("error", ...parts);
    }
  }

  function typed() {
    clearTimeout(timer);
    const mine = ++seq;
    const condition = textarea.value;
    if (!condition.trim()) {
      show("empty");
      return;
    }
    show("checking", "Checking…");
    timer = setTimeout(() => checkNow(condition, mine), CHECK_DELAY_MS);
  }

  textarea.addEventListener("input", typed);
  return typed;
}
