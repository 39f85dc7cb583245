// The courier app: one page, screens chosen by the URL hash, every action queued locally first.
import { ApiError, Offline, call } from "./api.js";
import { normalise, format } from "./s10.js";
import { feedback, startCamera, stopCamera } from "./scanner.js";
import { events, kv } from "./store.js";
import { deviceKeyFields } from "./signing.js";
import { arrivals, onChange, pendingCount, queueArrival, queueEvent, storeMedia, syncNow, uuid, watchPosition } from "./sync.js";
import { dayCount, hasChanges, planChanges, stopState } from "./progress.js";
import { currentLang, t, toggleLang } from "./i18n.js";
import { vnDateTime, vnTime } from "./vntime.js";
import { capturedDocuments, digitiseScreen } from "./digitise.js";

const root = document.getElementById("app");

// -- tiny DOM helper ------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function time(iso) {
  return vnTime(iso, currentLang());
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// -- chrome: connection, unsent count, language ----------------------------------------------
async function statusBar() {
  const count = await pendingCount();
  const online = navigator.onLine;
  return h(
    "div",
    { class: `status ${online ? "is-online" : "is-offline"}`, id: "status" },
    h("span", { class: "conn", "data-online": online ? "1" : "0" }, online ? t("online") : t("offline")),
    h(
      "span",
      { class: "pending", id: "pending-count", "data-count": String(count) },
      count ? `${count} ${t("unsynced")}` : t("all_synced"),
    ),
    count && online ? h("button", { class: "small", onclick: () => syncNow() }, t("sync_now")) : null,
  );
}

async function refreshStatus() {
  const current = document.getElementById("status");
  if (current) current.replaceWith(await statusBar());
}

function topBar(title, back) {
  return h(
    "header",
    { class: "bar" },
    back ? h("a", { class: "back", href: back, "aria-label": t("back") }, "‹") : null,
    h("h1", {}, title),
    h(
      "button",
      {
        class: "lang",
        onclick: () => {
          toggleLang();
          route();
        },
      },
      currentLang() === "en" ? "VI" : "EN",
    ),
  );
}

function tabs(active) {
  const tab = (hash, key) => h("a", { href: hash, class: active === hash ? "tab active" : "tab" }, t(key));
  return h(
    "nav",
    { class: "tabs" },
    tab("#/home", "tab_runsheet"),
    tab("#/scan", "scan"),
    tab("#/handover", "handover"),
    tab("#/queue", "queue"),
    tab("#/figures", "tab_figures"),
  );
}

async function screen(title, back, body, active) {
  stopCamera();
  root.replaceChildren(topBar(title, back), await statusBar(), h("main", {}, body), active ? tabs(active) : "");
}

function message(kind, text) {
  return h("p", { class: `msg ${kind}`, role: kind === "bad" ? "alert" : "status" }, text);
}

// -- sign in ----------------------------------------------------------------------------------
async function deviceId() {
  let id = await kv.get("install_id");
  if (!id) {
    id = uuid();
    await kv.set("install_id", id);
  }
  return id;
}

async function loginScreen(note) {
  const error = h("div", { id: "login-error" }, note ? message("bad", note) : "");
  const form = h(
    "form",
    { class: "card", id: "login-form" },
    h("label", { for: "username" }, t("username")),
    h("input", { id: "username", name: "username", autocomplete: "username", autocapitalize: "none", required: true }),
    h("label", { for: "password" }, t("password")),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, t("sign_in")),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const session = await call("POST", "/auth/login", {
        username: form.username.value.trim(),
        password: form.password.value,
        device: {
          install_id: await deviceId(),
          name: navigator.userAgent.slice(0, 80),
          platform: "web",
          // The install's signing key: every event is signed with it (docs/ledger.md).
          ...(await deviceKeyFields()),
        },
      });
      await kv.set("session", session);
      go("#/home");
    } catch (err) {
      error.replaceChildren(message("bad", err instanceof Offline ? t("need_network_sign_in") : t("wrong_credentials")));
    }
  });
  await screen(t("sign_in"), null, form, null);
}

// -- run sheet --------------------------------------------------------------------------------
async function loadRunsheet() {
  try {
    const sheet = await call("GET", "/runsheet");
    await kv.set("runsheet", sheet);
    return sheet;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return (await kv.get("runsheet")) || { stops: [] }; // offline: the last copy
  }
}

// What a stop's state reads as on its card and screen.
function stateLabel(state) {
  if (state.status === "done") return t(state.confirmed ? "stop_done" : "stop_done_unsent");
  if (state.status === "failed") return t(state.confirmed ? "stop_failed" : "stop_failed_unsent");
  if (state.status === "arrived") return t("stop_arrived");
  if (state.status === "cancelled") return t("stop_cancelled");
  return null;
}

// The money at a stop in a few words for the list; the stop's screen says how (collectLine).
function collectShort(stop) {
  const c = stop.collect;
  if (!c) return null;
  const text = c.due_vnd > 0 ? `${t("collect_short")} ${vnd(c.due_vnd)}` : t("paid_short");
  return h("div", { class: `collect-short collect-${c.how}`, "data-due": String(c.due_vnd) }, text);
}

function stopCard(stop, state) {
  const label = stateLabel(state);
  return h(
    "a",
    {
      class: `card stop status-${state.status}${state.confirmed ? "" : " unsent"}`,
      href: `#/stop/${stop.id}`,
      "data-stop": String(stop.id),
      "data-status": state.status,
      "data-confirmed": state.confirmed ? "1" : "0",
    },
    h("div", { class: "seq" }, stop.sequence ?? "–"),
    h(
      "div",
      {},
      h("strong", {}, t(`stop_kind_${stop.kind}`)),
      label ? h("div", { class: "stop-state" }, label) : null,
      h("div", {}, stop.place),
      h("div", { class: "muted" }, `${t("window")} ${time(stop.window_start)}–${time(stop.window_end)} · ${t("eta")} ${time(stop.eta)}`),
      collectShort(stop),
      h("div", { class: "muted" }, (stop.items || []).map((i) => format(i.code)).join(", ")),
    ),
  );
}

// Each stop's state as this phone knows it: the server's sheet, then the local queue.
async function stopStates(stops) {
  const [records, arrived] = await Promise.all([events.all(), arrivals()]);
  return new Map(stops.map((s) => [s.id, stopState(s, records, arrived)]));
}

// The plan changed since the courier last looked: name what moved, in their language, and
// keep saying it until they tap "understood" (a refresh in between adds to the list).
async function notePlanChanges(sheet) {
  const shown = await kv.get("runsheet_shown");
  if (shown && shown.date === sheet.date) {
    const changes = planChanges(shown, sheet);
    if (hasChanges(changes)) {
      const kept = (await kv.get("plan_changes")) || [];
      const line = (key, stop, extra = "") => ({ key, kind: stop.kind, place: stop.place, extra });
      kept.push(
        ...changes.added.map((s) => line("plan_added", s, `#${s.sequence ?? "–"}`)),
        ...changes.removed.map((s) => line("plan_removed", s)),
        ...changes.moved.map((m) => line("plan_moved", m.stop, `#${m.from ?? "–"} → #${m.to ?? "–"}`)),
      );
      await kv.set("plan_changes", kept);
    }
  }
  await kv.set("runsheet_shown", sheet);
}

async function planChangesBanner() {
  const lines = (await kv.get("plan_changes")) || [];
  if (!lines.length) return null;
  return h(
    "div",
    { class: "card changes", id: "plan-changes", role: "status" },
    h("strong", {}, t("plan_changed")),
    h("ul", {}, lines.map((l) => h("li", { "data-change": l.key }, `${t(l.key)}: ${t(`stop_kind_${l.kind}`)} — ${l.place}${l.extra ? ` (${l.extra})` : ""}`))),
    h("button", { class: "small", id: "plan-changes-ok", onclick: async () => { await kv.del("plan_changes"); go("#/home"); } }, t("understood")),
  );
}

// Leaflet (vendored) with the configured tiles when it has loaded; the stops and the route are
// vector layers, so the map is useful with no tile server reachable (offline, or none set).
function leafletMap(stops) {
  const placed = stops.filter((s) => s.lat && s.lon);
  if (!window.L || !placed.length) return null;
  const box = h("div", { id: "leaflet-map", class: "map leaflet", role: "img", "aria-label": t("map") });
  // Called once the box is on the page: Leaflet measures its container when it starts.
  const init = () => {
    const map = window.L.map(box, { zoomControl: true, attributionControl: Boolean(TILES.url) });
    if (TILES.url) window.L.tileLayer(TILES.url, { attribution: TILES.attribution, maxZoom: 19 }).addTo(map);
    const points = placed.map((s) => [s.lat, s.lon]);
    if (points.length > 1) {
      window.L.polyline(points, { color: "#0b5cab", weight: 4, className: "route-line" }).addTo(map);
      map.fitBounds(window.L.latLngBounds(points).pad(0.2));
    } else {
      map.setView(points[0], 15);
    }
    for (const stop of placed) {
      window.L.circleMarker([stop.lat, stop.lon], { radius: 12, color: "#0b5cab", fillColor: "#fff", fillOpacity: 1, weight: 3, className: "stop-marker" })
        .bindTooltip(String(stop.sequence ?? ""), { permanent: true, direction: "center", className: "seq-label" })
        .on("click", () => go(`#/stop/${stop.id}`))
        .addTo(map);
    }
  };
  return { element: box, init };
}

const TILES = {
  url: document.body.dataset.tileUrl || "",
  attribution: document.body.dataset.tileAttribution || "",
};

// A map drawn from the stops' own coordinates, for when Leaflet did not load.
function stopsMap(stops) {
  const placed = stops.filter((s) => s.lat && s.lon);
  if (!placed.length) return h("p", { class: "muted" }, t("no_stops"));
  const lats = placed.map((s) => s.lat);
  const lons = placed.map((s) => s.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const W = 340;
  const H = 340;
  const pad = 24;
  const spanLat = maxLat - minLat || 0.01;
  const spanLon = maxLon - minLon || 0.01;
  const x = (lon) => pad + ((lon - minLon) / spanLon) * (W - 2 * pad);
  const y = (lat) => H - pad - ((lat - minLat) / spanLat) * (H - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "map");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("map"));
  const path = document.createElementNS(ns, "polyline");
  path.setAttribute("points", placed.map((s) => `${x(s.lon)},${y(s.lat)}`).join(" "));
  path.setAttribute("class", "route");
  svg.append(path);
  for (const stop of placed) {
    const link = document.createElementNS(ns, "a");
    link.setAttribute("href", `#/stop/${stop.id}`);
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x(stop.lon));
    dot.setAttribute("cy", y(stop.lat));
    dot.setAttribute("r", 11);
    dot.setAttribute("class", `dot kind-${stop.kind}`);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", x(stop.lon));
    label.setAttribute("y", y(stop.lat) + 4);
    label.textContent = stop.sequence ?? "";
    link.append(dot, label);
    svg.append(link);
  }
  return svg;
}

async function homeScreen(view = "list") {
  const sheet = await loadRunsheet();
  await notePlanChanges(sheet);
  const stops = sheet.stops || [];
  const states = await stopStates(stops);
  const count = dayCount([...states.values()]);
  const progress = h(
    "p",
    { class: "progress", id: "progress", "data-finished": String(count.finished), "data-total": String(count.total) },
    h("strong", {}, `${count.finished}/${count.total} ${t("done_short")}`),
    ` · ${count.remaining} ${t("remaining")}`,
  );
  const switcher = h(
    "div",
    { class: "switch" },
    h("a", { href: "#/home", class: view === "list" ? "on" : "" }, t("list")),
    h("a", { href: "#/map", class: view === "map" ? "on" : "" }, t("map")),
  );
  const leaflet = view === "map" ? leafletMap(stops) : null;
  const body = view === "map" ? (leaflet ? leaflet.element : stopsMap(stops)) : stops.length ? stops.map((s) => stopCard(s, states.get(s.id))) : h("p", { class: "muted" }, t("no_stops"));
  const signOut = h(
    "button",
    {
      class: "secondary",
      onclick: async () => {
        try {
          await call("POST", "/auth/logout");
        } catch {
          /* signing out offline still forgets the token here */
        }
        await kv.del("session");
        go("#/login");
      },
    },
    t("sign_out"),
  );
  await screen(t("runsheet"), null, [await planChangesBanner(), progress, switcher, body, signOut], "#/home");
  if (leaflet) leaflet.init();
}

async function findStop(id) {
  const sheet = (await kv.get("runsheet")) || (await loadRunsheet());
  return (sheet.stops || []).find((s) => String(s.id) === String(id));
}

async function stopScreen(id) {
  const stop = await findStop(id);
  if (!stop) return go("#/home");
  const state = (await stopStates([stop])).get(stop.id);
  const arrival = (await arrivals())[String(stop.id)];
  const label = stateLabel(state);
  let arrivedLine = null;
  if (arrival && arrival.state === "refused") {
    arrivedLine = h("p", { class: "msg bad", id: "arrival-refused" }, `${t("arrival_refused")}: ${arrival.message}`);
  } else if (arrival || stop.arrived_at) {
    const at = (arrival && arrival.arrived_at) || stop.arrived_at;
    arrivedLine = h("p", { class: "msg good", id: "arrived-at" }, `${t("arrived_at")} ${time(at)}`);
  } else if (state.status === "planned") {
    arrivedLine = h("button", { class: "secondary", id: "arrived", onclick: async () => { await queueArrival(stop.id); go(`#/stop/${stop.id}`); } }, t("arrived_button"));
  }
  const maps = `https://www.google.com/maps/dir/?api=1&destination=${stop.lat},${stop.lon}`;
  const actions = [];
  if (stop.kind === "home_pickup") {
    actions.push(h("a", { class: "button", href: `#/pickup/${stop.id}` }, t("pickup")));
    actions.push(h("a", { class: "button secondary", href: `#/refuse/${stop.id}` }, t("refuse_pickup")));
  } else if (stop.kind === "home_delivery") {
    actions.push(h("a", { class: "button", href: `#/deliver/${stop.id}` }, t("deliver")));
    actions.push(h("a", { class: "button secondary", href: `#/failed/${stop.id}` }, t("attempt_failed")));
  } else {
    actions.push(h("a", { class: "button", href: `#/handover?stop=${stop.id}` }, t("handover")));
  }
  await screen(
    t(`stop_kind_${stop.kind}`),
    "#/home",
    h(
      "div",
      { class: "card" },
      h("p", {}, h("strong", {}, stop.place)),
      label ? h("p", { class: "stop-state", id: "stop-state", "data-status": state.status }, label) : null,
      h("p", {}, `${t("window")}: ${time(stop.window_start)}–${time(stop.window_end)} · ${t("eta")} ${time(stop.eta)}`),
      arrivedLine,
      stop.contact_name ? h("p", {}, stop.contact_name) : null,
      stop.contact_phone ? h("a", { class: "button secondary", href: `tel:${stop.contact_phone}` }, `${t("call")} ${stop.contact_phone}`) : null,
      h("a", { class: "button secondary", href: maps, target: "_blank", rel: "noopener" }, t("navigate")),
      h("p", {}, `${t("items")}: `, (stop.items || []).map((i) => format(i.code)).join(", ") || "—"),
      collectLine(stop),
      ...actions,
    ),
    "#/home",
  );
}

// -- scanning ---------------------------------------------------------------------------------
const SCAN_KINDS = ["out_for_delivery", "departed"];
const recent = new Set();

function scanInput(onCode) {
  const feedbackBox = h("div", { id: "scan-feedback", class: "feedback", "aria-live": "assertive" });
  const input = h("input", {
    id: "code",
    name: "code",
    inputmode: "text",
    autocapitalize: "characters",
    autocomplete: "off",
    placeholder: "DH 000 000 012 VN",
    "aria-label": t("type_code"),
  });
  const show = (ok, text) => {
    feedbackBox.className = `feedback ${ok ? "good" : "bad"}`;
    feedbackBox.textContent = text;
    feedback(ok);
  };
  const accept = async (raw, fromCamera = false) => {
    const checked = normalise(raw);
    if (!checked.ok) return show(false, `${raw}: ${t(checked.reason)}`);
    if (recent.has(checked.code)) {
      // The camera sees one label many times a second: repeats are ignored quietly.
      if (!fromCamera) show(false, `${format(checked.code)}: ${t("already_scanned")}`);
      return;
    }
    recent.add(checked.code);
    setTimeout(() => recent.delete(checked.code), 3000);
    try {
      await onCode(checked.code);
    } catch (err) {
      recent.delete(checked.code);
      return show(false, `${format(checked.code)}: ${err.message}`);
    }
    show(true, `${format(checked.code)} — ${t("queued")}`);
  };
  const form = h("form", { class: "scanrow", id: "scan-form" }, input, h("button", { type: "submit" }, t("add")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value;
    input.value = "";
    await accept(value);
    input.focus();
  });
  const video = h("video", { id: "camera", playsinline: true, muted: true, hidden: true });
  let on = false;
  const toggle = h("button", { type: "button", class: "secondary", id: "camera-toggle" }, t("camera_start"));
  toggle.addEventListener("click", async () => {
    if (on) {
      stopCamera();
      on = false;
      video.hidden = true;
      toggle.textContent = t("camera_start");
      return;
    }
    try {
      video.hidden = false;
      await startCamera(video, (text) => accept(text, true));
      on = true;
      toggle.textContent = t("camera_stop");
    } catch {
      video.hidden = true;
      show(false, t("camera_unavailable"));
    }
  });
  return { element: h("div", {}, form, toggle, video, feedbackBox), accept };
}

async function recentList() {
  const all = (await events.all()).sort((a, b) => b.queued_at - a.queued_at).slice(0, 30);
  return h(
    "ul",
    { class: "events", id: "event-list" },
    all.map((r) =>
      h(
        "li",
        { class: `state-${r.state}`, "data-state": r.state, "data-code": r.payload.code },
        h("span", {}, `${format(r.payload.code)} · ${t(`kind_${r.payload.kind}`) || r.payload.kind}`),
        h("span", { class: "state" }, t(`state_${r.state}`)),
        h("time", { class: "queued-at", datetime: new Date(r.queued_at).toISOString() }, vnDateTime(r.queued_at, currentLang())),
        r.result && (r.result.message || r.result.detail)
          ? h("small", { class: "reason" }, r.result.message || r.result.detail)
          : null,
      ),
    ),
  );
}

async function scanScreen() {
  const select = h(
    "select",
    { id: "scan-kind", "aria-label": t("action") },
    SCAN_KINDS.map((k) => h("option", { value: k }, t(`kind_${k}`))),
  );
  const list = h("div", { id: "recent" }, await recentList());
  const scanner = scanInput(async (code) => {
    await queueEvent({ kind: select.value, code });
    list.replaceChildren(await recentList());
  });
  await screen(t("scan"), null, [h("label", { for: "scan-kind" }, t("action")), select, scanner.element, list], "#/scan");
  document.getElementById("code").focus();
}

async function queueScreen() {
  await screen(t("queue"), null, await recentList(), "#/queue");
}

// -- signatures and photos ------------------------------------------------------------------
function signaturePad(id, labelKey) {
  const canvas = h("canvas", { id, class: "signature", width: 600, height: 220, "aria-label": t(labelKey) });
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let drawn = false;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    drawn = true;
    canvas.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    ctx.moveTo(...point(e));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...point(e));
    ctx.stroke();
  });
  canvas.addEventListener("pointerup", () => (drawing = false));
  const clear = h("button", { type: "button", class: "link", onclick: () => { ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; } }, t("clear"));
  return {
    element: h("div", { class: "pad" }, h("label", {}, t(labelKey)), canvas, clear),
    isDrawn: () => drawn,
    blob: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
  };
}

function photoInput(id, labelKey) {
  const input = h("input", { id, type: "file", accept: "image/*", capture: "environment" });
  return {
    element: h("div", {}, h("label", { for: id }, t(labelKey)), input),
    file: () => (input.files && input.files[0]) || null,
  };
}

function fieldError(form, text) {
  const box = form.querySelector(".form-error") || form.appendChild(h("div", { class: "form-error" }));
  box.replaceChildren(message("bad", text));
}

function itemSelect(stop, id) {
  const codes = (stop.items || []).map((i) => i.code);
  if (codes.length === 1) return h("input", { id, name: id, value: codes[0], readonly: true });
  return h("input", { id, name: id, value: codes[0] || "", placeholder: "DH 000 000 012 VN", required: true });
}

// -- money at the door ------------------------------------------------------------------------
function vnd(amount) {
  return `${Number(amount).toLocaleString("vi-VN")} ₫`;
}

// What the ledger says is still to collect at this stop, and how (shown before the pickup).
function collectLine(stop) {
  const c = stop.collect;
  if (!c) return null;
  const how = c.how === "paid" ? t("collect_paid") : c.how === "transfer_pending" ? t("collect_transfer_pending") : t("collect_cash");
  return h(
    "p",
    { class: `collect collect-${c.how}`, id: "collect", "data-due": String(c.due_vnd) },
    h("strong", {}, `${t("to_collect")}: ${vnd(c.due_vnd)}`),
    h("br"),
    h("small", {}, `${how} · ${currentLang() === "en" ? c.state_label_en : c.state_label_vi}`),
  );
}

async function cashReasonSelect() {
  const list = (await reasons()).cash_difference || [];
  return h(
    "select",
    { id: "cash-reason", name: "cash_reason" },
    h("option", { value: "" }, t("choose_reason")),
    list.map((r) => h("option", { value: r.code }, currentLang() === "en" ? r.label_en : r.label_vi)),
  );
}

// -- pickup at the door ------------------------------------------------------------------------
async function pickupScreen(id) {
  const stop = await findStop(id);
  if (!stop) return go("#/home");
  const documents = stop.documents && stop.documents.length ? stop.documents : [];
  // The law's checklist: a mandatory paper is received (with its pages); a conditional one
  // is received or "không áp dụng" (its condition shown); a shown-only one (the ID card) is
  // shown and handed back, never counted as taken.
  const rows = documents.map((doc, i) => {
    const name = currentLang() === "en" ? doc.name_en : doc.name;
    const form = h("small", { class: "muted" }, t(doc.form === "original" || doc.form === "certified_copy" ? doc.form : "copy"));
    const pages = h("input", { type: "number", name: `pages-${i}`, min: "1", max: "999", value: String(doc.quantity || 1), inputmode: "numeric", "aria-label": `${t("pages")}: ${name}`, class: "pages" });
    if (doc.kind === "shown") {
      return h("li", { "data-kind": "shown" }, h("label", { class: "check" }, h("input", { type: "checkbox", name: `doc-${i}`, "data-doc": doc.name }), ` ${name}`), h("small", { class: "muted" }, t("shown_only")));
    }
    if (doc.kind === "conditional") {
      return h(
        "li",
        { "data-kind": "conditional" },
        h("div", {}, name, " ", form),
        h("small", { class: "muted condition" }, doc.condition || ""),
        h(
          "div",
          { class: "choices" },
          h("label", { class: "check" }, h("input", { type: "radio", name: `doc-${i}`, value: "present", "data-doc": doc.name }), ` ${t("received")}`),
          h("label", { class: "check" }, h("input", { type: "radio", name: `doc-${i}`, value: "not_applicable" }), ` ${t("not_applicable")}`),
          pages,
        ),
      );
    }
    return h("li", { "data-kind": "mandatory" }, h("label", { class: "check" }, h("input", { type: "checkbox", name: `doc-${i}`, "data-doc": doc.name }), ` ${name}`), " ", form, pages);
  });
  // Pages captured for a checklist document tick it, with its page count (the courier can
  // still untick: the photo is evidence of the paper, not a replacement for looking at it).
  const dossierCode = ((stop.items || [])[0] || {}).code;
  const captured = dossierCode ? await capturedDocuments(dossierCode) : [];
  documents.forEach((doc, i) => {
    const range = captured.find((c) => c.name === doc.name);
    if (!range || doc.kind === "shown") return;
    const row = rows[i];
    const box = row.querySelector(doc.kind === "conditional" ? "input[value=present]" : "input[type=checkbox]");
    if (box) box.checked = true;
    const pages = row.querySelector("input.pages");
    if (pages) pages.value = String(range.last_page - range.first_page + 1);
    row.dataset.captured = `${range.first_page}-${range.last_page}`;
    row.append(h("small", { class: "muted captured" }, `${t("pages_ticked")}: ${t("page_n").toLowerCase()} ${range.first_page}–${range.last_page}`));
  });
  const citizen = signaturePad("citizen-signature", "citizen_signature");
  const courier = signaturePad("courier-signature", "courier_signature");
  const due = stop.collect ? stop.collect.due_vnd : null;
  const reasonSelect = await cashReasonSelect();
  const reasonBox = h("div", { id: "cash-reason-box", hidden: true }, h("label", { for: "cash-reason" }, t("cash_difference_reason")), reasonSelect, h("small", { class: "muted" }, t("amount_differs")));
  const form = h(
    "form",
    { class: "card", id: "pickup-form", novalidate: true },
    collectLine(stop),
    h("label", { for: "item" }, t("item_code")),
    itemSelect(stop, "item"),
    h("a", { class: "button secondary", id: "digitise-link", href: `#/digitise/${stop.id}` }, t("digitise")),
    h("fieldset", {}, h("legend", {}, t("checklist")), h("ul", { class: "checklist" }, rows)),
    h("label", { for: "seal" }, t("seal_number")),
    h("input", { id: "seal", name: "seal", required: true, autocomplete: "off" }),
    h("label", { for: "fees" }, t("fees_collected")),
    h("input", { id: "fees", name: "fees", type: "number", min: "0", step: "1000", value: String(due && stop.collect.how === "cash" ? due : 0), inputmode: "numeric" }),
    h("label", { for: "payment" }, t("payment_method")),
    h("select", { id: "payment", name: "payment" }, h("option", { value: "cash" }, t("pay_cash")), h("option", { value: "bank_transfer" }, t("pay_transfer"))),
    reasonBox,
    citizen.element,
    courier.element,
    h("button", { type: "submit" }, t("save")),
  );
  // Cash other than what is due needs a reason, asked for as soon as the amount differs.
  const cashDiffers = () => {
    const fees = Number(form.fees.value || 0);
    return due !== null && (form.payment.value === "cash" || fees === 0) && fees !== due;
  };
  const showReason = () => (reasonBox.hidden = !cashDiffers());
  form.fees.addEventListener("input", showReason);
  form.payment.addEventListener("change", showReason);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = normalise(form.item.value);
    if (!code.ok) return fieldError(form, `${t("item_code")}: ${t(code.reason)}`);
    if (!form.seal.value.trim()) return fieldError(form, `${t("seal_number")}: ${t("required")}`);
    if (cashDiffers() && !reasonSelect.value) return fieldError(form, `${t("fees_collected")}: ${t("amount_differs")}`);
    if (!citizen.isDrawn() || !courier.isDrawn()) return fieldError(form, `${t("citizen_signature")} / ${t("courier_signature")}: ${t("required")}`);
    const checklist = documents.map((doc, i) => {
      const entry = { name: doc.name, form: doc.form, present: false };
      if (doc.kind === "conditional") {
        const choice = form.querySelector(`input[name="doc-${i}"]:checked`);
        entry.present = Boolean(choice && choice.value === "present");
        entry.not_applicable = Boolean(choice && choice.value === "not_applicable");
      } else {
        entry.present = form.querySelector(`input[name="doc-${i}"]`).checked;
      }
      const pages = form.querySelector(`input[name="pages-${i}"]`);
      if (entry.present && pages && Number(pages.value) >= 1) entry.pages = Math.floor(Number(pages.value));
      return entry;
    });
    const fees = Number(form.fees.value || 0);
    const details = { seal_number: form.seal.value.trim(), checklist, fees_collected_vnd: fees };
    if (fees > 0) details.payment_method = form.payment.value;
    if (cashDiffers()) details.cash_difference_reason = reasonSelect.value;
    const evidence = {
      citizen_signature_sha256: await storeMedia(await citizen.blob()),
      courier_signature_sha256: await storeMedia(await courier.blob()),
    };
    await queueEvent({ kind: "picked_up", code: code.code, details, evidence });
    go("#/queue");
  });
  await screen(t("pickup"), `#/stop/${id}`, form, null);
}

async function reasons() {
  try {
    const list = await call("GET", "/reasons");
    await kv.set("reasons", list);
    return list;
  } catch {
    return (await kv.get("reasons")) || { pickup_refused: [], attempt_failed: [], cash_difference: [] };
  }
}

function reasonSelect(list) {
  return h(
    "select",
    { id: "reason", name: "reason", required: true },
    h("option", { value: "" }, "—"),
    list.map((r) => h("option", { value: r.code }, currentLang() === "en" ? r.label_en : r.label_vi)),
  );
}

// A refused pickup and a failed delivery are the same form: the item, a reason from the
// server's table, and (for a pickup) what the citizen must add.
async function reasonScreen(id, { formId, kind, reasonList, titleKey, askMissing }) {
  const stop = await findStop(id);
  if (!stop) return go("#/home");
  const list = (await reasons())[reasonList] || [];
  const form = h(
    "form",
    { class: "card", id: formId, novalidate: true },
    h("label", { for: "item" }, t("item_code")),
    itemSelect(stop, "item"),
    h("label", { for: "reason" }, t("reason")),
    reasonSelect(list),
    askMissing ? [h("label", { for: "missing" }, t("missing_documents")), h("textarea", { id: "missing", name: "missing", rows: 3 })] : null,
    h("button", { type: "submit" }, t("save")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = normalise(form.item.value);
    if (!code.ok) return fieldError(form, `${t("item_code")}: ${t(code.reason)}`);
    if (!form.reason.value) return fieldError(form, `${t("reason")}: ${t("required")}`);
    const details = { reason_code: form.reason.value };
    if (askMissing) details.missing_documents = form.missing.value.split("\n").map((s) => s.trim()).filter(Boolean);
    await queueEvent({ kind, code: code.code, details });
    go("#/queue");
  });
  await screen(t(titleKey), `#/stop/${id}`, form, null);
}

const refuseScreen = (id) =>
  reasonScreen(id, { formId: "refuse-form", kind: "pickup_refused", reasonList: "pickup_refused", titleKey: "refuse_pickup", askMissing: true });

// -- delivery at the door ------------------------------------------------------------------------
async function deliverScreen(id) {
  const stop = await findStop(id);
  if (!stop) return go("#/home");
  const signature = signaturePad("recipient-signature", "signature");
  const photo = photoInput("photo", "photo");
  const authPhoto = photoInput("authorisation-photo", "authorisation_photo");
  let cccdText = null;
  const cccdStatus = h("p", { id: "cccd-status", class: "muted" });
  const cccdVideo = h("video", { id: "cccd-camera", playsinline: true, muted: true, hidden: true });
  const otpStatus = h("p", { id: "otp-status", class: "muted" });
  const proofChoice = h(
    "div",
    { class: "choices" },
    ["otp", "cccd_qr", "authorisation"].map((p, i) =>
      h("label", { class: "check" }, h("input", { type: "radio", name: "proof", value: p, checked: i === 0 }), ` ${t({ otp: "proof_otp", cccd_qr: "proof_cccd", authorisation: "proof_authorisation" }[p])}`),
    ),
  );
  const sendCode = h("button", { type: "button", class: "secondary", id: "send-code" }, t("send_code"));
  sendCode.addEventListener("click", async () => {
    const code = normalise(form.item.value);
    if (!code.ok) return fieldError(form, `${t("item_code")}: ${t(code.reason)}`);
    try {
      const sent = await call("POST", `/deliveries/${code.code}/otp`);
      otpStatus.textContent = `${t("code_sent")} ${sent.phone_masked}`;
    } catch (err) {
      otpStatus.textContent = err instanceof Offline ? t("otp_needs_network") : err.message;
    }
  });
  const scanCccd = h("button", { type: "button", class: "secondary", id: "scan-cccd" }, t("proof_cccd"));
  scanCccd.addEventListener("click", async () => {
    try {
      cccdVideo.hidden = false;
      await startCamera(cccdVideo, (text) => {
        if (text.includes("|")) {
          cccdText = text;
          cccdStatus.textContent = t("cccd_read");
          feedback(true);
          stopCamera();
          cccdVideo.hidden = true;
        }
      });
    } catch {
      cccdStatus.textContent = t("camera_unavailable");
    }
  });
  const form = h(
    "form",
    { class: "card", id: "deliver-form", novalidate: true },
    h("label", { for: "item" }, t("item_code")),
    itemSelect(stop, "item"),
    h("fieldset", {}, h("legend", {}, t("proof")), proofChoice),
    h("div", { class: "proof-otp", "data-proof": "otp" }, sendCode, otpStatus, h("label", { for: "otp" }, t("otp_code")), h("input", { id: "otp", name: "otp", inputmode: "numeric", maxlength: "6", autocomplete: "one-time-code" })),
    h("div", { class: "proof-cccd", "data-proof": "cccd_qr", hidden: true }, scanCccd, cccdVideo, cccdStatus),
    h("div", { class: "proof-auth", "data-proof": "authorisation", hidden: true }, h("label", { for: "recipient" }, t("recipient_name")), h("input", { id: "recipient", name: "recipient" }), authPhoto.element),
    signature.element,
    photo.element,
    h("button", { type: "submit" }, t("save")),
  );
  // Only the chosen proof's inputs show: a courier asked for a code should not see a photo
  // of an authorisation letter as if it were also needed.
  const showProof = () => {
    for (const section of form.querySelectorAll("[data-proof]")) section.hidden = section.dataset.proof !== form.proof.value;
  };
  proofChoice.addEventListener("change", showProof);
  showProof();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = normalise(form.item.value);
    if (!code.ok) return fieldError(form, `${t("item_code")}: ${t(code.reason)}`);
    const proof = form.proof.value;
    const details = { proof }; // sent as the event's evidence: what proves who received it
    if (proof === "otp") {
      if (!/^\d{6}$/.test(form.otp.value)) return fieldError(form, `${t("otp_code")}: ${t("required")}`);
      details.otp_code = form.otp.value;
    } else if (proof === "cccd_qr") {
      if (!cccdText) return fieldError(form, `${t("proof_cccd")}: ${t("required")}`);
      details.cccd_qr = cccdText;
    } else {
      if (!form.recipient.value.trim() || !authPhoto.file()) return fieldError(form, `${t("proof_authorisation")}: ${t("required")}`);
      details.recipient_name = form.recipient.value.trim();
      details.authorisation_photo_sha256 = await storeMedia(authPhoto.file());
    }
    if (!signature.isDrawn()) return fieldError(form, `${t("signature")}: ${t("required")}`);
    if (!photo.file()) return fieldError(form, `${t("photo")}: ${t("required")}`);
    details.signature_sha256 = await storeMedia(await signature.blob());
    details.photo_sha256 = await storeMedia(photo.file());
    await queueEvent({ kind: "delivered", code: code.code, evidence: details });
    go("#/queue");
  });
  await screen(t("deliver"), `#/stop/${id}`, form, null);
}

const failedScreen = (id) =>
  reasonScreen(id, { formId: "failed-form", kind: "attempt_failed", reasonList: "attempt_failed", titleKey: "attempt_failed", askMissing: false });

// -- hand-over at an office or post office -------------------------------------------------------
async function handoverScreen(params) {
  const stop = params.get("stop") ? await findStop(params.get("stop")) : null;
  const codes = [];
  const listed = h("ul", { class: "events", id: "handover-items" });
  // The receiver is chosen by name among the offices of today's run (the stop's own office
  // first), never typed as an internal "office:12"; the party string stays the option value.
  const sheet = (await kv.get("runsheet")) || { stops: [] };
  const session = await kv.get("session");
  const offices = new Map();
  for (const s of [stop, ...(sheet.stops || [])]) {
    if (s && s.office_id && !offices.has(s.office_id)) offices.set(s.office_id, s.place.split(",")[0]);
  }
  const counterparty = h(
    "select",
    { id: "counterparty", name: "counterparty" },
    h("option", { value: "" }, `— ${t("choose_receiver")} —`),
    [...offices].map(([officeId, name]) =>
      h("option", { value: `office:${officeId}`, selected: stop && stop.office_id === officeId }, name),
    ),
    session && session.user && session.user.post_office_id
      ? h("option", { value: `post_office:${session.user.post_office_id}` }, t("own_post_office"))
      : null,
  );
  const collect = stop && stop.kind === "office_pickup";
  const direction = h(
    "div",
    { class: "choices" },
    h("label", { class: "check" }, h("input", { type: "radio", name: "direction", value: "give", checked: !collect }), ` ${t("direction_give")}`),
    h("label", { class: "check" }, h("input", { type: "radio", name: "direction", value: "collect", checked: collect }), ` ${t("direction_collect")}`),
  );
  // The state fees handed over with each dossier: the record lists them per dossier.
  const fees = {};
  const status = h("div", { id: "handover-status" });
  const feeInput = (c) => {
    const input = h("input", { type: "number", min: "0", step: "1000", value: String(fees[c] || 0), inputmode: "numeric", class: "item-fee", "data-code": c, "aria-label": `${t("fees_handed_over")}: ${format(c)}` });
    input.addEventListener("input", () => { fees[c] = Number(input.value || 0); });
    return input;
  };
  const scanner = scanInput(async (code) => {
    if (!codes.includes(code)) codes.push(code);
    listed.replaceChildren(...codes.map((c) => h("li", {}, format(c), " ", feeInput(c))));
  });
  const submit = h("button", { type: "button", id: "open-handover" }, t("open_handover"));
  submit.addEventListener("click", async () => {
    const party = counterparty.value.trim();
    if (!/^(office|post_office|courier):\d+$/.test(party)) {
      return status.replaceChildren(message("bad", `${t("receiver")}: ${t("required")}`));
    }
    if (!codes.length) return status.replaceChildren(message("bad", `${t("items")}: ${t("required")}`));
    try {
      const opened = await call("POST", "/handovers", {
        counterparty: party,
        direction: document.querySelector("input[name=direction]:checked").value,
        item_codes: codes,
        item_fees: Object.fromEntries(codes.map((c) => [c, Math.max(0, Math.floor(fees[c] || 0))])),
      });
      const refused = (opened.refused || []).map((r) => `${format(r.code)}: ${r.message || r.detail}`);
      status.replaceChildren(
        message("good", `${t("handover_opened")}: ${opened.code} · ${opened.lines.length} ${t("items")}`),
        ...refused.map((text) => message("bad", text)),
      );
    } catch (err) {
      status.replaceChildren(message("bad", err instanceof Offline ? t("needs_network") : err.message));
    }
  });
  await screen(
    t("handover"),
    stop ? `#/stop/${stop.id}` : null,
    [
      h("label", { for: "counterparty" }, t("receiver")),
      counterparty,
      direction,
      h("small", { class: "muted" }, t("fees_per_item")),
      scanner.element,
      listed,
      submit,
      status,
      h("a", { href: "#/bags", class: "button secondary" }, t("bags")),
    ],
    "#/handover",
  );
}

// -- bags: packing is queued like any scan; opening and sealing need the server ------------------
async function bagScreen(params) {
  let bagCode = params.get("code") || "";
  const status = h("div", { id: "bag-status" });
  const bagInput = h("input", { id: "bag-code", value: bagCode, placeholder: "DB 000 000 012 VN", autocomplete: "off" });
  const newBag = h("button", { type: "button", class: "secondary", id: "new-bag" }, t("bag_new"));
  newBag.addEventListener("click", async () => {
    try {
      const bag = await call("POST", "/bags");
      bagInput.value = format(bag.code);
      status.replaceChildren(message("good", `${t("bag_code")}: ${format(bag.code)}`));
    } catch (err) {
      status.replaceChildren(message("bad", err instanceof Offline ? t("needs_network") : err.message));
    }
  });
  const mode = h("select", { id: "bag-mode" }, h("option", { value: "bagged" }, t("bag_add")), h("option", { value: "unbagged" }, t("bag_remove")));
  const scanner = scanInput(async (code) => {
    const checked = normalise(bagInput.value);
    if (!checked.ok) throw new Error(`${t("bag_code")}: ${t(checked.reason)}`);
    bagCode = checked.code;
    // Out of a sealed bag only with the seal number read off it (typed in the seal field).
    const sealSeen = seal.value.trim();
    const details = mode.value === "bagged" ? { bag_code: bagCode } : sealSeen ? { seal_number: sealSeen } : {};
    await queueEvent({ kind: mode.value, code, details });
  });
  const seal = h("input", { id: "bag-seal", placeholder: t("seal_number"), autocomplete: "off" });
  const sealButton = h("button", { type: "button", id: "seal-bag" }, t("bag_seal"));
  sealButton.addEventListener("click", async () => {
    const checked = normalise(bagInput.value);
    if (!checked.ok) return status.replaceChildren(message("bad", `${t("bag_code")}: ${t(checked.reason)}`));
    if (!seal.value.trim()) return status.replaceChildren(message("bad", `${t("seal_number")}: ${t("required")}`));
    try {
      await syncNow(); // the bag's contents must reach the server before it is sealed
      const bag = await call("POST", `/bags/${checked.code}/seal`, { seal_number: seal.value.trim() });
      status.replaceChildren(message("good", `${format(bag.code)} · ${bag.items.length} ${t("items")} · ${t("bag_sealed")}`));
    } catch (err) {
      status.replaceChildren(message("bad", err instanceof Offline ? t("needs_network") : err.message));
    }
  });
  await screen(
    t("bags"),
    "#/handover",
    [h("label", { for: "bag-code" }, t("bag_code")), bagInput, newBag, h("label", { for: "bag-mode" }, t("action")), mode, scanner.element,
     h("label", { for: "bag-seal" }, t("seal_number")), seal, sealButton, status],
    "#/handover",
  );
}

// -- my figures: the same measures as the /sla dashboard, the courier's own --------------------
function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

function figureCard(figure) {
  const judged = figure.meets_goal === null ? "" : figure.meets_goal ? "meets" : "misses";
  return h(
    "div",
    { class: `card figure ${judged}`, "data-measure": figure.measure },
    h("span", { class: "figure-label" }, figure.label),
    h("strong", { class: "figure-rate" }, percent(figure.rate)),
    h(
      "span",
      { class: "muted" },
      figure.total ? `${figure.hits} / ${figure.total}` : t("no_figures"),
      figure.goal !== null ? ` · ${t("goal")} ${percent(figure.goal)}` : "",
    ),
  );
}

async function figuresScreen(params) {
  const range = params.get("range") === "week" ? "week" : "today";
  let data = null;
  let note = null;
  try {
    data = await call("GET", `/figures?range=${range}`);
    await kv.set(`figures_${range}`, data);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    if (err instanceof ApiError) note = message("bad", err.message);
    else {
      data = await kv.get(`figures_${range}`); // offline: the last figures seen
      note = message("muted", t("figures_offline"));
    }
  }
  const switcher = h(
    "div",
    { class: "switch" },
    h("a", { href: "#/figures?range=today", class: range === "today" ? "on" : "" }, t("today")),
    h("a", { href: "#/figures?range=week", class: range === "week" ? "on" : "" }, t("this_week")),
  );
  const body = data ? h("div", { class: "figures", id: "figures" }, data.figures.map(figureCard)) : null;
  await screen(t("my_figures"), null, [switcher, note, body], "#/figures");
}

// -- routing ------------------------------------------------------------------------------------
async function route() {
  const session = await kv.get("session");
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  if (!session && path !== "/login") return go("#/login");
  try {
    const [, name, arg] = path.split("/");
    switch (name) {
      case "login": return await loginScreen();
      case "map": return await homeScreen("map");
      case "stop": return await stopScreen(arg);
      case "scan": return await scanScreen();
      case "queue": return await queueScreen();
      case "pickup": return await pickupScreen(arg);
      case "digitise": {
        const stop = await findStop(arg);
        if (!stop) return go("#/home");
        return await digitiseScreen(stop, { h, screen, message, go });
      }
      case "refuse": return await refuseScreen(arg);
      case "deliver": return await deliverScreen(arg);
      case "failed": return await failedScreen(arg);
      case "handover": return await handoverScreen(params);
      case "bags": return await bagScreen(params);
      case "figures": return await figuresScreen(params);
      default: return await homeScreen("list");
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      await kv.del("session");
      return loginScreen(t("session_expired"));
    }
    throw err;
  }
}

onChange(async (what) => {
  if (what === "auth") {
    await kv.del("session");
    return loginScreen(t("session_expired"));
  }
  await refreshStatus();
  if (what === "synced" && onRunSheet()) route(); // the server's word on what was just sent
  if (what === "changed" && document.getElementById("event-list")) {
    document.getElementById("event-list").replaceWith(await recentList());
  }
});
function onRunSheet() {
  return Boolean(document.getElementById("progress"));
}
// A re-plan reaches the phone within a minute while the run sheet is open.
setInterval(() => {
  if (navigator.onLine && onRunSheet()) route();
}, 60000);
window.addEventListener("online", refreshStatus);
window.addEventListener("offline", refreshStatus);
window.addEventListener("hashchange", route);
document.documentElement.lang = currentLang();
watchPosition();
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/courier/sw.js", { scope: "/courier/" });
route().then(() => syncNow());
