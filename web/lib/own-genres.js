// "Your own genres": categories of example files, embedded with the loaded model's MusiCNN
// backbone by the engine pool (every worker, queued behind first answers), trained off the
// page's thread by the training module (web/pkg/train/, loaded the first time), checked by
// cross-validation, and adopted into the browser's storage as an ordinary bundle.
//
// Embeddings are cached per backbone and file content (store.js): adding an example or
// a category later retrains from the cache without decoding audio again. Nothing leaves the
// device: the files are read here, and the bundle keeps no file name.

import { folderAudioFiles } from './drop.js';
import { download } from './export.js';
import { contentHash, PageStore } from './store.js';

const TRAIN = {
  glue: new URL('../pkg/train/genrescope.js', import.meta.url),
  wasm: new URL('../pkg/train/genrescope_bg.wasm', import.meta.url),
};
const TRAIN_WORKER_URL = new URL('../train-worker.js', import.meta.url);

/** Examples per category needed to train (the cross-validation needs two folds). */
export const MIN_EXAMPLES = 2;
/** Examples per category below which the page says the estimate will be rough. */
export const SUGGESTED_EXAMPLES = 5;

/** Codes meaning "the engine's decoders cannot read this format" (as in engine.js). */
const UNSUPPORTED = new Set(['unrecognised_format', 'unsupported_codec', 'no_audio_track']);
/** The job group of own-genre embeddings in the pool (for cancelling them). */
const GROUP = 'own-genres';

/** The bundle of an adopted model, from the browser's storage. */
export async function loadOwnBundle(store, id) {
  const model = await store.model(id);
  if (!model) throw new Error(`the model "${id}" is not in this browser's storage (deleted, or adopted in another browser)`);
  return model.bundle;
}

let counter = 0;
function newId(prefix) {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter.toString(36)}`;
}

/** A file name safe to download as. */
function slug(name) {
  return name.trim().replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '') || 'my-genres';
}

/** Categories, examples, training and adopted models. Event: 'change'. */
export class OwnGenres extends EventTarget {
  constructor(pool, store) {
    super();
    this.pool = pool;
    this.store = store;
    /** [{id, name, examples: [{id, name, size, hash, state, message, patches, seconds}]}] */
    this.categories = [];
    /** Adopted models (without bundles), newest first. */
    this.models = [];
    /** The last training: {state: 'running'|'done'|'error', done, total, report, bundle, message}. */
    this.training = null;
    /** Embeddings read or computed this visit, by hash. */
    this.vectors = new Map();
    this.worker = null;
    this.trainJob = 0;
  }

  /** Opens the storage and restores the draft and the model list. */
  static async create(pool, storeReady = PageStore.open()) {
    const own = new OwnGenres(pool, await storeReady);
    await own.restore();
    return own;
  }

  changed() {
    this.dispatchEvent(new Event('change'));
  }

  /** The loaded model's backbone ({member, id, dim}), or null when it has none (or is loading). */
  get embedder() {
    return this.pool.status.model?.embedder ?? null;
  }

  async restore() {
    const draft = await this.store.draft().catch(() => null);
    this.categories = (draft?.categories ?? []).map((c) => ({
      id: c.id,
      name: c.name,
      examples: c.examples.map((e) => ({ ...e, state: 'stored', message: '' })),
    }));
    this.models = await this.store.models().catch(() => []);
    this.changed();
    // Stored examples are ready once their embeddings are found for the loaded backbone.
    const settle = async () => {
      if (this.pool.status.phase !== 'ready') return;
      this.pool.removeEventListener('status', settle);
      await this.findStored();
    };
    this.pool.addEventListener('status', settle);
    await settle();
  }

  /** Marks stored examples ready (their embedding is cached for this backbone) or missing. */
  async findStored() {
    for (const c of this.categories) {
      for (const e of c.examples) {
        if (e.state !== 'stored') continue;
        const record = this.embedder && e.hash ? await this.store.embedding(this.embedder.id, e.hash).catch(() => null) : null;
        if (record) this.ready(e, record);
        else Object.assign(e, { state: 'missing', message: 'add the file again: its analysis is not stored for this model' });
      }
    }
    this.changed();
  }

  ready(example, record) {
    this.vectors.set(example.hash, record.embedding);
    Object.assign(example, { state: 'ready', message: '', patches: record.patches, seconds: record.durationSeconds });
  }

  async saveDraft() {
    const categories = this.categories.map((c) => ({
      id: c.id,
      name: c.name,
      examples: c.examples.filter((e) => e.hash).map(({ id, name, size, hash }) => ({ id, name, size, hash })),
    }));
    await this.store.saveDraft({ categories }).catch((err) => console.warn(`own genres not saved: ${err.message}`));
  }

  category(id) {
    return this.categories.find((c) => c.id === id);
  }

  /** Adds a category; throws on an empty or duplicate name. */
  addCategory(name) {
    const clean = (name ?? '').trim().replace(/\s+/g, ' ');
    if (!clean) throw new Error('give the category a name');
    if (clean.length > 64) throw new Error('a category name has at most 64 characters');
    const existing = this.categories.find((c) => c.name.toLowerCase() === clean.toLowerCase());
    if (existing) return existing;
    const category = { id: newId('c'), name: clean, examples: [] };
    this.categories.push(category);
    this.saveDraft();
    this.changed();
    return category;
  }

  removeCategory(id) {
    this.categories = this.categories.filter((c) => c.id !== id);
    this.saveDraft();
    this.changed();
  }

  removeExample(categoryId, exampleId) {
    const c = this.category(categoryId);
    if (c) c.examples = c.examples.filter((e) => e.id !== exampleId);
    this.saveDraft();
    this.changed();
  }

  /** Adds audio files as examples of a category and analyses them (in the background). */
  addFiles(categoryId, files) {
    const category = this.category(categoryId);
    if (!category) throw new Error('no such category');
    const jobs = [];
    for (const file of files) {
      const example = { id: newId('e'), name: file.name, size: file.size, hash: null, state: 'queued', message: '' };
      category.examples.push(example);
      jobs.push(this.analyse(category, example, file));
    }
    this.changed();
    return Promise.all(jobs);
  }

  /**
   * Adds a picked folder (files with `webkitRelativePath`): each sub-folder of it is a
   * category, its audio files (at any depth) the examples. Resolves to how many categories
   * it made and how many files were outside any sub-folder or not audio (not used).
   */
  async addFolder(files) {
    const audio = (await folderAudioFiles(files)).map((entry) => entry.file);
    const groups = new Map();
    let loose = files.length - audio.length;
    for (const file of audio) {
      const parts = (file.webkitRelativePath || file.name).split('/');
      if (parts.length < 3) {
        loose += 1;
        continue;
      }
      if (!groups.has(parts[1])) groups.set(parts[1], []);
      groups.get(parts[1]).push(file);
    }
    for (const [name, group] of groups) this.addFiles(this.addCategory(name).id, group);
    return { categories: groups.size, loose };
  }

  /** Hashes a file, then takes its embedding from the cache or has the pool compute it. */
  async analyse(category, example, file) {
    const set = (changes) => {
      Object.assign(example, changes);
      this.changed();
    };
    try {
      set({ state: 'hashing' });
      example.hash = await contentHash(file);
      const duplicate = category.examples.find((e) => e !== example && e.hash && e.hash === example.hash);
      if (duplicate) {
        category.examples = category.examples.filter((e) => e !== example);
        this.changed();
        return;
      }
      const embedder = this.embedder;
      if (!embedder) throw new Error('the loaded model has no MusiCNN backbone to learn on');
      const cached = example.hash ? await this.store.embedding(embedder.id, example.hash).catch(() => null) : null;
      if (cached) {
        this.ready(example, cached);
        this.changed();
        this.saveDraft();
        return;
      }
      set({ state: 'embedding' });
      const result = await this.embed(file);
      if (result.embedder !== embedder.id) throw new Error('the model changed while the file was analysed');
      const record = { embedding: result.embedding, dim: result.dim, patches: result.patches, durationSeconds: result.durationSeconds };
      if (example.hash) await this.store.saveEmbedding(embedder.id, example.hash, record).catch((err) => console.warn(`embedding not cached: ${err.message}`));
      // Without a hash (no WebCrypto) the vector is kept for this visit only.
      example.hash ??= newId('h');
      this.ready(example, record);
      this.changed();
      this.saveDraft();
    } catch (err) {
      if (err.code === 'cancelled') set({ state: 'cancelled', message: 'cancelled' });
      else set({ state: 'error', message: err.message });
    }
  }

  /** The pool's embedding of a file, decoded by the browser where the engine cannot. */
  async embed(file) {
    try {
      return await this.pool.embedFile(file, { group: GROUP });
    } catch (err) {
      if (!UNSUPPORTED.has(err.code)) throw err;
      const { decodeWithWebAudio } = await import('./webaudio.js');
      const pcm = await decodeWithWebAudio(await file.arrayBuffer(), this.pool.sampleRate);
      return this.pool.embedPcm(pcm.samples, pcm.sampleRate, { group: GROUP });
    }
  }

  /** Drops the analyses not started yet (those running finish). */
  cancelAnalyses() {
    this.pool.cancelJobs((job) => job.group === GROUP);
  }

  /** Counts of examples by state, over every category. */
  counts() {
    const counts = { total: 0, ready: 0, busy: 0, failed: 0 };
    for (const c of this.categories) {
      for (const e of c.examples) {
        counts.total += 1;
        if (e.state === 'ready') counts.ready += 1;
        else if (['queued', 'hashing', 'embedding'].includes(e.state)) counts.busy += 1;
        else counts.failed += 1;
      }
    }
    return counts;
  }

  /** Whether training can start: `{ok, reason}`. */
  readiness() {
    if (!this.embedder) return { ok: false, reason: 'the loaded model has no MusiCNN backbone to learn on' };
    const usable = this.categories.filter((c) => c.examples.some((e) => e.state === 'ready'));
    if (usable.length < 2) return { ok: false, reason: 'add at least 2 categories with examples' };
    const thin = usable.find((c) => c.examples.filter((e) => e.state === 'ready').length < MIN_EXAMPLES);
    if (thin) return { ok: false, reason: `“${thin.name}” needs at least ${MIN_EXAMPLES} analysed examples` };
    if (this.counts().busy) return { ok: false, reason: 'wait for the analysis to finish' };
    if (this.training?.state === 'running') return { ok: false, reason: 'training…' };
    return { ok: true, reason: '' };
  }

  /** The examples training uses: every ready example of every category with one. */
  examples() {
    const out = [];
    for (const c of this.categories) {
      for (const e of c.examples) {
        if (e.state === 'ready' && this.vectors.has(e.hash)) out.push({ label: c.name, name: e.name, embedding: this.vectors.get(e.hash) });
      }
    }
    return out;
  }

  /**
   * Trains on the ready examples in the training worker, with the cross-validation the
   * report shows. Resolves to the training state; `settings` as trainer train own's.
   */
  async train(settings = {}) {
    const { ok, reason } = this.readiness();
    if (!ok) throw new Error(reason);
    const examples = this.examples();
    const id = ++this.trainJob;
    const started = performance.now();
    this.training = { state: 'running', done: 0, total: 1, examples: examples.length };
    this.changed();
    this.worker ??= new Worker(TRAIN_WORKER_URL, { type: 'module', name: 'genrescope-train' });
    const worker = this.worker;
    const result = await new Promise((resolve) => {
      worker.onmessage = ({ data }) => {
        if (data.id !== id) return;
        if (data.type === 'progress') {
          Object.assign(this.training, { done: data.done, total: data.total });
          this.changed();
        } else resolve(data);
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        resolve({ type: 'error', error: { message: `the training worker failed: ${event.message || 'script error'}` } });
      };
      this.resolveTraining = resolve;
      const base = this.pool.bundle.slice(0);
      const copies = examples.map((e) => ({ ...e, embedding: e.embedding.slice() }));
      worker.postMessage(
        {
          type: 'train',
          id,
          glueUrl: TRAIN.glue.href,
          wasmUrl: TRAIN.wasm.href,
          base,
          examples: copies,
          settings,
          origin: { command: 'the Genrescope page (Your own genres)', created: new Date().toISOString(), data: 'examples given in the page' },
        },
        [base, ...copies.map((e) => e.embedding.buffer)],
      );
    });
    if (id !== this.trainJob) return this.training;
    const wallMs = performance.now() - started;
    this.training = result.type === 'result'
      ? { state: 'done', report: { ...result.report, wallMs }, bundle: result.bundle, examples: examples.length, created: new Date().toISOString() }
      : { state: 'error', message: result.error.message };
    if (result.type !== 'result' && result.error.code === 'crashed') this.worker = null;
    this.changed();
    return this.training;
  }

  /** Stops a training in progress (its worker goes). */
  cancelTraining() {
    if (this.training?.state !== 'running') return;
    this.worker?.terminate();
    this.worker = null;
    this.trainJob += 1;
    this.resolveTraining?.({ type: 'error', error: { message: 'cancelled', code: 'cancelled' } });
    this.training = { state: 'error', message: 'training cancelled' };
    this.changed();
  }

  /** Keeps the last trained model under `name`; resolves to its id. */
  async adopt(name) {
    const t = this.training;
    if (t?.state !== 'done') throw new Error('train a model first');
    const clean = (name ?? '').trim() || t.report.labels.join(' / ');
    const id = newId('m');
    await this.store.saveModel({
      id,
      name: clean.slice(0, 80),
      created: t.created,
      labels: t.report.labels,
      embedder: t.report.embedder,
      bundle: t.bundle,
      report: t.report,
    });
    this.models = await this.store.models();
    this.changed();
    return id;
  }

  async renameModel(id, name) {
    const model = await this.store.model(id);
    const clean = (name ?? '').trim();
    if (!model || !clean) return;
    await this.store.saveModel({ ...model, name: clean.slice(0, 80) });
    this.models = await this.store.models();
    this.changed();
  }

  async deleteModel(id) {
    await this.store.deleteModel(id);
    this.models = await this.store.models();
    this.changed();
  }

  /** The adopted model's bundle as a `.gscope` download. */
  async exportModel(id) {
    const model = await this.store.model(id);
    if (!model) throw new Error('no such model');
    download(`${slug(model.name)}.gscope`, model.bundle, 'application/octet-stream');
  }

  /** The page's address with the adopted model `id` (null: the shipped model) in use. */
  modelAddress(id) {
    const url = new URL(location.href);
    url.searchParams.delete('model');
    if (id) url.searchParams.set('own', id);
    else url.searchParams.delete('own');
    return url.pathname + url.search;
  }
}
