// Genrescope's page: drop audio files, classify them in Web Workers with the wasm engine,
// show each file's genres, timeline and Mel image, and tag a batch (CSV / JSON export); or
// listen to the microphone (live mode).
//
// This module only wires the pieces in lib/ together:
//   engine.js  worker pool, backend choice, job queue   backend.js  ?backend= and WebGPU probe
//   drop.js    drag and drop, file picker                webaudio.js browser decoding fallback
//   file-row.js one file's row and details               records.js  the batch, table.js, export.js
//   status.js  engine and model panels                   live.js, live-view.js  live mode (microphone)
//   own-genres.js, own-view.js, store.js  "Your own genres": train, adopt, export, use
//   tag-writer.js genres written into the files of an opened folder, checked, with undo
// The modules of features used later (live mode, own genres, tag writing, the map, "More like
// this", exports) are imported when first needed (see `lazy`), not in the first load.
// Other modes (the bench page) use EnginePool from lib/engine.js the same way:
// `pool.classifyTrack(file, {}, {onUpdate})` (progressive, every worker on one file),
// `pool.classifyFile(file)` / `pool.classifyPcm(samples, rate)` (one worker, one call); `window.genrescope` exposes
// the running pool, records and (once used) live session for them and for the tests. Once the engine has
// settled, sw.js (a service worker) is registered so the page also works offline.

import { requestedBackend, requestedModel, requestedOwnModel, requestedSimd } from './lib/backend.js';
import { attachDrop, canOpenFolders, directoryAudioFiles, folderAudioFiles } from './lib/drop.js';
import { EngineError, EnginePool, UNSUPPORTED_FORMAT_CODES } from './lib/engine.js';
import { FileRow } from './lib/file-row.js';
import { h, seconds } from './lib/format.js';
import { PageStore, resultKey } from './lib/store.js';
import { tagAgreement } from './lib/file-tags.js';
import { Records } from './lib/records.js';
import { renderModel, renderOwnAvailability, renderStatus } from './lib/status.js';
import { BatchTable } from './lib/table.js';

const $ = (sel) => document.querySelector(sel);

/**
 * Modules a feature needs once it is used: `load()` at the first call, its promise kept. A
 * failure rejects with an error naming `what`, for the page to show; the next call retries.
 */
function lazy(load, what) {
  let loading = null;
  return () =>
    (loading ??= load().catch((err) => {
      loading = null;
      console.warn(`${what}: ${err.message}`);
      throw new Error(`${what} could not be loaded (${err.message}). Check the connection, or reload the page, and try again.`);
    }));
}

const exportModule = lazy(() => import('./lib/export.js'), 'The exports');
const liveModules = lazy(() => Promise.all([import('./lib/live.js'), import('./lib/live-view.js')]), 'Live mode');
const ownModule = lazy(() => import('./lib/own-genres.js'), 'Your own genres');
const ownModules = lazy(() => Promise.all([import('./lib/own-genres.js'), import('./lib/own-view.js')]), 'Your own genres');
const similarModules = lazy(() => Promise.all([import('./lib/similarity.js'), import('./lib/library-map.js')]), 'The map and “More like this”');

// ?model=NAME loads models/NAME/model.gscope (e.g. `fused`, the CNN + descriptor-table fusion);
// ?own=ID a model adopted in "Your own genres" (from the browser's storage).
const modelName = requestedModel();
const ownModel = requestedOwnModel();
/** The page's storage (results, own genres; see lib/store.js), opened once. */
const storeReady = PageStore.open();
const pool = new EnginePool({
  backend: requestedBackend(),
  simd: requestedSimd(),
  ...(ownModel
    ? { modelBytes: () => Promise.all([ownModule(), storeReady]).then(([{ loadOwnBundle }, store]) => loadOwnBundle(store, ownModel)) }
    : { modelUrl: new URL(`./models/${modelName}/model.gscope`, import.meta.url) }),
});
const records = new Records();
/** The job group of the batch's files in the pool (pause, cancel). */
const BATCH = 'batch';
/** Whether a file's genre can be written: a file of an opened folder, done, with a genre verdict, not written (or undone). */
const canWrite = (r) => Boolean(r.handle) && r.state === 'done' && r.result?.verdict?.kind === 'genre' && (!r.write || r.write.state === 'undone');
const table = new BatchTable($('#batch-table tbody'), records, { writable: canWrite, write: (r) => writeFiles([r], 'this file') });
const list = $('#files');
let modelCardUrl = null;

pool.addEventListener('status', ({ detail: s }) => {
  renderStatus($('#engine'), s);
  renderModel($('#model'), s.model, s.info, modelCardUrl);
});
renderStatus($('#engine'), pool.status);

/**
 * Classifies one file: the engine's decoder first, the browser's for formats it lacks. The
 * first answer (a few patches) shows at once; the row, the table and the timeline then refine
 * in place while the rest of the track is analysed by every worker.
 */
async function classify(file, row, record) {
  const running = () => {
    row.setState('running', 'analysing…');
    records.update(record, { state: 'running' });
  };
  const refining = (partial) => {
    row.showResult(partial, pool.status.model, { refining: true });
    records.update(record, { state: 'refining', result: partial });
  };
  let result;
  try {
    result = await pool.classifyTrack(file, {}, { onStart: running, onUpdate: refining, group: BATCH });
  } catch (err) {
    if (!(err instanceof EngineError && UNSUPPORTED_FORMAT_CODES.has(err.code))) throw err;
    row.setState('running', 'decoding in the browser…');
    const { decodeWithWebAudio } = await import('./lib/webaudio.js');
    const t0 = performance.now();
    let pcm;
    try {
      pcm = await decodeWithWebAudio(await file.arrayBuffer(), pool.sampleRate);
    } catch (fallbackErr) {
      throw Object.assign(new Error(`${err.message}; ${fallbackErr.message}`), { code: err.code });
    }
    const webaudioMs = performance.now() - t0;
    result = await pool.classifyPcm(pcm.samples, pcm.sampleRate, { decoder: 'webaudio', channels: pcm.channels, patches: { kind: 'all' } }, { onStart: running });
    result.timings.webaudio = webaudioMs;
    result.source.durationSeconds = pcm.duration;
  }
  return result;
}

/** When the batch's files began to be classified here (not counting stored ones), and how many. */
const pace = { started: 0, computed: 0 };

/** "about 4 min left" from the pace of the files classified so far, or ''. */
function eta(left) {
  if (!left || pace.computed < 2) return '';
  const seconds = ((performance.now() - pace.started) / 1000 / pace.computed) * left;
  return seconds < 90 ? `about ${Math.ceil(seconds / 5) * 5} s left` : `about ${Math.round(seconds / 60)} min left`;
}

function updateProgress() {
  const done = records.list.filter((r) => r.state === 'done' || r.state === 'error' || r.state === 'cancelled').length;
  const total = records.list.length;
  const kinds = records.verdictCounts();
  const words = { genre: 'with a genre', uncertain: 'unsure', not_music: 'not music', silent: 'silent' };
  const split = Object.keys(words).filter((k) => kinds[k]).map((k) => `${kinds[k]} ${words[k]}`);
  const stored = records.list.filter((r) => r.stored).length;
  const extra = [split.join(', '), stored ? `${stored} from an earlier run` : '', pool.paused.has(BATCH) ? 'paused' : eta(total - done)].filter(Boolean);
  $('#batch-progress').textContent = total ? `${done} of ${total} file${total === 1 ? '' : 's'} done${extra.length ? ` (${extra.join('; ')})` : ''}` : '';
  const busy = done < total;
  $('#pause').disabled = !busy && !pool.paused.has(BATCH);
  $('#cancel-rest').disabled = !busy;
  $('#results').hidden = total === 0;
  // Also shown without files while a write can be undone (after a reload, say).
  $('#batch').hidden = total === 0 && !lastWrite;
  for (const b of document.querySelectorAll('.export')) b.disabled = done === 0;
  // A playlist per genre found so far (the choice kept while it is still there), once the
  // exports are loaded (asked for with the batch's first file).
  const select = $('#playlist-genre');
  if (total && exporter === null) exporting();
  const genres = exporter ? exporter.playlistGenres(records.list) : [];
  if (genres.join('|') !== [...select.options].map((o) => o.value).join('|')) {
    const chosen = select.value;
    select.replaceChildren(...genres.map((g) => new Option(g, g, false, g === chosen)));
  }
  select.disabled = genres.length === 0;
  $('#export-m3u').disabled = genres.length === 0;
  const labels = records.labels();
  const filter = $('#filter-genre');
  if (filter.options.length !== labels.length + 1) filter.replaceChildren(new Option('every genre', ''), ...labels.map((l) => new Option(l, l)));
}
records.addEventListener('change', updateProgress);

/** lib/export.js (playlists, downloads) once loaded; null before, false if it failed (a button retries). */
let exporter = null;

/** Loads the exports, then shows the playlists and runs `task(exports)` if given; says in the page if they fail. */
function exporting(task) {
  exportModule().then(
    (module) => {
      if (!exporter) {
        exporter = module;
        updateProgress();
      }
      task?.(module);
    },
    (err) => {
      exporter = false;
      $('#write-status').textContent = err.message;
    },
  );
}

/**
 * One file of the batch: its stored result when an earlier run (same model, path, size and
 * modification time) left one, else classified here, then stored with its own tags.
 */
async function addFile(file, row, record) {
  const store = await storeReady;
  const modelKey = await pool.modelLoaded;
  const key = modelKey ? resultKey(modelKey, file, record.path) : null;
  const stored = key ? await store.result(key).catch(() => null) : null;
  if (stored) {
    row.showResult(stored.result, pool.status.model);
    row.markStored(stored.at);
    if (stored.fileTags) row.showFileTags(stored.fileTags, stored.result);
    records.update(record, { state: 'done', result: stored.result, fileTags: stored.fileTags, stored: true });
    // Stored before its tags were read (the page was closed in between): read them now.
    if (!stored.fileTags) readFileTags(file, row, record, stored.result, (tags) => store.saveResult(key, file, stored.result, tags, record.path).catch(() => {}));
    return;
  }
  if (!pace.computed && !pace.started) pace.started = performance.now();
  const result = await classify(file, row, record);
  pace.computed += 1;
  row.showResult(result, pool.status.model);
  records.update(record, { state: 'done', result });
  // Only whole-track results are kept (a cancelled refinement is not the file's answer).
  const save = (tags) => key && result.coverage?.complete !== false && store.saveResult(key, file, result, tags, record.path).catch((err) => console.warn(`result not stored: ${err.message}`));
  save(null);
  readFileTags(file, row, record, result, save);
}

/**
 * Reads the file's own tags in the background with the decoder module (not needed for the
 * answer, so it never delays one), shows them and hands them to `save`.
 */
function readFileTags(file, row, record, result, save) {
  pool.readTags(file).then(
    ({ tags }) => {
      row.showFileTags(tags, result);
      records.update(record, { fileTags: tags });
      save(tags);
    },
    () => {},
  );
}

/** Each record's row, by record id. */
const rows = new Map();

/** lib/similarity.js once loaded (asked for with the batch's second file), else null. */
let similarityModule = null;

/**
 * Loads "More like this" and the map (with the batch's second file), then renders open rows
 * again so none misses its list; the map's section says so if they fail.
 */
function loadSimilar() {
  similarModules().then(
    ([module, { LibraryMap }]) => {
      if (similarityModule) return;
      similarityModule = module;
      $('#map canvas').hidden = false;
      new LibraryMap($('#map'), records, (record) => rows.get(record.id)?.open()).schedule();
      for (const row of rows.values()) {
        if (row.result && row.el.dataset.state !== 'error') row.redrawDetail();
      }
    },
    (err) => {
      const map = $('#map');
      map.querySelector('canvas').hidden = true;
      map.querySelector('.map-note').textContent = err.message;
      map.hidden = false;
    },
  );
}

/** The files of the batch most like `record` (see similarity.js), for its row. */
function similarTo(record) {
  if (!similarityModule) return [];
  const { neighbours, soundVector } = similarityModule;
  const length = record.result ? soundVector(record.result)?.length : 0;
  const items = records.list.filter((r) => r.result && soundVector(r.result)?.length === length).map((r) => ({ id: r.id, vector: soundVector(r.result), record: r }));
  const index = items.findIndex((i) => i.id === record.id);
  if (index < 0) return [];
  return neighbours(items, index, 5).map(({ id, similarity }) => {
    const other = items.find((i) => i.id === id).record;
    return { file: other.path ?? other.file, similarity, verdict: other.result.verdict.text, open: () => rows.get(id)?.open() };
  });
}

/**
 * Adds files to the batch: `{file, path, handle?, root?}` (the handle and the opened folder's
 * root for files of a folder opened for writing), or plain Files (dropped or chosen).
 */
function addFiles(entries) {
  for (const entry of entries) {
    const { file, path = file.name, handle = null, root = null } = entry instanceof Blob ? { file: entry } : entry;
    const record = records.add(file);
    Object.assign(record, { path, handle, root, fileInfo: { size: file.size, lastModified: file.lastModified } });
    const row = new FileRow(file);
    row.similar = () => similarTo(record);
    rows.set(record.id, row);
    list.append(row.el);
    addFile(file, row, record).catch((err) => {
      if (err.code === 'cancelled') {
        row.showError(Object.assign(new Error('cancelled'), { code: 'cancelled' }));
        records.update(record, { state: 'cancelled', error: { message: 'cancelled', code: 'cancelled' } });
        return;
      }
      console.warn(`${file.name}: ${err.message}`);
      row.showError(err);
      records.update(record, { state: 'error', error: { message: err.message, code: err.code ?? null } });
    });
  }
  if (records.list.length >= 2 && !similarityModule) loadSimilar();
}

attachDrop({ zone: $('#drop'), input: $('#file-input'), onFiles: addFiles });
// A picked folder: every audio file below it, in path order.
$('#folder-input').addEventListener('change', async (event) => {
  const files = [...event.target.files];
  event.target.value = '';
  addFiles(await folderAudioFiles(files));
});
// A folder opened for tagging (File System Access): the same, with each file's handle.
if (canOpenFolders()) {
  $('#open-folder-wrap').hidden = false;
  $('#open-folder').addEventListener('click', async () => {
    let root;
    try {
      root = await showDirectoryPicker({ id: 'genrescope-library', mode: 'readwrite' });
    } catch (err) {
      if (err.name !== 'AbortError') $('#write-status').textContent = `The folder could not be opened: ${err.message}`;
      return;
    }
    writerReady().catch(() => {}); // writes come next (a failure is said at the first)
    addFiles((await directoryAudioFiles(root)).map((e) => ({ ...e, root })));
  });
}

// Writing genres into the files (lib/tag-writer.js, loaded at the first write, or at start-up
// when the undo log holds a write), one file at a time, each logged for undo.
const writerReady = lazy(() => Promise.all([import('./lib/tag-writer.js'), storeReady]).then(([{ TagWriter }, store]) => new TagWriter(pool, store)), 'Writing genres into files');
let writing = Promise.resolve();
let busyWriting = false;

/** Runs `task(writer)` after the writes before it, with the buttons disabled meanwhile. */
function enqueueWrite(task) {
  writing = writing.then(async () => {
    busyWriting = true;
    updateWriteControls();
    try {
      await task(await writerReady());
    } catch (err) {
      $('#write-status').textContent = `Writing stopped: ${err.message}`;
    } finally {
      busyWriting = false;
      await refreshUndo();
    }
  });
  return writing;
}

/** After a file was rewritten: its tags as now, and its result stored under its new size and time. */
async function afterRewrite(record, file, genres, msdTags = null) {
  const fileTags = { ...(record.fileTags ?? {}), genres, ...(msdTags ? { msdTags } : {}) };
  record.fileInfo = { size: file.size, lastModified: file.lastModified };
  records.update(record, { fileTags });
  rows.get(record.id)?.showFileTags(fileTags, record.result);
  const modelKey = await pool.modelLoaded;
  if (modelKey && record.result) (await storeReady).saveResult(resultKey(modelKey, file, record.path), file, record.result, fileTags, record.path).catch(() => {});
}

/** How many of a result's MSD tags "with the most likely MSD tags" writes. */
const MSD_TAGS_WRITTEN = 3;

/**
 * Writes each record's genre (its verdict's) into its file, with its most likely MSD tags in
 * the MSD_TAGS field when asked; `what` names them in the status.
 */
function writeFiles(list, what) {
  const action = `${new Date().toISOString()} ${what}`;
  const withMsd = $('#write-msd-tags').checked && !$('#write-msd').hidden;
  return enqueueWrite(async (writer) => {
    let written = 0;
    let failed = 0;
    for (const [i, record] of list.entries()) {
      $('#write-status').textContent = `Writing ${i + 1} of ${list.length}: ${record.path}…`;
      const genre = record.result?.verdict?.kind === 'genre' ? record.result.verdict.label : null;
      if (!genre) {
        records.update(record, { write: { state: 'error', message: `its verdict (${record.result?.verdict?.text ?? 'none yet'}) names no genre` } });
        failed += 1;
        continue;
      }
      records.update(record, { write: { state: 'writing' } });
      try {
        const msdTags = withMsd && record.result.tags?.length ? record.result.tags.slice(0, MSD_TAGS_WRITTEN).map((t) => t.label) : null;
        const { file, before, genres } = await writer.write(record.handle, genre, { expected: record.fileInfo, msdTags, log: { action, path: record.path, root: record.root } });
        records.update(record, { write: { state: 'written', genres, msdTags, before: before.genres } });
        await afterRewrite(record, file, genres, msdTags);
        written += 1;
      } catch (err) {
        records.update(record, { write: { state: 'error', message: err.message, code: err.code ?? null } });
        failed += 1;
      }
    }
    $('#write-status').textContent = `Wrote the genre${withMsd ? ' and MSD tags' : ''} into ${written} file${written === 1 ? '' : 's'}${failed ? `; ${failed} not written (the table says why; those files are unchanged)` : ''}.`;
  });
}

/** The newest undoable action (`{action, at, count}`) or null, read from the undo log. */
let lastWrite = null;

/** Reads the undo log again (at start and after each write or undo), then updates the controls. */
async function refreshUndo() {
  const logged = await storeReady.then((store) => store.tagWrites()).catch(() => []);
  try {
    [lastWrite = null] = logged.length ? await (await writerReady()).undoable().catch(() => []) : [];
  } catch (err) {
    lastWrite = null;
    $('#write-status').textContent = err.message;
  }
  updateWriteControls();
}

/** Enables the write buttons for what the batch has; the undo button names the last write. */
function updateWriteControls() {
  const opened = records.list.some((r) => r.handle);
  $('#write-controls').hidden = !canOpenFolders();
  // Only a model with MSD tags gives some to write.
  $('#write-msd').hidden = !records.list.some((r) => r.result?.tags?.length);
  $('#write-note').textContent = !canOpenFolders()
    ? 'This browser cannot write into files (it has no File System Access API; Chrome, Edge and Opera do). Save a playlist per genre or export the results instead.'
    : opened
      ? 'Genres are written as the verdict names them, only after a check that the new file reads back with that genre and carries the same audio, packet for packet; every write can be undone.'
      : 'To write genres into your files, open the folder with “open a folder for tagging” above (files dropped or chosen otherwise cannot be written).';
  $('#write-confident').disabled = busyWriting || !confidentToWrite().length;
  $('#write-selected').disabled = busyWriting || !table.selection().some((r) => r.handle);
  const last = lastWrite;
  $('#batch').hidden = records.list.length === 0 && !last;
  const undo = $('#undo-write');
  undo.disabled = busyWriting || !last;
  undo.textContent = last ? `Undo the last write (${last.count} file${last.count === 1 ? '' : 's'})` : 'Undo the last write';
}

/**
 * The files of an opened folder whose verdict is a genre their tag does not already say (a
 * file whose write failed is left to "Write the selected").
 */
function confidentToWrite() {
  return records.list.filter((r) => canWrite(r) && tagAgreement(r.fileTags, r.result).agrees !== true);
}

$('#write-confident').addEventListener('click', () => writeFiles(confidentToWrite(), 'every confident genre'));
$('#write-selected').addEventListener('click', () => writeFiles(table.selection().filter((r) => r.handle), 'the selected files'));
$('#undo-write').addEventListener('click', () =>
  enqueueWrite(async (writer) => {
    $('#write-status').textContent = 'Putting the previous genres back…';
    const outcomes = await writer.undoLast();
    for (const o of outcomes) {
      const record = records.list.find((r) => r.root && r.path === o.path);
      if (!record) continue;
      if (o.ok) {
        records.update(record, { write: { state: 'undone', genres: o.genres } });
        await afterRewrite(record, o.file, o.genres, o.msdTags);
      } else records.update(record, { write: { state: 'error', message: `not undone: ${o.error.message}` } });
    }
    const failed = outcomes.filter((o) => !o.ok);
    $('#write-status').textContent = `Put the previous genres back into ${outcomes.length - failed.length} file${outcomes.length - failed.length === 1 ? '' : 's'}${failed.length ? `; ${failed.length} left as they are: ${failed.map((o) => `${o.path} (${o.error.message})`).join('; ')}` : ''}.`;
  }),
);
let controlsPending = null;
records.addEventListener('change', () => {
  controlsPending ??= setTimeout(() => {
    controlsPending = null;
    if (!busyWriting) updateWriteControls();
  }, 100);
});
refreshUndo();
// The table's filters, sort and selection.
$('#filter-genre').addEventListener('change', (e) => table.set({ filter: { genre: e.target.value } }));
$('#filter-verdict').addEventListener('change', (e) => table.set({ filter: { verdict: e.target.value } }));
$('#sort').addEventListener('change', (e) => table.set({ sort: e.target.value }));
$('#select-shown').addEventListener('change', (e) => {
  table.selectShown(e.target.checked);
  updateWriteControls();
});
$('#batch-table tbody').addEventListener('change', () => updateWriteControls());
$('#pause').addEventListener('click', (event) => {
  const paused = pool.paused.has(BATCH);
  if (paused) pool.resume(BATCH);
  else pool.pause(BATCH);
  event.target.textContent = paused ? 'Pause' : 'Resume';
  event.target.setAttribute('aria-pressed', String(!paused));
  updateProgress();
});
$('#cancel-rest').addEventListener('click', () => pool.cancelJobs((job) => job.group === BATCH));

$('#only-disagreements').addEventListener('change', (event) => table.set({ filter: { disagreements: event.target.checked } }));
$('#export-csv').addEventListener('click', () => exporting(({ download, toCsv }) => download('genrescope.csv', toCsv(records.list, records.labels()), 'text/csv')));
$('#export-m3u').addEventListener('click', () => {
  const genre = $('#playlist-genre').value;
  if (genre) exporting(({ download, toM3u }) => download(`${genre}.m3u8`, toM3u(records.list, genre), 'audio/x-mpegurl'));
});
$('#export-json').addEventListener('click', () => exporting(({ download, toJson }) => download('genrescope.json', toJson(records.list), 'application/json')));
$('#clear').addEventListener('click', () => {
  records.clear();
  rows.clear();
  list.replaceChildren();
  updateProgress();
});

// Backend and model switch links keep the rest of the address.
for (const [attribute, param, current, fallback] of [
  ['backendLink', 'backend', pool.requested, 'auto'],
  ['modelLink', 'model', modelName, 'default'],
]) {
  for (const a of document.querySelectorAll(`[data-${param}-link]`)) {
    const url = new URL(location.href);
    const value = a.dataset[attribute];
    if (param === 'model') url.searchParams.delete('own');
    if (value === fallback) url.searchParams.delete(param);
    else url.searchParams.set(param, value);
    a.href = url.pathname + url.search;
    if (value === current && !(param === 'model' && ownModel)) a.setAttribute('aria-current', 'true');
  }
}

// The model card is optional; link the first that exists (requests to this site only).
(async () => {
  if (ownModel) return; // an adopted model's card is its cross-validation, in "Your own genres"
  for (const candidate of [`./models/${modelName}/MODEL_CARD.md`, './models/MODEL_CARD.md']) {
    try {
      const res = await fetch(new URL(candidate, import.meta.url), { method: 'HEAD' });
      if (!res.ok) continue;
      modelCardUrl = candidate;
      renderModel($('#model'), pool.status.model, pool.status.info, modelCardUrl);
      return;
    } catch {
      return; // offline: no link
    }
  }
})();

// Live mode loads when the visitor reaches for its button (pointer, focus), at the latest at
// the first click, which then starts it.
const liveToggle = $('#live-toggle');
let liveReady = null;

/** The page's LiveSession with its view, made the first time it is needed. */
function openLive() {
  if (liveReady) return liveReady;
  const ready = liveModules().then(([{ LiveSession }, { LiveView }]) => {
    const session = new LiveSession(pool);
    liveToggle.removeEventListener('click', firstListen);
    pool.removeEventListener('status', liveTiming);
    new LiveView($('#live'), session);
    globalThis.genrescope.live = session;
    return session;
  });
  ready.catch(() => {
    if (liveReady === ready) liveReady = null;
  });
  return (liveReady = ready);
}

/** A click on "Start listening" before live mode has loaded: loads it, then starts it. */
async function firstListen() {
  const body = $('#live .live-body');
  body.replaceChildren(h('p', { class: 'live-message', role: 'status' }, 'Loading live mode…'));
  try {
    (await openLive()).start();
  } catch (err) {
    body.replaceChildren(h('p', { class: 'live-message error-text', role: 'alert' }, err.message));
  }
}

/** The intro's ": the last 3 s, every 1.5 s" (the model's window and hop), as LiveView shows it. */
function liveTiming() {
  const model = pool.status.model;
  $('#live .live-timing').textContent = Number.isFinite(model?.liveSeconds) && Number.isFinite(model?.liveHopSeconds) ? `: the last ${seconds(model.liveSeconds)}, every ${seconds(model.liveHopSeconds)}` : '';
}

liveToggle.addEventListener('click', firstListen);
for (const type of ['pointerenter', 'focus']) liveToggle.addEventListener(type, () => openLive().catch(() => {}));
pool.addEventListener('status', liveTiming);
liveTiming();

/**
 * Registers the offline cache (sw.js) where the browser has service workers. The WebGPU
 * build was fetched before the worker existed; when it is in use, the worker is asked to
 * cache it too.
 */
async function registerServiceWorker(status) {
  const gpuWasm = pool.takeGpuWasm();
  if (!('serviceWorker' in navigator) || !globalThis.isSecureContext) return;
  try {
    await navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: './' });
    const registration = await navigator.serviceWorker.ready;
    if (status.backend === 'webgpu') {
      // The bytes the page already has, so the worker does not download them again.
      const wasm = gpuWasm ? await gpuWasm.arrayBuffer() : null;
      registration.active?.postMessage({ type: 'cache-gpu-build', wasm }, wasm ? [wasm] : []);
    }
  } catch (err) {
    console.warn(`offline use not available: ${err.message}`);
  }
}

// "Your own genres" loads when the visitor reaches into its section (focus, a press), at the
// latest at its first use, which is then handed on; at start-up when an adopted model is in
// use, or stored (the section lists them) as is a draft.
const ownSection = $('#own');
let ownReady = null;
/** Whether OwnView renders the section (until then, `ownIdle` does). */
let ownShown = false;

/** The page's OwnGenres with its view, made the first time it is needed. */
function openOwn() {
  if (ownReady) return ownReady;
  const ready = ownModules().then(async ([{ OwnGenres }, { OwnView }]) => {
    const own = await OwnGenres.create(pool, storeReady);
    pool.removeEventListener('status', ownIdle);
    new OwnView(ownSection, own, { activeModel: ownModel });
    ownShown = true;
    globalThis.genrescope.own = own;
    return own;
  });
  ready.catch((err) => {
    if (ownReady === ready) ownReady = null;
    console.warn(`own genres unavailable: ${err.message}`);
  });
  return (ownReady = ready);
}

/** The section until OwnView renders it: usable when the model has a backbone, as OwnView says. */
function ownIdle() {
  if (!renderOwnAvailability(ownSection, pool.status.model?.embedder ?? null, pool.status.phase === 'loading')) $('#own-status').textContent = '';
}

/** The kinds of event waiting for the section's modules (each handed on once). */
const ownWaiting = new Set();

/** A use of the section before OwnView: loads it, then `replay`s the event for it. */
function ownFirstUse(event, replay) {
  if (ownShown) return;
  event.preventDefault();
  if (ownWaiting.has(event.type)) return;
  ownWaiting.add(event.type);
  openOwn()
    .then(replay, (err) => {
      $('#own-folder').value = '';
      $('#own-note').textContent = err.message;
    })
    .finally(() => ownWaiting.delete(event.type));
}

$('#own-add').addEventListener('submit', (event) => ownFirstUse(event, () => event.target.requestSubmit()));
$('#own-folder').addEventListener('change', (event) => ownFirstUse(event, () => event.target.dispatchEvent(new Event('change'))));
for (const type of ['focusin', 'pointerdown']) ownSection.addEventListener(type, () => ownShown || openOwn().catch(() => {}));
pool.addEventListener('status', ownIdle);
ownIdle();
/** Says in the section why own genres cannot be used. */
const ownFailed = (err) => ($('#own-note').textContent = err.message);
if (ownModel) openOwn().catch(ownFailed);
else {
  storeReady
    .then((store) => Promise.all([store.draft(), store.models()]))
    .then(([draft, models]) => (draft?.categories?.length || models.length) && openOwn().catch(ownFailed))
    .catch((err) => console.warn(`own genres unavailable: ${err.message}`));
}

// `live` and `own` are added when made; reading `ownReady` makes own genres.
globalThis.genrescope = {
  pool,
  records,
  get ownReady() {
    return openOwn();
  },
};
// The service worker's first fill fetches the app shell again; it waits until the page has
// what it needs, so it does not compete with the first load.
pool.start().then(registerServiceWorker);
