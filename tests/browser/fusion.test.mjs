// A fused model in the page, on the WebGPU path and the CPU fallback: the small from-scratch
// CNN (web/models/cnn/, cheap enough for SwiftShader) fused with the shipped descriptor-table
// model (web/models/fused/members/table/) by `trainer fuse --weights`. Dropped clips get the
// native CLI's fused probabilities and each member's, the page shows each member's opinion on
// demand, and 3 s of PCM (what live mode sends) is classified by the CNN alone, the table
// member being left out with its reason. The descriptor-table model alone is also checked on
// every shared clip: the descriptors computed in wasm give the CLI's probabilities.
//
//   node --test tests/browser/fusion.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, TABLE_MODEL, TEST_MODEL, dropFiles, launchBrowser, nativeClassify, offsiteRequests, openPage, pageSession, readRows, runTrainer, startWebServer, waitForEngine, waitForRows, pageUrl } from './harness.mjs';

const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
const CLIPS = ['jazz/jazz.00004.wav', 'rock/rock.00006.wav'].map((p) => path.join(GENRES, p));
const TOLERANCE = 1e-4;

let dir;
let model;
let server;
let native;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genrescope-fusion-'));
  runTrainer(['fuse', '--member', `cnn=${TEST_MODEL}`, '--member', `table=${TABLE_MODEL}`, '--weights', '0.4,0.6', '--out', dir]);
  model = path.join(dir, 'model.gscope');
  server = await startWebServer({ model });
  native = nativeClassify(CLIPS, model);
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const webgpu of [true, false]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  describe(`fused model on ${expected}`, () => {
    const browser = pageSession({ server: () => server, webgpu, ignoreErrors: /MODEL_CARD\.md/ });
    before(() => browser.session.page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' }));

    test('dropped clips: fused and member probabilities as the CLI gives them, members on demand', { timeout: 600_000 }, async () => {
      const { page } = browser.session;
      assert.equal(await waitForEngine(page), expected);
      assert.match(await page.locator('#model').textContent(), /Fusion of CNN \(40 %\) and descriptor-table MLP \(60 %\)/);
      await dropFiles(page, CLIPS.map((p) => ({ path: p })));
      await waitForRows(page, CLIPS.length);
      const rows = await readRows(page);
      let maxDiff = 0;
      for (const clip of CLIPS) {
        const name = path.basename(clip);
        const row = rows.find((r) => r.file === name);
        const cli = native.get(name);
        assert.equal(row.state, 'done', row.error);
        assert.equal(row.backend, expected);
        for (const [label, p] of Object.entries(cli.probabilities)) {
          maxDiff = Math.max(maxDiff, Math.abs(row.probabilities[label] - p));
        }
        assert.equal(row.members.length, 2);
        for (const [i, m] of cli.members.entries()) {
          const shown = row.members[i];
          assert.equal(shown.name, m.name);
          assert.equal(shown.skipped, null, `${name}: ${m.name} counted`);
          assert.ok(Math.abs(shown.weight - m.weight) < 1e-12, `${name}: ${m.name} weight`);
          Object.values(m.probabilities).forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(shown.probabilities[c] - p))));
        }
      }
      console.log(`# ${expected}: fused model, max |p_page - p_cli| over fused and member probabilities = ${maxDiff.toExponential(2)}`);
      assert.ok(maxDiff <= TOLERANCE, `page and CLI differ by ${maxDiff}`);

      // The members' opinions are one click away in the file's details.
      const first = page.locator('#files > li').first();
      await first.locator('summary').first().click();
      await first.locator('details.members > summary').click();
      assert.deepEqual(await first.locator('.member-head strong').allTextContents(), ['cnn', 'table']);
      // What each member is comes from the bundle (its description and window length).
      assert.match(await first.locator('.member[data-member="table"]').textContent(), /descriptor-table MLP \(30 s windows\).*weight 60/);
      assert.match(await first.locator('.member[data-member="cnn"]').textContent(), /CNN \(3 s windows\).*weight 40/);
    });

    test('a damaged fusion bundle, a damaged member and input too short for every member get named errors', { timeout: 120_000 }, async (t) => {
      if (webgpu) {
        t.skip('the bundle checks run in the CPU build; they are the same code in both');
        return;
      }
      const { page } = browser.session;
      const fused = readFileSync(model).toString('base64');
      const table = readFileSync(TABLE_MODEL).toString('base64');
      const out = await page.evaluate(
        async ({ fused, table }) => {
          const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const wasm = await import('./pkg/cpu/genrescope.js');
          await wasm.default();
          const outcome = async (f) => {
            try {
              const v = await f();
              return { ok: true, kind: v?.kind, members: v?.members?.length };
            } catch (e) {
              return { ok: false, code: e?.code, message: e?.message ?? String(e) };
            }
          };
          const good = bytes(fused);
          const flipped = good.slice();
          flipped[good.length - 1000] ^= 0x55; // inside the last member's bundle
          const r = {};
          r.info = await outcome(() => wasm.bundleInfo(good));
          r.truncated = await outcome(() => wasm.Engine.create(good.slice(0, good.length - 20), {}));
          r.flipped = await outcome(() => wasm.Engine.create(flipped, {}));
          // A table model alone cannot classify 2 s of audio: the error says why.
          const engine = await wasm.Engine.create(bytes(table), {});
          r.tableInfo = engine.info().model.kind;
          r.short = await outcome(() => engine.classifyPcm(new Float32Array(44100).fill(0.1), 22050, {}));
          return r;
        },
        { fused, table },
      );
      assert.deepEqual(out.info, { ok: true, kind: 'fusion', members: 2 });
      assert.equal(out.truncated.code, 'bundle');
      assert.match(out.truncated.message, /truncated/);
      assert.equal(out.flipped.code, 'bundle');
      assert.match(out.flipped.message, /checksum/);
      assert.equal(out.tableInfo, 'table');
      assert.equal(out.short.code, 'too_short');
      assert.match(out.short.message, /needs at least 15 s of audio/);
    });

    test('3 s of PCM (live mode) uses the CNN alone and says why the table model is left out', { timeout: 300_000 }, async () => {
      const { page } = browser.session;
      const result = await page.evaluate(async () => {
        const rate = 22050;
        const samples = new Float32Array(3 * rate).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.05 * Math.sin(i * 0.37));
        return globalThis.genrescope.pool.classifyPcm(samples, rate);
      });
      const [cnn, table] = result.members;
      assert.equal(cnn.weight, 1);
      assert.deepEqual(result.probabilities, cnn.probabilities, 'the fused result is the CNN’s');
      assert.match(table.skipped, /needs at least 15 s of audio, this is 3\.0 s/);
      assert.equal(table.weight, 0);
    });
  });
}

describe('the descriptor-table model alone on the CPU path', () => {
  test('all 80 shared clips: the page computes the CLI’s descriptors and probabilities', { timeout: 900_000 }, async () => {
    const clips = [];
    for (const genre of readdirSync(GENRES).sort()) for (const f of readdirSync(path.join(GENRES, genre)).sort()) clips.push(path.join(GENRES, genre, f));
    const tableServer = await startWebServer({ model: TABLE_MODEL });
    const browser = await launchBrowser({ webgpu: false });
    try {
      const cli = nativeClassify(clips, TABLE_MODEL);
      const { page, requests, errors } = await openPage(browser);
      await page.goto(tableServer.url, { waitUntil: 'load' });
      assert.equal(await waitForEngine(page), 'cpu');
      const started = Date.now();
      // In batches: one DataTransfer of 80 clips (420 MB as base64) is more than the page takes.
      for (let i = 0; i < clips.length; i += 8) {
        await dropFiles(page, clips.slice(i, i + 8).map((p) => ({ path: p })));
        await waitForRows(page, Math.min(i + 8, clips.length), 600_000);
      }
      const rows = await readRows(page);
      let maxDiff = 0;
      for (const row of rows) {
        const expected = cli.get(row.file);
        assert.equal(row.state, 'done', `${row.file}: ${row.error}`);
        for (const [label, p] of Object.entries(expected.probabilities)) maxDiff = Math.max(maxDiff, Math.abs(row.probabilities[label] - p));
      }
      console.log(`# table model, ${rows.length} clips in ${Date.now() - started} ms: max |p_page - p_cli| = ${maxDiff.toExponential(2)}`);
      assert.equal(rows.length, 80);
      assert.ok(maxDiff <= TOLERANCE, `page and CLI differ by ${maxDiff}`);
      assert.deepEqual(offsiteRequests(requests, tableServer.url), []);
      assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), []);
    } finally {
      await browser.close();
      await tableServer.close();
    }
  });
});
