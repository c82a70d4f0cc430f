// The descriptor module on the CPU path: the CPU engine is built without the code of the clip
// descriptors that a descriptor-table member reads (to keep the first download small), and a
// worker loads web/pkg/descriptors/ before the first run that includes such a member. With
// the shipped fusion model: the first load must not fetch it; a track whose module cannot be
// fetched still gets its first answer and every patch, and a final result that leaves the
// table member out and says why; once the module loads, the table member's answer and the
// fused one equal the native CLI's.
//
//   node --test tests/browser/descriptors.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, SHIPPED_MODEL, dropFiles, launchBrowser, nativeClassify, offsiteRequests, openPage, readRows, startWebServer, waitForEngine, waitForRows, wavBytes, wavSamples } from './harness.mjs';

const CLIP = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres', 'jazz', 'jazz.00004.wav');
/** Largest accepted |p_page - p_cli|, as in smoke.test.mjs. */
const TOLERANCE = 1e-4;

let server;
let browser;
before(async () => {
  server = await startWebServer({ model: SHIPPED_MODEL });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** The page's result of `file`: its warnings and coverage. */
function result(page, file) {
  return page.evaluate((f) => {
    const r = globalThis.genrescope.records.list.find((x) => x.file === f)?.result;
    return r ? { warnings: r.warnings, coverage: r.coverage } : null;
  }, file);
}

test('CPU path: the descriptor module is not part of the first load, its failure is named, and once loaded the table member equals the CLI', { timeout: 600_000 }, async () => {
  const cli = nativeClassify([CLIP], SHIPPED_MODEL).get(path.basename(CLIP));
  assert.ok(cli?.ok, 'the CLI classified the clip');
  // Without the service worker, whose offline cache fill would fetch the module past the
  // page's routes.
  const { context, page, requests, pageRequests, errors } = await openPage(browser, { serviceWorkers: 'block' });
  try {
    await page.goto(`${server.url}?backend=cpu`, { waitUntil: 'load' });
    assert.equal(await waitForEngine(page), 'cpu');
    const fetched = () => pageRequests.filter((u) => new URL(u).pathname.startsWith('/pkg/descriptors/'));
    assert.deepEqual(fetched(), [], 'the first load does not fetch the descriptor module');

    // The module cannot be fetched: the first answer comes all the same, every patch is
    // analysed, and the final result leaves the table member out, saying why. A 60 s track as
    // well, whose share with the table member also holds patches: none is lost.
    await page.route('**/pkg/descriptors/**', (route) => route.abort());
    const { samples, sampleRate } = wavSamples(CLIP);
    const twice = new Float32Array(2 * samples.length);
    twice.set(samples);
    twice.set(samples, samples.length);
    await dropFiles(page, [
      { name: 'unreachable.wav', bytes: readFileSync(CLIP) },
      { name: 'unreachable-60s.wav', bytes: wavBytes(twice, sampleRate) },
    ]);
    await waitForRows(page, 2);
    const why = /its clip descriptors could not be computed.*the descriptor module did not load/;
    for (const file of ['unreachable.wav', 'unreachable-60s.wav']) {
      const row = (await readRows(page)).find((r) => r.file === file);
      assert.equal(row.state, 'done', `${file}: ${row.error}`);
      const failed = await result(page, file);
      assert.equal(failed.coverage.complete, false, `${file}: ${JSON.stringify(failed.coverage)}`);
      assert.equal(failed.coverage.analysed, failed.coverage.total, `${file}: every patch stays: ${JSON.stringify(failed.coverage)}`);
      assert.deepEqual(failed.warnings.length, 1, `${file}: ${JSON.stringify(failed.warnings)}`);
      assert.match(failed.warnings[0], /^the `table` member was left out: /, file);
      assert.match(failed.warnings[0], why, file);
      const table = row.members.find((m) => m.name === 'table');
      assert.match(table?.skipped ?? '', why, `${file}: ${JSON.stringify(row.members)}`);
    }
    await page.unroute('**/pkg/descriptors/**');

    // Reachable again: the next track loads it, and every member equals the CLI.
    await dropFiles(page, [{ path: CLIP }]);
    await waitForRows(page, 3);
    const row = (await readRows(page)).find((r) => r.file === path.basename(CLIP));
    assert.equal(row.state, 'done', row.error);
    assert.ok(fetched().some((u) => u.endsWith('/pkg/descriptors/genrescope_bg.wasm')), 'the descriptor module was fetched');
    const done = await result(page, path.basename(CLIP));
    assert.equal(done.coverage.complete, true, JSON.stringify(done));
    assert.deepEqual(done.warnings, []);
    const table = row.members.find((m) => m.name === 'table');
    assert.equal(table?.skipped, null, JSON.stringify(row.members));
    const cliTable = cli.members.find((m) => m.name === 'table');
    Object.entries(cliTable.probabilities).forEach(([label, p], i) => {
      assert.ok(Math.abs(table.probabilities[i] - p) <= TOLERANCE, `table member ${label}: page ${table.probabilities[i]} vs CLI ${p}`);
    });
    for (const [label, p] of Object.entries(cli.probabilities)) {
      assert.ok(Math.abs(row.probabilities[label] - p) <= TOLERANCE, `${label}: page ${row.probabilities[label]} vs CLI ${p}`);
    }
    assert.deepEqual(offsiteRequests(requests, server.url), []);
    // The aborted fetches are logged by the browser; nothing else may be.
    assert.deepEqual(errors.filter((e) => !/pkg\/descriptors\//.test(e) && !/Failed to fetch dynamically imported module/.test(e)), []);
  } finally {
    await context.close();
  }
});
