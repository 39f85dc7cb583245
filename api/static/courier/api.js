// The courier mobile API (/mobile/v1). Errors keep the server's {error, detail, field, message}:
// `message` is the server's text in the app's language (asked for with Accept-Language, so a
// phone set to English still reads Vietnamese when the courier chose it), `detail` English.
import { kv } from "./store.js";
import { currentLang } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.detail)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export class Offline extends Error {}

export async function call(method, path, body, { raw = false, contentType } = {}) {
  const session = await kv.get("session");
  const headers = { "Accept-Language": currentLang() };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let payload;
  if (raw) {
    payload = body;
    headers["Content-Type"] = contentType;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(`/mobile/v1${path}`, { method, headers, body: payload });
  } catch (error) {
    throw new Offline(String(error));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
