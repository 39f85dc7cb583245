// Checks a hand-off receipt in the browser with nothing but the ledger's public key:
// the event's fields -> its leaf hash (RFC 9162, 0x00 prefix) -> the inclusion proof -> the
// root in the signed head (C2SP checkpoint), whose Ed25519 signature WebCrypto verifies.
// The same steps as tools/verify_receipt.py and core/custody/merkle.py; no network.
"use strict";

(function () {
  const section = document.getElementById("receipt-check");
  if (!section) return;
  const en = section.dataset.lang === "en";
  const t = (vi, english) => (en ? english : vi);
  const enc = new TextEncoder();

  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
  const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const b64 = (text) => {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
      throw new Error("base64");
    }
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  };

  function parseKey(vkey) {
    // The base64 key may itself hold "+": only the first two separate fields.
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    const name = vkey.slice(0, first), hexId = vkey.slice(first + 1, second);
    const encoded = vkey.slice(second + 1);
    const raw = b64(encoded);
    if (raw.length !== 33 || raw[0] !== 1 || !/^[0-9a-f]{8}$/.test(hexId)) throw new Error("key");
    return { name, id: parseInt(hexId, 16), pub: raw.slice(1), text: vkey };
  }

  // signed-note: text, a blank line, "— <name> base64(key id || signature)" lines.
  async function openNote(note, keys) {
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0) return { error: t("mốc không có chữ ký", "the head carries no signature") };
    const text = note.slice(0, cut + 1);
    const lines = note.slice(cut + 2).split("\n").filter((l) => l !== "");
    let trusted = false;
    for (const line of lines) {
      if (!line.startsWith("\u2014 ")) return { error: t("dòng chữ ký sai dạng", "a malformed signature line") };
      const space = line.lastIndexOf(" ");
      const name = line.slice(2, space);
      let blob;
      try { blob = b64(line.slice(space + 1)); } catch { return { error: t("chữ ký không phải base64", "a signature is not base64") }; }
      if (blob.length < 5) return { error: t("chữ ký quá ngắn", "a signature is too short") };
      const id = ((blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3]) >>> 0;
      const key = keys.find((k) => k.name === name && k.id === id);
      if (!key) continue; // signatures by unknown keys are ignored (signed-note)
      const cryptoKey = await crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, blob.slice(4), enc.encode(text));
      if (!ok) return { error: t("chữ ký của mốc không hợp lệ với khóa công khai: mốc đã bị sửa", "the head's signature does not verify with the public key: the head was altered") };
      trusted = true;
    }
    if (!trusted) return { error: t("mốc không được ký bằng khóa công khai đã công bố", "the head is not signed by the published public key") };
    return { text };
  }

  async function verifyInclusion(index, size, leaf, proof, root) {
    if (!(index >= 0 && index < size)) return false;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(r, root);
  }

  // Returns { state: "valid" | "pending" | "invalid", problems: [...] }.
  async function check(text, keys, origin) {
    const problems = [];
    let receipt;
    try { receipt = JSON.parse(text); } catch {
      return { state: "invalid", problems: [t("biên nhận không đọc được (không phải JSON hợp lệ)", "the receipt cannot be read (not valid JSON)")] };
    }
    const e = receipt && receipt.event;
    if (!e || typeof e.item !== "string" || !Number.isInteger(e.seq) || typeof e.kind !== "string" ||
        typeof e.recorded_at !== "string" || typeof e.hash !== "string") {
      return { state: "invalid", problems: [t("biên nhận thiếu thông tin sự kiện", "the receipt lacks the event's fields")] };
    }
    if (receipt.log !== origin) {
      problems.push(t(`biên nhận thuộc sổ cái "${receipt.log}", không phải "${origin}"`, `the receipt is of log "${receipt.log}", not "${origin}"`));
    }
    const data = enc.encode(`hoso-custody-event/v1\n${e.item}\n${e.seq}\n${e.kind}\n${e.recorded_at}\n${e.hash}\n`);
    const leaf = await leafHash(data);
    let claimed = null;
    try { claimed = b64(receipt.leaf_hash); } catch { /* reported below */ }
    if (!claimed || !same(leaf, claimed)) {
      problems.push(t("thông tin sự kiện (mã bưu gửi, số thứ tự, loại, thời điểm hoặc mã băm) không khớp với mã băm lá: biên nhận đã bị sửa",
                      "the event's fields (item, number, kind, time or hash) do not match the leaf hash: the receipt was altered"));
    }
    if (!receipt.checkpoint) {
      return { state: problems.length ? "invalid" : "pending", problems };
    }
    const opened = await openNote(String(receipt.checkpoint), keys);
    if (opened.error) {
      problems.push(opened.error);
      return { state: "invalid", problems };
    }
    const lines = opened.text.split("\n");
    const size = Number(lines[1]);
    let root = null;
    try { root = b64(lines[2]); } catch { /* below */ }
    if (lines[0] !== origin) problems.push(t("mốc thuộc một sổ cái khác", "the head is of another log"));
    if (!/^[0-9]+$/.test(lines[1] || "") || !root || root.length !== 32) {
      problems.push(t("mốc sai dạng (kích thước hoặc gốc cây)", "the head is malformed (size or root)"));
      return { state: "invalid", problems };
    }
    let proof = [];
    try { proof = (receipt.proof || []).map(b64); } catch {
      problems.push(t("bằng chứng không phải base64", "the proof is not base64"));
      return { state: "invalid", problems };
    }
    if (!(await verifyInclusion(Number(receipt.leaf_index), size, leaf, proof, root))) {
      problems.push(t(`bằng chứng bao hàm không dẫn tới gốc cây đã ký (mốc ${size} sự kiện): sự kiện này không nằm trong sổ cái đã ký`,
                      `the inclusion proof does not lead to the signed root (head of ${size} events): this event is not in the signed ledger`));
    }
    return { state: problems.length ? "invalid" : "valid", problems, size };
  }

  async function run() {
    const verdict = document.getElementById("verdict");
    const list = document.getElementById("problems");
    const text = document.getElementById("receipt-text").value;
    list.replaceChildren();
    if (!text.trim()) return;
    let result;
    try {
      const keys = section.dataset.keys.split(",").filter(Boolean).map(parseKey);
      result = await check(text, keys, section.dataset.origin);
    } catch (err) {
      result = { state: "invalid", problems: [t("trình duyệt không kiểm tra được (cần hỗ trợ Ed25519): ", "the browser cannot check it (Ed25519 support needed): ") + err] };
    }
    verdict.dataset.state = result.state;
    verdict.className = result.state === "valid" ? "ok" : result.state === "pending" ? "muted" : "error";
    verdict.textContent = result.state === "valid"
      ? t(`Hợp lệ: sự kiện này nằm trong sổ cái đã ký (mốc ${result.size} sự kiện).`, `Valid: this event is in the signed ledger (head of ${result.size} events).`)
      : result.state === "pending"
        ? t("Chưa có mốc ký nào chứa sự kiện này; hãy mở lại sau ít phút.", "No signed head covers this event yet; open it again in a few minutes.")
        : t("Không hợp lệ:", "Not valid:");
    for (const problem of result.problems) {
      const li = document.createElement("li");
      li.textContent = problem;
      list.append(li);
    }
  }

  document.getElementById("check-again").addEventListener("click", run);
  run();
})();
