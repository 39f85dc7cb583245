// The phone's durable memory: IndexedDB. Every action is written here before anything is
// sent, so closing the app, losing signal or a crash loses nothing. Stores:
//   kv      — session, device install id, cached run sheet and reason lists
//   events  — scan events by client_event_id, with their sync state and the server's answer
//   media   — signature and photo blobs by SHA-256, with whether they are uploaded
//   pages   — dossier page photos (compressed JPEG) by code + SHA-256, uploaded or not
//   copies  — a dossier's digitised copy as captured: its pages in order, the checklist
//             documents' page ranges, and whether the server has made the PDF (by code)
const DB_NAME = "hoso-courier";
const VERSION = 2;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = (event) => {
      const db = request.result;
      if (event.oldVersion < 1) {
        db.createObjectStore("kv");
        const events = db.createObjectStore("events", { keyPath: "client_event_id" });
        events.createIndex("state", "state");
        events.createIndex("queued_at", "queued_at");
        const media = db.createObjectStore("media", { keyPath: "sha256" });
        media.createIndex("uploaded", "uploaded");
      }
      if (event.oldVersion < 2) {
        db.createObjectStore("pages", { keyPath: "key" });
        db.createObjectStore("copies", { keyPath: "code" });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

function run(storeName, mode, work) {
  return open().then(
    (db) =>
      new Promise((resolve, reject) => {
        const tx = db.transaction(storeName, mode);
        const store = tx.objectStore(storeName);
        let result;
        Promise.resolve(work(store)).then((value) => (result = value));
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export const kv = {
  get: (key) => run("kv", "readonly", (s) => req(s.get(key))),
  set: (key, value) => run("kv", "readwrite", (s) => req(s.put(value, key))),
  del: (key) => run("kv", "readwrite", (s) => req(s.delete(key))),
};

export const events = {
  // Durable before it resolves: the transaction has committed when this returns.
  add: (event) => run("events", "readwrite", (s) => req(s.add(event))),
  put: (event) => run("events", "readwrite", (s) => req(s.put(event))),
  all: () => run("events", "readonly", (s) => req(s.getAll())),
  byState: (state) => run("events", "readonly", (s) => req(s.index("state").getAll(state))),
  countPending: () => run("events", "readonly", (s) => req(s.index("state").count("pending"))),
};

export const media = {
  put: (record) => run("media", "readwrite", (s) => req(s.put(record))),
  get: (sha) => run("media", "readonly", (s) => req(s.get(sha))),
  notUploaded: () =>
    run("media", "readonly", (s) => req(s.getAll())).then((all) => all.filter((m) => !m.uploaded)),
};

// A page is keyed by dossier and hash: the same photo of two dossiers is two uploads.
export const pages = {
  put: (record) => run("pages", "readwrite", (s) => req(s.put({ ...record, key: `${record.code}/${record.sha256}` }))),
  get: (code, sha) => run("pages", "readonly", (s) => req(s.get(`${code}/${sha}`))),
  all: () => run("pages", "readonly", (s) => req(s.getAll())),
};

export const copies = {
  put: (record) => run("copies", "readwrite", (s) => req(s.put(record))),
  get: (code) => run("copies", "readonly", (s) => req(s.get(code))),
  all: () => run("copies", "readonly", (s) => req(s.getAll())),
};
