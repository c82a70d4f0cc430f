// Genrescope's service worker: keeps the page working offline once it has been loaded.
// Registered by app.js once the engine has settled; its scope is the site (this folder).
//
// Strategy: network first, the cache as fallback, for GET and HEAD requests to this site. It
// never touches requests to other hosts (the page makes none) and never requests one itself.
// - Online, each request goes to the network as if there were no service worker, so a new
//   build is used as soon as it is deployed and the page never mixes files of two builds
//   (the wasm glue and its .wasm must come from the same one). Each good response replaces
//   its cached copy, so the cache always holds the newest build seen.
// - When the network fails (offline, server gone) the cached copy answers.
// Cache first would answer faster on a slow network, but would keep serving an old build until
// this file changed, and nothing in the build rewrites this file; network first needs no
// version to bump.
//
// On install, the app shell is fetched into the cache (revalidated, so never a stale copy
// from the HTTP cache; for the files the page has just loaded the server answers 304 and
// nothing is downloaded twice): also the files the page loads only on demand (the live-mode
// worklet, the WebAudio fallback, the decoder module of the compressed formats, the
// descriptor module and the default model's detached table member), so they
// work offline even if never used online. The WebGPU build is
// not part of it (most visitors never need its 15 MB): it is cached when the page fetches it
// through this worker, and on the first visit, when the page fetched it before this worker
// existed, the page asks for it ('cache-gpu-build') once WebGPU is in use. CACHE names the
// cache; bump it when SHELL or these rules change, and the old cache is deleted when the new
// worker activates.

const CACHE = 'genrescope-v9';

importScripts('./lib/relaxed-simd.js');

/**
 * The CPU engine the page loads in this browser (lib/backend.js, `chooseCpuEngine`): the
 * relaxed-SIMD build where the browser has relaxed SIMD (the same probe, lib/relaxed-simd.js),
 * else the SIMD128 one. The page's `?simd=plain` override is not seen here, so that page may
 * fetch the plain engine from the network while offline use keeps the one precached here.
 */
function cpuEngineWasm() {
  return globalThis.genrescopeRelaxedSimd() ? './pkg/cpu/genrescope_relaxed_bg.wasm' : './pkg/cpu/genrescope_bg.wasm';
}

/** The app shell, relative to this file. A failed fetch of one of these fails the install. */
const SHELL = [
  './',
  './style.css',
  './app.js',
  './worker.js',
  './lib/backend.js',
  './lib/drop.js',
  './lib/engine.js',
  './lib/export.js',
  './lib/file-row.js',
  './lib/file-tags.js',
  './lib/format.js',
  './lib/live-capture-worklet.js',
  './lib/live-view.js',
  './lib/library-map.js',
  './lib/live.js',
  './lib/mel-canvas.js',
  './lib/own-genres.js',
  './lib/own-view.js',
  './lib/palette.js',
  './lib/records.js',
  './lib/relaxed-simd.js',
  './lib/similarity.js',
  './lib/store.js',
  './lib/status.js',
  './lib/table.js',
  './lib/tag-writer.js',
  './lib/timeline.js',
  './lib/verdict.js',
  './lib/webaudio.js',
  './pkg/cpu/genrescope.js',
  cpuEngineWasm(),
  './pkg/decoders/genrescope.js',
  './pkg/decoders/genrescope_bg.wasm',
  './pkg/descriptors/genrescope.js',
  './pkg/descriptors/genrescope_bg.wasm',
  './models/default/model.gscope',
  './models/default/model.table.gscope',
];

/**
 * Cached when present; the page works without them (the bench page is a separate tool; the
 * widget and its example host page, player.html, are for other pages).
 */
const OPTIONAL = [
  // The CPU engine with Burn, for models whose network the small one does not run (a CNN).
  './pkg/cpu-burn/genrescope.js',
  './pkg/cpu-burn/genrescope_bg.wasm',
  // Own-genre training, loaded the first time someone trains.
  './train-worker.js',
  './pkg/train/genrescope.js',
  './pkg/train/genrescope_bg.wasm',
  './models/default/MODEL_CARD.md',
  './bench.html',
  './bench.css',
  './bench.js',
  './lib/bench-inputs.js',
  './lib/bench-run.js',
  './lib/bench-wav.js',
  './player.html',
  './widget/genre-scope.js',
  './widget/media-input.js',
  './widget/shared-pool.js',
  './widget/view.js',
];

/** The WebGPU build: glue and wasm, always cached together. */
const GPU_BUILD = ['./pkg/gpu/genrescope.js', './pkg/gpu/genrescope_bg.wasm'];

const SCOPE = new URL('./', self.location.href);

/**
 * The cache key of a request to this site: the URL without query and fragment (the server
 * ignores them; `?backend=` is read by the page), a folder meaning its index.html.
 */
function cacheKey(url) {
  const key = new URL(url);
  key.search = '';
  key.hash = '';
  if (key.pathname.endsWith('/')) key.pathname += 'index.html';
  return key.href;
}

async function precache() {
  const cache = await caches.open(CACHE);
  const fill = async (path) => {
    const url = new URL(path, SCOPE);
    const res = await fetch(url, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status}`);
    await cache.put(cacheKey(url), res);
  };
  await Promise.all(SHELL.map(fill));
  await Promise.allSettled(OPTIONAL.map(fill));
}

/**
 * Caches the WebGPU build the page has just loaded, unless it is cached already. `wasmBytes`
 * are the wasm bytes the page compiled (it posts them); the glue (and the wasm, when the page
 * had no copy) comes from the browser's HTTP cache when present ('force-cache'): the copies
 * the page just used, so glue and wasm are of one build and nothing is downloaded twice.
 */
async function cacheGpuBuild(wasmBytes) {
  const cache = await caches.open(CACHE);
  const [glueUrl, wasmUrl] = GPU_BUILD.map((path) => new URL(path, SCOPE));
  const cached = await Promise.all([glueUrl, wasmUrl].map((url) => cache.match(cacheKey(url))));
  if (cached.every(Boolean)) return;
  const [glue, wasm] = await Promise.all([
    fetch(glueUrl, { cache: 'force-cache' }),
    wasmBytes ? new Response(wasmBytes, { headers: { 'Content-Type': 'application/wasm' } }) : fetch(wasmUrl, { cache: 'force-cache' }),
  ]);
  if (!glue.ok || !wasm.ok) return;
  await Promise.all([cache.put(cacheKey(glueUrl), glue), cache.put(cacheKey(wasmUrl), wasm)]);
}

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'cache-gpu-build') return;
  const wasm = event.data.wasm instanceof ArrayBuffer ? event.data.wasm : null;
  event.waitUntil(cacheGpuBuild(wasm).catch(() => {}));
});

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('genrescope-') && name !== CACHE) await caches.delete(name);
      }
      // Take over the page that registered us, so it works offline without a reload.
      await self.clients.claim();
    })(),
  );
});

/** Network first; on a network failure the cached copy (for HEAD: its headers). */
async function respond(event) {
  const { request } = event;
  const key = cacheKey(request.url);
  try {
    const res = await fetch(request);
    if (request.method === 'GET' && res.ok && res.status === 200 && res.type === 'basic') {
      const copy = res.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)).catch(() => {}));
    }
    return res;
  } catch (err) {
    const cached = await caches.match(key, { cacheName: CACHE });
    if (!cached) throw err;
    if (request.method === 'HEAD') return new Response(null, { status: cached.status, headers: cached.headers });
    return cached;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' && request.method !== 'HEAD') return;
  if (!request.url.startsWith(SCOPE.href)) return; // other hosts, or outside the site
  if (request.headers.has('range')) return; // partial content is not cached
  event.respondWith(respond(event));
});
