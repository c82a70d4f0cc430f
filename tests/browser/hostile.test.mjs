// Hostile files in the page, on the CPU path and the WebGPU path (SwiftShader): the whole
// committed hostile corpus (tests/fixtures/hostile/, written by make_hostile.py) dropped in
// the middle of a batch of real clips. Every row ends with a finite result or an error that
// names its cause in one line; no panic text reaches the page; the clips around the corpus
// are classified; the page stays usable. Then a real wasm panic (the engine's test-only
// `simulatePanic` option) in the middle of a batch of the engine pool: the worker reports the
// panic message, the pool tries the file once more on a fresh worker and then fails it with
// that cause, and every other file of the batch is classified.
//
//   node --test tests/browser/hostile.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, dropFiles, launchBrowser, openPage, readRows, startWebServer, waitForEngine, waitForRows, wavBytes, pageUrl } from './harness.mjs';

const HOSTILE = path.join(REPO, 'tests', 'fixtures', 'hostile');
const CORPUS = readdirSync(HOSTILE).filter((n) => !n.endsWith('.py')).sort();
const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const CLIPS = ['jazz/jazz.00004.wav', 'rock/rock.00005.wav', 'pop/pop.00002.wav'].map((p) => path.join(GENRES, p));

/** Files natively classified (tests/hostile_corpus.rs): the page must classify them too. */
const CLASSIFIED = [
  'wav_valid_tiny.wav',
  'aiff_valid_tiny.aiff',
  'flac_valid_tiny.flac',
  'caf_valid_tiny.caf',
  'wav_float_1e30.wav',
  'wav_data_beyond_file.wav',
  'wav_claims_4gb.wav',
  'au_size_4gb.au',
  'aiff_frames_u32_max.aiff',
  'flac_claims_2pow36_samples.flac',
];

/** A 4 s tone at 22050 Hz as WAV bytes, base64 (for files made in the page). */
function toneBase64(freq) {
  const samples = Float32Array.from({ length: 4 * 22050 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * freq * i) / 22050));
  return Buffer.from(wavBytes(samples, 22050)).toString('base64');
}

/** Words that mean a panic or a trap reached the user instead of a cause. */
const PANIC_TEXT = /panicked|unreachable|RuntimeError|wasm trap/;

for (const backend of ['cpu', 'webgpu']) {
  describe(`hostile files on the ${backend} path`, { timeout: 900_000 }, () => {
    let server;
    let browser;
    before(async () => {
      server = await startWebServer();
      browser = await launchBrowser({ webgpu: backend === 'webgpu' });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('the hostile corpus in the middle of a batch: a result or a named error for each', async () => {
      assert.ok(CORPUS.length >= 40, `only ${CORPUS.length} hostile files`);
      const { page, errors } = await openPage(browser);
      await page.goto(pageUrl(server.url, backend === 'webgpu'));
      assert.equal(await waitForEngine(page), backend);
      const batch = [
        { path: CLIPS[0] },
        ...CORPUS.slice(0, 36).map((n) => ({ path: path.join(HOSTILE, n) })),
        { path: CLIPS[1] },
        ...CORPUS.slice(36).map((n) => ({ path: path.join(HOSTILE, n) })),
      ];
      await dropFiles(page, batch);
      await waitForRows(page, batch.length, 600_000);
      const rows = await readRows(page);
      assert.equal(rows.length, batch.length);
      for (const row of rows) {
        const text = row.state === 'done' ? row.verdictText : row.error;
        assert.ok(text, `${row.file}: nothing shown (${row.state})`);
        assert.doesNotMatch(text, PANIC_TEXT, `${row.file}: ${text}`);
        if (row.state === 'error') {
          assert.ok(row.error.length >= 20 && !row.error.includes('\n'), `${row.file}: ${row.error}`);
        } else {
          assert.doesNotMatch(row.verdictText, /NaN|Infinity/, row.file);
          const probabilities = Object.values(row.probabilities);
          assert.ok(probabilities.length > 0 && probabilities.every(Number.isFinite), `${row.file}: ${JSON.stringify(row.probabilities)}`);
          const sum = probabilities.reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 1e-3, `${row.file}: probabilities sum to ${sum}`);
        }
      }
      const byName = new Map(rows.map((r) => [r.file, r]));
      for (const name of [...CLASSIFIED, ...CLIPS.slice(0, 2).map((p) => path.basename(p))]) {
        assert.equal(byName.get(name)?.state, 'done', `${name}: ${byName.get(name)?.error}`);
      }
      // Named causes, as natively (the header guards' wording).
      assert.match(byName.get('wav_rate_0.wav').error, /the WAV header gives a sample rate of 0 Hz/);
      assert.match(byName.get('mkv_timestamp_scale_above_u32.webm').error, /gives a timestamp scale of/);
      assert.match(byName.get('aiff_channels_0.aiff').error, /AIFF header gives 0 channels/);
      // The page is still usable: one more clip after the batch.
      await dropFiles(page, [{ path: CLIPS[2] }]);
      await waitForRows(page, batch.length + 1);
      const last = (await readRows(page)).at(-1);
      assert.equal(last.state, 'done', last.error);
      assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), []);
    });

    test('a real wasm panic mid-batch: tried twice, failed with its message, the rest classified', async () => {
      const { page } = await openPage(browser);
      const crashes = [];
      page.on('console', (m) => /crashed: .*starting a new one/.test(m.text()) && crashes.push(m.text()));
      await page.goto(`${server.url}bench.html?backends=${backend}`);
      const tones = [220, 440, 880].map(toneBase64);
      const outcome = await page.evaluate(async ({ backend, tones }) => {
        const { startBackend } = await import('./lib/bench-run.js');
        const { pool, reason } = await startBackend(backend);
        if (!pool) return { unavailable: reason };
        const files = tones.map((b64, i) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], `tone${i}.wav`));
        const jobs = [
          pool.classifyFile(files[0]),
          pool.classifyFile(files[1], { simulatePanic: 'simulated decoder panic (test)' }),
          pool.classifyFile(files[2]),
        ];
        const settled = await Promise.allSettled(jobs);
        const after = await pool.classifyFile(files[0]).then((r) => r.verdict.text, (e) => `error: ${e.message}`);
        return {
          settled: settled.map((s) => (s.status === 'fulfilled' ? { ok: s.value.verdict.text } : { error: s.reason.message, code: s.reason.code })),
          after,
          backend: pool.status.backend,
        };
      }, { backend, tones });
      assert.ok(!outcome.unavailable, outcome.unavailable);
      const [first, panicked, third] = outcome.settled;
      assert.ok(first.ok, JSON.stringify(first));
      assert.ok(third.ok, JSON.stringify(third));
      assert.equal(panicked.code, 'crashed');
      assert.match(panicked.error, /simulated decoder panic \(test\)/);
      assert.doesNotMatch(panicked.error, /unreachable|RuntimeError/);
      assert.doesNotMatch(outcome.after, /^error/, outcome.after);
      // Two workers died on the file (the first try and the one retry), none after.
      assert.equal(crashes.length, 2, crashes.join('\n'));
    });
  });
}
