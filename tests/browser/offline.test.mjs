// Offline use after a reload (web/sw.js): once the service worker controls the page, the
// server is shut down and the browser set offline; the reloaded page must still load its
// engine and model, classify a dropped clip exactly as it did online, show the model card
// link, and (on the CPU path) run live mode, whose worklet comes from the cache too. On the
// WebGPU path, the WebGPU build the page fetched before the service worker existed must be
// cached as well, and the page must settle on WebGPU again offline. On the CPU path, an
// own-genre model is then trained and adopted offline (nothing of it needs the network).
//
//   node --test tests/browser/offline.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO, SHIPPED_MODEL, TEST_MODEL, dropFiles, wavExcerpt, launchBrowser, offsiteRequests, openPage, readRows, startWebServer, waitForEngine, waitForRows, pageUrl } from './harness.mjs';

const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
/** The first 6 s of a GTZAN clip (3 windows). */
const CLIP = { name: 'rock.00001-6s.wav', bytes: wavExcerpt(path.join(GENRES, 'rock', 'rock.00001.wav'), 6) };
const MIC = path.join(GENRES, 'classical', 'classical.00000.wav');

/** The same-origin paths in the service worker's cache. */
function cachedPaths(page) {
  return page.evaluate(async () => {
    const paths = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) paths.push(new URL(req.url).pathname);
    }
    return paths.sort();
  });
}

for (const webgpu of [false, true]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  describe(`offline after a reload, ${expected} path`, () => {
    test('the service worker caches the app; offline, the reloaded page classifies a dropped clip and listens', { timeout: 600_000 }, async () => {
      // A server of its own: it is shut down half-way.
      const responses = [];
      // The CPU path serves the shipped model, whose MusiCNN backbone own genres learn on;
      // the WebGPU path the small test CNN (SwiftShader is slow).
      const server = await startWebServer({ responses, model: webgpu ? TEST_MODEL : SHIPPED_MODEL });
      const browser = await launchBrowser({
        webgpu,
        extraArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${MIC}%noloop`],
      });
      try {
        const { context, page, requests, pageRequests, errors } = await openPage(browser);
        const t0 = Date.now();
        const took = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
        await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
        assert.equal(await waitForEngine(page), expected);
        console.log(`# ${expected}: engine settled online after ${took()}`);
        await dropFiles(page, [CLIP]);
        await waitForRows(page, 1);
        const [online] = await readRows(page);
        assert.equal(online.state, 'done', online.error);

        // The service worker is registered once the engine has settled and claims the page
        // when its cache is filled.
        await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
        console.log(`# ${expected}: service worker in control after ${took()}`);
        const loaded = [...new Set(pageRequests.map((u) => new URL(u).pathname.replace(/\/$/, '/index.html')))];
        if (webgpu) {
          assert.ok(loaded.includes('/pkg/gpu/genrescope_bg.wasm'), 'the WebGPU build was loaded');
          // Asked for once WebGPU is in use; cached in the background.
          await page.waitForFunction(async () => (await caches.match('/pkg/gpu/genrescope_bg.wasm')) !== undefined, null, { timeout: 120_000, polling: 500 });
        } else {
          assert.ok(!loaded.some((p) => p.startsWith('/pkg/gpu/')), 'the CPU path never loads the WebGPU build');
        }
        // The service worker's cache fill revalidates what the page has loaded (304), so
        // the first visit transfers no file twice.
        const sent = new Map();
        for (const r of responses) {
          if (r.method !== 'GET' || r.status !== 200) continue;
          // The page's own address keeps its query (`?backend=webgpu` is another URL than the
          // `/` the service worker stores, so the browser's cache cannot answer for it).
          const u = new URL(r.url, server.url);
          const p = u.pathname.replace(/\/$/, '/index.html') + u.search;
          sent.set(p, (sent.get(p) ?? 0) + 1);
        }
        const twice = [...sent].filter(([, n]) => n > 1);
        assert.deepEqual(twice, [], 'no file was sent twice on the first visit');
        const cached = await cachedPaths(page);
        const missing = loaded.filter((p) => !cached.includes(p));
        assert.deepEqual(missing, [], 'everything the page loaded is cached');
        for (const p of ['/lib/live-capture-worklet.js', '/lib/webaudio.js', '/models/default/MODEL_CARD.md', '/pkg/decoders/genrescope_bg.wasm', '/pkg/descriptors/genrescope_bg.wasm']) {
          assert.ok(cached.includes(p), `${p} (loaded on demand) is cached`);
        }
        if (!webgpu) assert.ok(!cached.some((p) => p.startsWith('/pkg/gpu/')), 'the WebGPU build is not cached where it is not used');

        // Offline, for real: the browser offline and the server gone.
        await context.setOffline(true);
        await server.close();
        const fromWorker = [];
        page.on('response', (res) => fromWorker.push(res.fromServiceWorker()));
        await page.reload({ waitUntil: 'load' });
        assert.equal(await waitForEngine(page), expected, 'the same backend offline');
        console.log(`# ${expected}: offline reload settled after ${took()}`);
        assert.ok(fromWorker.length > 5 && fromWorker.every(Boolean), 'every response came from the service worker');
        await page.locator('#model a[href*="MODEL_CARD.md"]').waitFor({ timeout: 10_000 });

        await dropFiles(page, [{ ...CLIP, name: 'offline.wav' }]);
        await waitForRows(page, 1);
        const [offline] = await readRows(page);
        assert.equal(offline.state, 'done', offline.error);
        assert.equal(offline.backend, expected);
        assert.deepEqual(offline.probabilities, online.probabilities, 'the same result as online');

        console.log(`# ${expected}: classified offline after ${took()}`);
        if (!webgpu) {
          // Live mode's worklet, loaded only now, comes from the cache as well.
          await page.click('#live-toggle');
          await page.waitForFunction(() => Number(document.querySelector('#live').dataset.classified) >= 1, null, { timeout: 60_000, polling: 100 });
          await page.click('#live-toggle');

          // Own genres train offline too: the training module and its worker come from the
          // cache, and every response (so every request) stays on the device.
          for (const genre of ['classical', 'metal']) {
            await page.fill('#own-category-name', genre);
            await page.click('#own-add button[type="submit"]');
            const files = [0, 1].map((n) => ({ name: `${genre}-${n}.wav`, mimeType: 'audio/wav', buffer: wavExcerpt(path.join(GENRES, genre, `${genre}.0000${n}.wav`), 6) }));
            await page.locator(`.own-category[data-name="${genre}"] input[type="file"]`).setInputFiles(files);
          }
          await page.waitForFunction(() => document.querySelectorAll('.own-example[data-state="ready"]').length === 4, null, { timeout: 120_000, polling: 250 });
          await page.click('#own-train');
          await page.locator('#own-report[data-state="done"]').waitFor({ timeout: 120_000 });
          await page.click('#own-adopt');
          await page.locator('li.own-model').waitFor({ timeout: 30_000 });
          console.log(`# ${expected}: trained and adopted an own-genre model offline after ${took()}`);
          assert.ok(fromWorker.every(Boolean), 'every response while training came from the service worker');
        }

        assert.deepEqual(offsiteRequests(requests, server.url), [], 'no request left the page’s origin');
        assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), [], 'no page or console errors');
      } finally {
        await browser.close();
        await server.close();
      }
    });
  });
}
