// The headless benchmark runner: serves web/, drives the bench page (web/bench.html) in
// headless Chromium on the CPU path (no flag) and the WebGPU path (--enable-unsafe-webgpu,
// a SwiftShader adapter here), records which files the app's first load requests and their
// sizes (raw and gzip -9, computed here from web/), and prints one JSON document to stdout.
// Progress goes to stderr.
//
//   node tests/browser/bench.mjs [--backends cpu,webgpu] [--warmup 1] [--reps 5]
//        [--gpu-reps N] [--clip PATH|none] [--clip-seconds 30] [--long-seconds 300]
//        [--no-synth] [--no-sizes] [--quiet] [--model NAME] [--simd auto|plain|relaxed]
//   ./build.sh bench-web [same options]       (builds the wasm first when stale)
//
// The clip defaults to a GTZAN clip from ../shared (handed to the page's file picker, not
// copied); `--clip none` uses a clip synthesised in the page. The long file is the clip
// looped in the page. Not a test (no *.test.mjs): CI does not run it; bench-page.test.mjs
// checks the page with tiny inputs. `--model NAME` times web/models/NAME/ (e.g. `fused`)
// instead of the default model. `--simd plain` times the wasm SIMD128 CPU engine where
// Chromium would load the relaxed-SIMD one (the page's `?simd=`).

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { REPO, SHIPPED_MODEL, launchBrowser, offsiteRequests, startWebServer } from './harness.mjs';

/** The clip timed by default: a real 30 s GTZAN recording (22050 Hz mono WAV). */
export const DEFAULT_CLIP = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres', 'jazz', 'jazz.00004.wav');

/** The initial-download goal of the app (issue 4): under 1 MB gzipped. */
export const FIRST_LOAD_TARGET_GZIP = 1_000_000;

/** The end-to-end goal for one 30 s clip on the CPU path. */
export const CLIP_TARGET_MS = 1000;

/** Said next to every WebGPU figure measured here. */
export const SWIFTSHADER_CAVEAT = 'WebGPU here is SwiftShader, a software adapter on the CPU: timings on SwiftShader say nothing about GPUs.';

const WEB = path.join(REPO, 'web');

/**
 * Opens the bench page in a fresh headless Chromium (`webgpu`: with --enable-unsafe-webgpu),
 * runs `backend` on the page's inputs and resolves to the page's report plus the browser's
 * version, flags, page errors and any request that left the origin.
 */
export async function runBenchPage({ server, webgpu, backend, model = 'default', simd = 'auto', clip = null, warmup = 1, reps = 5, clipSeconds = 30, longSeconds = 300, synth = true, log = () => {}, timeoutMs = 3 * 3600_000 }) {
  const browser = await launchBrowser({ webgpu });
  try {
    const context = await browser.newContext();
    const requests = [];
    const errors = [];
    context.on('request', (req) => requests.push(req.url()));
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
      else if (msg.text().startsWith('bench: ')) log(`[${webgpu ? 'webgpu browser' : 'cpu browser'}] ${msg.text().slice(7)}`);
    });
    const query = new URLSearchParams({ backends: backend, warmup, reps, clipSeconds, longSeconds, synth: synth ? 1 : 0, ...(model === 'default' ? {} : { model }), ...(simd === 'auto' ? {} : { simd }) });
    await page.goto(`${server.url}bench.html?${query}`, { waitUntil: 'load' });
    await page.locator('#report[data-adapter]').waitFor({ state: 'attached', timeout: 60_000 });
    if (clip) await page.setInputFiles('#clip-input', clip);
    await page.click('#run');
    await page.locator('#report[data-state="done"], #report[data-state="error"]').waitFor({ state: 'attached', timeout: timeoutMs });
    if ((await page.locator('#report').getAttribute('data-state')) === 'error') {
      throw new Error(`the bench page failed: ${await page.locator('#progress').textContent()}`);
    }
    const report = await page.evaluate(() => globalThis.genrescopeBench.report);
    await context.close();
    return {
      ...report,
      chromium: browser.version(),
      flags: webgpu ? ['--enable-unsafe-webgpu'] : [],
      pageErrors: errors,
      offsiteRequests: offsiteRequests(requests, server.url),
    };
  } finally {
    await browser.close();
  }
}

/** What an asset is, from its path. */
function kindOf(p) {
  if (p.endsWith('.html')) return 'html';
  if (p.endsWith('.css')) return 'css';
  if (p.endsWith('.wasm')) return 'wasm';
  if (p.endsWith('.gscope')) return 'model';
  if (/^\/pkg\/[^/]+\/.*\.js$/.test(p)) return 'wasm glue';
  if (p === '/worker.js') return 'worker';
  if (p === '/sw.js') return 'service worker';
  if (p.endsWith('.js')) return 'js module';
  return 'other';
}

/** Raw and gzip (level 9) sizes of the files under web/ at the given URL paths. */
export function assetSizes(paths, root = WEB) {
  return paths.map((p) => {
    const file = path.join(root, p.endsWith('/') ? `${p}index.html` : p);
    if (!existsSync(file)) return { path: p, kind: kindOf(p), missing: true };
    const body = readFileSync(file);
    return { path: p, kind: kindOf(p.endsWith('/') ? `${p}index.html` : p), raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
}

function totals(assets) {
  const sum = (key) => assets.reduce((s, a) => s + (a[key] ?? 0), 0);
  return { files: assets.length, raw: sum('raw'), gzip: sum('gzip') };
}

/**
 * Loads the app (index.html) in a fresh headless Chromium and lists the distinct same-origin
 * paths it fetched with GET until the engine settled and the network went quiet (HEAD probes,
 * e.g. of the model card, carry no body and are left out).
 */
export async function firstLoadPaths({ server, webgpu }) {
  const browser = await launchBrowser({ webgpu });
  try {
    const context = await browser.newContext();
    const requests = [];
    context.on('request', (req) => requests.push({ url: req.url(), method: req.method(), bySw: Boolean(req.serviceWorker()) }));
    const page = await context.newPage();
    await page.goto(server.url, { waitUntil: 'load' });
    const engine = page.locator('#engine[data-settled="yes"]');
    await engine.waitFor({ state: 'attached', timeout: 180_000 });
    const backend = await engine.getAttribute('data-backend');
    await page.waitForLoadState('networkidle', { timeout: 30_000 }).catch(() => {});
    await context.close();
    const origin = new URL(server.url).origin;
    // Path -> who asked for it: the page (and its workers) and/or a service worker precaching.
    const requesters = new Map();
    const counts = {};
    for (const { url, method, bySw } of requests) {
      const u = new URL(url);
      if (u.origin !== origin || method !== 'GET') continue;
      if (!requesters.has(u.pathname)) requesters.set(u.pathname, new Set());
      requesters.get(u.pathname).add(bySw ? 'service worker' : 'page');
      counts[u.pathname] = (counts[u.pathname] ?? 0) + 1;
    }
    const requestedBy = Object.fromEntries([...requesters].map(([p, by]) => [p, [...by].sort()]));
    return { backend, paths: [...requesters.keys()], requestedBy, counts, offsite: offsiteRequests(requests.map((r) => r.url), server.url) };
  } finally {
    await browser.close();
  }
}

/**
 * The transfer sizes of the app's first load on the CPU path (what every visitor fetches)
 * and, with `gpu`, of what a browser with a WebGPU adapter fetches on top (the GPU build).
 * The server sends files as they are, so the raw size is the transfer size; gzip is what a
 * compressing server would send.
 */
export async function measureSizes({ server, gpu = true }) {
  const cpu = await firstLoadPaths({ server, webgpu: false });
  const assets = assetSizes(cpu.paths).map((a) => ({ ...a, requestedBy: cpu.requestedBy[a.path], requests: cpu.counts[a.path] }));
  const total = totals(assets);
  const swOnly = assets.filter((a) => !a.requestedBy.includes('page'));
  const sizes = {
    method: 'distinct GET paths the app (/) requested in headless Chromium (playwright request log; requestedBy says whether the page and its workers or a service worker precaching asked) until its engine settled and the network was idle; sizes of those files in web/, gzip via Node zlib level 9',
    firstLoad: {
      browser: 'no WebGPU flag (CPU path)',
      backend: cpu.backend,
      assets,
      total,
      pageTotal: totals(assets.filter((a) => a.requestedBy.includes('page'))),
      serviceWorkerOnlyTotal: totals(swOnly),
      note: 'total counts each distinct file once; `requests` > 1 means the file was requested again (e.g. the page and the service worker precaching it; tests/browser/serve.mjs sends validators, so such a request is answered 304 without the body). The target applies to pageTotal, what the page needs before it can classify; serviceWorkerOnlyTotal is the offline cache fill the service worker makes afterwards, in the background (on-demand files: the decoder module, the live worklet, the widget, the bench page)',
      targetGzip: FIRST_LOAD_TARGET_GZIP,
      withinTarget: totals(assets.filter((a) => a.requestedBy.includes('page'))).gzip < FIRST_LOAD_TARGET_GZIP,
      offsiteRequests: cpu.offsite,
    },
  };
  if (gpu) {
    const withGpu = await firstLoadPaths({ server, webgpu: true });
    const extra = withGpu.paths.filter((p) => !cpu.paths.includes(p));
    const gpuAssets = assetSizes(extra).map((a) => ({ ...a, requestedBy: withGpu.requestedBy[a.path], requests: withGpu.counts[a.path] }));
    sizes.gpuBuild = {
      browser: '--enable-unsafe-webgpu (SwiftShader adapter)',
      backend: withGpu.backend,
      note: 'fetched after the first load, only where navigator.gpu yields an adapter',
      assets: gpuAssets,
      total: totals(gpuAssets),
      offsiteRequests: withGpu.offsite,
    };
  }
  return sizes;
}

function parseArgs(argv) {
  const opts = { backends: ['cpu', 'webgpu'], warmup: 1, reps: 5, gpuReps: null, clip: DEFAULT_CLIP, clipSeconds: 30, longSeconds: 300, synth: true, sizes: true, quiet: false, model: 'default', simd: 'auto' };
  const int = (name, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--backends') {
      opts.backends = value().split(',').filter(Boolean);
      for (const b of opts.backends) if (b !== 'cpu' && b !== 'webgpu') throw new Error(`unknown backend ${b}: use cpu and/or webgpu`);
    } else if (a === '--warmup') opts.warmup = int(a, value(), 0);
    else if (a === '--reps') opts.reps = int(a, value(), 1);
    else if (a === '--gpu-reps') opts.gpuReps = int(a, value(), 1);
    else if (a === '--clip') {
      const v = value();
      opts.clip = v === 'none' ? null : path.resolve(v);
    }
    else if (a === '--clip-seconds') opts.clipSeconds = int(a, value(), 1);
    else if (a === '--long-seconds') opts.longSeconds = int(a, value(), 1);
    else if (a === '--no-synth') opts.synth = false;
    else if (a === '--no-sizes') opts.sizes = false;
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--model') {
      opts.model = value();
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(opts.model) || !existsSync(path.join(WEB, 'models', opts.model, 'model.gscope'))) throw new Error(`no model web/models/${opts.model}/model.gscope`);
    }
    else if (a === '--simd') {
      opts.simd = value();
      if (!['auto', 'plain', 'relaxed'].includes(opts.simd)) throw new Error(`--simd must be auto, plain or relaxed, got ${opts.simd}`);
    }
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 16).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (opts.clip && !existsSync(opts.clip)) throw new Error(`clip not found: ${opts.clip} (pass --clip PATH or --clip none)`);
  return opts;
}

const round2 = (x) => Math.round(x * 100) / 100;

/** The CPU path's 30 s clip, end to end, against the 1 s goal (null when not measured). */
function clipTarget(backends) {
  const clip = backends.cpu?.inputs?.clip;
  if (!clip) return null;
  return { input: clip.name, durationSeconds: clip.source.durationSeconds, targetMs: CLIP_TARGET_MS, medianMs: clip.stages.endToEnd.median, minMs: clip.stages.endToEnd.min, met: clip.stages.endToEnd.median < CLIP_TARGET_MS };
}

/** The CPU path's network time per 3 s patch, one worker, every patch of the clip in one call. */
function perPatch(backends) {
  const clip = backends.cpu?.inputs?.clip;
  if (!clip) return null;
  return { input: clip.name, patches: clip.windows, medianMs: clip.stages.perPatch.median, minMs: clip.stages.perPatch.min };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench.mjs: ${e.message}`);
    process.exit(2);
  }
  const log = opts.quiet ? () => {} : (m) => console.error(`bench: ${m}`);
  const loadBefore = os.loadavg();
  const server = await startWebServer({ model: SHIPPED_MODEL });
  try {
    const backends = {};
    let chromium = null;
    let userAgent = null;
    for (const backend of opts.backends) {
      const webgpu = backend === 'webgpu';
      const reps = webgpu && opts.gpuReps ? opts.gpuReps : opts.reps;
      log(`${backend}: ${opts.warmup} warm-up + ${reps} timed runs per input`);
      const page = await runBenchPage({ server, webgpu, backend, model: opts.model, simd: opts.simd, clip: opts.clip, warmup: opts.warmup, reps, clipSeconds: opts.clipSeconds, longSeconds: opts.longSeconds, synth: opts.synth, log });
      chromium = page.chromium;
      userAgent = page.userAgent;
      const result = page.backends.find((b) => b.backend === backend);
      backends[backend] = {
        ...result,
        browserFlags: page.flags,
        settings: page.settings,
        adapter: page.adapter,
        ...(webgpu ? { caveat: SWIFTSHADER_CAVEAT } : {}),
        pageErrors: page.pageErrors,
        offsiteRequests: page.offsiteRequests,
      };
    }
    let sizes = null;
    if (opts.sizes) {
      log('measuring the first load');
      sizes = await measureSizes({ server, gpu: true });
    }
    const out = {
      generator: 'tests/browser/bench.mjs',
      date: new Date().toISOString(),
      chromium,
      userAgent,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: { count: os.cpus().length, model: os.cpus()[0]?.model ?? null },
      // Other work on the machine slows every stage; the 1-minute load average says how busy it was.
      loadAverage1m: { before: round2(loadBefore[0]), after: round2(os.loadavg()[0]) },
      caveat: SWIFTSHADER_CAVEAT,
      model: `web/models/${opts.model}/model.gscope`,
      simd: opts.simd,
      inputs: { clip: opts.clip ? path.relative(REPO, opts.clip) : 'synthesised in the page', clipSeconds: opts.clipSeconds, longSeconds: opts.longSeconds, synth: opts.synth },
      unit: 'ms',
      backends,
      targets: {
        cpuClipEndToEnd: clipTarget(backends),
        cpuPerPatch: perPatch(backends),
        cpuProgressive: backends.cpu?.progressive?.inputs ?? null,
        firstLoadGzip: sizes ? { targetBytes: FIRST_LOAD_TARGET_GZIP, bytes: sizes.firstLoad.pageTotal.gzip, backgroundCacheFillBytes: sizes.firstLoad.serviceWorkerOnlyTotal.gzip, met: sizes.firstLoad.withinTarget } : null,
      },
      sizes,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await server.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`bench.mjs: ${e.stack || e.message}`);
    process.exit(1);
  });
}
