// The signed-in user's strategies: the list with an active switch, and a form that
// creates or edits one, its condition checked as it is typed (condition.js).
import { $, el } from "./dom.js";
import { ApiError, getJson, onAuth, request } from "./api.js";
import { watchCondition } from "./condition.js";

const FIELDS = ["name", "instruments", "interval", "condition", "cooldown_s", "active"];
const strategies = new Map(); // id -> strategy as the API answers it
const listeners = new Set();
let editing = null; // id of the strategy in the form, null for a new one
let recheck = () => {}; // checks the form's condition again (watchCondition)

/** `fn(strategy)` runs when the user asks to backtest a strategy. */
export function onBacktest(fn) {
  listeners.add(fn);
}

function form() {
  return $("strategy-form");
}

/** The form's control `name` (not `form.name`: that would be the form's own name). */
function input(name) {
  return form().elements.namedItem(name);
}

// ------------------------------------------------------------------ the list

function activeSwitch(s) {
  const button = el("button", {
    type: "button", class: "switch", role: "switch", "aria-checked": String(s.active),
    "aria-label": "Active: " + s.name, text: s.active ? "On" : "Off",
  });
  button.addEventListener("click", () => toggle(s.id, button));
  return button;
}

function row(s) {
  const edit = el("button", { type: "button", class: "edit", text: "Edit", "aria-label": "Edit " + s.name });
  edit.addEventListener("click", () => startEdit(s.id));
  const test = el("button", { type: "button", class: "backtest", text: "Backtest", "aria-label": "Backtest " + s.name });
  test.addEventListener("click", () => { for (const fn of listeners) fn(s); });
  return el("tr", { "data-strategy-id": String(s.id), "data-active": String(s.active) },
    el("td", { class: "name", text: s.name }),
    el("td", { text: s.instruments.join(", ") }),
    el("td", { text: s.interval }),
    el("td", { class: "condition", text: s.condition, title: s.canonical || s.condition }),
    el("td", { text: String(s.cooldown_s) + " s" }),
    el("td", {}, activeSwitch(s)),
    el("td", { class: "actions" }, edit, test));
}

function render() {
  const box = $("strategies");
  const items = [...strategies.values()].sort((a, b) => a.id - b.id);
  if (!items.length) {
    box.replaceChildren(el("p", { class: "small", text: "No strategies yet: write one below." }));
  } else {
    const head = ["Name", "Instruments", "Interval", "Condition", "Cooldown", "Active", ""];
    const t = el("table", { class: "strategy-list" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...items.map(row)));
    box.replaceChildren(el("div", { class: "scroll", tabindex: "0" }, t));
  }
  box.dataset.state = "ready";
  box.dataset.count = String(items.length);
}

export async function loadStrategies() {
  strategies.clear();
  for (let offset = 0; ; offset += 200) {
    const page = await getJson("/v1/strategies?" + new URLSearchParams({ limit: "200", offset: String(offset) }));
    for (const s of page.items) strategies.set(s.id, s);
    if (offset + page.items.length >= page.total || !page.items.length) break;
  }
  render();
}

async function toggle(id, button) {
  const s = strategies.get(id);
  button.disabled = true;
  try {
    strategies.set(id, await request("PATCH", "/v1/strategies/" + id, { active: !s.active }));
    render();
  } catch (err) {
    button.disabled = false;
    $("strategy-error").textContent = "Could not switch " + s.name + ": " + err.message;
  }
}

/** The user's strategies as they stand (for the backtest form). */
export function knownStrategies() {
  return [...strategies.values()];
}

// ------------------------------------------------------------------ create and edit

function clearErrors() {
  $("strategy-error").textContent = "";
  for (const name of FIELDS) input(name).removeAttribute("aria-invalid");
}

function resetForm() {
  editing = null;
  const f = form();
  f.reset();
  f.dataset.mode = "create";
  $("strategy-form-title").textContent = "New strategy";
  f.querySelector("button[type=submit]").textContent = "Create";
  $("strategy-cancel").hidden = true;
  clearErrors();
  recheck();
}

function startEdit(id) {
  const s = strategies.get(id);
  const f = form();
  editing = id;
  f.dataset.mode = "edit";
  f.dataset.strategyId = String(id);
  $("strategy-form-title").textContent = "Edit " + s.name;
  input("name").value = s.name;
  input("instruments").value = s.instruments.join(", ");
  input("interval").value = s.interval;
  input("condition").value = s.condition;
  input("cooldown_s").value = String(s.cooldown_s);
  input("active").checked = s.active;
  f.querySelector("button[type=submit]").textContent = "Save";
  $("strategy-cancel").hidden = false;
  clearErrors();
  recheck();
  input("name").focus();
}

function formBody() {
  return {
    name: input("name").value.trim(),
    instruments: input("instruments").value.split(/[\s,]+/).filter(Boolean),
    interval: input("interval").value,
    condition: input("condition").value,
    cooldown_s: Number(input("cooldown_s").value),
    active: input("active").checked,
  };
}

async function submit(ev) {
  ev.preventDefault();
  clearErrors();
  const body = formBody();
  try {
    const saved = editing === null
      ? await request("POST", "/v1/strategies", body)
      : await request("PATCH", "/v1/strategies/" + editing, body);
    strategies.set(saved.id, saved);
    render();
    resetForm();
    $("strategy-error").textContent = "";
    $("strategies").dataset.saved = String(saved.id);
  } catch (err) {
    const p = err instanceof ApiError ? err.problem : {};
    const field = String(p.field || (p.errors && p.errors[0] && p.errors[0].field) || "").split(/[.[]/)[0];
    if (FIELDS.includes(field)) input(field).setAttribute("aria-invalid", "true");
    $("strategy-error").textContent = (field ? field + ": " : "") + err.message;
  }
}

export function startStrategies() {
  const f = form();
  f.addEventListener("submit", (ev) => submit(ev));
  recheck = watchCondition(input("condition"), $("condition-check"));
  $("strategy-cancel").addEventListener("click", resetForm);
  onAuth((signed) => {
    resetForm();
    if (signed) loadStrategies().catch((err) => { $("strategy-error").textContent = "Could not load strategies: " + err.message; });
    else {
      strategies.clear();
      $("strategies").replaceChildren();
      $("strategies").dataset.state = "empty";
    }
  });
}
