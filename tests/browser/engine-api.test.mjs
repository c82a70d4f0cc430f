// The wasm engine's JavaScript API at its boundary, driven directly in a page (the CPU build
// with Burn, which runs the test model, a CNN; the small CPU build refuses it by name): every
// bad input is a GenrescopeError with a code and a clear message, nothing panics, and the
// engine keeps working after each failure.
//
//   node --test tests/browser/engine-api.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, SHIPPED_MODEL, TEST_MODEL, launchBrowser, nativeClassify, offsiteRequests, openPage, startWebServer } from './harness.mjs';

// The bundle the page's engine is handed: the one startWebServer serves (see TEST_MODEL).
const MODEL = TEST_MODEL;
const CLIP = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres', 'pop', 'pop.00000.wav');

let server;
let browser;
let session;
before(async () => {
  server = await startWebServer();
  browser = await launchBrowser();
  session = await openPage(browser);
  await session.page.goto(`${server.url}?backend=cpu`, { waitUntil: 'load' });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('bad inputs give GenrescopeErrors with codes, never a panic; the engine stays usable', { timeout: 120_000 }, async () => {
  const { page, requests } = session;
  const model = readFileSync(MODEL).toString('base64');
  const clip = readFileSync(CLIP).toString('base64');
  const out = await page.evaluate(
    async ({ model, clip }) => {
      const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const wasm = await import('./pkg/cpu-burn/genrescope.js');
      await wasm.default();
      const outcome = async (f) => {
        try {
          const v = await f();
          return { ok: true, value: v?.top?.[0]?.label ?? typeof v, verdict: v?.verdict?.kind ?? null };
        } catch (e) {
          return { ok: false, name: e?.name, code: e?.code, message: e?.message ?? String(e) };
        }
      };
      const r = {};
      // The small CPU engine (without Burn) names what it cannot run, and the page's pool
      // then loads this one.
      const small = await import('./pkg/cpu/genrescope.js');
      await small.default();
      r.smallEngine = await outcome(() => small.Engine.create(bytes(model), {}));
      r.smallEngineInfo = (await outcome(() => small.bundleInfo(bytes(model)))).ok;
      r.bundleGarbage = await outcome(() => wasm.bundleInfo(new Uint8Array([1, 2, 3])));
      r.createEmpty = await outcome(() => wasm.Engine.create(new Uint8Array(0), {}));
      r.createTruncated = await outcome(() => wasm.Engine.create(bytes(model).slice(0, 5000), {}));
      r.createBadBackend = await outcome(() => wasm.Engine.create(bytes(model), { backend: 'tpu' }));
      r.createWebgpuOnCpuBuild = await outcome(() => wasm.Engine.create(bytes(model), { backend: 'webgpu' }));
      r.createBadOptions = await outcome(() => wasm.Engine.create(bytes(model), 42));
      const engine = await wasm.Engine.create(bytes(model), { backend: 'auto' });
      r.info = engine.info().backend;
      const good = () => engine.classifyFile(bytes(clip), 'pop.wav', { topK: 2 });
      r.first = await outcome(good);
      r.empty = await outcome(() => engine.classifyFile(new Uint8Array(0), 'x.wav'));
      r.text = await outcome(() => engine.classifyFile(new TextEncoder().encode('hello, this is text'), 'x.mp3'));
      r.truncatedWav = await outcome(() => engine.classifyFile(bytes(clip).slice(0, 30), 'x.wav'));
      r.badTopK = await outcome(() => engine.classifyFile(bytes(clip), 'x.wav', { topK: 'three' }));
      r.pcmEmpty = await outcome(() => engine.classifyPcm(new Float32Array(0), 22050));
      r.pcmNaN = await outcome(() => engine.classifyPcm(new Float32Array([0, NaN, 0.5]), 22050));
      r.pcmRateZero = await outcome(() => engine.classifyPcm(new Float32Array(1000), 0));
      r.pcmRateNaN = await outcome(() => engine.classifyPcm(new Float32Array(1000), NaN));
      r.pcmRateFraction = await outcome(() => engine.classifyPcm(new Float32Array(1000), 44100.5));
      r.pcmRateHuge = await outcome(() => engine.classifyPcm(new Float32Array(1000), 1e9));
      r.pcmOneSample = await outcome(() => engine.classifyPcm(new Float32Array([0.25]), 8000));
      r.pcmSilence = await outcome(() => engine.classifyPcm(new Float32Array(22050), 22050));
      r.badPatches = await outcome(() => engine.classifyFile(bytes(clip), 'x.wav', { patches: { kind: 'half' } }));
      r.badParts = await outcome(() => engine.mergeParts([{ level: 3 }]));
      r.noParts = await outcome(() => engine.mergeParts([]));
      r.last = await outcome(good);
      const full = await good();
      // A track in parts (what the page's workers share): a first answer, two shares of the
      // rest, merged in another order, equal one call over every patch.
      const part = (patches, extra = {}) => engine.classifyFile(bytes(clip), 'pop.wav', { patches, trackKey: 'clip', ...extra });
      const first = await part({ kind: 'spread', count: 3 }, { wholeTrackMembers: false });
      r.kept = engine.keepsTrack('clip');
      const second = await engine.classifyFile(new Uint8Array(0), 'pop.wav', { patches: { kind: 'rest', after: 3, part: 1, parts: 2 }, trackKey: 'clip' });
      const third = await part({ kind: 'rest', after: 3, part: 0, parts: 2 });
      const merged = engine.mergeParts([third.part, first.part, second.part]);
      const all = await engine.classifyFile(bytes(clip), 'pop.wav', { patches: { kind: 'all' } });
      r.parts = {
        coverage: [first.coverage, merged.coverage],
        firstWindows: first.windows.length,
        same: JSON.stringify([merged.probabilities, merged.windows, merged.tags, merged.verdict]) === JSON.stringify([all.probabilities, all.windows, all.tags, all.verdict]),
        keptAfterOther: engine.keepsTrack('clip'),
        noPartByDefault: full.part === undefined && all.part !== undefined,
      };
      r.shape = {
        keys: Object.keys(full).sort(),
        top: full.top.length,
        windows: full.windows.length,
        melIsF32: full.mel.data instanceof Float32Array,
        mel: [full.mel.bands, full.mel.columns, full.mel.data.length],
        timings: Object.keys(full.timings).sort(),
        stagesVsTotal: ['decode', 'resample', 'features', 'inference', 'melImage'].reduce((s, k) => s + full.timings[k], 0) - full.timings.total,
        source: full.source,
        verdict: Object.keys(full.verdict).sort(),
        verdictKind: full.verdict.kind,
        tags: Array.isArray(full.tags),
        signal: Object.keys(full.signal).sort(),
      };
      r.panic = wasm.lastPanic() ?? null;
      return r;
    },
    { model, clip },
  );

  const err = (name, code, pattern) => {
    const o = out[name];
    assert.equal(o.ok, false, `${name} should fail`);
    assert.equal(o.name, 'GenrescopeError', `${name}: ${JSON.stringify(o)}`);
    assert.equal(o.code, code, `${name}: ${JSON.stringify(o)}`);
    if (pattern) assert.match(o.message, pattern, name);
  };
  err('smallEngine', 'needs_burn_engine', /runs MusiCNN transfer and descriptor-table networks; a CNN needs the engine built with Burn/);
  assert.equal(out.smallEngineInfo, true, 'the small engine still reads the bundle\'s info');
  err('bundleGarbage', 'bundle');
  err('createEmpty', 'bundle', /empty/);
  err('createTruncated', 'bundle');
  err('createBadBackend', 'invalid_argument', /unknown backend "tpu"/);
  err('createWebgpuOnCpuBuild', 'unsupported_backend', /no WebGPU/);
  err('createBadOptions', 'invalid_argument', /must be an object/);
  assert.equal(out.info, 'cpu');
  assert.equal(out.first.ok, true);
  err('empty', 'empty', /empty/);
  assert.equal(out.text.ok, false);
  assert.match(out.text.code, /unrecognised_format|unsupported_codec/);
  assert.match(out.text.message, /text/);
  assert.equal(out.truncatedWav.ok, false, 'a 30-byte WAV has no audio');
  err('badTopK', 'invalid_argument', /^invalid classify options: invalid type/);
  err('pcmEmpty', 'no_samples');
  err('pcmNaN', 'non_finite', /non-finite/);
  err('pcmRateZero', 'invalid_argument');
  err('pcmRateNaN', 'invalid_argument');
  err('pcmRateFraction', 'invalid_argument');
  err('pcmRateHuge', 'sample_rate');
  assert.equal(out.pcmOneSample.ok, true, JSON.stringify(out.pcmOneSample));
  assert.equal(out.pcmSilence.ok, true, JSON.stringify(out.pcmSilence));
  assert.deepEqual(out.last, out.first, 'the engine gives the same answer after all the failures');
  err('badPatches', 'invalid_argument', /patches|unknown variant/);
  err('badParts', 'invalid_argument', /parts must be/);
  err('noParts', 'no_samples');
  assert.equal(out.kept, true, 'the track is kept under its key');
  assert.deepEqual(out.parts.coverage, [{ analysed: 3, total: 19, complete: false }, { analysed: 19, total: 19, complete: true }]);
  assert.equal(out.parts.firstWindows, 3);
  assert.ok(out.parts.same, 'merged parts equal one call over every window');
  assert.equal(out.parts.keptAfterOther, false, 'a call without the key forgets the kept track');
  assert.ok(out.parts.noPartByDefault);
  assert.deepEqual(out.shape.keys, ['backend', 'coverage', 'labels', 'mel', 'members', 'music', 'probabilities', 'signal', 'source', 'tags', 'timings', 'top', 'verdict', 'votes', 'warnings', 'windows']);
  // The verdict (label absent when it is not a genre), the tags and the signal level.
  assert.ok(['candidates', 'confidence', 'kind', 'text'].every((k) => out.shape.verdict.includes(k)), out.shape.verdict.join());
  assert.equal(out.shape.verdictKind, 'genre', 'a GTZAN pop clip is music');
  assert.ok(out.shape.tags);
  assert.deepEqual(out.shape.signal, ['activeSeconds', 'dcOffset', 'rmsDbfs', 'scaledBy', 'seconds', 'silent']);
  assert.equal(out.pcmSilence.verdict, 'silent', 'a second of zeros as PCM is silent');
  assert.equal(out.pcmOneSample.verdict, 'silent', 'one sample holds no signal');
  assert.equal(out.shape.top, 2);
  assert.equal(out.shape.windows, 19);
  assert.ok(out.shape.melIsF32);
  assert.equal(out.shape.mel[0], 128);
  assert.equal(out.shape.mel[2], out.shape.mel[0] * out.shape.mel[1]);
  assert.deepEqual(out.shape.timings, ['decode', 'features', 'inference', 'melImage', 'resample', 'total']);
  assert.ok(Math.abs(out.shape.stagesVsTotal) < 5, `the stages add up to the total (${out.shape.stagesVsTotal} ms apart)`);
  assert.equal(out.shape.source.decoder, 'genrescope');
  assert.equal(out.shape.source.sampleRate, 22050);
  assert.equal(out.panic, null, 'nothing panicked');
  assert.deepEqual(offsiteRequests(requests, server.url), []);
});

test('a detached member is left out until attached, the wrong file is refused, then the answer is the CLI\'s', { timeout: 180_000 }, async () => {
  const { page } = session;
  // The shipped fusion keeps its table member in a file beside it; the small CPU engine runs
  // both members (the descriptors through the descriptor module).
  const model = readFileSync(SHIPPED_MODEL).toString('base64');
  const member = readFileSync(path.join(path.dirname(SHIPPED_MODEL), 'model.table.gscope')).toString('base64');
  const clip = readFileSync(CLIP).toString('base64');
  const out = await page.evaluate(
    async ({ model, member, clip }) => {
      const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const wasm = await import('./pkg/cpu/genrescope.js');
      await wasm.default();
      const descriptors = await import('./pkg/descriptors/genrescope.js');
      await descriptors.default();
      const failure = async (f) => {
        try {
          await f();
          return null;
        } catch (e) {
          return { name: e?.name, code: e?.code, message: e?.message ?? String(e) };
        }
      };
      const engine = await wasm.Engine.create(bytes(model), { backend: 'cpu' });
      engine.setDescriber((samples, rate) => descriptors.describeWindow(samples, rate));
      const members = engine.info().model.members.map((m) => ({ name: m.name, weightsFile: m.weightsFile ?? null }));
      const summary = (r) => ({ probabilities: r.probabilities, tags: r.tags, verdict: r.verdict.kind, members: r.members.map((m) => [m.name, m.skipped ?? null]), warnings: r.warnings });
      const before = summary(await engine.classifyFile(bytes(clip), 'pop.wav', {}));
      const r = { members, before };
      r.truncated = await failure(() => engine.attachMember('table', bytes(member).slice(0, -1)));
      const damaged = bytes(member);
      damaged[damaged.length >> 1] ^= 0x40;
      r.damaged = await failure(() => engine.attachMember('table', damaged));
      r.unknown = await failure(() => engine.attachMember('tabel', bytes(member)));
      r.notDetached = await failure(() => engine.attachMember('musicnn', bytes(member)));
      const running = engine.classifyFile(bytes(clip), 'pop.wav', {});
      r.busy = await failure(() => engine.attachMember('table', bytes(member)));
      await running;
      r.attach = await failure(() => engine.attachMember('table', bytes(member)));
      r.again = await failure(() => engine.attachMember('table', bytes(member)));
      r.after = summary(await engine.classifyFile(bytes(clip), 'pop.wav', {}));
      r.panic = wasm.lastPanic() ?? null;
      return r;
    },
    { model, member, clip },
  );
  assert.deepEqual(out.members, [{ name: 'musicnn', weightsFile: null }, { name: 'table', weightsFile: 'model.table.gscope' }]);
  assert.equal(out.before.members[1][0], 'table');
  assert.match(out.before.members[1][1], /`model\.table\.gscope`, are not loaded/);
  const err = (name, code, pattern) => {
    assert.equal(out[name]?.name, 'GenrescopeError', `${name}: ${JSON.stringify(out[name])}`);
    assert.equal(out[name].code, code, `${name}: ${JSON.stringify(out[name])}`);
    assert.match(out[name].message, pattern, name);
  };
  err('truncated', 'bundle', /fusion member `table`: .*`model\.table\.gscope` is not its file: 64667 bytes/);
  err('damaged', 'bundle', /checksum/);
  err('unknown', 'bundle', /no member of that name/);
  err('notDetached', 'bundle', /not waiting for its weights/);
  err('busy', 'busy', /between runs/);
  assert.equal(out.attach, null, JSON.stringify(out.attach));
  err('again', 'bundle', /not waiting for its weights/);
  assert.deepEqual(out.after.members, [['musicnn', null], ['table', null]]);
  assert.deepEqual(out.after.warnings, []);
  // Attached, the page's engine answers as the CLI, which reads the file beside the bundle.
  const cli = nativeClassify([CLIP], SHIPPED_MODEL).get(path.basename(CLIP));
  const labels = Object.keys(cli.probabilities);
  const gap = Math.max(...labels.map((l, i) => Math.abs(out.after.probabilities[i] - cli.probabilities[l])));
  assert.ok(gap < 1e-4, `page against CLI: ${gap}`);
  assert.notDeepEqual(out.before.probabilities, out.after.probabilities, 'the member counts once attached');
  assert.equal(out.panic, null);
});
