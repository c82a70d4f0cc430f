// The descriptor module on the CPU path: the CPU engine is built without the code of the clip
// descriptors that a descriptor-table member reads (to keep the first download small), and a
// worker loads web/pkg/descriptors/ before the first run that includes such a member. With
// the shipped fusion model: the first load must not fetch it; a track whose module cannot be
// fetched still gets its first answer and a final result that says which part could not be
// analysed and why; once the module loads, the table member's answer and the fused one equal
// the native CLI's.
//
//   node --test tests/browser/descriptors.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, SHIPPED_MODEL, dropFiles, launchBrowser, nativeClassify, offsiteRequests, openPage, readRows, startWebServer, waitForEngine, waitForRows } from './harness.mjs';

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

    // The module cannot be fetched: the first answer comes all the same, and the final
    // result says which part of the track is missing and why.
    await page.route('**/pkg/descriptors/**', (route) => route.abort());
    await dropFiles(page, [{ name: 'unreachable.wav', bytes: readFileSync(CLIP) }]);
    await waitForRows(page, 1);
    let [row] = await readRows(page);
    assert.equal(row.state, 'done', row.error);
    const failed = await result(page, 'unreachable.wav');
    assert.equal(failed.coverage.complete, false, JSON.stringify(failed.coverage));
    assert.ok(failed.coverage.analysed >= 3, `the first answer's patches stay: ${JSON.stringify(failed.coverage)}`);
    assert.ok(
      failed.warnings.some((w) => /part of the track could not be analysed \(the clip descriptors could not be computed: the descriptor module did not load/.test(w)),
      JSON.stringify(failed.warnings),
    );
    await page.unroute('**/pkg/descriptors/**');

    // Reachable again: the next track loads it, and every member equals the CLI.
    await dropFiles(page, [{ path: CLIP }]);
    await waitForRows(page, 2);
    row = (await readRows(page)).find((r) => r.file === path.basename(CLIP));
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
