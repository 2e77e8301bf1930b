// Signing in and out, and the signed-in user's trading sessions (seed 000's /session).
import { $, el, fmt, table } from "./dom.js";
import { getJson, onAuth, signIn, signOut, signOutReason, userEmail } from "./api.js";

async function submit(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const error = $("signin-error");
  error.textContent = "";
  const why = await signIn(form.email.value.trim(), form.password.value);
  if (why) {
    error.textContent = why;
    return;
  }
  form.password.value = "";
}

export async function loadSessions() {
  const box = $("sessions");
  const page = await getJson("/session?limit=100");
  const blocks = [];
  for (const s of page.sessions) {
    const txs = await getJson("/session/" + s.id + "/transaction?limit=100");
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

function authChanged(signed) {
  $("signin").hidden = signed;
  $("signin-link").hidden = signed;
  $("account").hidden = !signed;
  for (const panel of document.querySelectorAll("[data-needs-sign-in]")) panel.hidden = !signed;
  if (signed) {
    $("account-email").textContent = "Signed in as " + userEmail();
    $("signin-error").textContent = "";
    loadSessions().catch((err) => { $("signin-error").textContent = "Could not load sessions: " + err.message; });
  } else {
    $("signin-error").textContent = signOutReason();
    $("sessions").replaceChildren();
    $("sessions").dataset.state = "empty";
  }
}

export function startAccount() {
  $("signin").addEventListener("submit", (ev) => submit(ev).catch((err) => {
    $("signin-error").textContent = "Sign-in failed: " + err.message;
  }));
  $("signout").addEventListener("click", () => signOut());
  $("signin-link").addEventListener("click", (ev) => {
    ev.preventDefault();
    $("signin").querySelector("input[name=email]").focus(); // scrolls it into view
  });
  onAuth(authChanged);
}
