// Files' own genre tags in the page, on the CPU path and on WebGPU: copies of the 6 s jazz
// fixture tagged by `trainer tags write` (an MP3 tagged "Rock", a FLAC tagged "Jazz", a WAV
// without tags) are dropped on the page. Each row and the batch table say what the tag says
// and whether it agrees with the verdict (the decoder module reads the tags in the
// background, with the code `trainer tags read` runs); the filter keeps only the
// disagreements, and both exports carry the tag.
//
//   node --test tests/browser/file-tags.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, SHIPPED_MODEL, dropFiles, pageSession, pageUrl, runTrainer, startWebServer, waitForEngine, waitForRows } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'audio');
/** file name -> the genre its tag says ('' for none) and whether that agrees with "jazz". */
const FILES = { 'rock-tagged.mp3': ['Rock', 'no'], 'jazz-tagged.flac': ['Jazz', 'yes'], 'untagged.wav': ['', ''] };

let dir;
let server;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genrescope-file-tags-'));
  for (const name of Object.keys(FILES)) copyFileSync(path.join(FIXTURES, `gtzan_jazz_6s.${name.split('.').pop()}`), path.join(dir, name));
  const log = path.join(dir, 'undo.jsonl');
  runTrainer(['tags', 'write', '--genre', 'Rock', '--undo-log', log, path.join(dir, 'rock-tagged.mp3')]);
  runTrainer(['tags', 'write', '--genre', 'Jazz', '--undo-log', log, path.join(dir, 'jazz-tagged.flac')]);
  const read = JSON.parse(runTrainer(['tags', 'read', '--json', ...Object.keys(FILES).map((f) => path.join(dir, f))]));
  assert.deepEqual(read.map((r) => r.tags.genres), [['Rock'], ['Jazz'], []], 'the fixtures are tagged as intended');
  server = await startWebServer({ model: SHIPPED_MODEL });
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const webgpu of [false, true]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  describe(`files' own tags on ${expected}`, () => {
    const browser = pageSession({ server: () => server, webgpu, ignoreErrors: /MODEL_CARD\.md/ });

    test('each row and the table say what the tag says and whether it agrees; the filter keeps the disagreements', { timeout: 300_000 }, async () => {
      const { page } = browser.session;
      await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
      assert.equal(await waitForEngine(page), expected);
      await dropFiles(page, Object.keys(FILES).map((name) => ({ path: path.join(dir, name) })));
      await waitForRows(page, 3);
      // Tags come after the answers; an untagged file's row gets an empty data-file-genre.
      await page.waitForFunction(() => [...document.querySelectorAll('#files > li')].every((li) => li.dataset.fileGenre !== undefined), null, { timeout: 60_000, polling: 100 });
      for (const [name, [said, agrees]] of Object.entries(FILES)) {
        const row = page.locator(`#files > li[data-file="${name}"]`);
        assert.equal(await row.getAttribute('data-genre'), 'jazz', name);
        assert.equal(await row.getAttribute('data-file-genre'), said, name);
        assert.equal(await row.getAttribute('data-agrees'), agrees, name);
        const tr = page.locator(`#batch-table tbody tr[data-file="${name}"]`);
        assert.equal(await tr.getAttribute('data-agrees'), agrees, `${name} in the table`);
        assert.equal(await tr.locator('.c-file-genre').textContent(), said);
      }
      assert.match(await page.locator('#files > li[data-file="rock-tagged.mp3"] .file-tag').textContent(), /Your tag says “Rock”; it sounds like jazz \(they disagree\)/);
      assert.equal(await page.locator('#files > li[data-file="untagged.wav"] .file-tag').count(), 0, 'no sentence without a genre tag');

      await page.check('#only-disagreements');
      const shown = await page.$$eval('#batch-table tbody tr', (trs) => trs.filter((tr) => getComputedStyle(tr).display !== 'none').map((tr) => tr.dataset.file));
      assert.deepEqual(shown, ['rock-tagged.mp3']);
      await page.uncheck('#only-disagreements');

      const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
      const entries = JSON.parse(readFileSync(await json.path(), 'utf8'));
      assert.deepEqual(entries.map((e) => e.file_tags?.genres ?? null), [['Rock'], ['Jazz'], []]);
      assert.equal(entries[0].file_tags.format, 'Mpeg');
    });
  });
}
