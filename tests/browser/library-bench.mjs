// Times a whole folder in the page on the CPU path (the shipped model, every worker): the 80
// shared 30 s GTZAN clips, then 6 five-minute tracks (each 10 of those clips end to end),
// each picked as a folder in a fresh profile; files per minute from the pick to the last
// whole-track answer. Then the storage a 1,000-file library takes: 1,000 stored results
// (copies of the clips' real ones under other keys) in IndexedDB, by
// navigator.storage.estimate(). Then the batch table with 5,000 files (the 80 real results
// cloned into 4,920 more records): the time to add them, one record's update (table, progress
// line and the rest of the page's listeners) and a scroll to the middle, and how many rows the
// document holds. Prints JSON to stdout, progress to stderr.
//
//   node tests/browser/library-bench.mjs
//
// Not a test (CI does not run it); tests/browser/library.test.mjs checks the feature.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, SHIPPED_MODEL, launchBrowser, startWebServer, wavBytes } from './harness.mjs';

const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const clips = readdirSync(GENRES).sort().flatMap((g) => readdirSync(path.join(GENRES, g)).filter((f) => f.endsWith('.wav')).sort().map((f) => path.join(GENRES, g, f)));

/** The 16-bit mono samples of a GTZAN WAV (22050 Hz), as numbers in [-1, 1]. */
function samples(file) {
  const wav = readFileSync(file);
  for (let at = 12; at + 8 <= wav.length; ) {
    const size = wav.readUInt32LE(at + 4);
    if (wav.toString('latin1', at, at + 4) === 'data') {
      const out = new Float32Array(size / 2);
      for (let i = 0; i < out.length; i++) out[i] = wav.readInt16LE(at + 8 + 2 * i) / 32768;
      return out;
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'genrescope-library-bench-'));
mkdirSync(path.join(dir, 'clips'));
// Copies: the file picker does not follow symbolic links.
for (const c of clips) copyFileSync(c, path.join(dir, 'clips', path.basename(c)));
mkdirSync(path.join(dir, 'long'));
for (let t = 0; t < 6; t++) {
  const parts = clips.slice(t * 10, t * 10 + 10).map(samples);
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  writeFileSync(path.join(dir, 'long', `long-${t}.wav`), wavBytes(all, 22050));
}

const server = await startWebServer({ model: SHIPPED_MODEL });
const out = { machine: { cores: os.cpus().length }, runs: [] };
try {
  for (const [name, folder, count] of [['30 s clips', 'clips', clips.length], ['5 min tracks', 'long', 6]]) {
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(server.url, { waitUntil: 'load' });
      await page.locator('#engine[data-settled="yes"]').waitFor({ timeout: 180_000 });
      const t0 = Date.now();
      await page.locator('#folder-input').setInputFiles(path.join(dir, folder));
      await page.waitForFunction((n) => document.querySelectorAll('#files > li[data-state="done"][data-complete="true"]').length === n, count, { timeout: 3_600_000, polling: 200 });
      const seconds = (Date.now() - t0) / 1000;
      const workers = await page.evaluate(() => globalThis.genrescope.pool.status.workers);
      const run = { name, files: count, seconds, filesPerMinute: (count * 60) / seconds, workers };
      console.error(`# ${name}: ${count} files in ${seconds.toFixed(1)} s, ${run.filesPerMinute.toFixed(1)} files per minute`);
      if (folder === 'clips') {
        // 1,000 stored results: the clips' own, copied under other keys.
        run.storage = await page.evaluate(async () => {
          const { store } = await globalThis.genrescope.ownReady;
          const stored = await store.all('results');
          const before = (await navigator.storage.estimate()).usage;
          for (let i = stored.length; i < 1000; i++) await store.put('results', { ...stored[i % stored.length], key: `bench|${i}` });
          const after = (await navigator.storage.estimate()).usage;
          return { records: (await store.all('results')).length, usageBytesWith80: before, usageBytesWith1000: after, meanRecordJsonBytes: Math.round(stored.reduce((n, r) => n + JSON.stringify(r).length, 0) / stored.length) };
        });
        console.error(`# storage: ${JSON.stringify(run.storage)}`);
        run.table = await page.evaluate(async () => {
          const { records } = globalThis.genrescope;
          const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
          const real = records.list.slice();
          const t0 = performance.now();
          for (let i = real.length; i < 5000; i++) {
            const from = real[i % real.length];
            const record = records.add({ name: `copy-${i}-${from.file}`, size: from.size });
            records.update(record, { path: `bench/${i}/${from.file}`, state: 'done', result: from.result, fileTags: from.fileTags });
          }
          await tick();
          const addMs = performance.now() - t0;
          const updates = [];
          for (let i = 0; i < 50; i++) {
            const record = records.list[(i * 97) % records.list.length];
            const t = performance.now();
            records.update(record, { state: 'done' });
            await tick();
            updates.push(performance.now() - t);
          }
          const wrap = document.querySelector('.table-wrap');
          const t1 = performance.now();
          wrap.scrollTo(0, wrap.scrollHeight / 2);
          await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
          const scrollMs = performance.now() - t1;
          updates.sort((a, b) => a - b);
          return { records: records.list.length, addAllMs: Math.round(addMs), updateMedianMs: updates[25], updateP90Ms: updates[45], scrollToMiddleMs: Math.round(scrollMs), rowsInDocument: document.querySelectorAll('#batch-table tbody tr[data-id]').length };
        });
        console.error(`# table: ${JSON.stringify(run.table)}`);
      }
      out.runs.push(run);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out, null, 2));
