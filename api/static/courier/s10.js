// UPU S10 item identifiers (STANDARDS.md §1): 2 letters, 8-digit serial, check digit, 2 letters.
// Checked here before anything is queued, so a mistyped code never leaves the phone.
const WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7];

export function checkDigit(serial) {
  const sum = [...serial].reduce((acc, d, i) => acc + Number(d) * WEIGHTS[i], 0);
  const c = 11 - (sum % 11);
  return c === 10 ? 0 : c === 11 ? 5 : c;
}

// Returns {ok: true, code} with the canonical code, or {ok: false, reason} (a message key).
export function normalise(raw) {
  let text = String(raw || "").toUpperCase().replace(/[\s-]/g, "");
  // The tracking QR on a label holds a URL ending in /t/<ID>; take the ID from it.
  const fromUrl = text.match(/\/T\/([A-Z]{2}\d{9}[A-Z]{2})$/);
  if (fromUrl) text = fromUrl[1];
  if (!/^[A-Z]{2}\d{9}[A-Z]{2}$/.test(text)) return { ok: false, reason: "code_format" };
  const serial = text.slice(2, 10);
  if (checkDigit(serial) !== Number(text[10])) return { ok: false, reason: "code_check_digit" };
  return { ok: true, code: text };
}

export function format(code) {
  return `${code.slice(0, 2)} ${code.slice(2, 5)} ${code.slice(5, 8)} ${code.slice(8, 11)} ${code.slice(11)}`;
}
