// The page's storage (IndexedDB, this site only; nothing is uploaded):
//   results     every classified file's result and own tags, keyed by model, path, size and
//               modification time (`resultKey`), so a reload or a crash resumes a batch and
//               running it again skips the files already done;
//   embeddings  every own-genre example's per-patch embedding, keyed by backbone and file
//               content (`${embedder}|${sha256}`), so retraining never decodes audio again;
//   models      adopted models: {id, name, created, labels, bundle: ArrayBuffer, report};
//   drafts      the categories being built and their examples (names, hashes, no audio);
//   tagWrites   the undo log of genres written into files of an opened folder: {id, action,
//               at, path, root (the folder's handle), before, after, undone}.
// Where IndexedDB is unavailable (some private modes), the same API keeps everything in
// memory for the visit, and `persistent` says so.

const DB_NAME = 'genrescope';
const DB_VERSION = 3;
const STORES = { embeddings: 'key', models: 'id', drafts: 'id', results: 'key', tagWrites: 'id' };

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      for (const [name, keyPath] of Object.entries(STORES)) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name, { keyPath });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the storage is in use by an older copy of this page; close it and reload'));
  });
}

/** Key of a cached embedding: the backbone's id and the file's content hash. */
export function embeddingKey(embedder, hash) {
  return `${embedder}|${hash}`;
}

/** The SHA-256 of a File or Blob's bytes, as hex; null where the browser cannot hash. */
export async function contentHash(file) {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The key of a file's stored result: the model (its fingerprint), the file's path (in a
 * picked folder, else its name), size and modification time.
 */
export function resultKey(modelKey, file, path = filePath(file)) {
  return [modelKey, path, file.size ?? 0, file.lastModified ?? 0].join('|');
}

/** A file's path in a folder picked with the directory <input>, else its name. */
export function filePath(file) {
  return file.webkitRelativePath || file.name;
}

/** The page's records in IndexedDB (or in memory where it is unavailable). */
export class PageStore {
  constructor(db) {
    this.db = db;
    /** Whether records outlive the visit. */
    this.persistent = db !== null;
    this.memory = Object.fromEntries(Object.keys(STORES).map((s) => [s, new Map()]));
  }

  /** Opens the database; never rejects (falls back to memory, with the reason in `reason`). */
  static async open() {
    try {
      if (!globalThis.indexedDB) throw new Error('this browser has no IndexedDB');
      return new PageStore(await openDatabase());
    } catch (err) {
      const store = new PageStore(null);
      store.reason = err.message;
      return store;
    }
  }

  async get(store, key) {
    if (!this.db) return this.memory[store].get(key);
    return request(this.db.transaction(store).objectStore(store).get(key));
  }

  async put(store, value) {
    if (!this.db) {
      this.memory[store].set(value[STORES[store]], value);
      return;
    }
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('the storage refused the write (full?)'));
    });
  }

  async delete(store, key) {
    if (!this.db) {
      this.memory[store].delete(key);
      return;
    }
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).delete(key);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }

  async all(store) {
    if (!this.db) return [...this.memory[store].values()];
    return request(this.db.transaction(store).objectStore(store).getAll());
  }

  /** A cached embedding record, or undefined. */
  embedding(embedder, hash) {
    return this.get('embeddings', embeddingKey(embedder, hash));
  }

  /** Caches `{embedding, dim, patches, durationSeconds}` of a file under its backbone and hash. */
  saveEmbedding(embedder, hash, record) {
    return this.put('embeddings', { key: embeddingKey(embedder, hash), embedder, hash, created: new Date().toISOString(), ...record });
  }

  /** Adopted models without their bundles, newest first. */
  async models() {
    const all = await this.all('models');
    return all.map(({ bundle, ...rest }) => ({ ...rest, bytes: bundle?.byteLength ?? 0 })).sort((a, b) => b.created.localeCompare(a.created));
  }

  /** One adopted model with its bundle, or undefined. */
  model(id) {
    return this.get('models', id);
  }

  saveModel(model) {
    return this.put('models', model);
  }

  deleteModel(id) {
    return this.delete('models', id);
  }

  /** A file's stored `{key, path, size, lastModified, result, fileTags, at}`, or undefined. */
  result(key) {
    return this.get('results', key);
  }

  /** Stores a file's result (without its Mel image and parts: they are large and not shown). */
  saveResult(key, file, result, fileTags = null, path = filePath(file)) {
    const { mel, part, ...kept } = result;
    return this.put('results', { key, path, size: file.size ?? 0, lastModified: file.lastModified ?? 0, result: kept, fileTags, at: new Date().toISOString() });
  }

  /** Logs a genre written into a file (see lib/tag-writer.js), for undo. */
  logTagWrite(entry) {
    return this.put('tagWrites', entry);
  }

  /** The tag writes not undone yet, newest first. */
  async tagWrites() {
    const all = await this.all('tagWrites');
    return all.filter((e) => !e.undone).sort((a, b) => b.at.localeCompare(a.at) || b.seq - a.seq);
  }

  /** The saved draft (categories and examples), or null. */
  async draft() {
    return (await this.get('drafts', 'current')) ?? null;
  }

  saveDraft(draft) {
    return this.put('drafts', { ...draft, id: 'current' });
  }
}
