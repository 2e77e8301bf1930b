// Requests to tickhub's own API (same origin only) and the signed-in user.
//
// Signing in posts to /api/token; the access and refresh tokens it answers live in this
// module's memory only (never in localStorage, sessionStorage or a cookie): reloading the
// page signs out. A request answered 401 refreshes the access token once (one refresh in
// flight at a time, since /api/token/refresh uses its token up) and is sent again; when
// the refresh fails too, the user is signed out.

const auth = { access: null, refresh: null, email: null, reason: "" };
export const EXPIRED = "Your sign-in no longer holds (it expired, or was signed out elsewhere): sign in again.";
const listeners = new Set();
let refreshing = null;

export class ApiError extends Error {
  constructor(path, status, problem) {
    super((problem && problem.detail) || path + ": HTTP " + status);
    this.status = status;
    this.problem = problem || {};
  }
}

export function signedIn() {
  return auth.access !== null;
}

export function accessToken() {
  return auth.access;
}

export function userEmail() {
  return auth.email;
}

/** `fn(signedIn)` runs after every sign-in and sign-out. */
export function onAuth(fn) {
  listeners.add(fn);
}

function announce() {
  for (const fn of listeners) fn(signedIn());
}

/** Signs in; answers null, or why not. */
export async function signIn(email, password) {
  const r = await fetch("/api/token", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }),
  });
  if (!r.ok) return r.status === 429 ? "Too many attempts; wait a moment." : "Sign-in failed: wrong e-mail or password.";
  const pair = await r.json();
  Object.assign(auth, { access: pair.access, refresh: pair.refresh, email, reason: "" });
  announce();
  return null;
}

/** Signs out; `reason` says why when it was not the user's choice. */
export function signOut(reason = "") {
  Object.assign(auth, { access: null, refresh: null, email: null, reason });
  announce();
}

/** Why the last sign-out happened ("" when the user chose it). */
export function signOutReason() {
  return auth.reason;
}

/** A fresh access token from the refresh token; false when that no longer holds. */
export function refreshAccess() {
  if (!refreshing) {
    const token = auth.refresh;
    refreshing = (async () => {
      if (!token) return false;
      const r = await fetch("/api/token/refresh", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh: token }),
      });
      if (!r.ok || auth.refresh !== token) return false;
      const pair = await r.json();
      auth.access = pair.access;
      auth.refresh = pair.refresh;
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function problemOf(r) {
  const type = r.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try { return await r.json(); } catch { return null; }
}

async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (auth.access) headers.Authorization = "Bearer " + auth.access;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Calls the API (with the user's token when signed in); the JSON answer, null for 204;
 *  an ApiError carrying the problem document otherwise. */
export async function request(method, path, body) {
  let r = await send(method, path, body);
  if (r.status === 401 && auth.refresh) {
    if (await refreshAccess()) r = await send(method, path, body);
    if (r.status === 401) signOut(EXPIRED);
  }
  if (!r.ok) throw new ApiError(path, r.status, await problemOf(r));
  return r.status === 204 ? null : r.json();
}

export const getJson = (path) => request("GET", path);
