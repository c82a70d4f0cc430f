// Shared helpers for the browser tests: a static server on a free port, a headless Debian
// Chromium driven by playwright-core (its own browser download is not used), dropping files
// on the page through a real DataTransfer, and the native CLI's results for comparison.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DEFAULT_ROOT, startServer } from './serve.mjs';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Chromium binary: `$CHROMIUM` if set, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Flags every launch gets: no sandbox (root/CI), no GPU process, nothing phoning home. */
export const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The shipped default model (the MusiCNN transfer network). */
export const SHIPPED_MODEL = path.join(REPO, 'web', 'models', 'default', 'model.gscope');

/**
 * The model most browser tests serve in place of the shipped one: the small from-scratch CNN
 * (web/models/cnn/), 9 times cheaper per window (0.16 against 1.4 GMAC). On SwiftShader the
 * shipped model's engine start-up check takes about a minute and each 3 s patch about 15 s,
 * which the many WebGPU runs of the page-mechanics tests (files, errors, live mode, offline,
 * the widget) cannot afford; smoke.test.mjs runs the shipped model on both backends.
 */
export const TEST_MODEL = path.join(REPO, 'web', 'models', 'cnn', 'model.gscope');

/** The fusion of the MusiCNN transfer model and the descriptor-table model (web/models/fused/). */
export const FUSED_MODEL = path.join(REPO, 'web', 'models', 'fused', 'model.gscope');

/** The fused model's descriptor-table member on its own. */
export const TABLE_MODEL = path.join(REPO, 'web', 'models', 'fused', 'members', 'table', 'model.gscope');

/**
 * Starts the static server for web/ on a free port, serving `model` (default `TEST_MODEL`;
 * `SHIPPED_MODEL` for the real one) as /models/default/model.gscope. Fails early with a hint
 * when the wasm package has not been built yet. `responses`: see `startServer`.
 */
export async function startWebServer({ root = DEFAULT_ROOT, responses = null, model = TEST_MODEL } = {}) {
  for (const flavour of ['cpu', 'decoders', 'descriptors', 'train', 'gpu']) {
    const wasm = path.join(root, 'pkg', flavour, 'genrescope_bg.wasm');
    if (!existsSync(wasm)) {
      throw new Error(`${wasm} is missing: run ./build.sh build first`);
    }
  }
  const overrides = model === SHIPPED_MODEL ? null : { '/models/default/model.gscope': model };
  return startServer({ root, port: 0, responses, overrides });
}

/**
 * Launches headless Chromium. `webgpu: true` adds `--enable-unsafe-webgpu`, which exposes a
 * software (SwiftShader) WebGPU adapter; without it `requestAdapter()` yields null.
 * Playwright gives each launch a fresh temporary profile and removes it on close.
 */
export async function launchBrowser({ webgpu = false, extraArgs = [] } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run ./build.sh setup or set CHROMIUM`);
  }
  const args = [...BASE_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...extraArgs];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 60_000 });
}

/**
 * Opens a page in a fresh context and records everything the browser does that a test may
 * want to assert on: every request URL (pages, workers and the service worker alike), the
 * ones the page and its workers made (`pageRequests`: without the service worker's own
 * fetches, e.g. its offline cache fill), uncaught page errors and console errors.
 */
export async function openPage(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const requests = [];
  const pageRequests = [];
  const errors = [];
  context.on('request', (req) => {
    requests.push(req.url());
    if (!req.serviceWorker()) pageRequests.push(req.url());
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // A failed load's message does not name the file; add its URL.
    const url = msg.location()?.url;
    errors.push(`console: ${msg.text()}${url ? ` (${url})` : ''}`);
  });
  return { context, page, requests, pageRequests, errors };
}

/**
 * Registers a suite's browser hooks (node:test): before, a headless Chromium (`webgpu`,
 * `extraArgs`) with a fresh page (see openPage); after, the browser closed, then no request
 * to another origin than `server()`'s and no page or console error (except those matching
 * `ignoreErrors`). Returns the holder the tests read: `{browser, session}`.
 */
export function pageSession({ server, webgpu = false, extraArgs = [], ignoreErrors = null }) {
  const holder = { browser: null, session: null };
  before(async () => {
    holder.browser = await launchBrowser({ webgpu, extraArgs });
    holder.session = await openPage(holder.browser);
  });
  after(async () => {
    const { requests, errors } = holder.session ?? { requests: [], errors: [] };
    await holder.browser?.close();
    assert.deepEqual(offsiteRequests(requests, server().url), [], 'no request left the page’s origin');
    assert.deepEqual(errors.filter((e) => !ignoreErrors?.test(e)), [], 'no page or console errors');
  });
  return holder;
}

/**
 * The requests that went anywhere but `baseUrl`'s origin. `data:` URLs never leave the
 * browser and `blob:` URLs carry the page's own origin, so both count as local.
 */
export function offsiteRequests(requests, baseUrl) {
  const origin = new URL(baseUrl).origin;
  return requests.filter((u) => {
    if (u.startsWith('data:')) return false;
    try {
      return new URL(u).origin !== origin;
    } catch {
      return true;
    }
  });
}

/**
 * Drops files on the page's drop zone the way a user's drag does: a DataTransfer holding File
 * objects, with dragenter, dragover and drop events. `files`: [{name, path} | {name, bytes}].
 */
export async function dropFiles(page, files, selector = '#drop') {
  const payload = files.map((f) => ({
    name: f.name ?? path.basename(f.path),
    type: f.type ?? '',
    base64: Buffer.from(f.bytes ?? readFileSync(f.path)).toString('base64'),
  }));
  await page.evaluate(
    ({ payload, selector }) => {
      const dt = new DataTransfer();
      for (const f of payload) {
        const bin = atob(f.base64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      const target = document.querySelector(selector);
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    },
    { payload, selector },
  );
}

/** Waits until the engine has settled on its backend; returns the backend ('cpu'/'webgpu'). */
export async function waitForEngine(page, timeout = 180_000) {
  const engine = page.locator('#engine[data-settled="yes"]');
  await engine.waitFor({ timeout });
  const phase = await engine.getAttribute('data-phase');
  if (phase !== 'ready') throw new Error(`engine failed: ${await page.locator('#engine').textContent()}`);
  return engine.getAttribute('data-backend');
}

/** Waits until every file row is done or failed. */
export async function waitForRows(page, count, timeout = 300_000) {
  await page.waitForFunction(
    (n) => {
      const rows = [...document.querySelectorAll('#files > li')];
      return rows.length >= n && rows.every((r) => r.dataset.state === 'done' || r.dataset.state === 'error');
    },
    count,
    { timeout, polling: 250 },
  );
}

/**
 * The file rows' data attributes: [{file, state, verdict, verdictText, genre, confidence,
 * probabilities, tags, music, backend, decoder, error, members}].
 */
export function readRows(page) {
  return page.$$eval('#files > li', (rows) =>
    rows.map((r) => ({
      file: r.dataset.file,
      state: r.dataset.state,
      verdict: r.dataset.verdict,
      verdictText: r.dataset.verdictText,
      genre: r.dataset.genre,
      confidence: r.dataset.confidence ? Number(r.dataset.confidence) : null,
      probabilities: r.dataset.probabilities ? JSON.parse(r.dataset.probabilities) : null,
      tags: r.dataset.tags ? JSON.parse(r.dataset.tags) : null,
      music: r.dataset.music ? Number(r.dataset.music) : null,
      backend: r.dataset.backend,
      decoder: r.dataset.decoder,
      error: r.dataset.error,
      members: r.dataset.members ? JSON.parse(r.dataset.members) : null,
    })),
  );
}

let nativeCache = null;

/**
 * Runs the native trainer CLI with `args` in the repository and returns its stdout:
 * $GENRESCOPE_TRAINER (an already built binary) when set, else `cargo run`.
 */
export function runTrainer(args) {
  const trainer = process.env.GENRESCOPE_TRAINER;
  return execFileSync(
    trainer ? path.resolve(REPO, trainer) : 'cargo',
    trainer ? args : ['run', '--quiet', '-p', 'genrescope-trainer', '--bin', 'trainer', '--', ...args],
    { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000 },
  );
}

/**
 * The native CLI's results for `files` (absolute paths), from one run of
 * `trainer classify --backend cpu --json` with `model` (default: `TEST_MODEL`, what
 * `startWebServer` serves unless told otherwise). Cached per process,
 * so a test file runs the CLI once. The dev profile reuses what `cargo test --workspace` built
 * (dependencies are optimised in it too); results do not depend on the profile. Set
 * GENRESCOPE_TRAINER=target/release/trainer to use a built binary instead of `cargo run`.
 * Returns a Map from file name to the CLI's entry ({file, ok, top, probabilities: {label: p}, ...}).
 */
export function nativeClassify(files, model = TEST_MODEL) {
  const key = JSON.stringify([files, model]);
  if (nativeCache?.key === key) return nativeCache.value;
  const out = runTrainer(['classify', '--backend', 'cpu', '--model', model, '--json', ...files]);
  const value = new Map(JSON.parse(out).map((e) => [path.basename(e.file), e]));
  nativeCache = { key, value };
  return value;
}

/**
 * `seconds` of a PCM WAV file from `offset` seconds, as a new WAV's bytes (its fmt chunk and
 * a cut data chunk): short inputs for the slow software WebGPU path, or distinct examples.
 */
export function wavExcerpt(file, seconds, offset = 0) {
  const wav = readFileSync(file);
  if (wav.toString('latin1', 0, 4) !== 'RIFF') throw new Error(`${file}: not a RIFF WAV`);
  let fmt = null;
  for (let at = 12; at + 8 <= wav.length; ) {
    const id = wav.toString('latin1', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = wav.subarray(at, at + 8 + size);
    if (id === 'data' && fmt) {
      const byteRate = fmt.readUInt32LE(16);
      const align = fmt.readUInt16LE(20);
      const start = Math.min(size, Math.floor((byteRate * offset) / align) * align);
      const n = Math.min(size - start, Math.floor((byteRate * seconds) / align) * align);
      const head = Buffer.alloc(8);
      head.write('data', 0, 'latin1');
      head.writeUInt32LE(n, 4);
      const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), fmt, head, wav.subarray(at + 8 + start, at + 8 + start + n)]);
      const riff = Buffer.alloc(8);
      riff.write('RIFF', 0, 'latin1');
      riff.writeUInt32LE(body.length, 4);
      return Buffer.concat([riff, body]);
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no fmt and data chunks`);
}

/** The samples (-1..1) and rate of a 16-bit PCM mono WAV (the GTZAN clips). */
export function wavSamples(file) {
  const b = readFileSync(file);
  const sampleRate = b.readUInt32LE(24);
  for (let at = 12; at + 8 <= b.length; at += 8 + b.readUInt32LE(at + 4) + (b.readUInt32LE(at + 4) & 1)) {
    if (b.toString('latin1', at, at + 4) !== 'data') continue;
    const n = Math.min(b.readUInt32LE(at + 4), b.length - at - 8) >> 1;
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(at + 8 + 2 * i) / 32768;
    return { samples, sampleRate };
  }
  throw new Error(`${file}: no data chunk`);
}

/**
 * A 16-bit PCM mono WAV of `samples` (numbers in [-1, 1], clipped) at `rate`, as a Buffer.
 */
export function wavBytes(samples, rate) {
  const n = samples.length;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), 44 + 2 * i);
  return buf;
}

/** Writes `wavBytes(samples, rate)` as `name` into a fresh temporary directory; returns its path (remove its directory when done). */
export function writeTempWav(name, samples, rate) {
  const dir = mkdtempSync(path.join(tmpdir(), 'genrescope-test-'));
  const file = path.join(dir, name);
  writeFileSync(file, wavBytes(samples, rate));
  return file;
}

/** The model's ModelInfo as the native CLI reports it (`trainer info MODEL --json`). */
export function nativeInfo(model = TEST_MODEL) {
  return JSON.parse(runTrainer(['info', model, '--json']));
}

/** Largest accepted |p_page - p_cli| for tags, as for genre probabilities. */
export const TAG_TOLERANCE = 1e-4;

/**
 * Checks a result's shown tags (`page`: [{label, probability}], most likely first) against the
 * CLI's (`cli`, every tag, most likely first): `shown` of them (fewer if the CLI has fewer), the same probability at each rank, and each shown label's probability is the CLI's
 * for that label (so a near tie may swap two neighbours, nothing else). Returns the largest
 * difference.
 */
export function compareTags(page, cli, shown, assert, what) {
  assert.equal(page.length, Math.min(cli.length, shown), `${what}: the page shows the ${shown} most likely tags (the CLI has ${cli.length})`);
  let max = 0;
  page.forEach((t, i) => {
    const same = cli.find((c) => c.label === t.label);
    assert.ok(same, `${what}: tag ${t.label} is one of the CLI's`);
    const d = Math.max(Math.abs(t.probability - same.probability), Math.abs(t.probability - cli[i].probability));
    max = Math.max(max, d);
    assert.ok(d <= TAG_TOLERANCE, `${what}: tag ${t.label} (rank ${i + 1}) page ${t.probability} vs CLI ${same.probability} / rank value ${cli[i].probability}`);
  });
  return max;
}

/**
 * Checks a page verdict ({kind, text}) against the CLI's entry for the same file: the same kind
 * and text, unless the CLI's result sits within `tolerance` of a boundary the page's own
 * numbers may fall the other side of (the top two genres tied, the confidence at the model's
 * `uncertainBelow`, the music score at its threshold); then the page's may be either side.
 */
export function compareVerdict(page, cli, uncertainBelow, tolerance, assert, what) {
  const v = cli.verdict;
  const [first, second] = cli.top;
  const near =
    (second && first.probability - second.probability <= 2 * tolerance) ||
    (uncertainBelow > 0 && Math.abs(v.confidence - uncertainBelow) <= tolerance) ||
    (cli.music && Math.abs(cli.music.probability - cli.music.threshold) <= tolerance);
  if (!near || v.kind === 'silent') {
    assert.equal(page.kind, v.kind, `${what}: verdict kind`);
    assert.equal(page.text, v.text, `${what}: verdict text`);
  } else {
    assert.ok(['genre', 'uncertain', 'not_music'].includes(page.kind), `${what}: near a boundary, verdict ${page.kind} (CLI ${v.kind})`);
  }
}

/**
 * The app's address on `base` for a test of one backend: with `webgpu`, `?backend=webgpu`,
 * which uses WebGPU whatever the start-up timing says ('auto' keeps it only where it is faster
 * than the CPU, which SwiftShader is not), so the WebGPU path stays tested.
 */
export function pageUrl(base, webgpu) {
  return webgpu ? `${base}?backend=webgpu` : base;
}
