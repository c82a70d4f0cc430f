// The bench page (web/bench.html) and the runner's size list, on tiny inputs so it stays
// quick: a 3 s synthesised 44.1 kHz stereo WAV looped in the page to 6 s, one timed run, CPU
// only. Checks the report's shape and contents, never how fast anything was.
//
//   node --test tests/browser/bench-page.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, startWebServer } from './harness.mjs';
import { measureSizes, runBenchPage } from './bench.mjs';

const STAGES = ['read', 'decode', 'resample', 'features', 'inference', 'perPatch', 'melImage', 'total', 'endToEnd'];

let server;
before(async () => {
  server = await startWebServer();
});
after(async () => {
  await server?.close();
});

test('the bench page times every stage of a generated clip and its looped long file on the CPU', { timeout: 120_000 }, async () => {
  const report = await runBenchPage({ server, webgpu: false, backend: 'cpu', warmup: 0, reps: 1, clipSeconds: 3, longSeconds: 6, synth: false });
  assert.deepEqual(report.pageErrors, []);
  assert.deepEqual(report.offsiteRequests, [], 'the bench page requests only its own files');
  assert.deepEqual(report.settings.stages, STAGES);
  assert.equal(report.backends.length, 1);
  const [cpu] = report.backends;
  assert.equal(cpu.backend, 'cpu');
  assert.equal(cpu.status, 'ran', cpu.reason);
  assert.equal(cpu.engine.build, 'cpu');
  assert.deepEqual(Object.keys(cpu.inputs).sort(), ['clip', 'long']);

  const expected = { clip: 3, long: 6 };
  for (const [id, input] of Object.entries(cpu.inputs)) {
    // The generated WAVs reach the engine as files: its own decoder reads 44.1 kHz stereo.
    assert.equal(input.source.decoder, 'genrescope', id);
    assert.equal(input.source.sampleRate, 44100, id);
    assert.equal(input.source.channels, 2, id);
    assert.ok(Math.abs(input.source.durationSeconds - expected[id]) < 1e-3, `${id} lasts ${input.source.durationSeconds} s`);
    assert.equal(input.backendUsed, 'cpu');
    assert.ok(input.windows >= 1, `${id} has windows`);
    assert.equal(input.runs.length, 1);
    assert.equal(input.warmupRuns.length, 0);
    for (const stage of STAGES) {
      const s = input.stages[stage];
      for (const key of ['median', 'min']) {
        assert.ok(Number.isFinite(s?.[key]) && s[key] >= 0, `${id} ${stage}.${key} = ${s?.[key]}`);
      }
      assert.equal(s.median, input.runs[0][stage], `one run: ${id} ${stage} median is that run`);
    }
    // The engine's total covers its stages; the page's end to end covers the engine's total.
    const r = input.runs[0];
    assert.ok(r.total + 1e-3 >= r.decode + r.resample + r.features + r.inference + r.melImage, `${id} total covers the stages`);
    assert.ok(r.endToEnd + 1e-3 >= r.total, `${id} end to end covers the engine total`);
    assert.ok(Math.abs(r.perPatch * input.windows - r.inference) < 0.01, `${id}: per patch is inference / patches`);
  }
  // The page's way: the whole track progressively on a pool (two workers here), every patch.
  assert.equal(cpu.progressive.status, 'ran', cpu.progressive.reason);
  assert.equal(cpu.progressive.engine.workers, 2);
  for (const [id, p] of Object.entries(cpu.progressive.inputs)) {
    assert.equal(p.complete, true, `${id}: every patch analysed`);
    assert.equal(p.patches, cpu.inputs[id].windows, `${id}: as many patches as in one call over all`);
    assert.ok(p.stages.final.median >= p.stages.firstAnswer.median, `${id}: the final answer comes after the first`);
    // The network-only run analyses every patch and nothing that reads the whole track.
    assert.equal(p.networkOnly.patches, p.patches, `${id}: the network alone analyses every patch`);
    assert.ok(Number.isFinite(p.stages.networkOnly.median), `${id}: the network-only run is timed`);
  }
  // The long file is the clip looped: the 6 s file has twice the 3 s clip's audio bytes.
  assert.equal(cpu.inputs.long.bytes - 44, 2 * (cpu.inputs.clip.bytes - 44));
});

test('the size list is what the app requested and includes the CPU engine and the model', { timeout: 120_000 }, async () => {
  const sizes = await measureSizes({ server, gpu: false });
  const { firstLoad } = sizes;
  assert.equal(firstLoad.backend, 'cpu');
  assert.deepEqual(firstLoad.offsiteRequests, []);
  const byPath = new Map(firstLoad.assets.map((a) => [a.path, a]));
  // Chromium has relaxed SIMD: the page and its service worker load that CPU engine, never both.
  assert.ok(!byPath.has('/pkg/cpu/genrescope_bg.wasm'), 'the SIMD128 engine is not fetched where the relaxed one runs');
  for (const [urlPath, kind] of [['/pkg/cpu/genrescope_relaxed_bg.wasm', 'wasm'], ['/models/default/model.gscope', 'model'], ['/', 'html']]) {
    const asset = byPath.get(urlPath);
    assert.ok(asset, `${urlPath} is in the first load: ${[...byPath.keys()].join(', ')}`);
    assert.equal(asset.kind, kind);
    const file = path.join(REPO, 'web', urlPath === '/' ? 'index.html' : urlPath);
    assert.equal(asset.raw, statSync(file).size, urlPath);
    assert.ok(asset.gzip > 0 && asset.gzip < asset.raw, `${urlPath} gzip ${asset.gzip} of ${asset.raw}`);
  }
  assert.ok(![...byPath.keys()].some((p) => p.startsWith('/pkg/gpu/')), 'no WebGPU build without an adapter');
  for (const asset of firstLoad.assets) {
    assert.ok(asset.requests >= 1 && asset.requestedBy.length >= 1, `${asset.path} was requested`);
  }
  // Each asset is counted once, with the page's own requests and a service worker's
  // precache (if any) split apart.
  assert.equal(firstLoad.total.files, byPath.size);
  assert.equal(firstLoad.pageTotal.gzip + firstLoad.serviceWorkerOnlyTotal.gzip, firstLoad.total.gzip);
  assert.equal(firstLoad.total.gzip, firstLoad.assets.reduce((s, a) => s + a.gzip, 0));
  // The target is for what the page itself needs; the background cache fill is reported apart.
  assert.equal(firstLoad.withinTarget, firstLoad.pageTotal.gzip < 1_000_000);
});
