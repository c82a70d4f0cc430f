// A music library tagged in the page, end to end, with a folder opened through the File
// System Access API (headless Chromium cannot show the folder picker, so
// `showDirectoryPicker` hands the page a folder of the origin-private file system, which has
// the same handle API: `entries`, `getFile`, `createWritable`).
//
// The library: real GTZAN excerpts in nested folders, WAV and AIFF, the jazz fixture as FLAC,
// MP3, Ogg, Sun AU (a container that holds no tags), a WAV without an extension (found by its
// content) and one whose writes the browser refuses (a read-only file: `createWritable` of
// that file throws NoModificationAllowedError, as Chromium does for a read-only file); many of
// them tagged beforehand by `trainer tags write`, some with a genre that disagrees; a text
// file and a hidden file that must not be queued. On the CPU path all 56 files; on the
// software WebGPU adapter (about 3 s a patch) 15 of them, with every kind of file.
//
// The flow: open the folder; kill the page's renderer mid-run (CDP Page.crash); open it again
// in a new page, which shows the files done before from storage (same probabilities) and
// analyses the rest; the files' own tags shown, the table virtualised, filtered and sorted;
// "More like this" finds the same take in other formats; write the genre with the three most
// likely MSD tags (the MSD_TAGS field) into a selection (the AU file and the read-only file
// are reported and left byte for byte), then every confident genre alone; every written file
// read back natively (`trainer tags read --json`): its genre, its MSD_TAGS field and its audio
// stream digest, against the original's; after a reload, undo twice puts every file's
// previous genres back (and removes the field), its audio stream unchanged.
//
//   node --test tests/browser/library-write.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, SHIPPED_MODEL, pageSession, pageUrl, runTrainer, startWebServer, waitForEngine, wavExcerpt } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'audio');
const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const GENRE_NAMES = ['blues', 'classical', 'country', 'disco', 'hiphop', 'jazz', 'metal', 'pop', 'reggae', 'rock'];
const SECONDS = 6;

/** A 16-bit big-endian PCM AIFF of a mono 16-bit WAV's samples. */
function aiffFromWav(wav) {
  const rate = wav.readUInt32LE(24);
  const data = wav.subarray(44);
  const frames = data.length / 2;
  const comm = Buffer.alloc(8 + 18);
  comm.write('COMM', 0, 'latin1');
  comm.writeUInt32BE(18, 4);
  comm.writeUInt16BE(1, 8);
  comm.writeUInt32BE(frames, 10);
  comm.writeUInt16BE(16, 14);
  // The rate as an 80-bit extended float: exponent, then the mantissa with its leading 1.
  const e = Math.floor(Math.log2(rate));
  comm.writeUInt16BE(16383 + e, 16);
  comm.writeBigUInt64BE(BigInt(rate) << BigInt(63 - e), 18);
  const ssnd = Buffer.alloc(16 + data.length);
  ssnd.write('SSND', 0, 'latin1');
  ssnd.writeUInt32BE(8 + data.length, 4);
  for (let i = 0; i < frames; i++) ssnd.writeInt16BE(data.readInt16LE(2 * i), 16 + 2 * i);
  const form = Buffer.alloc(12);
  form.write('FORM', 0, 'latin1');
  form.writeUInt32BE(4 + comm.length + ssnd.length, 4);
  form.write('AIFF', 8, 'latin1');
  return Buffer.concat([form, comm, ssnd]);
}

/** The library: relative path -> {bytes, tag (a genre written beforehand, or null)}. */
function library() {
  const lib = {};
  for (const genre of GENRE_NAMES) {
    const names = readdirSorted(path.join(GENRES, genre)).slice(0, 5);
    names.slice(0, 4).forEach((name, i) => {
      const tag = i === 0 ? genre[0].toUpperCase() + genre.slice(1) : i === 1 ? 'Polka' : null;
      lib[`${genre}/${name}`] = { bytes: wavExcerpt(path.join(GENRES, genre, name), SECONDS, 10), tag };
    });
    lib[`${genre}/more/${names[4].replace(/\.wav$/, '.aiff')}`] = { bytes: aiffFromWav(wavExcerpt(path.join(GENRES, genre, names[4]), SECONDS, 10)), tag: genre === 'jazz' ? 'Ambient' : null };
  }
  const take = (ext) => readFileSync(path.join(FIXTURES, `gtzan_jazz_6s.${ext}`));
  lib['mixed/take.flac'] = { bytes: take('flac'), tag: 'Jazz' };
  lib['mixed/take.mp3'] = { bytes: take('mp3'), tag: 'Rock' };
  lib['mixed/take.ogg'] = { bytes: take('ogg'), tag: null };
  lib['mixed/take.au'] = { bytes: take('au'), tag: null };
  lib['mixed/readonly-take.wav'] = { bytes: take('wav'), tag: 'Blues' };
  lib['mixed/no-extension'] = { bytes: take('wav'), tag: null };
  return lib;
}

function readdirSorted(dir) {
  return readdirSync(dir).filter((n) => n.endsWith('.wav')).sort();
}

/**
 * The 9 files the WebGPU run uses (SwiftShader takes about 3 s a patch): every kind of file
 * (the jazz take as FLAC, MP3, Ogg, AU, a read-only WAV, a WAV without an extension, an AIFF)
 * and of tag (the right genre, another genre, "Polka", none), 2 other GTZAN excerpts.
 */
function subset(lib) {
  const metal = Object.keys(lib).filter((p) => p.startsWith('metal/') && !p.includes('/more/')).slice(0, 2);
  const chosen = Object.keys(lib).filter((p) => p.startsWith('mixed/') || p.startsWith('jazz/more/') || metal.includes(p));
  return Object.fromEntries(chosen.map((p) => [p, lib[p]]));
}

let dir;
let server;
let full;
/** Per relative path: the genres and audio digest of the file as it was before the page. */
let originals;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genrescope-library-write-'));
  full = library();
  const log = path.join(dir, 'undo.jsonl');
  for (const [rel, { bytes, tag }] of Object.entries(full)) {
    const file = path.join(dir, 'music', rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    if (tag) runTrainer(['tags', 'write', '--genre', tag, '--undo-log', log, file]);
    full[rel].bytes = readFileSync(file);
  }
  originals = nativeRead(Object.fromEntries(Object.entries(full).map(([rel, { bytes }]) => [rel, bytes])));
  for (const [rel, { tag }] of Object.entries(full)) {
    if (rel !== 'mixed/take.au') assert.deepEqual(originals.get(rel).genres, tag ? [tag] : [], `${rel} is tagged as intended`);
  }
  server = await startWebServer({ model: SHIPPED_MODEL });
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * `trainer tags read --json` on files given as {rel: bytes} (written to a scratch folder):
 * Map rel -> {genres, audio} (null for a file whose tags cannot be read).
 */
function nativeRead(files) {
  const scratch = mkdtempSync(path.join(dir, 'read-'));
  const paths = Object.entries(files).map(([rel, bytes], i) => {
    const file = path.join(scratch, `${i}-${path.basename(rel)}`);
    writeFileSync(file, bytes);
    return [rel, file];
  });
  let out;
  try {
    out = runTrainer(['tags', 'read', '--json', ...paths.map(([, f]) => f)]);
  } catch (err) {
    out = err.stdout; // exit code 1 when a file (the AU) has no tags
  }
  const entries = JSON.parse(out);
  rmSync(scratch, { recursive: true, force: true });
  return new Map(paths.map(([rel], i) => [rel, entries[i].tags ? { genres: entries[i].tags.genres, msdTags: entries[i].tags.msdTags, audio: entries[i].audio } : null]));
}

/** Replaces showDirectoryPicker with a folder of the origin-private file system, and refuses writes to "readonly-*" files. */
function installFolder(page) {
  return page.addInitScript(() => {
    globalThis.showDirectoryPicker = async () => (await navigator.storage.getDirectory()).getDirectoryHandle('music');
    const create = FileSystemFileHandle.prototype.createWritable;
    // The test's own writes (filling the folder) use the real one.
    globalThis.testCreateWritable = (handle) => create.call(handle);
    FileSystemFileHandle.prototype.createWritable = function (...args) {
      if (this.name.startsWith('readonly-')) return Promise.reject(new DOMException('the file is read-only', 'NoModificationAllowedError'));
      return create.apply(this, args);
    };
  });
}

/** Fills the page's private file system folder "music" with `files` ({rel: bytes}). */
async function fillFolder(page, files) {
  const entries = Object.entries(files);
  for (let i = 0; i < entries.length; i += 8) {
    const chunk = entries.slice(i, i + 8).map(([rel, bytes]) => ({ rel, base64: Buffer.from(bytes).toString('base64') }));
    await page.evaluate(async (chunk) => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('music', { create: true });
      for (const { rel, base64 } of chunk) {
        const parts = rel.split('/');
        let folder = root;
        for (const p of parts.slice(0, -1)) folder = await folder.getDirectoryHandle(p, { create: true });
        const bin = atob(base64);
        const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
        const stream = await globalThis.testCreateWritable(await folder.getFileHandle(parts.at(-1), { create: true }));
        await stream.write(bytes);
        await stream.close();
      }
    }, chunk);
  }
  await page.evaluate(async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('music');
    for (const [name, text] of [['notes.txt', 'not audio'], ['.hidden.wav', 'not even audio']]) {
      const stream = await globalThis.testCreateWritable(await root.getFileHandle(name, { create: true }));
      await stream.write(text);
      await stream.close();
    }
  });
}

/** The folder's files as the page's file system holds them now: {rel: Buffer}. */
async function folderBytes(page, rels) {
  const out = {};
  for (let i = 0; i < rels.length; i += 8) {
    const got = await page.evaluate(async (chunk) => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('music');
      const result = {};
      for (const rel of chunk) {
        const parts = rel.split('/');
        let folder = root;
        for (const p of parts.slice(0, -1)) folder = await folder.getDirectoryHandle(p);
        const bytes = new Uint8Array(await (await (await folder.getFileHandle(parts.at(-1))).getFile()).arrayBuffer());
        let bin = '';
        for (let j = 0; j < bytes.length; j += 0x8000) bin += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
        result[rel] = btoa(bin);
      }
      return result;
    }, rels.slice(i, i + 8));
    for (const [rel, b64] of Object.entries(got)) out[rel] = Buffer.from(b64, 'base64');
  }
  return out;
}

/** The batch's records as the page holds them: path (without "music/") -> record summary. */
function records(page) {
  return page.evaluate(() =>
    globalThis.genrescope.records.list.map((r) => ({
      path: r.path,
      state: r.state,
      stored: Boolean(r.stored),
      verdict: r.result?.verdict?.kind ?? null,
      label: r.result?.verdict?.label ?? null,
      probabilities: r.result?.probabilities ?? null,
      msdTags: r.result?.tags?.map((t) => t.label) ?? null,
      fileGenres: r.fileTags?.genres ?? null,
      write: r.write ?? null,
    })),
  ).then((list) => new Map(list.map((r) => [r.path.replace(/^music\//, ''), r])));
}

const step = (what) => console.error(`# ${new Date().toISOString().slice(11, 19)} ${what}`);

/** Whether the batch holds `n` files, each with its answer or error. */
const settledAll = (n) => globalThis.genrescope.records.list.length === n && globalThis.genrescope.records.list.every((r) => r.state === 'done' || r.state === 'error');

for (const webgpu of [false, true]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  describe(`a library tagged in the page on ${expected}`, () => {
    const browser = pageSession({ server: () => server, webgpu, ignoreErrors: /MODEL_CARD\.md/ });

    test('open, kill mid-run, resume; tags read; table; neighbours; write checked; undo', { timeout: 1_200_000 }, async () => {
      const files = webgpu ? subset(full) : full;
      const rels = Object.keys(files).sort((a, b) => `music/${a}`.localeCompare(`music/${b}`));
      const { context } = browser.session;
      let { page } = browser.session;
      await installFolder(page);
      await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
      assert.equal(await waitForEngine(page), expected);
      await fillFolder(page, Object.fromEntries(rels.map((r) => [r, files[r].bytes])));

      step('filled');
      // First run, killed once a few files are done.
      await page.click('#open-folder');
      const killAt = webgpu ? 3 : 12;
      await page.waitForFunction((n) => globalThis.genrescope.records.list.filter((r) => r.state === 'done').length >= n, killAt, { timeout: 600_000, polling: 100 });
      const first = await records(page);
      assert.deepEqual([...first.keys()], rels, 'the audio files below the folder (the one without an extension too), in path order; nothing else');
      const doneFirst = [...first].filter(([, r]) => r.state === 'done');
      const cdp = await context.newCDPSession(page);
      // The renderer dies at once; the command itself never gets an answer.
      const crashed = page.waitForEvent('crash', { timeout: 30_000 });
      cdp.send('Page.crash').catch(() => {});
      await crashed;
      await page.close().catch(() => {});

      step('killed');
      // A new page: the files done before come from storage; the rest are analysed.
      page = await context.newPage();
      const errors = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await installFolder(page);
      await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
      assert.equal(await waitForEngine(page), expected);
      await page.click('#open-folder');
      await page.waitForFunction(settledAll, rels.length, { timeout: 1_000_000, polling: 250 });
      const second = await records(page);
      for (const [rel, r] of doneFirst) {
        const now = second.get(rel);
        if (r.probabilities && first.get(rel).stored === false && now.stored) assert.deepEqual(now.probabilities, r.probabilities, `${rel}: the stored result is the first run's`);
      }
      const stored = [...second.values()].filter((r) => r.stored).length;
      assert.ok(stored >= doneFirst.length - 2 && stored > 0, `files done before the crash come from storage (${stored} of ${doneFirst.length})`);
      assert.ok([...second.values()].some((r) => !r.stored), 'the rest were analysed after the crash');
      assert.ok([...second.values()].every((r) => r.state === 'done'), 'every file has an answer');
      step(`${rels.length} files: ${doneFirst.length} done before the crash, ${stored} from storage after it`);

      step('second run settled');
      // Each file's own tag, read in the background.
      await page.waitForFunction(() => globalThis.genrescope.records.list.filter((r) => r.fileTags).length >= globalThis.genrescope.records.list.length - 1, null, { timeout: 120_000, polling: 250 });
      const tagged = await records(page);
      for (const rel of rels) {
        if (rel === 'mixed/take.au') continue;
        assert.deepEqual(tagged.get(rel).fileGenres, originals.get(rel).genres, `${rel}: the page reads the tag the trainer wrote`);
      }

      step('tags read');
      // The table: virtualised, sorted by confidence, filtered by genre.
      const table = page.locator('#batch-table');
      assert.equal(await table.getAttribute('data-shown'), String(rels.length));
      await page.selectOption('#sort', 'confidence-desc');
      const confidences = await page.$$eval('#batch-table tbody tr[data-id]', (trs) => trs.map((tr) => tr.dataset.confidence));
      assert.ok(confidences.length > 0);
      const shownOrder = await page.evaluate(() => [...document.querySelectorAll('#batch-table tbody tr[data-id]')].map((tr) => globalThis.genrescope.records.list.find((r) => String(r.id) === tr.dataset.id)).map((r) => (r.result.verdict.kind === 'genre' || r.result.verdict.kind === 'uncertain' ? r.result.verdict.confidence : -1)));
      assert.deepEqual(shownOrder, [...shownOrder].sort((a, b) => b - a), 'rows sorted by confidence, highest first');
      await page.selectOption('#sort', 'path');
      await page.selectOption('#filter-genre', 'jazz');
      const jazzRows = await page.$$eval('#batch-table tbody tr[data-id]', (trs) => trs.map((tr) => [tr.dataset.verdict, tr.dataset.genre]));
      const jazz = [...second.values()].filter((r) => r.verdict === 'genre' && r.label === 'jazz').length;
      assert.equal(jazzRows.length, jazz);
      assert.ok(jazzRows.every(([v, g]) => v === 'genre' && g === 'jazz'));
      await page.selectOption('#filter-genre', '');
      if (!webgpu) {
        const rendered = await page.locator('#batch-table tbody tr[data-id]').count();
        assert.ok(rendered < rels.length, `only the rows in view are in the document (${rendered} of ${rels.length})`);
        await page.locator('.table-wrap').evaluate((el) => el.scrollTo(0, el.scrollHeight));
        await page.waitForFunction((last) => [...document.querySelectorAll('#batch-table tbody tr[data-id]')].some((tr) => tr.dataset.path === `music/${last}`), rels.at(-1), { timeout: 5_000 });
        await page.locator('.table-wrap').evaluate((el) => el.scrollTo(0, 0));
      }

      step('table checked');
      // More like this: the jazz take in other formats is closest to the FLAC one (the fixture
      // is jazz.00005.wav from 10 s, so the AIFF excerpt is the same take too).
      const flac = page.locator('#files > li[data-file="take.flac"]');
      await flac.locator('summary').click();
      await flac.locator('.similar li').first().waitFor({ timeout: 10_000 });
      const similar = await flac.locator('.similar li').evaluateAll((lis) => lis.map((li) => li.dataset.file));
      const takes = ['jazz/more/jazz.00005.aiff', 'mixed/take.mp3', 'mixed/take.ogg', 'mixed/take.au', 'mixed/readonly-take.wav', 'mixed/no-extension'].map((p) => `music/${p}`);
      assert.ok(similar.slice(0, 3).every((f) => takes.includes(f)), `the take's other formats come first: ${similar}`);

      step('neighbours');
      // Write the selected, with the MSD tags: a WAV, the AU file (no tags possible) and the
      // read-only file.
      const pick = ['mixed/no-extension', 'mixed/take.au', 'mixed/readonly-take.wav'];
      await page.locator('#write-msd-tags').check();
      for (const rel of pick) {
        const r = second.get(rel);
        assert.equal(r.verdict, 'genre', `${rel} has a genre to write`);
      }
      for (const rel of pick) await page.locator(`#batch-table tbody tr[data-path="music/${rel}"] .c-select input`).check();
      await page.click('#write-selected');
      await page.waitForFunction((n) => globalThis.genrescope.records.list.filter((r) => r.write && r.write.state !== 'writing').length >= n, 3, { timeout: 120_000, polling: 100 }).catch(async (e) => {
        step(await page.evaluate(() => JSON.stringify({ status: document.querySelector('#write-status').textContent, sel: document.querySelector('#write-selected').disabled, w: globalThis.genrescope.records.list.filter((r) => r.write).map((r) => [r.path, r.write]), pool: globalThis.genrescope.pool.status })));
        throw e;
      });
      await page.waitForFunction(() => !document.querySelector('#undo-write').disabled, null, { timeout: 10_000 });
      let now = await records(page);
      assert.equal(now.get('mixed/no-extension').write.state, 'written');
      assert.equal(now.get('mixed/take.au').write.state, 'error');
      assert.match(now.get('mixed/take.au').write.message, /tags cannot be read|cannot be written/);
      assert.equal(now.get('mixed/readonly-take.wav').write.state, 'error');
      assert.match(now.get('mixed/readonly-take.wav').write.message, /cannot be written.*unchanged/);
      assert.match(await page.locator('#write-status').textContent(), /genre and MSD tags into 1 file; 2 not written/);
      const msdWritten = now.get('mixed/no-extension').msdTags.slice(0, 3).join('; ');
      const rowTag = await page.locator('#files > li[data-file="no-extension"] .file-tag').textContent();
      assert.ok(rowTag.includes(`MSD_TAGS field says “${msdWritten}”`), `the row shows the field written: ${rowTag}`);

      step('selected written');
      // Then every confident genre, alone.
      await page.locator('#write-msd-tags').uncheck();
      const confident = [...now].filter(([, r]) => r.verdict === 'genre' && !r.write && !(r.fileGenres ?? []).some((g) => g.toLowerCase() === r.label)).map(([rel]) => rel);
      await page.click('#write-confident');
      await page.waitForFunction((n) => globalThis.genrescope.records.list.filter((r) => r.write && r.write.state !== 'writing').length >= n, 3 + confident.length, { timeout: 300_000, polling: 100 });
      await page.waitForFunction((n) => document.querySelector('#write-status').textContent.startsWith(`Wrote the genre into ${n} file`), confident.length, { timeout: 30_000 });
      now = await records(page);
      const written = [...now].filter(([, r]) => r.write?.state === 'written').map(([rel]) => rel);
      assert.deepEqual(written.sort(), ['mixed/no-extension', ...confident].sort(), 'every confident genre not already in the tag was written');
      assert.ok(confident.length >= (webgpu ? 3 : 20), `enough confident files to write (${confident.length})`);
      step(`written: ${written.length} (1 selected, ${confident.length} confident); not written: 2 selected, ${rels.length - written.length - 2} unsure, not music or already agreeing`);

      step('confident written');
      // Read back natively: each written file has its genre and the original's audio stream;
      // every other file is byte for byte what it was.
      const after1 = await folderBytes(page, rels);
      const back = nativeRead(after1);
      for (const rel of rels) {
        const r = now.get(rel);
        if (written.includes(rel)) {
          assert.deepEqual(back.get(rel).genres, [r.label], `${rel}: the genre reads back`);
          const msd = rel === 'mixed/no-extension' ? r.msdTags.slice(0, 3) : [];
          assert.equal(msd.length, rel === 'mixed/no-extension' ? 3 : 0);
          assert.deepEqual(back.get(rel).msdTags, msd, `${rel}: the MSD_TAGS field reads back`);
          assert.deepEqual(back.get(rel).audio, originals.get(rel).audio, `${rel}: the audio stream is unchanged`);
          assert.ok(back.get(rel).audio?.packets > 0);
        } else {
          assert.ok(after1[rel].equals(files[rel].bytes), `${rel} was left byte for byte`);
        }
      }
      assert.ok(now.get('mixed/no-extension').fileGenres.includes(now.get('mixed/no-extension').label), 'the row shows the new tag');

      step('read back');
      // After a reload, undo the two writes, newest first.
      await page.reload({ waitUntil: 'load' });
      assert.equal(await waitForEngine(page), expected);
      const undo = page.locator('#undo-write');
      await page.waitForFunction((n) => document.querySelector('#undo-write').textContent.includes(`(${n} file`), confident.length, { timeout: 10_000 });
      await undo.click();
      await page.waitForFunction(() => /Put the previous genres back into/.test(document.querySelector('#write-status').textContent), null, { timeout: 300_000 });
      assert.match(await page.locator('#write-status').textContent(), new RegExp(`back into ${confident.length} file`));
      await page.waitForFunction(() => document.querySelector('#undo-write').textContent.includes('(1 file)'), null, { timeout: 10_000 });
      await undo.click();
      await page.waitForFunction(() => /back into 1 file\b/.test(document.querySelector('#write-status').textContent), null, { timeout: 60_000 });
      await page.waitForFunction(() => document.querySelector('#undo-write').disabled, null, { timeout: 10_000 });
      const restored = nativeRead(await folderBytes(page, rels));
      for (const rel of rels) {
        if (rel === 'mixed/take.au') continue;
        assert.deepEqual(restored.get(rel).genres, originals.get(rel).genres, `${rel}: its previous genres are back`);
        assert.deepEqual(restored.get(rel).msdTags, [], `${rel}: no MSD_TAGS field`);
        assert.deepEqual(restored.get(rel).audio, originals.get(rel).audio, `${rel}: the audio stream is unchanged`);
      }
      assert.deepEqual(errors, [], 'no page errors after the crash');
    });
  });
}
