// The phone's signing key and the statement it signs for every event (docs/ledger.md,
// "Device-signed scans"). The key pair is made once per install with WebCrypto: Ed25519
// where the browser has it, else ECDSA P-256. The private key is made non-extractable and
// kept, as a CryptoKey, in IndexedDB: it signs here and can never be read out. The public
// key is registered with the device at sign-in; the server answers with its key id.
import { kv } from "./store.js";

const ALGORITHMS = [
  { name: "Ed25519", server: "Ed25519", params: { name: "Ed25519" }, sign: { name: "Ed25519" } },
  {
    name: "ECDSA",
    server: "ES256",
    params: { name: "ECDSA", namedCurve: "P-256" },
    // WebCrypto writes ECDSA signatures as r ∥ s (IEEE P1363), 64 bytes: what the server reads.
    sign: { name: "ECDSA", hash: "SHA-256" },
  },
];

function base64(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

function hex(bytes) {
  return [...new Uint8Array(bytes)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

async function generate() {
  for (const algorithm of ALGORITHMS) {
    try {
      const pair = await crypto.subtle.generateKey(algorithm.params, false, ["sign", "verify"]);
      const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
      return { privateKey: pair.privateKey, algorithm: algorithm.server, public_key: base64(spki) };
    } catch {
      // This browser lacks the algorithm: try the next one.
    }
  }
  return null; // no WebCrypto (not a secure context): the app still works, unsigned
}

// The install's key, made on first use and kept for good: a later sign-in registers the same
// key again, so events queued offline before it still verify.
export async function signingKey() {
  let key = await kv.get("signing_key");
  if (!key && globalThis.crypto && crypto.subtle) {
    key = await generate();
    if (key) await kv.set("signing_key", key);
  }
  return key || null;
}

// What sign-in sends with the device.
export async function deviceKeyFields() {
  const key = await signingKey();
  return key ? { public_key: key.public_key, key_algorithm: key.algorithm } : {};
}

// JSON with every object's keys sorted, no whitespace: the server's orjson writes the same.
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

function number(value) {
  return value === undefined || value === null ? "" : String(value);
}

// The statement: one field a line, each ending in a newline (docs/ledger.md).
export async function statement(payload, keyId, when) {
  const sent = { details: payload.details || {}, evidence: payload.evidence || {}, to_party: payload.to_party || null };
  const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(sent))));
  const offset = payload.occurred_at.slice(-6);
  const lines = [
    "hoso-scan/v1",
    keyId,
    payload.client_event_id,
    payload.kind,
    String(payload.code).trim(),
    when.toISOString().replace("Z", "000Z"), // microseconds, as the server stores them
    offset,
    number(payload.lat),
    number(payload.lon),
    number(payload.gps_accuracy_m),
    payload.place ? String(payload.place).trim() : "",
    digest,
  ];
  return new TextEncoder().encode(lines.map((line) => `${line}\n`).join(""));
}

// The payload with the key id and signature, when this install has a registered key.
export async function signed(payload, when) {
  const session = await kv.get("session");
  const key = await kv.get("signing_key");
  if (!key || !session || !session.key_id) return payload;
  const algorithm = ALGORITHMS.find((a) => a.server === key.algorithm);
  const data = await statement(payload, session.key_id, when);
  const signature = await crypto.subtle.sign(algorithm.sign, key.privateKey, data);
  return { ...payload, key_id: session.key_id, signature: base64(signature) };
}
