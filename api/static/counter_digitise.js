// Digitising at the counter: the flatbed scanner's files or the webcam, page by page, with
// a preview of each, re-take, reorder and remove. The pages are kept in the file input
// itself (rewritten through a DataTransfer in the order shown), so the form sends them as
// a plain multipart form; the server stores and checks each page (api/counter_digitise.py).
// As in the courier app, a picture the browser can read is scaled to 1,600 px on its long
// side and re-encoded as JPEG (quality 0.8); one it cannot read (a TIFF, or not a picture)
// is sent as it is and the server converts it or says why it is refused.
(function () {
  "use strict";
  const MAX_SIDE = 1600;
  const QUALITY = 0.8;
  const input = document.getElementById("digitise-files");
  const tools = document.querySelector(".digitise-tools");
  if (!input || !tools) return;
  const t = (key) => tools.dataset[key] || "";
  const list = document.getElementById("digitise-pages");
  const summary = document.getElementById("digitise-summary");
  const errorBox = document.getElementById("digitise-error");
  const video = document.getElementById("webcam");
  const startCamera = document.getElementById("webcam-start");
  const shoot = document.getElementById("webcam-shoot");
  const pages = []; // {file, url}
  let replacing = null; // the index being re-taken, or null to add at the end
  let busy = Promise.resolve();

  async function compress(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    return toJpeg(bitmap, bitmap.width, bitmap.height, () => bitmap.close());
  }

  function toJpeg(source, width, height, done) {
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // a PNG's transparency prints white, not black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    if (done) done();
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
  }

  function jpegName(name) {
    return (name || "trang").replace(/\.[^.]*$/, "") + ".jpg";
  }

  async function prepared(file) {
    const looksLikePicture = /^image\/(jpeg|png|webp|bmp|gif)$/.test(file.type);
    if (!looksLikePicture) return { file, url: null };
    try {
      const blob = await compress(file);
      const jpeg = new File([blob], jpegName(file.name), { type: "image/jpeg" });
      return { file: jpeg, url: URL.createObjectURL(jpeg) };
    } catch (error) {
      return { file, url: null }; // the server names why it is not a page
    }
  }

  function place(page) {
    if (replacing !== null && replacing < pages.length) {
      if (pages[replacing].url) URL.revokeObjectURL(pages[replacing].url);
      pages[replacing] = page;
      replacing = null;
    } else {
      pages.push(page);
    }
  }

  function sync() {
    const transfer = new DataTransfer();
    for (const page of pages) transfer.items.add(page.file);
    input.files = transfer.files;
  }

  function button(label, className, action, disabled) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `small secondary ${className}`;
    b.textContent = label;
    b.disabled = Boolean(disabled);
    b.addEventListener("click", action);
    return b;
  }

  function render() {
    sync();
    list.replaceChildren();
    let total = 0;
    pages.forEach((page, index) => {
      total += page.file.size;
      const li = document.createElement("li");
      li.dataset.name = page.file.name;
      li.dataset.size = String(page.file.size);
      if (page.url) {
        const img = document.createElement("img");
        img.src = page.url;
        img.className = "thumb";
        img.alt = `${t("tPage")} ${index + 1}`;
        li.append(img);
      } else {
        const none = document.createElement("span");
        none.className = "thumb none muted";
        none.textContent = t("tNoPreview");
        li.append(none);
      }
      const label = document.createElement("strong");
      label.textContent = `${t("tPage")} ${index + 1}`;
      const size = document.createElement("small");
      size.className = "muted";
      size.textContent = ` ${page.file.name} · ${Math.round(page.file.size / 1024)} KB `;
      const move = (delta) => () => {
        const [moved] = pages.splice(index, 1);
        pages.splice(index + delta, 0, moved);
        render();
      };
      li.append(
        label,
        size,
        button(t("tRetake"), "retake", () => {
          replacing = index;
          if (video && !video.hidden) return; // the next webcam shot replaces it
          input.click();
        }),
        button(t("tUp"), "up", move(-1), index === 0),
        button(t("tDown"), "down", move(1), index === pages.length - 1),
        button(t("tRemove"), "remove", () => {
          const [gone] = pages.splice(index, 1);
          if (gone.url) URL.revokeObjectURL(gone.url);
          render();
        }),
      );
      list.append(li);
    });
    if (!pages.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = t("tNone");
      list.append(li);
    }
    summary.textContent = `${pages.length} ${t("tCount")} · ${Math.round(total / 1024)} KB`;
    summary.dataset.pages = String(pages.length);
  }

  input.addEventListener("change", () => {
    // The input now holds only the files just chosen; the page list holds the rest.
    const chosen = [...(input.files || [])];
    busy = busy.then(async () => {
      for (const file of chosen) place(await prepared(file));
      render();
    });
  });

  async function openCamera() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1920 } } });
      video.srcObject = stream;
      video.hidden = false;
      shoot.hidden = false;
      startCamera.hidden = true;
    } catch (error) {
      errorBox.textContent = t("tNoCamera");
      errorBox.hidden = false;
    }
  }

  function takeShot() {
    if (!video.videoWidth) return;
    busy = busy.then(async () => {
      const blob = await toJpeg(video, video.videoWidth, video.videoHeight);
      const file = new File([blob], `webcam-${Date.now()}.jpg`, { type: "image/jpeg" });
      place({ file, url: URL.createObjectURL(file) });
      render();
    });
  }

  // The webcam where the browser has one; otherwise the file input alone (its fallback).
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia && startCamera) {
    startCamera.hidden = false;
    startCamera.addEventListener("click", openCamera);
    shoot.addEventListener("click", takeShot);
  }
  render();
})();
