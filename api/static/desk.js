// Desk enhancements. Every form works without this file; with it, scanning does not reload
// the page (a USB scanner types the code and Enter, many times a minute) and the signature
// pads can be drawn on.
(function () {
  "use strict";
  var vi = document.documentElement.lang !== "en";

  function say(kind, text) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var p = document.createElement("p");
    p.className = kind;
    if (kind === "error") p.setAttribute("role", "alert");
    p.textContent = text;
    flash.replaceChildren(p);
  }

  // Replace the item table and counts with the server's current rendering.
  function refreshLines() {
    return fetch(location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("lines");
        var here = document.getElementById("lines");
        if (fresh && here) here.replaceWith(fresh);
      });
  }

  var scanForm = document.querySelector("form[data-scan-live]");
  if (scanForm) {
    var input = scanForm.querySelector("input[name=code]");
    var queue = Promise.resolve();
    scanForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = input.value.trim();
      input.value = "";
      input.focus();
      if (!code) return;
      var body = new FormData();
      body.append("code", code);
      // One scan at a time, in the order scanned: the server sees them as the desk did.
      queue = queue.then(function () {
        return fetch(scanForm.action, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
          .then(function (r) {
            if (!(r.headers.get("content-type") || "").includes("json")) {
              throw new Error("HTTP " + r.status);
            }
            return r.json();
          })
          .then(function (answer) {
            if (answer.ok) {
              var kind = answer.outcome === "confirmed" ? "ok" : answer.outcome === "extra" ? "warn" : "muted";
              say(kind, vi ? answer.message_vi : answer.message_en);
            } else {
              say("error", (vi ? "Không ghi nhận được: " : "Not recorded: ") + answer.error);
            }
          })
          .catch(function (err) {
            say("error", (vi ? "Không rõ kết quả quét " : "Unclear result for ") + code +
                " (" + err.message + "). " + (vi ? "Kiểm tra danh sách, quét lại nếu cần." :
                "Check the list; scan again if needed."));
          })
          // Whatever happened, show the server's list: it is the record, not this page.
          .then(refreshLines, refreshLines)
          .catch(function () { /* the next scan must still run */ });
      });
    });
  }

  // A camera, where the browser can read barcodes itself (BarcodeDetector); the USB scanner
  // stays the main way. The code read is submitted like a typed one.
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    document.querySelectorAll("form[data-scan-live], form[data-scan]").forEach(function (form) {
      var field = form.querySelector("input[name=code]");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary camera";
      button.textContent = vi ? "Quét bằng camera" : "Scan with camera";
      field.parentNode.appendChild(button);
      button.addEventListener("click", function () {
        var video = document.createElement("video");
        video.setAttribute("playsinline", "");
        video.className = "camera-view";
        form.appendChild(video);
        var detector = new window.BarcodeDetector({ formats: ["code_128", "qr_code"] });
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
          .then(function (stream) {
            video.srcObject = stream;
            return video.play().then(function () {
              function look() {
                detector.detect(video).then(function (found) {
                  if (found.length) {
                    stream.getTracks().forEach(function (t) { t.stop(); });
                    video.remove();
                    // A label's QR holds the tracking URL; the item ID is its last part.
                    field.value = found[0].rawValue.split("/").pop();
                    form.requestSubmit();
                  } else {
                    requestAnimationFrame(look);
                  }
                }, function () { requestAnimationFrame(look); });
              }
              look();
            });
          })
          .catch(function () {
            video.remove();
            say("error", vi ? "Không mở được camera." : "The camera could not be opened.");
          });
      });
    });
  }

  // Signature pads: pointer strokes on a canvas, sent as a PNG data URL in a hidden field.
  document.querySelectorAll("[data-signature]").forEach(function (pad) {
    var canvas = pad.querySelector("canvas");
    var field = pad.querySelector("input[type=hidden]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#10245a";
    function point(e) {
      var box = canvas.getBoundingClientRect();
      return [(e.clientX - box.left) * canvas.width / box.width,
              (e.clientY - box.top) * canvas.height / box.height];
    }
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true;
      canvas.setPointerCapture(e.pointerId);
      var p = point(e);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      drawn = true;
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    pad.querySelector("[data-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      drawn = false;
      field.value = "";
    });
    var form = pad.closest("form");
    form.addEventListener("submit", function () {
      if (drawn) {
        // White under the ink, so the PNG prints the same on paper.
        var copy = document.createElement("canvas");
        copy.width = canvas.width;
        copy.height = canvas.height;
        var c = copy.getContext("2d");
        c.fillStyle = "#fff";
        c.fillRect(0, 0, copy.width, copy.height);
        c.drawImage(canvas, 0, 0);
        field.value = copy.toDataURL("image/png");
      }
    });
  });

  // A result's label, previewed in a frame, printed from it with one click (the label page
  // carries its own @page size).
  document.querySelectorAll("[data-print-frame]").forEach(function (button) {
    var frame = document.getElementById(button.getAttribute("data-print-frame"));
    if (!frame) return;
    button.hidden = false;
    button.addEventListener("click", function () { frame.contentWindow.print(); });
    button.focus();
  });

  // Bulk dossier codes: Enter after the item scan moves on to the code, not submit.
  var bulk = document.querySelector("form[data-bulk-codes]");
  if (bulk) {
    var item = bulk.querySelector("[name=item_id]");
    var code = bulk.querySelector("[name=agency_dossier_code]");
    item.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        if (item.value.trim()) code.focus();
      }
    });
  }
})();
