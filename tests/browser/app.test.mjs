// End-to-end tests of the page in headless Chromium, once on the WebGPU path
// (--enable-unsafe-webgpu: SwiftShader's software adapter) and once on the CPU fallback (no
// flag: requestAdapter() yields null). Real GTZAN clips are dropped through a DataTransfer;
// the page must give the native CLI's genre and probabilities, show a corrupt file's error
// while tagging the others, export a CSV that matches its table, survive bad input, work
// offline once loaded, and never contact another host.
//
//   node --test tests/browser/app.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  REPO,
  dropFiles,
  launchBrowser,
  nativeClassify,
  offsiteRequests,
  openPage,
  readRows,
  startWebServer,
  waitForEngine,
  waitForRows,
  pageUrl,
} from './harness.mjs';

const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const CLIPS = ['blues/blues.00000.wav', 'classical/classical.00001.wav', 'metal/metal.00002.wav'].map((p) => path.join(GENRES, p));

/** Largest accepted |p_browser - p_cli| per backend (both measure ~5e-8; README.md, "The web page"). */
const TOLERANCE = { cpu: 1e-4, webgpu: 1e-4 };

/** A file that is not decodable: a FLAC signature followed by garbage. */
function corruptFile() {
  const bytes = Buffer.alloc(4096);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes.write('fLaC', 0, 'latin1');
  return { name: 'corrupt.flac', bytes };
}

/** Console errors that are expected: the optional model card may be absent (a 404). */
function unexpected(errors) {
  return errors.filter((e) => !/MODEL_CARD\.md/.test(e));
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += '"', i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else if (c !== '\r') field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

let server;
let native;
before(async () => {
  server = await startWebServer();
  // One run of the native CLI for every clip (cargo builds the trainer if needed).
  native = nativeClassify(CLIPS);
});
after(async () => {
  await server?.close();
});

for (const webgpu of [true, false]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  const tolerance = TOLERANCE[expected];

  describe(`page on ${webgpu ? 'WebGPU (--enable-unsafe-webgpu)' : 'the CPU fallback (no WebGPU flag)'}`, () => {
    let browser;
    let session;
    before(async () => {
      browser = await launchBrowser({ webgpu, extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
      session = await openPage(browser);
      await session.page.setViewportSize({ width: 1200, height: 900 });
      await session.page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
    });
    after(async () => {
      const { requests, errors } = session ?? { requests: [], errors: [] };
      await browser?.close();
      // Checked over everything the page did in this mode's tests.
      assert.deepEqual(offsiteRequests(requests, server.url), [], 'no request left the page’s origin');
      assert.deepEqual(unexpected(errors), [], 'no page or console errors');
    });

    test(`settles on ${expected} and says so`, { timeout: 300_000 }, async () => {
      const { page } = session;
      const started = Date.now();
      const backend = await waitForEngine(page);
      console.log(`# ${expected}: engine settled in ${Date.now() - started} ms`);
      assert.equal(backend, expected, await page.locator('#engine').textContent());
      const note = await page.locator('#engine').textContent();
      assert.match(note, webgpu ? /WebGPU/ : /CPU/);
      if (webgpu) {
        const info = await page.evaluate(() => globalThis.genrescope.pool.status.info.gpu);
        console.log(`# webgpu start-up check: max |p_webgpu - p_cpu| = ${info.maxDiff} (tolerance ${info.tolerance}), setup ${Math.round(info.setupMs)} ms`);
        assert.ok(info.maxDiff <= info.tolerance);
      } else {
        // The test model is a CNN: the small CPU engine refuses it by name, and the pool runs
        // the CPU engine built with Burn, which the panel names.
        const cpuEngine = await page.evaluate(() => globalThis.genrescope.pool.status.cpuEngine);
        assert.equal(cpuEngine?.burn, true, JSON.stringify(cpuEngine));
        assert.match(cpuEngine.reason, /a CNN needs the engine built with Burn/);
        assert.match(await page.locator('#engine .engine-note').textContent(), /the engine built with Burn/);
      }
      assert.match(await page.locator('#privacy').textContent(), /never leaves/i);
      // Labels and provenance come from the bundle header.
      assert.match(await page.locator('#model').textContent(), /10 genres:.*blues.*rock/);
    });

    test('dropped clips get the native CLI’s genre and probabilities; a corrupt file shows its error', { timeout: 600_000 }, async () => {
      const { page } = session;
      const files = [{ path: CLIPS[0] }, corruptFile(), { path: CLIPS[1] }, { path: CLIPS[2] }];
      await dropFiles(page, files);
      await waitForRows(page, files.length);
      const rows = await readRows(page);
      assert.equal(rows.length, 4);

      let maxDiff = 0;
      for (const clip of CLIPS) {
        const name = path.basename(clip);
        const row = rows.find((r) => r.file === name);
        const cli = native.get(name);
        assert.ok(cli?.ok, `the CLI classified ${name}`);
        assert.equal(row.state, 'done', `${name}: ${row.error}`);
        assert.equal(row.backend, expected);
        assert.equal(row.decoder, 'genrescope');
        for (const [label, p] of Object.entries(cli.probabilities)) {
          const d = Math.abs(row.probabilities[label] - p);
          maxDiff = Math.max(maxDiff, d);
          assert.ok(d <= tolerance, `${name} ${label}: page ${row.probabilities[label]} vs CLI ${p}`);
        }
        const [first, second] = cli.top;
        if (first.probability - second.probability > 2 * tolerance) {
          assert.equal(row.genre, first.label, `${name}: genre`);
        } else {
          // A near tie within the tolerance may break either way; either label is right.
          assert.ok([first.label, second.label].includes(row.genre), `${name}: genre ${row.genre}`);
        }
        // The row's verdict is the CLI's; a genre shows the top 3 with bars.
        assert.equal(row.verdict, cli.verdict.kind, `${name}: verdict`);
        const shown = await page.locator(`#files > li[data-file="${name}"] summary .score .score-label`).allTextContents();
        if (row.verdict === 'genre') {
          assert.deepEqual(shown, cli.top.slice(0, 3).map((s) => s.label).slice(0, shown.length));
          assert.equal(shown.length, 3);
        } else {
          assert.equal(shown.length, 0, `${name}: ${row.verdict} shows no genre bars`);
        }
      }
      console.log(`# ${expected}: max |p_page - p_cli| over ${CLIPS.length} clips = ${maxDiff.toExponential(2)}`);

      const bad = rows.find((r) => r.file === 'corrupt.flac');
      assert.equal(bad.state, 'error');
      assert.ok(bad.error.length > 10, bad.error);
      const rowText = await page.locator('#files > li[data-file="corrupt.flac"]').textContent();
      assert.ok(rowText.includes(bad.error), 'the row shows the error');
      const tableText = await page.locator('#batch-table tr[data-file="corrupt.flac"] .c-status').textContent();
      assert.match(tableText, /^error: /);
    });

    test('the exported CSV matches the table; the JSON export has full precision', { timeout: 60_000 }, async () => {
      const { page } = session;
      const table = await page.$$eval('#batch-table tbody tr', (trs) =>
        trs.map((tr) => ({
          file: tr.querySelector('.c-file').textContent,
          verdict: tr.querySelector('.c-verdict').textContent,
          genre: tr.dataset.genre,
          confidence: tr.querySelector('.c-confidence').textContent,
          status: tr.querySelector('.c-status').textContent,
        })),
      );
      const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
      assert.equal(csvDownload.suggestedFilename(), 'genrescope.csv');
      const csv = parseCsv(await readFile(await csvDownload.path(), 'utf8'));
      assert.equal(csv.length, table.length);
      csv.forEach((line, i) => {
        assert.equal(line.file, table[i].file);
        assert.equal(line.verdict_text, table[i].verdict);
        assert.equal(line.genre, table[i].genre);
        assert.equal(line.confidence, table[i].confidence);
        assert.equal(line.status, table[i].status.startsWith('error') ? 'error' : 'done');
        if (line.status === 'done' && (line.verdict === 'genre' || line.verdict === 'uncertain')) {
          assert.equal(`${(Number(line.top_probability) * 100).toFixed(1)} %`, line.confidence);
          assert.equal(Number(line[`p_${line.genre}`]), Number(line.top_probability));
        } else if (line.status === 'done') {
          assert.equal(line.confidence, '–', `${line.file}: ${line.verdict} names no confidence`);
        } else {
          assert.equal(`error: ${line.error}`, table[i].status);
        }
      });

      const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
      const json = JSON.parse(await readFile(await jsonDownload.path(), 'utf8'));
      const rows = await readRows(page);
      for (const entry of json.filter((e) => e.ok)) {
        const row = rows.find((r) => r.file === entry.file);
        assert.deepEqual(entry.probabilities, row.probabilities, 'JSON probabilities are the full-precision values');
        assert.ok(entry.timeline.length > 0);
      }
      assert.equal(json.find((e) => e.file === 'corrupt.flac').ok, false);
    });

    test('opening a row shows the genre timeline, the Mel image and the stage timings', { timeout: 60_000 }, async () => {
      const { page } = session;
      const row = page.locator(`#files > li[data-file="${path.basename(CLIPS[0])}"]`);
      await row.locator('summary').click();
      await row.locator('canvas.mel').waitFor();
      await page.waitForTimeout(300);
      const mel = await row.locator('canvas.mel').evaluate((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
        return { width: c.width, height: c.height, colours: seen.size };
      });
      assert.equal(mel.height, 128, 'one pixel row per Mel band');
      assert.ok(mel.width > 1000, `about one column per STFT hop (${mel.width})`);
      assert.ok(mel.colours > 20, 'the image is not blank');
      const windows = await row.locator('.timeline-list li').count();
      assert.equal(windows, 19, 'a 30 s clip has 19 windows');
      const timeline = await row.locator('canvas.timeline').evaluate((c) => c.width > 0 && c.height > 0);
      assert.ok(timeline);
      for (const stage of ['decode', 'features', 'inference']) {
        assert.equal(await row.locator(`.timings tr[data-stage="${stage}"]`).count(), 1, stage);
      }
      assert.match(await row.locator('.backend-used').textContent(), webgpu ? /WebGPU/ : /CPU/);
      await page.screenshot({ path: path.join(REPO, 'target', `screenshot-${expected}.png`), fullPage: true });
    });

    test('a failed file leaves the engine usable: the next file still classifies', { timeout: 300_000 }, async () => {
      const { page } = session;
      const before = await page.locator('#files > li').count();
      // Jobs go to the first idle worker, so both land on the same engine instance.
      await dropFiles(page, [{ name: 'text.mp3', bytes: Buffer.from('not audio, only text named .mp3\n') }]);
      await waitForRows(page, before + 1);
      await dropFiles(page, [{ name: 'empty.wav', bytes: Buffer.alloc(0) }]);
      await waitForRows(page, before + 2);
      await dropFiles(page, [{ path: CLIPS[0], name: 'again.wav' }]);
      await waitForRows(page, before + 3);
      const rows = await readRows(page);
      assert.equal(rows.find((r) => r.file === 'text.mp3').state, 'error');
      assert.match(rows.find((r) => r.file === 'empty.wav').error, /empty/);
      const again = rows.find((r) => r.file === 'again.wav');
      assert.equal(again.state, 'done');
      const first = rows.find((r) => r.file === path.basename(CLIPS[0]));
      assert.deepEqual(again.probabilities, first.probabilities, 'same file, same result');
    });

    test('keeps working offline once loaded', { timeout: 300_000 }, async () => {
      const { page, context } = session;
      const before = await page.locator('#files > li').count();
      await context.setOffline(true);
      try {
        await dropFiles(page, [{ path: CLIPS[1], name: 'offline.wav' }]);
        await waitForRows(page, before + 1);
        const row = (await readRows(page)).find((r) => r.file === 'offline.wav');
        assert.equal(row.state, 'done', row.error);
      } finally {
        await context.setOffline(false);
      }
    });

    if (!webgpu) {
      test('formats the engine lacks (Opus in WebM) are decoded by the browser', { timeout: 120_000 }, async () => {
        const { page } = session;
        // Record 2 s of a synthetic tone to WebM/Opus in the page itself.
        const webm = await page.evaluate(async () => {
          const ctx = new AudioContext({ sampleRate: 48000 });
          const osc = ctx.createOscillator();
          osc.frequency.value = 330;
          const dest = ctx.createMediaStreamDestination();
          osc.connect(dest);
          osc.start();
          const rec = new MediaRecorder(dest.stream, { mimeType: 'audio/webm;codecs=opus' });
          const chunks = [];
          rec.ondataavailable = (e) => chunks.push(e.data);
          const stopped = new Promise((r) => (rec.onstop = r));
          rec.start();
          await new Promise((r) => setTimeout(r, 2000));
          rec.stop();
          await stopped;
          osc.stop();
          await ctx.close();
          const buf = new Uint8Array(await new Blob(chunks).arrayBuffer());
          return Array.from(buf);
        });
        const before = await page.locator('#files > li').count();
        await dropFiles(page, [{ name: 'tone.webm', bytes: Buffer.from(webm), type: 'audio/webm' }]);
        await waitForRows(page, before + 1);
        const row = (await readRows(page)).find((r) => r.file === 'tone.webm');
        assert.equal(row.state, 'done', row.error);
        assert.equal(row.decoder, 'webaudio');
        await page.locator('#files > li[data-file="tone.webm"] summary').click();
        assert.match(await page.locator('#files > li[data-file="tone.webm"] .decoder-used').textContent(), /WebAudio/);
      });
    }
  });
}
