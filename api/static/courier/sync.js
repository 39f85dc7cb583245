// The offline queue: record locally first, send when the network allows, never twice.
//
// Each event gets a UUID the moment it happens; the server treats that UUID as the
// idempotency key, so resending a batch whose answer was lost (a timeout, a killed app) is
// always safe. Media (signatures, photos) are uploaded separately by SHA-256, before or after
// the events naming them.
import { ApiError, Offline, call } from "./api.js";
import { signed } from "./signing.js";
import { copies, events, kv, media, pages } from "./store.js";

const BATCH = 500;
const listeners = new Set();
let running = false;
let again = false; // work arrived while a sync was running: run once more after it
let retryTimer = null;
let retryDelay = 2000;
let lastFix = null;

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(what, detail) {
  for (const listener of listeners) listener(what, detail);
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Device time with its UTC offset, e.g. 2026-11-22T09:15:03.120+07:00: the ledger keeps both.
export function localIso(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

// The last GPS fix, kept warm in the background so recording a scan never waits for one.
export function watchPosition() {
  if (!("geolocation" in navigator)) return;
  navigator.geolocation.watchPosition(
    (p) => (lastFix = { lat: p.coords.latitude, lon: p.coords.longitude, gps_accuracy_m: p.coords.accuracy }),
    () => {},
    { enableHighAccuracy: true, maximumAge: 60000 },
  );
}

export async function queueEvent({ kind, code, toParty, evidence = {}, details = {} }) {
  const when = new Date();
  const unsigned = {
    client_event_id: uuid(),
    kind,
    code,
    occurred_at: localIso(when),
    evidence,
    details,
    ...(toParty ? { to_party: toParty } : {}),
    ...(lastFix || {}),
  };
  // Signed now, as it happened, with the phone's key: sent later if there is no signal.
  const payload = await signed(unsigned, when);
  const record = { client_event_id: payload.client_event_id, payload, state: "pending", queued_at: Date.now() };
  await events.add(record); // committed to IndexedDB before we say anything
  emit("queued", record);
  syncSoon();
  return record;
}

export async function storeMedia(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const sha256 = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
  await media.put({ sha256, blob, type: blob.type, uploaded: false, stored_at: Date.now() });
  syncSoon();
  return sha256;
}

// A dossier page: stored on the phone first (IndexedDB), uploaded by its hash when online.
export async function storePage(code, blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const sha256 = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
  const known = await pages.get(code, sha256);
  if (!known) await pages.put({ code, sha256, blob, size: blob.size, uploaded: false, stored_at: Date.now() });
  syncSoon();
  return sha256;
}

// The copy is asked for once every page is uploaded; the client_id makes a resend harmless.
export async function queueCopy(copy) {
  await copies.put({ ...copy, state: "pending", queued_at: Date.now() });
  syncSoon();
}

// The "arrived" tap: kept here (one per stop, the first tap), sent like the scans.
export async function queueArrival(stopId) {
  const all = (await kv.get("arrivals")) || {};
  const key = String(stopId);
  if (!all[key]) {
    all[key] = { stop_id: Number(stopId), arrived_at: localIso(), state: "pending", queued_at: Date.now() };
    await kv.set("arrivals", all); // committed before we say anything
    emit("queued", all[key]);
    syncSoon();
  }
  return all[key];
}

export async function arrivals() {
  return (await kv.get("arrivals")) || {};
}

async function sendArrivals() {
  const all = await arrivals();
  for (const [key, record] of Object.entries(all)) {
    if (record.state !== "pending") continue;
    try {
      const answer = await call("POST", `/stops/${record.stop_id}/arrival`, { arrived_at: record.arrived_at });
      all[key] = { ...record, state: "sent", arrived_at: answer.arrived_at };
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401 || error.status >= 500) throw error;
      all[key] = { ...record, state: "refused", message: error.message }; // never resent
    }
    await kv.set("arrivals", all);
    emit("answered", { arrival: all[key] });
  }
}

export async function pendingCount() {
  const copiesWaiting = (await copies.all()).filter((c) => c.state === "pending").length;
  const arrivalsWaiting = Object.values(await arrivals()).filter((a) => a.state === "pending").length;
  const waiting = copiesWaiting + arrivalsWaiting;
  return (await events.countPending()) + waiting;
}

function syncSoon(delay = 0) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(syncNow, delay);
}

async function uploadMedia() {
  for (const record of await media.notUploaded()) {
    if (record.refused) continue;
    try {
      await call("PUT", `/media/${record.sha256}`, record.blob, { raw: true, contentType: record.type });
      await media.put({ ...record, uploaded: true });
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) {
        // The server will never take these bytes (type, size): keep them, stop retrying.
        await media.put({ ...record, refused: error.message });
        continue;
      }
      throw error;
    }
  }
}

function refusalText(error) {
  return error.message || `HTTP ${error.status}`;
}

async function uploadPages() {
  const wanted = new Set();
  for (const copy of await copies.all()) {
    if (copy.state === "pending") copy.pages.forEach((sha) => wanted.add(`${copy.code}/${sha}`));
  }
  for (const record of await pages.all()) {
    if (record.uploaded || record.refused || !wanted.has(record.key)) continue;
    try {
      await call("PUT", `/dossiers/${record.code}/pages/${record.sha256}`, record.blob, { raw: true, contentType: "image/jpeg" });
      await pages.put({ ...record, uploaded: true });
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
        await pages.put({ ...record, refused: refusalText(error) });
        continue;
      }
      throw error;
    }
  }
}

async function sendCopies() {
  for (const copy of await copies.all()) {
    if (copy.state !== "pending") continue;
    const states = await Promise.all(copy.pages.map((sha) => pages.get(copy.code, sha)));
    const refused = states.find((p) => p && p.refused);
    if (refused) {
      await copies.put({ ...copy, state: "refused", message: refused.refused });
      continue;
    }
    if (!states.every((p) => p && p.uploaded)) continue;
    try {
      const result = await call("POST", `/dossiers/${copy.code}/digitised`, {
        client_id: copy.client_id,
        pages: copy.pages,
        documents: copy.documents,
      });
      await copies.put({ ...copy, state: "done", result, answered_at: Date.now() });
      emit("copy", { code: copy.code, result });
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
        await copies.put({ ...copy, state: "refused", message: refusalText(error) });
        continue;
      }
      throw error;
    }
  }
}

async function sendEvents() {
  const pending = (await events.byState("pending")).sort((a, b) => a.queued_at - b.queued_at);
  for (let start = 0; start < pending.length; start += BATCH) {
    const chunk = pending.slice(start, start + BATCH);
    const answer = await call("POST", "/scans", { events: chunk.map((r) => r.payload) });
    const byKey = new Map(answer.results.map((r) => [r.client_event_id, r]));
    for (const record of chunk) {
      const result = byKey.get(record.client_event_id);
      if (!result) continue;
      await events.put({ ...record, state: result.outcome, result, answered_at: Date.now() });
      emit("answered", { record, result });
    }
  }
}

export async function syncNow() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  again = false;
  emit("syncing");
  try {
    // Events first: they are the evidence; photos may follow (the server accepts either order).
    await sendEvents();
    await sendArrivals();
    await uploadMedia();
    // Dossier pages last: the largest uploads, and nothing else waits for them.
    await uploadPages();
    await sendCopies();
    retryDelay = 2000;
    emit("synced");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      emit("auth");
    } else {
      // Offline or the server failed: everything stays queued; try again later.
      if (!(error instanceof Offline)) console.warn("sync failed; will retry", error);
      emit("offline", error instanceof Offline);
      syncSoon(retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    }
  } finally {
    running = false;
    emit("changed");
    if (again) syncSoon();
  }
}

window.addEventListener("online", () => {
  retryDelay = 2000;
  syncSoon();
});
