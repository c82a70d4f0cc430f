// The batch: one record per dropped file, in drop order. The table and the exports are
// both built from these records, so they always agree.

/**
 * A record: {id, file, size, state: 'queued'|'running'|'refining'|'done'|'error', result, error,
 * fileTags}; `fileTags` is what the file's own tags say ({format, tagTypes, genres, title,
 * artist, album}), once read.
 * `result` is the engine's result (while 'refining', the first answer or a refinement of it) (labels, probabilities, top, verdict, tags, music, signal,
 * windows, source, timings...).
 */
export class Records extends EventTarget {
  constructor() {
    super();
    this.list = [];
  }

  add(file) {
    const record = { id: this.list.length + 1, file: file.name, size: file.size ?? 0, state: 'queued', result: null, error: null, fileTags: null };
    this.list.push(record);
    this.changed(record);
    return record;
  }

  update(record, changes) {
    Object.assign(record, changes);
    this.changed(record);
  }

  clear() {
    this.list = [];
    this.changed(null);
  }

  changed(record) {
    this.dispatchEvent(new CustomEvent('change', { detail: record }));
  }

  /** How many done files got each verdict kind: {genre, uncertain, not_music, silent} (kinds seen only). */
  verdictCounts() {
    const counts = {};
    for (const r of this.list) {
      const kind = r.result?.verdict?.kind;
      if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
    }
    return counts;
  }

  /** The labels of the model that produced the results (from the first result). */
  labels() {
    return this.list.find((r) => r.result)?.result.labels ?? [];
  }
}
