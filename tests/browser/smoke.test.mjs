// Smoke test of the placeholder page in headless Chromium, once with WebGPU exposed
// (--enable-unsafe-webgpu, SwiftShader adapter) and once without (CPU fallback).
//
//   node --test tests/browser/      (after ./build.sh build)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, offsiteRequests, openPage, startWebServer } from './harness.mjs';

const TIMEOUT = 60_000;

let server;
before(async () => {
  server = await startWebServer();
});
after(async () => {
  await server?.close();
});

for (const webgpu of [true, false]) {
  const mode = webgpu ? 'with --enable-unsafe-webgpu' : 'without WebGPU flag';

  describe(`placeholder page ${mode}`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser({ webgpu });
    });
    after(async () => {
      await browser?.close();
    });

    test('loads the wasm, reports the adapter, stays on its own origin', { timeout: TIMEOUT }, async () => {
      const { context, page, requests, errors } = await openPage(browser);
      try {
        await page.goto(server.url, { waitUntil: 'load' });

        // The version appears once the wasm module is initialised.
        const version = page.locator('#version');
        await version.filter({ hasText: /^\d+\.\d+\.\d+/ }).waitFor({ timeout: 30_000 });
        assert.match((await version.textContent()).trim(), /^\d+\.\d+\.\d+/);

        // The adapter probe settles to "yes" or "no" and matches the launch mode.
        const gpu = page.locator('#gpu');
        await page.locator('#gpu[data-adapter="yes"], #gpu[data-adapter="no"]').waitFor({ timeout: 30_000 });
        const adapter = await gpu.getAttribute('data-adapter');
        assert.equal(adapter, webgpu ? 'yes' : 'no', `adapter status: ${await gpu.textContent()}`);

        // The default feature config comes from Rust and is valid JSON.
        const config = JSON.parse(await page.locator('#config').getAttribute('data-json'));
        assert.equal(config.sample_rate, 22050);
        assert.equal(config.n_mels, 128);

        // The page says audio stays on the device.
        assert.match(await page.locator('#privacy').textContent(), /never leaves/i);

        assert.deepEqual(errors, [], 'no page or console errors');
        assert.ok(requests.some((u) => u.endsWith('.wasm')), 'the wasm was fetched');
        assert.deepEqual(offsiteRequests(requests, server.url), [], 'no request left the origin');
      } finally {
        await context.close();
      }
    });
  });
}
