// Whole-track, progressive analysis in the page (issue 19), with the shipped model on the CPU
// path: a 2-minute track of four real GTZAN clips back to back is dropped; its row must show a
// first answer from 3 patches (marked "refining", the descriptor-table member "not analysed
// yet"), refine in place, and end with every patch analysed by both workers: a timeline of
// the whole length and the probabilities, tags and verdict of `trainer classify` (which
// analyses every patch) within 1e-4. Two such tracks dropped together get their first answers
// before either is refined.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, SHIPPED_MODEL, dropFiles, launchBrowser, nativeClassify, openPage, readRows, startWebServer, waitForEngine, waitForRows, wavSamples, writeTempWav } from './harness.mjs';

const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const CLIPS = ['jazz/jazz.00004.wav', 'metal/metal.00002.wav', 'classical/classical.00001.wav', 'reggae/reggae.00003.wav'].map((p) => path.join(GENRES, p));
/** Largest accepted |p_page - p_cli| (as app.test.mjs). */
const TOLERANCE = 1e-4;

/** The clips back to back as one 16-bit mono WAV at their rate (22050 Hz), in a temp folder. */
function longTrack(name, order) {
  const clips = order.map((i) => wavSamples(CLIPS[i]));
  const samples = clips.flatMap((c) => Array.from(c.samples));
  return writeTempWav(name, samples, clips[0].sampleRate);
}

describe('a long track, progressively (CPU, shipped model)', () => {
  let server;
  let browser;
  let tracks;
  let native;
  before(async () => {
    server = await startWebServer({ model: SHIPPED_MODEL });
    browser = await launchBrowser();
    tracks = [longTrack('four-clips.wav', [0, 1, 2, 3]), longTrack('four-clips-again.wav', [3, 2, 1, 0])];
    native = nativeClassify(tracks, SHIPPED_MODEL);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('first answer from 3 patches, refined in place to every patch, equal to the CLI', { timeout: 600_000 }, async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(server.url, { waitUntil: 'load' });
    assert.equal(await waitForEngine(page), 'cpu');
    assert.equal(await page.evaluate(() => globalThis.genrescope.pool.status.workers), 2, 'two CPU workers on two cores');
    // Every state a row goes through, with how much of its track it covered.
    await page.evaluate(() => {
      globalThis.seen = [];
      new MutationObserver((changes) => {
        for (const c of changes) {
          const li = c.target;
          if (li.matches?.('#files > li')) globalThis.seen.push({ file: li.dataset.file, state: li.dataset.state, patches: li.dataset.patches ?? null, members: li.dataset.members ?? null });
        }
      }).observe(document.querySelector('#files'), { subtree: true, attributes: true, attributeFilter: ['data-state', 'data-patches'] });
    });
    await dropFiles(page, tracks.map((p) => ({ path: p })));
    await waitForRows(page, 2, 540_000);
    const seen = await page.evaluate(() => globalThis.seen);
    const rows = await readRows(page);
    for (const track of tracks) {
      const name = path.basename(track);
      const mine = seen.filter((s) => s.file === name && s.patches);
      const cli = native.get(name);
      assert.ok(cli?.ok, `the CLI classified ${name}`);
      const total = cli.windows;
      assert.ok(total >= 38, `${name}: ${total} patches in two minutes`);
      // The first answer: 3 patches, refining, the table member not run yet.
      assert.equal(mine[0].state, 'refining', `${name}: first shown as refining`);
      assert.equal(mine[0].patches, `3/${total}`);
      const table = JSON.parse(mine[0].members).find((m) => m.name === 'table');
      assert.match(table.skipped ?? '', /not analysed yet/);
      // The final answer: every patch, the same as the CLI.
      const last = mine[mine.length - 1];
      assert.deepEqual([last.state, last.patches], ['done', `${total}/${total}`]);
      const row = rows.find((r) => r.file === name);
      let maxDiff = 0;
      for (const [label, p] of Object.entries(cli.probabilities)) maxDiff = Math.max(maxDiff, Math.abs(row.probabilities[label] - p));
      assert.ok(maxDiff <= TOLERANCE, `${name}: page and CLI differ by ${maxDiff}`);
      assert.equal(row.verdict, cli.verdict.kind);
      assert.ok(row.members.every((m) => !m.skipped), `${name}: every member counted in the end`);
      console.log(`# ${name}: ${mine.map((s) => `${s.state} ${s.patches}`).join(' -> ')}; max |p_page - p_cli| = ${maxDiff.toExponential(2)}`);
    }
    // Both first answers came before either track was refined further.
    const firsts = tracks.map((t) => seen.findIndex((s) => s.file === path.basename(t) && s.state === 'refining'));
    const refinements = seen.map((s, i) => [s, i]).filter(([s]) => s.state === 'refining' && !/^3\//.test(s.patches ?? '')).map(([, i]) => i);
    assert.ok(firsts.every((i) => i >= 0) && refinements.every((i) => i > Math.max(...firsts)), `first answers first: ${JSON.stringify(seen.map((s) => [s.file, s.state, s.patches]))}`);

    // The timeline covers the whole length, and the Mel image came with a share.
    const row = page.locator(`#files > li[data-file="${path.basename(tracks[0])}"]`);
    await row.locator('summary').click();
    const total = native.get(path.basename(tracks[0])).windows;
    // The details render when the row opens; wait for them.
    await row.locator('.timeline-list li').nth(total - 1).waitFor({ state: 'attached' });
    assert.equal(await row.locator('.timeline-list li').count(), total);
    // The image is sized when drawn: wait for that (up to 10 s), then check it.
    const mel = await row.locator('canvas.mel').elementHandle();
    await page.waitForFunction((c) => c.width > 100, mel, { timeout: 10_000 }).catch(() => {});
    assert.ok((await row.locator('canvas.mel').evaluate((c) => c.width)) > 100, 'the Mel image is drawn');
    assert.match(await row.locator('.file-status').textContent(), /first answer .* whole track \(\d+ patches\)/);
    assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), []);
  });
});
