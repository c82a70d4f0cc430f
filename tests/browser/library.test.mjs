// A folder of music in the page (CPU path): a nested folder with mixed formats, a text file
// and a hidden file is picked; only its audio files are queued, in path order. Results are
// kept in IndexedDB: after the page is reloaded in the middle of the batch, picking the folder
// again shows the files already done at once (from storage, with the same probabilities) and
// classifies only the rest; "Cancel the rest" stops what has not started (a file with a first
// answer keeps it, unrefined and not stored), and a third pick finishes the batch. Then
// "More like this" finds the same take in other formats, and the map opens a clicked file.
//
//   node --test tests/browser/library.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, SHIPPED_MODEL, pageSession, readRows, startWebServer, waitForEngine } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'audio');
const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
/** Relative path in the library -> source file. */
const LIBRARY = {
  'jazz/take.wav': path.join(FIXTURES, 'gtzan_jazz_6s.wav'),
  'jazz/more/take.flac': path.join(FIXTURES, 'gtzan_jazz_6s.flac'),
  'mixed/take.mp3': path.join(FIXTURES, 'gtzan_jazz_6s.mp3'),
  'mixed/take.ogg': path.join(FIXTURES, 'gtzan_jazz_6s.ogg'),
  ...Object.fromEntries(['blues', 'classical', 'country', 'disco', 'metal', 'reggae'].map((g) => [`gtzan/${g}/${g}.00002.wav`, path.join(GENRES, g, `${g}.00002.wav`)])),
};

let dir;
let server;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genrescope-library-'));
  for (const [rel, source] of Object.entries(LIBRARY)) {
    mkdirSync(path.dirname(path.join(dir, 'music', rel)), { recursive: true });
    copyFileSync(source, path.join(dir, 'music', rel));
  }
  writeFileSync(path.join(dir, 'music', 'notes.txt'), 'not audio');
  writeFileSync(path.join(dir, 'music', 'jazz', '.hidden.wav'), 'not even audio');
  server = await startWebServer({ model: SHIPPED_MODEL });
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The rows by path: state, stored flag, whether the result covers the whole track, probabilities. */
async function rowsByPath(page) {
  const rows = await readRows(page);
  const paths = await page.evaluate(() => globalThis.genrescope.records.list.map((r) => r.path));
  const flags = await page.$$eval('#files > li', (lis) => lis.map((li) => ({ stored: li.dataset.stored === 'yes', complete: li.dataset.complete === 'true' })));
  return new Map(rows.map((r, i) => [paths[i], { ...r, ...flags[i] }]));
}

const settled = (state) => state === 'done' || state === 'error';

describe('a folder of music, resumed after a reload (CPU)', () => {
  const browser = pageSession({ server: () => server });

  test('only audio is queued; a reload resumes; cancel stops the rest; a third pick finishes', { timeout: 600_000 }, async () => {
    const { page } = browser.session;
    const expected = Object.keys(LIBRARY).map((p) => `music/${p}`).sort();
    const pick = () => page.locator('#folder-input').setInputFiles(path.join(dir, 'music'));
    await page.goto(server.url, { waitUntil: 'load' });
    assert.equal(await waitForEngine(page), 'cpu');

    // First run, interrupted by a reload once 3 files are done.
    await pick();
    await page.waitForFunction(() => document.querySelectorAll('#files > li[data-state="done"]').length >= 3, null, { timeout: 300_000, polling: 100 });
    const first = await rowsByPath(page);
    assert.deepEqual([...first.keys()], expected, 'the audio files below the folder, in path order; nothing else');
    const doneFirst = [...first].filter(([, r]) => r.state === 'done').map(([p]) => p);
    await page.reload({ waitUntil: 'load' });
    assert.equal(await waitForEngine(page), 'cpu');

    // Second run: what was done comes from storage at once; cancel what has not started.
    await pick();
    await page.waitForFunction((n) => document.querySelectorAll('#files > li[data-stored="yes"]').length >= n, doneFirst.length, { timeout: 30_000, polling: 50 });
    await page.click('#cancel-rest');
    await page.waitForFunction(() => [...document.querySelectorAll('#files > li')].every((li) => ['done', 'error'].includes(li.dataset.state)), null, { timeout: 300_000, polling: 100 });
    const second = await rowsByPath(page);
    for (const p of doneFirst) {
      const r = second.get(p);
      assert.ok(r.stored && r.state === 'done', `${p} comes from storage`);
      assert.deepEqual(r.probabilities, first.get(p).probabilities, `${p}: the stored result is the first run's`);
    }
    const cancelled = [...second].filter(([, r]) => r.state === 'error').map(([p]) => p);
    assert.ok(cancelled.length > 0, 'cancel left some files undone');
    assert.ok(cancelled.every((p) => !doneFirst.includes(p)));
    assert.match(await page.locator('#files > li[data-state="error"]').first().getAttribute('data-error'), /cancelled/);

    // Third run: everything ends up done. Whole-track results were stored; a file whose
    // refinement was cancelled (done, but not the whole track) is computed again.
    await page.click('#clear');
    await pick();
    await page.waitForFunction((n) => document.querySelectorAll('#files > li[data-state="done"]').length === n, expected.length, { timeout: 300_000, polling: 100 });
    const third = await rowsByPath(page);
    for (const [p, r] of third) {
      assert.ok(settled(r.state));
      const before = second.get(p);
      if (before.state === 'done' && before.complete) assert.ok(r.stored, `${p} was done before: from storage`);
      else assert.ok(!r.stored, `${p} is computed now`);
      assert.ok(r.complete, `${p} covers the whole track`);
    }
    assert.match(await page.locator('#batch-progress').textContent(), /10 of 10 files done/);

    // A playlist per genre, by path in the folder.
    await page.selectOption('#playlist-genre', 'jazz');
    const [m3u] = await Promise.all([page.waitForEvent('download'), page.click('#export-m3u')]);
    assert.equal(m3u.suggestedFilename(), 'jazz.m3u8');
    const playlist = readFileSync(await m3u.path(), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    const jazz = [...third].filter(([, r]) => r.verdict === 'genre' && r.genre === 'jazz').map(([p]) => p);
    assert.deepEqual(playlist, jazz);
    assert.ok(jazz.includes('music/jazz/take.wav'));

    // More like this: the same jazz take in four formats finds itself three times over.
    const take = page.locator('#files > li[data-file="take.wav"]');
    await take.locator('summary').click();
    await take.locator('.similar li').first().waitFor({ timeout: 10_000 });
    const similar = await take.locator('.similar li').evaluateAll((lis) => lis.map((li) => li.dataset.file));
    assert.equal(similar.length, 5);
    assert.deepEqual(similar.slice(0, 3).sort(), ['music/jazz/more/take.flac', 'music/mixed/take.mp3', 'music/mixed/take.ogg']);
    // The map: every file a point; clicking one opens its row.
    const map = page.locator('#map canvas');
    await page.waitForFunction(() => JSON.parse(document.querySelector('#map canvas').dataset.points ?? '[]').length === 10, null, { timeout: 10_000 });
    const points = JSON.parse(await map.getAttribute('data-points'));
    assert.deepEqual(points.map((p) => p.file).sort(), expected);
    const metal = points.find((p) => p.file.endsWith('metal.00002.wav'));
    await map.scrollIntoViewIfNeeded();
    // The click is made in the page, at the point's place in the canvas as laid out at that
    // moment: a pointer click is aimed before it lands, and rows above the map (the opened
    // take's timeline and Mel image, the batch table) may still change height in between.
    // The point's place is read at the click too: the map redraws (twice a second at most)
    // when a record changes, e.g. when a file's own tags arrive.
    await map.evaluate((canvas, file) => {
      const { x, y } = JSON.parse(canvas.dataset.points).find((p) => p.file === file);
      const box = canvas.getBoundingClientRect();
      const clientX = box.left + (x * box.width) / canvas.width;
      const clientY = box.top + (y * box.height) / canvas.height;
      canvas.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX, clientY }));
    }, metal.file);
    assert.equal(await page.locator('#files > li[data-file="metal.00002.wav"] > details').evaluate((d) => d.open), true, 'the clicked point opens its row');
  });
});
