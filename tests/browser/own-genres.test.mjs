// "Your own genres" end to end, on the CPU path and on WebGPU: three categories (classical,
// metal, reggae; 5 real GTZAN clips each) are built in the page, analysed by the engine's
// workers and trained by the training module in a worker. The page's cross-validation must
// match `trainer train own` on the same files and seed (the same code; floating-point order
// differs between wasm and native, so within one held-out track and 1e-3 per out-of-fold
// probability). The model is adopted, exported as a .gscope that the CLI loads, and used in
// the page: held-out clips get their genre, with the CLI's probabilities within 1e-4.
// Nothing leaves the page's origin.
//
//   node --test tests/browser/own-genres.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, SHIPPED_MODEL, dropFiles, nativeClassify, pageSession, pageUrl, readRows, runTrainer, startWebServer, waitForEngine, waitForRows, wavExcerpt } from './harness.mjs';

const GENRES_DIR = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const GENRES = ['classical', 'metal', 'reggae'];
const clip = (genre, n) => path.join(GENRES_DIR, genre, `${genre}.${String(n).padStart(5, '0')}.wav`);
/** The examples: the first 5 clips of each genre. */
const EXAMPLES = Object.fromEntries(GENRES.map((g) => [g, [0, 1, 2, 3, 4].map((n) => clip(g, n))]));
/**
 * Held-out clips: 3 per genre on the CPU; on WebGPU (SwiftShader takes ~25 s per 30 s clip)
 * the first 10 s of one per genre, written in `before`.
 */
const HELD_OUT = { cpu: GENRES.flatMap((g) => [5, 6, 7].map((n) => clip(g, n))), webgpu: [] };
const SEED = 42;
const TOLERANCE = 1e-4;
/** Out-of-fold probabilities, page against CLI (embeddings differ by ~1e-6; training amplifies). */
const CV_PROBABILITY_TOLERANCE = 1e-3;

let dir;
let server;
let cli;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genrescope-own-'));
  for (const [genre, files] of Object.entries(EXAMPLES)) {
    mkdirSync(path.join(dir, 'data', genre), { recursive: true });
    for (const f of files) symlinkSync(f, path.join(dir, 'data', genre, path.basename(f)));
  }
  mkdirSync(path.join(dir, 'held-out'));
  for (const g of GENRES) {
    const file = path.join(dir, 'held-out', `${g}.00005-10s.wav`);
    writeFileSync(file, wavExcerpt(clip(g, 5), 10));
    HELD_OUT.webgpu.push(file);
  }
  const t0 = Date.now();
  runTrainer(['train', 'own', '--data', path.join(dir, 'data'), '--base', SHIPPED_MODEL, '--seed', String(SEED), '--out', path.join(dir, 'cli')]);
  cli = JSON.parse(readFileSync(path.join(dir, 'cli', 'report.json'), 'utf8'));
  console.log(`# trainer train own: ${cli.correct} of 15 right (${(100 * cli.accuracy).toFixed(1)} %), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  server = await startWebServer({ model: SHIPPED_MODEL });
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const webgpu of [false, true]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  describe(`own genres on ${expected}`, () => {
    const browser = pageSession({ server: () => server, webgpu });

    if (!webgpu) {
      test('a picked folder: each sub-folder is a category of its audio files, the rest said', { timeout: 300_000 }, async () => {
        const { page } = browser.session;
        // folder-pick/{first,second}/ hold two 4 s excerpts each; a text file sits beside them.
        const root = path.join(dir, 'folder-pick');
        for (const [name, genre] of [['first', 'metal'], ['second', 'reggae']]) {
          mkdirSync(path.join(root, name), { recursive: true });
          for (const n of [6, 7]) writeFileSync(path.join(root, name, `${genre}.${n}.wav`), wavExcerpt(clip(genre, n), 4));
        }
        writeFileSync(path.join(root, 'notes.txt'), 'not audio');
        await page.goto(pageUrl(server.url, false), { waitUntil: 'load' });
        assert.equal(await waitForEngine(page), 'cpu');
        await page.locator('#own[data-available="yes"]').waitFor({ timeout: 30_000 });
        await page.locator('#own-folder').setInputFiles(root);
        for (const name of ['first', 'second']) {
          await page.locator(`.own-category[data-name="${name}"] .own-example`).nth(1).waitFor({ timeout: 60_000 });
          assert.equal(await page.locator(`.own-category[data-name="${name}"] .own-example`).count(), 2, name);
        }
        await page.waitForFunction(() => /1 file outside a sub-folder or not audio were left out/.test(document.querySelector('#own-note').textContent), null, { timeout: 30_000 });
        // Leave the section as the next test expects it.
        for (const name of ['first', 'second']) await page.evaluate((n) => globalThis.genrescope.own.removeCategory(globalThis.genrescope.own.categories.find((c) => c.name === n).id), name);
      });
    }

    test('train three categories, match the CLI, adopt, export, classify held-out clips', { timeout: 900_000 }, async () => {
      const { page } = browser.session;
      await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
      assert.equal(await waitForEngine(page), expected);
      await page.locator('#own[data-available="yes"]').waitFor({ timeout: 30_000 });

      const t0 = Date.now();
      for (const genre of GENRES) {
        await page.fill('#own-category-name', genre);
        await page.click('#own-add button[type="submit"]');
        await page.locator(`.own-category[data-name="${genre}"] input[type="file"]`).setInputFiles(EXAMPLES[genre]);
      }
      await page.waitForFunction(() => document.querySelectorAll('.own-example[data-state="ready"]').length === 15, null, { timeout: 600_000, polling: 250 });
      const embedS = (Date.now() - t0) / 1000;
      const t1 = Date.now();
      await page.click('#own-train');
      await page.locator('#own-report[data-state="done"]').waitFor({ timeout: 300_000 });
      const trainS = (Date.now() - t1) / 1000;
      const report = await page.evaluate(() => globalThis.genrescope.own.training.report);
      console.log(`# ${expected}: 15 examples analysed in ${embedS.toFixed(1)} s, trained in ${trainS.toFixed(1)} s (module ${report.trainMs.toFixed(0)} ms); ${report.correct} of 15 right`);

      // The same cross-validation as the CLI's.
      assert.deepEqual(report.labels, GENRES);
      assert.deepEqual(report.tracksPerLabel, [5, 5, 5]);
      assert.equal(report.folds, cli.folds);
      assert.equal(report.embedder, cli.embedder, 'the same backbone');
      assert.ok(Math.abs(report.correct - cli.correct) <= 1, `page ${report.correct}, CLI ${cli.correct} of 15 right`);
      let cvDiff = 0;
      for (const [i, o] of report.outcomes.entries()) {
        assert.equal(o.track, cli.outcomes[i].track);
        o.probabilities.forEach((p, c) => (cvDiff = Math.max(cvDiff, Math.abs(p - cli.outcomes[i].probabilities[c]))));
      }
      console.log(`# ${expected}: out-of-fold probabilities, page against CLI: max diff ${cvDiff.toExponential(2)}; fold epochs page ${report.foldEpochs} CLI ${cli.foldEpochs}`);
      assert.ok(cvDiff <= CV_PROBABILITY_TOLERANCE, `out-of-fold probabilities differ by ${cvDiff}`);
      assert.equal(await page.locator('#own-report').getAttribute('data-correct'), String(report.correct));
      assert.match(await page.locator('#own-report').textContent(), /Cross-validated accuracy: \d+\.\d %/);
      assert.equal(await page.locator('.own-confusion tbody tr').count(), 3);

      // Adopt, export; the CLI loads the exported bundle unchanged.
      await page.fill('#own-adopt-name', 'Three genres');
      await page.click('#own-adopt');
      const model = page.locator('li.own-model').first();
      await model.waitFor({ timeout: 30_000 });
      const [download] = await Promise.all([page.waitForEvent('download'), model.locator('[data-action="export"]').click()]);
      assert.equal(download.suggestedFilename(), 'Three-genres.gscope');
      const exported = path.join(dir, `exported-${expected}.gscope`);
      await download.saveAs(exported);
      const info = JSON.parse(runTrainer(['info', '--json', exported]));
      assert.deepEqual(info.labels, GENRES);
      assert.ok(info.musicDetector, 'the base model’s music detector is kept');
      assert.equal(info.tags.length, 50, 'the MSD tags are kept');
      const native = nativeClassify(HELD_OUT[expected], exported);

      // Use it: the page reloads with the adopted model (from IndexedDB) and classifies.
      await Promise.all([page.waitForURL(/[?&]own=/), model.locator('[data-action="use"]').click()]);
      assert.equal(await waitForEngine(page), expected);
      assert.equal(await page.locator('li.own-model[data-active="yes"]').count(), 1);
      await dropFiles(page, HELD_OUT[expected].map((p) => ({ path: p })));
      await waitForRows(page, HELD_OUT[expected].length, 600_000);
      let maxDiff = 0;
      for (const row of await readRows(page)) {
        assert.equal(row.state, 'done', row.error);
        const truth = row.file.split('.')[0];
        assert.equal(row.genre, truth, `${row.file}: ${JSON.stringify(row.probabilities)}`);
        const want = native.get(row.file).probabilities;
        assert.deepEqual(Object.keys(row.probabilities), GENRES);
        for (const g of GENRES) maxDiff = Math.max(maxDiff, Math.abs(row.probabilities[g] - want[g]));
      }
      console.log(`# ${expected}: held-out clips, page against CLI on the exported bundle: max diff ${maxDiff.toExponential(2)}`);
      assert.ok(maxDiff <= TOLERANCE, `page and CLI differ by ${maxDiff}`);
    });
  });
}
