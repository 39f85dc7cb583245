// Every time the courier app shows is Vietnam's, whatever zone the phone is set to: a window
// booked for 10:00–12:00 must read 10:00–12:00 on a phone left on UTC or on New York time.
// The one place the app formats a time or a date (the server does the same in vntime/).
const ZONE = "Asia/Ho_Chi_Minh";
const formats = new Map();

function formatter(lang, options) {
  const key = `${lang}|${JSON.stringify(options)}`;
  if (!formats.has(key)) {
    formats.set(key, new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "vi-VN", { timeZone: ZONE, ...options }));
  }
  return formats.get(key);
}

// "10:00"
export function vnTime(iso, lang = "vi") {
  if (!iso) return "—";
  return formatter(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}

// "03/12/2026"
export function vnDate(iso, lang = "vi") {
  if (!iso) return "—";
  return formatter(lang, { day: "2-digit", month: "2-digit", year: "numeric" }).format(new Date(iso));
}

// "10:00 03/12/2026"
export function vnDateTime(iso, lang = "vi") {
  if (!iso) return "—";
  return `${vnTime(iso, lang)} ${vnDate(iso, lang)}`;
}
