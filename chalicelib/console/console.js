// The review console: calls the service's REST routes with the admin's bearer token and shows
// what they answer. It keeps no data of its own. Every URL is relative to the page, which lives
// at <api>/console (a deployed API's stage path included).
"use strict";

const PAGE_SIZE = 25;
const STATUS = { needs_review: "Needs review", pending: "Pending", verified: "Verified", rejected: "Rejected" };
const KINDS = { id_front: "ID, front", id_back: "ID, back", selfie: "Selfie", id_portrait: "Face on the ID",
  liveness: "Liveness" };
const FIELDS = { FIRST_NAME: "First name", MIDDLE_NAME: "Middle name", LAST_NAME: "Last name",
  DATE_OF_BIRTH: "Date of birth", DOCUMENT_NUMBER: "ID number", EXPIRATION_DATE: "Expiry date",
  ADDRESS: "Address", CITY_IN_ADDRESS: "City", STATE_IN_ADDRESS: "State", ZIP_CODE_IN_ADDRESS: "ZIP code" };
const API_BASE = location.pathname.replace(/\/console\/?$/, "");
const $ = (id) => document.getElementById(id);
const state = { config: null, token: null, claims: null, status: "needs_review", next: null, current: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function notice(text, bad) {
  $("notice").textContent = text || "";
  $("notice").classList.toggle("bad", Boolean(bad));
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

function who(decidedBy) {
  const words = { system: "automatic verification", "submission:api": "the customer's submission",
    "submission:bundle": "the bank's bundle" };
  return words[decidedBy] || decidedBy || "";
}

function badge(status) {
  return el("span", { class: `badge ${status}` }, STATUS[status] || status);
}

// -- the token: from the URL fragment (#token=...), the tab's session, or the user pool's sign-in --

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    return JSON.parse(json);
  } catch (e) {
    return null;
  }
}

function consoleUrl() {
  return location.origin + location.pathname;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function signIn() {
  const sign = state.config.sign_in;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("kyc-console-pkce", JSON.stringify({ verifier, nonce }));
  const query = new URLSearchParams({ response_type: "code", client_id: sign.client_id, redirect_uri: consoleUrl(),
    scope: sign.scope, state: nonce, code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(`${sign.authorize_url}?${query}`);
}

async function finishSignIn(params) {
  const sign = state.config.sign_in;
  const pkce = JSON.parse(sessionStorage.getItem("kyc-console-pkce") || "null");
  sessionStorage.removeItem("kyc-console-pkce");
  history.replaceState(null, "", location.pathname);
  if (!sign || !pkce || params.get("state") !== pkce.nonce) throw new Error("The sign-in could not be completed; sign in again.");
  const response = await fetch(sign.token_url, { method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: sign.client_id,
      code: params.get("code"), redirect_uri: consoleUrl(), code_verifier: pkce.verifier }) });
  if (!response.ok) throw new Error("The user pool refused the sign-in; sign in again.");
  return (await response.json()).id_token;
}

async function findToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  let token = fragment.get("token") || fragment.get("id_token");
  if (token) history.replaceState(null, "", location.pathname);  // the token leaves the address bar
  else if (query.get("code")) token = await finishSignIn(query);
  else token = sessionStorage.getItem("kyc-console-token");
  const claims = token && claimsOf(token);
  if (!claims || (claims.exp && claims.exp * 1000 < Date.now())) {
    sessionStorage.removeItem("kyc-console-token");
    return false;
  }
  sessionStorage.setItem("kyc-console-token", token);
  state.token = token;
  state.claims = claims;
  return true;
}

function signOut() {
  sessionStorage.removeItem("kyc-console-token");
  state.token = null;
  const sign = state.config && state.config.sign_in;
  if (sign) {
    location.assign(`${sign.logout_url}?${new URLSearchParams({ client_id: sign.client_id, logout_uri: consoleUrl() })}`);
    return;
  }
  showSignIn("You are signed out.");
}

function showSignIn(message) {
  $("workspace").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  const sign = state.config && state.config.sign_in;
  $("sign-in-button").hidden = !sign;
  $("sign-in-text").textContent = sign
    ? "Sign in with your admin account of the tenant."
    : "Open the address that `python -m kyc_service console --tenant <tenant>` prints: it carries an admin's token.";
  notice(message || "", false);
}

// -- the REST routes -------------------------------------------------------------------------

function tenantPath() {
  return `${API_BASE}/kyc/stage/${encodeURIComponent(state.config.stage)}/tenant/${encodeURIComponent(state.claims["custom:tenant"] || "")}`;
}

async function api(path, options) {
  const response = await fetch(tenantPath() + path, Object.assign({}, options, {
    headers: Object.assign({ Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
      (options || {}).headers) }));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const error = new Error((body && body.error && body.error.message) || `The service answered ${response.status}.`);
    error.status = response.status;
    error.code = body && body.error && body.error.code;
    throw error;
  }
  return body;
}

function explain(error) {
  if (error.status === 401) return "Your sign-in has expired or is not valid: sign in again.";
  if (error.status === 403) return `This account is not an admin of tenant "${state.claims["custom:tenant"] || "?"}": the console shows nothing to it.`;
  return error.message;
}

// -- the queue -------------------------------------------------------------------------------

async function loadQueue(more) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.status) query.set("status", state.status);
  if (more && state.next) query.set("next", state.next);
  let page;
  try {
    page = await api(`/records?${query}`);
  } catch (error) {
    notice(explain(error), true);
    if (error.status === 401 || error.status === 403) {
      $("workspace").hidden = true;
      if (error.status === 401) showSignIn(explain(error));
    }
    return;
  }
  $("workspace").hidden = false;
  const list = $("queue-list");
  if (!more) list.replaceChildren();
  for (const record of page.records) list.append(queueItem(record));
  state.next = page.next;
  $("more").hidden = !page.next;
  const count = list.children.length;
  const label = state.status ? STATUS[state.status] : "All applications";
  $("queue-summary").textContent = count
    ? `${label}: ${count}${page.next ? " so far" : ""}, most recently updated first.`
    : `${label}: none.`;
}

function queueItem(record) {
  const name = [record.first_name, record.middle_name, record.last_name].filter(Boolean).join(" ");
  const current = state.current && state.current.email === record.email && state.current.id_type === record.id_type
    && state.current.id_value === record.id_value;
  return el("li", {}, el("button", { type: "button", class: "item", "data-email": record.email,
    "aria-current": current ? "true" : null, onclick: () => openRecord(record.email, record.id_type, record.id_value) },
  el("span", { class: "name" }, name || record.email),
  el("span", { class: "meta" }, record.email),
  el("span", { class: "meta" }, badge(record.validation_status), ` ${record.id_type} · updated ${when(record.last_updated_time)}`)));
}

// -- one record ------------------------------------------------------------------------------

async function openRecord(email, idType, idValue) {
  notice("");
  let records;
  let trail;
  try {
    const path = `/email/${encodeURIComponent(email)}`;
    [records, trail] = await Promise.all([api(path), api(`${path}/events`)]);
  } catch (error) {
    notice(explain(error), true);
    return;
  }
  const record = records.records.find((r) => r.id_type === idType && r.id_value === idValue) || records.records[0];
  state.current = record;
  showRecord(record, trail.events);
  for (const item of $("queue-list").querySelectorAll(".item")) {
    item.setAttribute("aria-current", item.dataset.email === email ? "true" : "false");
  }
  $("record").hidden = false;
  $("record-title").focus();
}

function showRecord(record, events) {
  const name = [record.first_name, record.middle_name, record.last_name].filter(Boolean).join(" ");
  $("record-title").textContent = name || record.email;
  $("record-status").replaceChildren(badge(record.validation_status),
    record.decided_by ? ` decided by ${who(record.decided_by)}` : " not decided yet",
    record.decision_final ? el("span", { class: "final-note" }, "Final: the customer may not submit again.") : "");
  $("images").replaceChildren(...images(record, name));
  $("details").replaceChildren(...details(record));
  $("checks").replaceChildren(...checks(record.checks || {}));
  const reasons = record.reasons && record.reasons.length ? record.reasons : ["No reason recorded."];
  $("reasons").replaceChildren(...reasons.map((r) => el("li", {}, r)));
  showEvents(events);
  $("decision").reset();
  $("decision-error").textContent = "";
}

function images(record, name) {
  const shown = (record.document_links || []).filter((link) => link.view_url);
  if (!shown.length) return [el("p", {}, "No document image can be shown for this application.")];
  return shown.map((link) => {
    const label = KINDS[link.kind] || link.kind, alt = `${label} of ${name || record.email}`;
    const picture = link.kind === "id_portrait" && link.bounding_box && !link.sha256
      ? croppedFace(link.view_url, link.bounding_box, alt) : el("img", { src: link.view_url, alt, loading: "lazy" });
    return el("figure", {}, picture, el("figcaption", {}, label));
  });
}

function croppedFace(url, box, alt) { // the AWS path keeps the ID face as a box on the ID front
  const canvas = el("canvas", { role: "img", "aria-label": alt }), img = new Image(), f = (v) => Math.min(Math.max(+v || 0, 0), 1);
  img.onload = () => {
    const W = img.naturalWidth, H = img.naturalHeight, sx = f(box.Left) * W, sy = f(box.Top) * H;
    const sw = Math.max(1, Math.min(f(box.Width) * W, W - sx)), sh = Math.max(1, Math.min(f(box.Height) * H, H - sy));
    [canvas.width, canvas.height] = [Math.round(sw), Math.round(sh)];
    canvas.getContext("2d").drawImage(img, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
  }; img.src = url; return canvas;
}

function details(record) {
  const rows = [["E-mail", record.email], ["ID", `${record.id_type} ${record.id_value}`],
    ["Date of birth", record.date_of_birth], ["Phone", record.phone_number],
    ["Address", [record.address, record.city, record.state, record.zip_code].filter(Boolean).join(", ")],
    ["E-mail verified", record.email_verified === null || record.email_verified === undefined ? "unknown" : record.email_verified ? "yes" : "no"],
    ["Submitted", when(record.created_time)], ["Last updated", when(record.last_updated_time)]];
  return rows.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]);
}

function verdict(passed) {
  if (passed === true) return el("span", { class: "ok" }, "Passed: ");
  if (passed === false) return el("span", { class: "bad" }, "Failed: ");
  return el("span", { class: "unsure" }, "Not settled: ");
}

// what a decision records beside its checks: the rules it applied, the SHA-256 of what it checked
const NOT_CHECKS = new Set(["rules", "evidence"]);

function checks(all) {
  const items = [];
  for (const [name, check] of Object.entries(all)) {
    if (!check || typeof check !== "object" || NOT_CHECKS.has(name)) continue;
    items.push(el("li", {}, verdict(check.passed), checkText(name, check), fieldTable(name, check)));
  }
  return items.length ? items : [el("li", {}, "No automatic check has run on this application.")];
}

function checkText(name, c) {
  const pct = (v) => (typeof v === "number" ? `${v.toFixed(1)}%` : "unknown");
  switch (name) {
    case "face_match":
      return c.passed ? `the selfie matches the photo on the ID (similarity ${pct(c.similarity)}).`
        : `the selfie ${c.passed === false ? "does not clearly match" : "could not be compared with"} the photo on the ID (similarity ${pct(c.similarity)}).`;
    case "details_match":
      return c.passed ? "the details read from the ID match the submitted ones." : "some details read from the ID differ from the submitted ones:";
    case "license_validation":
      return c.passed ? "the licence issuer's check confirmed the licence." : c.passed === false
        ? "the licence issuer's check did not confirm the licence." : "the licence issuer's check has not answered.";
    case "duplicate":
      return c.passed ? "no other customer of this tenant has the same face or ID number."
        : `${c.matches || "some"} other customer(s) of this tenant have the same face or ID number: ` + (c.records || [])
          .map((r) => (r.found ? `${r.email} (same ${r.via === "face" ? "face" : "ID number"})` : "a customer erased or no longer verified")).join("; ");
    case "liveness":
      return c.passed ? `the selfie came from a live person (confidence ${pct(c.confidence)}).` : `the liveness check failed (confidence ${pct(c.confidence)}).`;
    default:
      return name.replace(/_/g, " ") + ".";
  }
}

function fieldTable(name, check) {
  if (name !== "details_match" || !check.fields || check.passed) return null;
  const rows = Object.entries(check.fields).map(([field, f]) => el("tr", {},
    el("th", { scope: "row" }, FIELDS[field] || field), el("td", {}, f.submitted || ""), el("td", {}, f.document || ""),
    el("td", {}, f.passed ? "matches" : "differs")));
  return el("table", { class: "fields" }, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Field"),
    el("th", { scope: "col" }, "Submitted"), el("th", { scope: "col" }, "On the ID"), el("th", { scope: "col" }, "Result"))),
  el("tbody", {}, rows));
}

function showEvents(events) {
  const rows = events.map((e) => el("tr", {},
    el("td", { "data-label": "When" }, e.occurred_at ? new Date(e.occurred_at).toLocaleString() : ""),
    el("td", { "data-label": "Change" },
      e.from ? `${STATUS[e.from] || e.from} → ${STATUS[e.to] || e.to}` : `submitted: ${STATUS[e.to] || e.to}`),
    el("td", { "data-label": "By" }, who(e.decided_by)),
    el("td", { "data-label": "Reasons" }, (e.reasons || []).join("; "))));
  $("events").tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 4 }, "No status change recorded yet."))]));
}

// -- the decision ----------------------------------------------------------------------------

async function decide(event) {
  event.preventDefault();
  const record = state.current;
  const outcome = document.querySelector('input[name="outcome"]:checked');
  const reason = $("reason").value.trim();
  const problem = !outcome ? "Choose verified or rejected." : !reason ? "Give a reason." : "";
  $("decision-error").textContent = problem;
  if (problem) {
    (outcome ? $("reason") : $("outcome-verified")).focus();
    return;
  }
  $("decide").disabled = true;
  const before = $("events").tBodies[0].querySelectorAll("tr").length;
  try {
    const decided = await api(`/email/${encodeURIComponent(record.email)}/validate`, { method: "POST",
      body: JSON.stringify({ id_type: record.id_type, id_value: record.id_value, verification_status: outcome.value,
        reason, final: $("final").checked }) });
    state.current = decided;
    showRecord(decided, (await api(`/email/${encodeURIComponent(record.email)}/events`)).events);
    notice(`Decision recorded: ${STATUS[decided.validation_status]}.`);
    await followTrail(record.email, before);
    await loadQueue(false);
  } catch (error) {
    $("decision-error").textContent = explain(error);
  } finally {
    $("decide").disabled = false;
  }
}

async function followTrail(email, before) {
  // the audit entry is written by the stream handler just after the decision: wait for it a little
  for (let i = 0; i < 20; i += 1) {
    const trail = await api(`/email/${encodeURIComponent(email)}/events`);
    if (trail.events.length > before || i === 19) {
      showEvents(trail.events);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// -- start -----------------------------------------------------------------------------------

async function start() {
  $("sign-in-button").addEventListener("click", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("status").addEventListener("change", () => { state.status = $("status").value; loadQueue(false); });
  $("refresh").addEventListener("click", () => loadQueue(false));
  $("more").addEventListener("click", () => loadQueue(true));
  $("back").addEventListener("click", () => { $("record").hidden = true; $("queue-title").scrollIntoView(); $("status").focus(); });
  $("decision").addEventListener("submit", decide);
  try {
    state.config = await (await fetch("console/config.json")).json();
    if (!(await findToken())) {
      showSignIn();
      return;
    }
  } catch (error) {
    state.config = state.config || { stage: "", sign_in: null };
    showSignIn(error.message);
    return;
  }
  $("who").textContent = `${state.claims.email || state.claims.sub} · tenant ${state.claims["custom:tenant"] || "?"} · stage ${state.config.stage}`;
  $("sign-out").hidden = false;
  await loadQueue(false);
}

start();
