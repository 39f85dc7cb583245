// Digitising a dossier at the door: the camera (or the gallery) page by page, a preview of
// each page, re-take, reorder and remove, then the checklist documents' page ranges.
// Each page is scaled to 1,600 px on its long side and re-encoded as JPEG on the phone
// (a 12-megapixel photo of 3–5 MB becomes ~150–300 KB), stored in IndexedDB under its
// SHA-256 and uploaded by sync.js when there is signal; the copy is asked for once every
// page is up. Nothing here needs the network.
import { copies, pages } from "./store.js";
import { queueCopy, storePage, uuid } from "./sync.js";
import { currentLang, t } from "./i18n.js";

const MAX_SIDE = 1600;
const QUALITY = 0.8;

// A picture file as a JPEG of at most MAX_SIDE px; rejects what the browser cannot decode.
async function compress(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // a PNG's transparency prints white, not black
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
}

function kb(bytes) {
  return `${Math.round(bytes / 1024).toLocaleString(currentLang() === "en" ? "en" : "vi-VN")} KB`;
}

// The copy being captured, kept in IndexedDB as a draft so a reload or a call loses nothing.
async function draftFor(code) {
  const copy = await copies.get(code);
  if (copy && copy.state === "draft") return copy;
  return null;
}

export async function capturedDocuments(code) {
  const copy = await copies.get(code);
  return copy && copy.state !== "refused" ? copy.documents || [] : [];
}

export async function digitiseScreen(stop, { h, screen, message, go }) {
  const code = ((stop.items || [])[0] || {}).code;
  if (!code) return go(`#/stop/${stop.id}`);
  const documents = (stop.documents || []).filter((d) => d.kind !== "shown");
  const saved = await copies.get(code);
  if (saved && saved.state !== "draft") return showSaved(stop, code, saved, { h, screen, message, go });
  const draft = (await draftFor(code)) || { code, stop_id: stop.id, state: "draft", pages: [], documents: [] };
  const urls = new Map();
  const list = h("ol", { class: "pages", id: "page-list" });
  const summary = h("p", { class: "muted", id: "page-summary" });
  const errorBox = h("div", { id: "digitise-error", "aria-live": "assertive" });
  let replacing = null; // index of the page being re-taken, or null to add at the end

  const input = h("input", { id: "page-input", type: "file", accept: "image/*", capture: "environment", multiple: true, hidden: true });
  const addButton = h("button", { type: "button", class: "secondary", id: "add-pages", onclick: () => { replacing = null; input.click(); } }, t("add_pages"));

  async function persist() {
    await copies.put(draft);
  }

  async function urlOf(sha) {
    if (!urls.has(sha)) {
      const record = await pages.get(code, sha);
      urls.set(sha, record ? URL.createObjectURL(record.blob) : "");
    }
    return urls.get(sha);
  }

  async function render() {
    let total = 0;
    const rows = [];
    for (const [index, sha] of draft.pages.entries()) {
      const record = await pages.get(code, sha);
      total += record ? record.size : 0;
      const move = (delta) => async () => {
        const [page] = draft.pages.splice(index, 1);
        draft.pages.splice(index + delta, 0, page);
        await persist();
        await render();
      };
      rows.push(
        h(
          "li",
          { "data-sha": sha, "data-size": String(record ? record.size : 0) },
          h("img", { src: await urlOf(sha), alt: `${t("page_n")} ${index + 1}`, class: "thumb" }),
          h(
            "div",
            { class: "page-actions" },
            h("strong", {}, `${t("page_n")} ${index + 1}`),
            h("small", { class: "muted" }, record ? kb(record.size) : ""),
            h("button", { type: "button", class: "small secondary retake", onclick: () => { replacing = index; input.click(); } }, t("retake")),
            h("button", { type: "button", class: "small secondary up", disabled: index === 0, onclick: move(-1) }, t("move_up")),
            h("button", { type: "button", class: "small secondary down", disabled: index === draft.pages.length - 1, onclick: move(1) }, t("move_down")),
            h("button", { type: "button", class: "small secondary remove", onclick: async () => { draft.pages.splice(index, 1); await persist(); await render(); } }, t("remove_page")),
          ),
        ),
      );
    }
    list.replaceChildren(...(rows.length ? rows : [h("li", { class: "muted" }, t("no_pages_yet"))]));
    summary.textContent = `${draft.pages.length} ${t("page_n").toLowerCase()} · ${t("upload_size")}: ${kb(total)}`;
    summary.dataset.pages = String(draft.pages.length);
    summary.dataset.bytes = String(total);
  }

  input.addEventListener("change", async () => {
    errorBox.replaceChildren();
    const files = [...(input.files || [])];
    input.value = "";
    for (const file of files) {
      let blob;
      try {
        blob = await compress(file);
      } catch {
        errorBox.replaceChildren(message("bad", `${file.name}: ${t("page_not_image")}`));
        continue;
      }
      const sha = await storePage(code, blob);
      if (replacing !== null) {
        draft.pages[replacing] = sha;
        replacing = null;
      } else if (!draft.pages.includes(sha)) {
        draft.pages.push(sha);
      }
    }
    await persist();
    await render();
  });

  // Each checklist document's pages: what the pickup's checklist is then ticked from.
  const ranges = documents.map((doc, i) => {
    const known = (draft.documents || []).find((d) => d.name === doc.name) || {};
    const name = currentLang() === "en" ? doc.name_en || doc.name : doc.name;
    return h(
      "li",
      { "data-doc": doc.name },
      h("div", {}, name),
      h(
        "div",
        { class: "range" },
        h("label", { for: `first-${i}` }, t("from_page")),
        h("input", { id: `first-${i}`, type: "number", min: "1", inputmode: "numeric", value: known.first_page ? String(known.first_page) : "" }),
        h("label", { for: `last-${i}` }, t("to_page")),
        h("input", { id: `last-${i}`, type: "number", min: "1", inputmode: "numeric", value: known.last_page ? String(known.last_page) : "" }),
      ),
    );
  });

  function readRanges() {
    const out = [];
    for (const [i, doc] of documents.entries()) {
      const first = Number(document.getElementById(`first-${i}`).value || 0);
      const last = Number(document.getElementById(`last-${i}`).value || first);
      if (!first) continue;
      if (first < 1 || last < first || last > draft.pages.length) {
        throw new Error(`${doc.name}: ${t("from_page")} ${first} ${t("to_page")} ${last}`);
      }
      out.push({ name: doc.name, first_page: first, last_page: last });
    }
    return out;
  }

  const save = h("button", { type: "button", id: "save-copy" }, t("save_copy"));
  save.addEventListener("click", async () => {
    errorBox.replaceChildren();
    if (!draft.pages.length) return errorBox.replaceChildren(message("bad", t("no_pages_yet")));
    let documentsPages;
    try {
      documentsPages = readRanges();
    } catch (error) {
      return errorBox.replaceChildren(message("bad", error.message));
    }
    await queueCopy({ code, stop_id: stop.id, client_id: uuid(), pages: [...draft.pages], documents: documentsPages });
    go(`#/pickup/${stop.id}`);
  });

  await screen(
    t("digitise"),
    `#/pickup/${stop.id}`,
    h(
      "div",
      { class: "card", id: "digitise" },
      h("p", {}, h("strong", {}, code)),
      h("p", { class: "muted" }, t("digitise_hint")),
      input,
      addButton,
      summary,
      list,
      documents.length ? h("fieldset", {}, h("legend", {}, t("documents_pages")), h("ul", { class: "checklist ranges" }, ranges)) : null,
      errorBox,
      save,
    ),
    null,
  );
  await render();
}

async function showSaved(stop, code, copy, { h, screen, message, go }) {
  const state = copy.state === "done" ? "copy_done" : copy.state === "refused" ? "copy_refused" : "copy_pending";
  const again = h("button", { type: "button", class: "secondary", id: "digitise-again" }, t("digitise_again"));
  again.addEventListener("click", async () => {
    await copies.put({ code, stop_id: stop.id, state: "draft", pages: [...copy.pages], documents: copy.documents || [] });
    go(`#/digitise/${stop.id}?again=${Date.now()}`);
  });
  await screen(
    t("digitise"),
    `#/pickup/${stop.id}`,
    h(
      "div",
      { class: "card", id: "digitise", "data-state": copy.state },
      h("p", {}, h("strong", {}, code)),
      message(copy.state === "refused" ? "bad" : "good", t(state)),
      copy.message ? h("p", { class: "form-error" }, copy.message) : null,
      h("p", {}, `${copy.pages.length} ${t("page_n").toLowerCase()}`),
      copy.result ? h("p", { class: "muted", id: "copy-sha" }, `SHA-256 ${copy.result.pdf_sha256.slice(0, 16)}…`) : null,
      again,
    ),
    null,
  );
}
