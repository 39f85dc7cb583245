// The dispatcher page: draws the saved routes on a Leaflet map and sends moves, locks and
// re-plans to /api/v1/dispatch. Routes and stops are vector layers (SVG), so they show even
// when no map tile loads (tiles are optional: HOSO_MAP_TILE_URL).
(function () {
  "use strict";
  const root = document.getElementById("dispatch");
  const data = JSON.parse(document.getElementById("day-data").textContent);
  const texts = JSON.parse(document.getElementById("texts").textContent);
  const message = document.getElementById("message");
  const postOffice = root.dataset.postOffice;
  const query = postOffice ? "?post_office=" + encodeURIComponent(postOffice) : "";

  function hm(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleTimeString("vi-VN", {
      hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh",
    });
  }

  // -- map --------------------------------------------------------------------------------
  const mapEl = document.getElementById("map");
  const map = L.map(mapEl, { preferCanvas: false, zoomSnap: 0.25 });
  if (mapEl.dataset.tileUrl) {
    L.tileLayer(mapEl.dataset.tileUrl, {
      attribution: mapEl.dataset.attribution, maxZoom: 19,
    }).addTo(map);
  }
  const depot = [data.post_office.lat, data.post_office.lon];
  const bounds = L.latLngBounds([depot, depot]);
  for (const courier of data.couriers) {
    if (!courier.stops.length) continue;
    // Straight legs between stops: the order and the shape of the day, not the road path.
    const points = [depot].concat(courier.stops.map((s) => [s.lat, s.lon]), [depot]);
    L.polyline(points, {
      color: courier.colour, weight: 4, opacity: 0.85,
      className: "route route-courier-" + courier.id,
    }).bindTooltip(courier.name, { sticky: true }).addTo(map);
    for (const s of courier.stops) {
      L.circleMarker([s.lat, s.lon], {
        radius: 7, color: courier.colour, weight: 2, fillOpacity: 1,
        fillColor: s.kind.startsWith("home") ? "#ffffff" : courier.colour,
        className: "stop-marker stop-" + s.id,
      }).bindTooltip(
        s.sequence + ". " + hm(s.eta) + " · " + s.kind_label + " — " + s.label
      ).addTo(map);
      bounds.extend([s.lat, s.lon]);
    }
  }
  for (const s of data.unassigned) {
    L.circleMarker([s.lat, s.lon], {
      radius: 6, color: "#6b7280", weight: 2, dashArray: "3 3", fillOpacity: 0.2,
      className: "stop-marker unassigned-marker stop-" + s.id,
    }).bindTooltip(s.kind_label + " — " + s.label + " · " + (s.unassigned_reason || "")).addTo(map);
    bounds.extend([s.lat, s.lon]);
  }
  L.circleMarker(depot, {
    radius: 10, color: "#111827", weight: 3, fillColor: "#facc15", fillOpacity: 1,
    className: "depot-marker",
  }).bindTooltip(texts.post_office + " " + data.post_office.name).addTo(map);
  map.fitBounds(bounds.pad(0.08));

  // -- actions ------------------------------------------------------------------------------
  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }

  async function post(path, body) {
    document.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    say(texts.busy, false);
    try {
      const response = await fetch("/api/v1/dispatch" + path + query, {
        method: "POST",
        credentials: "same-origin",
        // The refusal's message in the page's language (the page, not the browser, decides).
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "Accept-Language": document.documentElement.lang || "vi" },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        window.location.reload();
        return;
      }
      let detail = response.statusText;
      try {
        const answer = await response.json();
        detail = answer.message || answer.detail || detail;
      } catch (e) { /* not JSON */ }
      say(texts.failed + ": " + detail, true);
    } catch (e) {
      say(texts.failed + ": " + e, true);
    }
    document.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  }

  document.getElementById("replan").addEventListener("click", () => {
    post("/plan", { date: root.dataset.date });
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.move, button.lock");
    if (!button) return;
    const stop = button.closest("li.stop");
    const stopId = stop.dataset.stopId;
    if (button.classList.contains("lock")) {
      post("/stops/" + stopId + "/lock", { locked: button.dataset.locked !== "true" });
      return;
    }
    const choice = stop.querySelector("select.move-to").value;
    if (!choice) {
      say(texts.choose, true);
      return;
    }
    post("/stops/" + stopId + "/move", { courier_id: Number(choice) });
  });
})();
