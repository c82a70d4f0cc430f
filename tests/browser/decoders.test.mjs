// The decoder module on the CPU path: the CPU engine is built without the decoders of the
// compressed formats (to keep the first download small), and the page loads
// web/pkg/decoders/ the first time a file needs it. The first load must not fetch it, and a
// WAV file's answer must not wait for it (it comes afterwards, to read the file's own tags);
// FLAC, MP3 and Ogg Vorbis files dropped afterwards are decoded by it (the same Rust decoders
// as the native CLI) and get the CLI's probabilities; a corrupt FLAC still shows its own error.
//
//   node --test tests/browser/decoders.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, dropFiles, launchBrowser, nativeClassify, offsiteRequests, openPage, readRows, startWebServer, waitForEngine, waitForRows } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'audio');
const COMPRESSED = ['gtzan_jazz_6s.flac', 'gtzan_jazz_6s.mp3', 'gtzan_jazz_6s.ogg'].map((f) => path.join(FIXTURES, f));
const WAV = path.join(FIXTURES, 'gtzan_jazz_6s.wav');
const CONTAINERS = { flac: 'flac', mp3: 'mp3', ogg: 'ogg' };
/** Largest accepted |p_page - p_cli|, as for the WAV clips in app.test.mjs. */
const TOLERANCE = 1e-4;

let server;
let browser;
before(async () => {
  server = await startWebServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('CPU path: the decoder module is not needed for the first load or a WAV file’s answer, and decodes compressed files like the CLI', { timeout: 600_000 }, async () => {
  const native = nativeClassify([...COMPRESSED, WAV]);
  const { context, page, requests, pageRequests, errors } = await openPage(browser);
  try {
    await page.goto(`${server.url}?backend=cpu`, { waitUntil: 'load' });
    assert.equal(await waitForEngine(page), 'cpu');
    const decoderRequests = () => pageRequests.filter((u) => new URL(u).pathname.startsWith('/pkg/decoders/'));
    assert.deepEqual(decoderRequests(), [], 'the first load does not fetch the decoder module');

    // A WAV file is read by the CPU engine itself: its answer comes while the decoder module
    // is held back (it is fetched afterwards, to read the file's own tags).
    const held = [];
    await page.route('**/pkg/decoders/**', (route) => held.push(route));
    await dropFiles(page, [{ path: WAV }]);
    await waitForRows(page, 1);
    assert.equal((await readRows(page))[0].state, 'done', 'a WAV file is classified without the decoder module');
    await page.unroute('**/pkg/decoders/**');
    // A request held when the route is removed may already have been let through by
    // Playwright (1.65 does so when the tags read starts before `unroute`): that is fine.
    for (const route of held) await route.continue().catch((err) => assert.match(err.message, /already handled/));

    const corrupt = Buffer.alloc(2048, 7);
    corrupt.write('fLaC', 0, 'latin1');
    await dropFiles(page, [...COMPRESSED.map((p) => ({ path: p })), { name: 'corrupt.flac', bytes: corrupt }]);
    await waitForRows(page, 2 + COMPRESSED.length);
    assert.ok(decoderRequests().some((u) => u.endsWith('/pkg/decoders/genrescope_bg.wasm')), 'the decoder module was fetched');

    const rows = await readRows(page);
    const records = await page.evaluate(() => globalThis.genrescope.records.list.map((r) => ({ file: r.file, source: r.result?.source, timings: r.result?.timings })));
    let maxDiff = 0;
    for (const file of [...COMPRESSED, WAV]) {
      const name = path.basename(file);
      const row = rows.find((r) => r.file === name);
      assert.equal(row?.state, 'done', `${name}: ${row?.error}`);
      assert.equal(row.decoder, 'genrescope', `${name} is decoded by the Rust decoder`);
      const cli = native.get(name);
      assert.ok(cli?.ok, `the CLI classified ${name}`);
      for (const [label, p] of Object.entries(cli.probabilities)) {
        const d = Math.abs(row.probabilities[label] - p);
        maxDiff = Math.max(maxDiff, d);
        assert.ok(d <= TOLERANCE, `${name} ${label}: page ${row.probabilities[label]} vs CLI ${p}`);
      }
      const ext = name.split('.').pop();
      const source = records.find((r) => r.file === name)?.source;
      if (CONTAINERS[ext]) {
        assert.equal(source?.container, CONTAINERS[ext], `${name}: ${JSON.stringify(source)}`);
        const t = records.find((r) => r.file === name).timings;
        assert.ok(t.decode > 0 && t.total >= t.decode, `${name}: decoding time is reported (${JSON.stringify(t)})`);
      }
    }
    console.log(`# compressed files via the decoder module: max |p_page - p_cli| = ${maxDiff.toExponential(1)}`);

    const bad = rows.find((r) => r.file === 'corrupt.flac');
    assert.equal(bad.state, 'error');
    assert.match(bad.error, /corrupt|decod|FLAC|flac/i, bad.error);

    assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), [], 'no page or console errors');
    assert.deepEqual(offsiteRequests(requests, server.url), [], 'no request left the origin');
  } finally {
    await context.close();
  }
});
