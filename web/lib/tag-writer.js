// Writing genres into the files of a folder opened with the File System Access API, losing
// nothing, as `trainer tags write` does natively:
//   1. the file is read, and the decoder module (in a worker) makes the new bytes and checks
//      them: the genre reads back, and the audio stream is the original's, packet for packet;
//   2. the bytes are written through `createWritable()`, which writes a new file beside the
//      original and only replaces it when the stream is closed (a crash leaves the original);
//   3. the file is read back from the disk and checked again against the original bytes; if
//      that fails, the original bytes are put back;
//   4. the write is logged in the page's storage (with the folder's handle), so `undo` can put
//      the previous genres (and MSD_TAGS field, when the write set it) back later, even after
//      a reload, with the same steps.
// A file that changed since it was analysed, a format that cannot hold a genre, or a file the
// browser may not write is reported and left untouched.

import { fileHandleAt } from './drop.js';


/** An error with a `code` the page shows. */
function failure(code, message) {
  return Object.assign(new Error(message), { code });
}

/** Asks for write access to `handle` (a file or its folder) if not granted yet. */
export async function ensureWritable(handle) {
  const mode = { mode: 'readwrite' };
  if ((await handle.queryPermission?.(mode)) === 'granted') return;
  if ((await handle.requestPermission?.(mode)) !== 'granted') {
    throw failure('read_only', 'the browser was not allowed to write to this folder');
  }
}

/** The genre names as written: the verdict's label, as the CLI writes it. */
const genresOf = (genre) => (Array.isArray(genre) ? genre : genre ? [genre] : []);

export class TagWriter {
  /** `pool`: the engine pool (its decoder module checks); `store`: the page's storage. */
  constructor(pool, store) {
    this.pool = pool;
    this.store = store;
    this.seq = 0;
  }

  /**
   * Writes `genre` (a name, a list, or '' for none) as the genre of the file at `handle` and,
   * unless `msdTags` is null, those MSD tags into its MSD_TAGS field (an empty list removes
   * it), checked before and after (see above). `expected` ({size, lastModified}) is the file
   * as it was analysed; a file changed since is refused. Resolves to `{file, before, genres,
   * msdTags}` (the file as it now is, its tags before, what was written); rejects with `code`:
   * `changed`, `no_tags`, `tags_unwritable`, `tag_check_failed` or `read_only`. With `log`
   * (`{action, path, root}`), the write is logged for undo.
   */
  async write(handle, genre, { expected = null, log = null, msdTags = null } = {}) {
    const genres = genresOf(genre);
    const current = await handle.getFile();
    if (expected && (current.size !== expected.size || current.lastModified !== expected.lastModified)) {
      throw failure('changed', 'the file changed since it was analysed; analyse it again first');
    }
    // Read into memory: a File of a handle cannot be read once the file is rewritten.
    const original = new Blob([await current.arrayBuffer()]);
    const { bytes, before } = await this.pool.tagBytes(original, genres, msdTags);
    await ensureWritable(handle);
    await this.replace(handle, bytes);
    const written = await handle.getFile();
    try {
      await this.pool.checkTagged(original, written, genres, msdTags);
    } catch (err) {
      await this.replace(handle, new Uint8Array(await original.arrayBuffer()));
      throw failure(err.code ?? 'tag_check_failed', `${err.message}; the original was put back`);
    }
    if (log) {
      this.seq += 1;
      // `beforeMsd` / `afterMsd`: the MSD_TAGS field before and as written (null: not written).
      const msd = msdTags ? { beforeMsd: before.msdTags ?? [], afterMsd: msdTags } : { beforeMsd: null, afterMsd: null };
      await this.store.logTagWrite({ id: `${Date.now()}-${this.seq}-${log.path}`, seq: this.seq, action: log.action, at: new Date().toISOString(), path: log.path, root: log.root, before: before.genres, after: genres, ...msd, undone: null });
    }
    return { file: written, before, genres, msdTags };
  }

  /** Replaces the file's content (a new file beside it, swapped in on close). */
  async replace(handle, bytes) {
    let stream;
    try {
      stream = await handle.createWritable({ keepExistingData: false });
      await stream.write(bytes);
      await stream.close();
    } catch (err) {
      await stream?.abort().catch(() => {});
      const denied = err.name === 'NotAllowedError' || err.name === 'NoModificationAllowedError' || err.name === 'InvalidStateError';
      throw failure(denied ? 'read_only' : 'io', denied ? `the file cannot be written (${err.message}); it is unchanged` : `writing the file failed (${err.message}); it is unchanged`);
    }
  }

  /** The actions that can be undone, newest first: `[{action, at, count}]`. */
  async undoable() {
    const actions = new Map();
    for (const e of await this.store.tagWrites()) {
      const a = actions.get(e.action) ?? { action: e.action, at: e.at, count: 0 };
      a.count += 1;
      actions.set(e.action, a);
    }
    return [...actions.values()];
  }

  /**
   * Undoes the newest action (every file it wrote, newest first): each file gets its previous
   * genres (and MSD_TAGS field, where the action set it) back, with the same checks, if it
   * still has what was written then (a file changed since is left alone and reported).
   * Resolves to `[{path, ok, error, file, genres, msdTags}]`.
   */
  async undoLast() {
    const entries = await this.store.tagWrites();
    if (!entries.length) return [];
    const action = entries[0].action;
    const outcomes = [];
    for (const entry of entries.filter((e) => e.action === action)) {
      try {
        await ensureWritable(entry.root);
        const handle = await fileHandleAt(entry.root, entry.path);
        const { tags } = await this.pool.readTags(await handle.getFile());
        const same = (a, b) => a.join('\u0000') === b.join('\u0000');
        if (!same(tags.genres, entry.after)) {
          throw failure('changed', `its genre is now ${JSON.stringify(tags.genres)}, not what was written; left as it is`);
        }
        if (entry.afterMsd && !same(tags.msdTags ?? [], entry.afterMsd)) {
          throw failure('changed', `its MSD_TAGS field is now ${JSON.stringify(tags.msdTags ?? [])}, not what was written; left as it is`);
        }
        const msdTags = entry.afterMsd ? entry.beforeMsd : null;
        const { file } = await this.write(handle, entry.before, { msdTags });
        await this.store.logTagWrite({ ...entry, undone: new Date().toISOString() });
        outcomes.push({ path: entry.path, ok: true, file, genres: entry.before, msdTags });
      } catch (err) {
        // A file changed since is left for good (no later undo retries it); other failures
        // (no permission, say) stay in the log to try again.
        if (err.code === 'changed') await this.store.logTagWrite({ ...entry, undone: new Date().toISOString(), skipped: err.message });
        outcomes.push({ path: entry.path, ok: false, error: { message: err.message, code: err.code ?? null } });
      }
    }
    return outcomes;
  }
}
