// Service worker for the courier app: keeps the app's own files on the phone so it opens
// with no signal. API calls are never cached here — the app's IndexedDB queue owns them.
const VERSION = "hoso-courier-2026-12-03.11";
const SHELL = [
  "/courier/",
  "/courier/manifest.webmanifest",
  "/static/courier/app.js",
  "/static/courier/api.js",
  "/static/courier/store.js",
  "/static/courier/sync.js",
  "/static/courier/digitise.js",
  "/static/courier/signing.js",
  "/static/courier/progress.js",
  "/static/courier/scanner.js",
  "/static/courier/s10.js",
  "/static/courier/i18n.js",
  "/static/courier/vntime.js",
  "/static/courier/app.css",
  "/static/courier/icon-192.png",
  "/static/vendor/zxing/zxing-library-0.23.0.min.js",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/mobile/")) return; // the app handles offline API calls itself
  if (event.request.mode === "navigate" && url.pathname.startsWith("/courier")) {
    // The shell: fresh when online, the cached copy when not.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          const copy = response.clone();
          caches.open(VERSION).then((cache) => cache.put("/courier/", copy));
          return response;
        })
        .catch(() => caches.match("/courier/")),
    );
    return;
  }
  if (url.pathname.startsWith("/static/") || url.pathname === "/courier/manifest.webmanifest") {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(event.request)));
  }
});
