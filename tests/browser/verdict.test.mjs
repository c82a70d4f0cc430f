// The verdict on every result (src/trust: genre, uncertain, not_music, silent) and the Million
// Song Dataset tags, in the page, once on WebGPU (--enable-unsafe-webgpu: SwiftShader) and once
// on the CPU fallback: for a GTZAN clip, ten seconds of digital silence, ten seconds of a DC
// offset and ten seconds of white noise (written into temporary directories), each row's verdict kind and text, its shown tags
// (labels and probabilities within 1e-4) and its music score are the native CLI's
// (`trainer classify --json`); silence and DC are 'silent' whatever the model; the row, the
// batch table and both exports say the same; a silent row shows no genre bar and says why in
// its details, from the model's own silence gate. The page's ModelInfo carries the CLI's
// verdict fields. Whatever the served model has (tags, a music detector, an uncertainty
// threshold or none), page and CLI are compared; GENRESCOPE_VERDICT_MODEL=path serves another
// bundle (e.g. a MusiCNN transfer trained with --msd-tags) instead of the test model. Live mode
// hears the noise through Chromium's fake microphone: with a music detector that calls the file
// not music, every window is not music and no genre is shown.
//
//   node --test tests/browser/verdict.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TAGS_SHOWN } from '../../web/lib/verdict.js';
import {
  REPO,
  TEST_MODEL,
  compareTags,
  compareVerdict,
  dropFiles,
  launchBrowser,
  nativeClassify,
  nativeInfo,
  offsiteRequests,
  openPage,
  readRows,
  startWebServer,
  waitForEngine,
  waitForRows,
  writeTempWav,
  pageUrl,
} from './harness.mjs';

const MODEL = process.env.GENRESCOPE_VERDICT_MODEL ? path.resolve(REPO, process.env.GENRESCOPE_VERDICT_MODEL) : TEST_MODEL;
const CLIP = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres', 'rock', 'rock.00003.wav');
const RATE = 22050;
/** Ten seconds of exact zeros, and ten seconds of a constant offset (no signal once the DC is removed). */
const SILENCE = writeTempWav('silence.wav', new Float32Array(10 * RATE), RATE);
const DC = writeTempWav('dc.wav', new Float32Array(10 * RATE).fill(0.25), RATE);
/** Ten seconds of white noise at about -20 dBFS: loud, and no music (a model with a detector may say so). */
let seed = 7;
const NOISE = writeTempWav('noise.wav', Float32Array.from({ length: 10 * RATE }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.35), RATE);
const FILES = [CLIP, SILENCE, DC, NOISE];
/** Largest accepted |p_page - p_cli|, as in app.test.mjs. */
const TOLERANCE = 1e-4;

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
let info;
before(async () => {
  server = await startWebServer({ model: MODEL });
  native = nativeClassify(FILES, MODEL);
  info = nativeInfo(MODEL);
});
after(async () => {
  await server?.close();
  for (const file of [SILENCE, DC, NOISE]) rmSync(path.dirname(file), { recursive: true, force: true });
});

for (const webgpu of [true, false]) {
  const expected = webgpu ? 'webgpu' : 'cpu';

  describe(`verdicts and tags on ${webgpu ? 'WebGPU (--enable-unsafe-webgpu)' : 'the CPU fallback'}`, () => {
    let browser;
    let session;
    before(async () => {
      browser = await launchBrowser({ webgpu });
      session = await openPage(browser);
      await session.page.setViewportSize({ width: 1200, height: 900 });
      await session.page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
      assert.equal(await waitForEngine(session.page), expected);
    });
    after(async () => {
      const { requests, errors } = session ?? { requests: [], errors: [] };
      await browser?.close();
      assert.deepEqual(offsiteRequests(requests, server.url), [], 'no request left the page’s origin');
      assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), [], 'no page or console errors');
    });

    test('the page’s ModelInfo has the CLI’s verdict fields', async () => {
      const model = await session.page.evaluate(() => globalThis.genrescope.pool.status.model);
      // The numbers are f32 in the bundle: the CLI prints their shortest decimal, the page has them exactly.
      const f32 = (v) => JSON.parse(JSON.stringify(v), (_, x) => (typeof x === 'number' ? Math.fround(x) : x));
      for (const key of ['uncertainBelow', 'musicDetector', 'tags', 'silence']) {
        assert.deepEqual(f32(model[key]), f32(info[key]), key);
      }
      console.log(`# ${expected}: model uncertainBelow ${model.uncertainBelow}, musicDetector ${model.musicDetector}, ${model.tags.length} tags, silence gate ${JSON.stringify(model.silence)}`);
    });

    test('each row’s verdict, tags and music score are the CLI’s; silence and DC are silent', { timeout: 600_000 }, async () => {
      const { page } = session;
      await dropFiles(page, FILES.map((p) => ({ path: p })));
      await waitForRows(page, FILES.length);
      const rows = await readRows(page);
      let tagDiff = 0;
      for (const file of FILES) {
        const name = path.basename(file);
        const row = rows.find((r) => r.file === name);
        const cli = native.get(name);
        assert.ok(cli?.ok, `the CLI classified ${name}`);
        assert.equal(row.state, 'done', `${name}: ${row.error}`);
        assert.ok(cli.verdict, `${name}: the CLI's JSON has a verdict`);
        compareVerdict({ kind: row.verdict, text: row.verdictText }, cli, info.uncertainBelow, TOLERANCE, assert, name);
        tagDiff = Math.max(tagDiff, compareTags(row.tags, cli.tags, TAGS_SHOWN, assert, name));
        if (cli.music) assert.ok(Math.abs(row.music - cli.music.probability) <= TOLERANCE, `${name}: music ${row.music} vs CLI ${cli.music.probability}`);
        else assert.equal(row.music, null, `${name}: no music score without a detector`);

        // The headline is the verdict's text; only a genre gets coloured genre bars.
        const li = page.locator(`#files > li[data-file="${name}"]`);
        assert.equal(await li.locator('summary .verdict-text').textContent(), row.verdictText);
        const bars = await li.locator('summary .bar').count();
        if (row.verdict === 'genre') assert.equal(bars, 3, `${name}: a genre shows its top-3 bars`);
        else assert.equal(bars, 0, `${name}: ${row.verdict} shows no genre bar`);
        if (row.verdict === 'uncertain') {
          const shown = await li.locator('summary .candidate').evaluateAll((els) => els.map((e) => e.dataset.label));
          assert.deepEqual(shown, cli.verdict.candidates, `${name}: both candidates shown`);
        }
        console.log(`# ${expected}: ${name}: ${row.verdict} "${row.verdictText}" (CLI ${cli.verdict.kind} "${cli.verdict.text}"), ${row.tags.length} tags`);
      }
      console.log(`# ${expected}: max |tag_page - tag_cli| = ${tagDiff.toExponential(2)}`);
      for (const file of [SILENCE, DC]) {
        const name = path.basename(file);
        assert.equal(native.get(name).verdict.kind, 'silent', `the CLI: ${name} is silent`);
        assert.equal(rows.find((r) => r.file === name).verdict, 'silent', `the page: ${name} is silent`);
      }
      for (const file of [CLIP, NOISE]) assert.notEqual(native.get(path.basename(file)).verdict.kind, 'silent', `${path.basename(file)} is not silent`);
    });

    test('a silent row says why from the model’s gate and keeps the probabilities; tags are listed when the model has them', { timeout: 60_000 }, async () => {
      const { page } = session;
      const gate = info.silence;
      const silent = page.locator('#files > li[data-file="silence.wav"]');
      await silent.locator('summary').click();
      const reason = await silent.locator('.verdict-reason').textContent();
      assert.match(reason, /^Silence/);
      assert.doesNotMatch(await silent.textContent(), /\bnull\b/, 'no stray "null" in the opened row');
      assert.ok(reason.includes(`${gate.thresholdDbfs} dBFS`) && reason.includes(`${gate.minSignalSeconds} s`), reason);
      const labels = await silent.locator('.all-scores .score-label').allTextContents();
      const row = (await readRows(page)).find((r) => r.file === 'silence.wav');
      assert.deepEqual(labels, Object.entries(row.probabilities).sort((a, b) => b[1] - a[1]).slice(0, labels.length).map(([l]) => l), 'the probabilities, most likely first');
      assert.ok(labels.length >= Math.min(3, info.labels.length));

      const clip = page.locator(`#files > li[data-file="${path.basename(CLIP)}"]`);
      await clip.locator('summary').click();
      await clip.locator('.verdict-panel').waitFor(); // the details render on the toggle event
      const tagRows = await clip.locator('.tags-panel .tag').evaluateAll((els) => els.map((e) => ({ label: e.dataset.label, probability: Number(e.dataset.probability) })));
      const cliTags = native.get(path.basename(CLIP)).tags;
      compareTags(tagRows, cliTags, TAGS_SHOWN, assert, 'tags panel');
      assert.equal(await clip.locator('.tags-panel h3').count(), cliTags.length ? 1 : 0);
      if (cliTags.length) assert.match(await clip.locator('.tags-panel h3').textContent(), /Million Song Dataset/);
    });

    test('the table and both exports carry the verdicts and tags', { timeout: 60_000 }, async () => {
      const { page } = session;
      const rows = await readRows(page);
      const table = await page.$$eval('#batch-table tbody tr', (trs) => trs.map((tr) => ({ file: tr.dataset.file, verdict: tr.dataset.verdict, text: tr.querySelector('.c-verdict').textContent, confidence: tr.querySelector('.c-confidence').textContent })));
      for (const row of rows) {
        const t = table.find((x) => x.file === row.file);
        assert.equal(t.verdict, row.verdict, row.file);
        assert.equal(t.text, row.verdictText, row.file);
        if (row.verdict === 'silent' || row.verdict === 'not_music') assert.equal(t.confidence, '–', `${row.file}: no confidence for ${row.verdict}`);
        else assert.equal(t.confidence, `${(row.confidence * 100).toFixed(1)} %`, row.file);
      }
      const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
      const csv = parseCsv(await readFile(await csvDownload.path(), 'utf8'));
      for (const row of rows) {
        const line = csv.find((l) => l.file === row.file);
        assert.equal(line.verdict, row.verdict, row.file);
        assert.equal(line.verdict_text, row.verdictText, row.file);
        assert.equal(line.tags, row.tags.map((t) => `${t.label}:${t.probability}`).join(';'), `${row.file}: CSV tags`);
        assert.equal(line.music_probability, row.music === null ? '' : String(row.music), row.file);
      }
      const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
      const json = JSON.parse(await readFile(await jsonDownload.path(), 'utf8'));
      for (const row of rows) {
        const entry = json.find((e) => e.file === row.file);
        const cli = native.get(row.file);
        assert.equal(entry.verdict.kind, row.verdict);
        assert.equal(entry.verdict.text, row.verdictText);
        assert.deepEqual(Object.keys(entry.verdict).sort(), Object.keys(cli.verdict).sort(), 'the CLI’s verdict fields');
        assert.deepEqual(entry.tags.slice(0, TAGS_SHOWN), row.tags, `${row.file}: JSON tags`);
        assert.equal(entry.tags.length, cli.tags.length, `${row.file}: every tag, as the CLI's JSON`);
        assert.equal(entry.signal.silent, row.verdict === 'silent', `${row.file}: signal.silent`);
      }
    });

    if (webgpu) return;

    test('live mode: white noise from the microphone gets the verdict the CLI gives the noise file, never a genre when that is not music', { timeout: 120_000 }, async () => {
      // Chromium's fake microphone plays the noise file; every window goes to the engine.
      const mic = await launchBrowser({ extraArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${NOISE}%noloop`] });
      try {
        const { page, errors } = await openPage(mic);
        await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
        await waitForEngine(page);
        await page.click('#live-toggle');
        await page.waitForFunction(() => Number(document.querySelector('#live').dataset.classified) >= 2, null, { timeout: 90_000, polling: 100 });
        const live = await page.$eval('#live', (el) => ({ ...el.dataset }));
        const kinds = await page.evaluate(() => globalThis.genrescope.live.history.filter((w) => w.status === 'done').map((w) => w.verdict.kind));
        await page.click('#live-toggle');
        const cli = native.get(path.basename(NOISE)).verdict;
        console.log(`# live noise: windows ${kinds.join(' ')}; CLI on the file: ${cli.kind} (${cli.text})`);
        if (cli.kind === 'not_music') {
          assert.ok(kinds.every((k) => k === 'not_music'), kinds.join(' '));
          assert.equal(live.now, 'not_music');
          assert.equal(live.genre, undefined, 'not music moves no genre');
          assert.equal(Number(live.notMusic), Number(live.classified));
          assert.equal(await page.locator('#live .live-genre').textContent(), cli.text);
        } else {
          // Without a music detector the model names a genre (or is unsure) for noise too.
          assert.ok(kinds.every((k) => k === 'genre' || k === 'uncertain'), kinds.join(' '));
          assert.ok(['genre', 'uncertain'].includes(live.now));
        }
        assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), []);
      } finally {
        await mic.close();
      }
    });

    // No shipped model can say 'uncertain' or 'not_music' or has tags yet; how a row shows them
    // is checked on a real result of the music clip with its verdict (or tags) replaced.
    test('view: unsure, not-music and tagged results look unlike a confident genre', { timeout: 60_000 }, async () => {
      const { page } = session;
      const shown = await page.evaluate(async (clip) => {
        const { FileRow } = await import('./lib/file-row.js');
        const { pool, records } = globalThis.genrescope;
        const base = records.list.find((r) => r.file === clip).result;
        const [a, b] = base.top;
        const tags = Array.from({ length: 12 }, (_, i) => ({ label: `tag${i}`, probability: 0.9 - i * 0.05 }));
        const variants = {
          uncertain: { ...base, verdict: { kind: 'uncertain', label: null, candidates: [a.label, b.label], confidence: a.probability, text: `Unsure: ${a.label} or ${b.label}?` }, tags: [] },
          not_music: { ...base, verdict: { kind: 'not_music', label: null, candidates: [], confidence: a.probability, text: 'Not music' }, music: { probability: 0.125, threshold: 0.5 }, tags: [] },
          tagged: { ...base, tags },
        };
        const box = document.createElement('ul');
        document.body.append(box);
        const out = {};
        for (const [name, result] of Object.entries(variants)) {
          const row = new FileRow(new File([], `${name}.wav`));
          box.append(row.el);
          row.showResult(result, pool.status.model);
          row.details.open = true;
          row.renderDetail();
          const q = (sel) => row.el.querySelector(sel);
          out[name] = {
            verdict: row.el.dataset.verdict,
            text: q('summary .verdict-text').textContent,
            bars: row.el.querySelectorAll('summary .bar').length,
            candidates: [...row.el.querySelectorAll('summary .candidate')].map((c) => c.textContent),
            iconBackground: getComputedStyle(q('summary .verdict-icon')).backgroundColor,
            reason: q('.verdict-reason').textContent,
            music: q('.music-score')?.textContent ?? null,
            probabilities: row.el.querySelectorAll('.all-scores .score').length,
            tags: [...row.el.querySelectorAll('.tags-panel .tag')].map((t) => t.dataset.label),
            tagsTitle: q('.tags-panel h3')?.textContent ?? null,
            dataTags: JSON.parse(row.el.dataset.tags).length,
            nullShown: /\bnull\b/.test(row.el.textContent),
          };
        }
        box.remove();
        return { out, top: [a, b] };
      }, path.basename(CLIP));
      const { out, top } = shown;
      const pct = (p) => `${(p * 100).toFixed(1)} %`;
      // Unsure: both candidates with their probabilities, no bars, a neutral icon.
      assert.equal(out.uncertain.verdict, 'uncertain');
      assert.equal(out.uncertain.text, `Unsure: ${top[0].label} or ${top[1].label}?`);
      assert.equal(out.uncertain.bars, 0);
      assert.deepEqual(out.uncertain.candidates, top.map((t) => `${t.label} ${pct(t.probability)}`));
      assert.match(out.uncertain.reason, /^Unsure/);
      assert.ok(out.uncertain.probabilities > 0, 'the probabilities stay in the details');
      // Not music: no bars; the music score and its threshold (from the result) are said.
      assert.equal(out.not_music.text, 'Not music');
      assert.equal(out.not_music.bars, 0);
      assert.match(out.not_music.reason, /12\.5 %.*50\.0 %/);
      assert.equal(out.not_music.music, 'Music detector: 12.5 % music (threshold 50.0 %).');
      assert.equal(out.uncertain.iconBackground, out.not_music.iconBackground);
      // A genre's icon is filled; the others are outlined (transparent).
      assert.notEqual(out.tagged.iconBackground, out.not_music.iconBackground, 'a genre looks different');
      assert.equal(out.tagged.bars, 3);
      // Tags: the top 8, titled as Million Song Dataset tags; none shown when there are none.
      assert.deepEqual(out.tagged.tags, Array.from({ length: TAGS_SHOWN }, (_, i) => `tag${i}`));
      assert.equal(out.tagged.dataTags, TAGS_SHOWN);
      assert.match(out.tagged.tagsTitle, /Million Song Dataset/);
      for (const [name, o] of Object.entries(out)) assert.equal(o.nullShown, false, `${name}: no stray "null" in the row`);
      assert.deepEqual(out.uncertain.tags, []);
      assert.equal(out.uncertain.tagsTitle, null);
    });
  });
}
