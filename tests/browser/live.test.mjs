// Live mode in headless Chromium: Chromium's fake microphone plays a real GTZAN clip
// (--use-file-for-fake-audio-capture), the page classifies a rolling window (the model's live
// window: 3 s every 1.5 s for the default model) and shows a genre; Stop releases the
// microphone and drops the job in flight; Start works again. A slow engine makes windows
// skip, not queue. Every window goes to the engine and its verdict decides what is shown:
// silent input is the engine's "Silence" (its silence gate, not a level check in JS), not a
// genre. A denied permission, a missing
// device, an insecure page (no getUserMedia) and a browser without AudioWorklet are explained
// on the page; these are simulated with an init script, since headless Chromium cannot be
// made to lack them for real.
//
//   node --test tests/browser/live.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, launchBrowser, nativeClassify, offsiteRequests, openPage, startWebServer, waitForEngine, pageUrl } from './harness.mjs';

/** A clip the native CLI classifies confidently (classical, 93 %). */
const CLIP = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres', 'classical', 'classical.00000.wav');

/** Chromium's fake microphone playing `wav` once (`%noloop`), with permission prompts accepted. */
const fakeMicArgs = (wav) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}%noloop`];

/**
 * Replaces parts of the browser according to `globalThis.__liveFault`, set by the test before
 * it presses Start: getUserMedia rejecting with a DOMException of that name, getUserMedia or
 * AudioWorkletNode missing, an insecure page, or a microphone that gives digital silence.
 */
function installFaults() {
  const fault = () => globalThis.__liveFault;
  const media = navigator.mediaDevices;
  const real = media.getUserMedia.bind(media);
  const fake = async (constraints) => {
    const f = fault();
    if (f === 'silence') {
      const ctx = new AudioContext();
      return ctx.createMediaStreamDestination().stream; // no source connected: zeros
    }
    if (f && f.endsWith('Error')) throw new DOMException(`simulated ${f}`, f);
    return real(constraints);
  };
  Object.defineProperty(media, 'getUserMedia', { configurable: true, get: () => (fault() === 'no_getusermedia' ? undefined : fake) });
  const worklet = globalThis.AudioWorkletNode;
  Object.defineProperty(globalThis, 'AudioWorkletNode', { configurable: true, get: () => (fault() === 'no_audioworklet' ? undefined : worklet) });
  const secure = globalThis.isSecureContext;
  Object.defineProperty(globalThis, 'isSecureContext', { configurable: true, get: () => (fault() === 'insecure' ? false : secure) });
}

/** The live section's data attributes (numbers as numbers). */
function liveState(page) {
  return page.$eval('#live', (el) => {
    const d = { ...el.dataset };
    for (const k of ['windows', 'classified', 'genreWindows', 'uncertain', 'notMusic', 'silent', 'skipped', 'confidence']) if (k in d) d[k] = Number(d[k]);
    return d;
  });
}

let server;
let native;
before(async () => {
  server = await startWebServer();
  native = nativeClassify([CLIP]).get(path.basename(CLIP));
});
after(async () => {
  await server?.close();
});

for (const webgpu of [false, true]) {
  const expected = webgpu ? 'webgpu' : 'cpu';
  describe(`live mode on ${expected} with Chromium's fake microphone`, () => {
    let browser;
    let session;
    before(async () => {
      browser = await launchBrowser({ webgpu, extraArgs: fakeMicArgs(CLIP) });
      session = await openPage(browser);
      await session.page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
      assert.equal(await waitForEngine(session.page), expected);
    });
    after(async () => {
      const { requests, errors } = session ?? { requests: [], errors: [] };
      await browser?.close();
      assert.deepEqual(offsiteRequests(requests, server.url), [], 'no request left the page’s origin');
      assert.deepEqual(errors.filter((e) => !/MODEL_CARD\.md/.test(e)), [], 'no page or console errors');
    });

    test('shows the genre of what the microphone hears; Stop releases it and ignores the job in flight; Start works again', { timeout: 180_000 }, async () => {
      const { page } = session;
      const labels = await page.evaluate(() => globalThis.genrescope.pool.status.model.labels);
      await page.click('#live-toggle');
      await page.waitForFunction(() => Number(document.querySelector('#live').dataset.genreWindows) >= 2, null, { timeout: 60_000, polling: 100 });
      const s = await liveState(page);
      const rate = await page.evaluate(() => globalThis.genrescope.live.rate);
      console.log(`# ${expected}: AudioContext at ${rate} Hz; after ${s.classified} windows: ${s.genre} ${s.confidence.toFixed(3)} (CLI on the whole clip: ${native.top[0].label} ${native.top[0].probability.toFixed(3)}); ${s.skipped} skipped`);
      assert.equal(s.state, 'running');
      assert.ok(labels.includes(s.genre), `${s.genre} is one of the model's labels`);
      assert.ok(s.confidence > 0 && s.confidence <= 1);
      assert.equal(s.now, 'genre');
      assert.ok(labels.includes(s.verdictText), `a genre verdict's text is a label (${s.verdictText})`);
      // Every classified window carries the engine's verdict, and the counts add up.
      const kinds = await page.evaluate(() => globalThis.genrescope.live.history.filter((w) => w.status === 'done').map((w) => w.verdict.kind));
      assert.ok(kinds.every((k) => ['genre', 'uncertain', 'not_music', 'silent'].includes(k)), kinds.join(' '));
      assert.equal(s.genreWindows + s.uncertain + s.notMusic + s.silent, s.classified, 'each classified window has one verdict');
      // The CLI finds the clip clearly classical; what the fake microphone plays of it must be too.
      assert.equal(native.top[0].label, 'classical', 'the CLI’s genre of the clip');
      assert.equal(s.genre, native.top[0].label);
      assert.equal(await page.locator('#live .live-genre').textContent(), s.genre);
      const windows = await page.$$eval('#live .live-list li', (lis) => lis.map((li) => ({ status: li.dataset.status, text: li.textContent })));
      assert.ok(windows.filter((w) => w.status === 'done').length >= 2, JSON.stringify(windows));
      // Consecutive windows end one hop (the model's liveHopSeconds, 1.5 s for the default
      // model) apart on the audio clock (a skipped one leaves a gap of two hops).
      const { ends, hop } = await page.evaluate(() => {
        const { live, pool } = globalThis.genrescope;
        return { ends: live.history.map((w) => w.end), hop: pool.status.model.liveHopSeconds };
      });
      assert.equal(await page.evaluate(() => globalThis.genrescope.live.hopSeconds), hop, 'live mode uses the model’s hop');
      for (let i = 1; i < ends.length; i++) {
        const gap = ends[i] - ends[i - 1];
        assert.ok(Math.abs(gap / hop - Math.round(gap / hop)) < 0.1 && gap > hop - 0.2, `window ends ${ends.join(', ')} (hop ${hop} s)`);
      }

      // Stop while a window is being classified: the click happens inside the check, so the
      // job is certainly in flight; the counts are taken at that moment.
      const atStop = await page.waitForFunction(
        () => {
          const live = globalThis.genrescope.live;
          if (!live.inFlight) return false;
          document.querySelector('#live-toggle').click();
          return { ...live.counts, history: live.history.length };
        },
        null,
        { timeout: 30_000, polling: 'raf' },
      );
      const stopped = await atStop.jsonValue();
      assert.equal((await liveState(page)).state, 'idle');
      const released = await page.evaluate(() => {
        const { lastStream, lastContext } = globalThis.genrescope.live;
        return { tracks: lastStream.getTracks().map((t) => t.readyState), context: lastContext.state };
      });
      assert.ok(released.tracks.length > 0);
      assert.deepEqual(released.tracks, released.tracks.map(() => 'ended'), 'every microphone track has ended');
      // close() is asynchronous.
      await page.waitForFunction(() => globalThis.genrescope.live.lastContext.state === 'closed', null, { timeout: 5_000 });
      // The job that was in flight finishes in the pool, but its result is dropped.
      await page.waitForFunction(() => globalThis.genrescope.pool.workers.every((w) => !w.busy) && globalThis.genrescope.pool.queue.length === 0, null, { timeout: 60_000 });
      await page.waitForTimeout(2_000);
      const later = await liveState(page);
      assert.equal(later.classified, stopped.classified, 'no result after Stop');
      assert.equal(later.windows, stopped.windows, 'no window after Stop');
      assert.equal(await page.evaluate(() => globalThis.genrescope.live.history.length), stopped.history);
      assert.match(await page.locator('#live').textContent(), /Stopped/);
      assert.equal(await page.locator('#live-toggle').textContent(), 'Start listening');

      // Start again: a fresh run with a fresh microphone stream.
      await page.click('#live-toggle');
      await page.waitForFunction(() => Number(document.querySelector('#live').dataset.genreWindows) >= 1, null, { timeout: 60_000, polling: 100 });
      const again = await liveState(page);
      assert.equal(again.state, 'running');
      assert.ok(labels.includes(again.genre));
      const fresh = await page.evaluate(() => globalThis.genrescope.live.lastStream.getTracks().map((t) => t.readyState));
      assert.deepEqual(fresh, fresh.map(() => 'live'));
      await page.click('#live-toggle');
      assert.equal((await liveState(page)).state, 'idle');
    });

    if (webgpu) return;

    test('when the engine falls behind, windows are skipped, never queued', { timeout: 60_000 }, async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
        await waitForEngine(page);
        // An engine that takes 4 s per window, longer than two hops.
        await page.evaluate(() => {
          const pool = globalThis.genrescope.pool;
          const classify = pool.classifyPcm.bind(pool);
          globalThis.calls = { running: 0, most: 0, total: 0 };
          pool.classifyPcm = async (...args) => {
            calls.total++;
            calls.most = Math.max(calls.most, ++calls.running);
            try {
              await new Promise((r) => setTimeout(r, 4_000));
              return await classify(...args);
            } finally {
              calls.running--;
            }
          };
        });
        await page.click('#live-toggle');
        await page.waitForFunction(() => Number(document.querySelector('#live').dataset.classified) >= 2, null, { timeout: 45_000, polling: 100 });
        const s = await liveState(page);
        const calls = await page.evaluate(() => globalThis.calls);
        await page.click('#live-toggle');
        assert.equal(calls.most, 1, 'one window at a time');
        assert.ok(s.skipped >= 2, `windows were skipped (${s.skipped})`);
        assert.match(await page.locator('#live .live-counts').textContent(), /skipped while the engine was busy/);
      } finally {
        await context.close();
      }
    });

    test('silent input: the engine’s verdict is silence, shown instead of a genre', { timeout: 60_000 }, async () => {
      const context = await browser.newContext();
      try {
        await context.addInitScript(installFaults);
        const page = await context.newPage();
        await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
        await waitForEngine(page);
        await page.evaluate(() => (globalThis.__liveFault = 'silence'));
        await page.click('#live-toggle');
        await page.waitForFunction(() => Number(document.querySelector('#live').dataset.silent) >= 2, null, { timeout: 30_000, polling: 100 });
        const s = await liveState(page);
        assert.equal(s.state, 'running');
        assert.equal(s.now, 'silent');
        // Every window went to the engine, and the engine called each one silent.
        assert.ok(s.classified >= 2);
        assert.equal(s.silent, s.classified, 'every classified window is silent');
        assert.equal(s.genreWindows, 0);
        const verdicts = await page.evaluate(() => globalThis.genrescope.live.history.filter((w) => w.status === 'done').map((w) => w.verdict));
        assert.ok(verdicts.length >= 2 && verdicts.every((v) => v.kind === 'silent'), JSON.stringify(verdicts));
        assert.equal(s.genre, undefined, 'no genre from silence');
        assert.equal(await page.locator('#live .live-genre').textContent(), verdicts.at(-1).text, 'the engine’s text');
        assert.equal(s.verdictText, verdicts.at(-1).text);
        assert.ok(await page.locator('#live').evaluate((el) => el.classList.contains('silent')), 'styled as silence');
        await page.click('#live-toggle');
      } finally {
        await context.close();
      }
    });

    test('a denied permission, a missing microphone, an insecure page and a browser without AudioWorklet are explained', { timeout: 60_000 }, async () => {
      const context = await browser.newContext();
      try {
        await context.addInitScript(installFaults);
        const page = await context.newPage();
        await page.goto(pageUrl(server.url, webgpu), { waitUntil: 'load' });
        const cases = [
          ['NotAllowedError', 'denied', /denied.*allow the microphone/i],
          ['NotFoundError', 'no_device', /No microphone was found/],
          ['NotReadableError', 'device_busy', /another application/],
          ['no_getusermedia', 'no_getusermedia', /does not let pages use a microphone/],
          ['insecure', 'insecure', /secure page.*https/],
          ['no_audioworklet', 'no_audioworklet', /lacks AudioWorklet/],
        ];
        for (const [fault, code, message] of cases) {
          await page.evaluate((f) => (globalThis.__liveFault = f), fault);
          await page.click('#live-toggle');
          await page.locator('#live[data-state="error"]').waitFor({ timeout: 10_000 });
          const s = await liveState(page);
          assert.equal(s.error, code, fault);
          assert.match(await page.locator('#live .live-message').textContent(), message, fault);
          assert.equal(await page.locator('#live-toggle').textContent(), 'Start listening', `${fault}: Start can be pressed again`);
          // Nothing is left open after a failed start.
          const open = await page.evaluate(() => {
            const { lastStream, lastContext } = globalThis.genrescope.live;
            return { tracks: lastStream?.getTracks().filter((t) => t.readyState === 'live').length ?? 0, context: lastContext?.state ?? 'none' };
          });
          assert.equal(open.tracks, 0, fault);
        }
        // With the fault gone, the same Start button works.
        await page.evaluate(() => (globalThis.__liveFault = null));
        await waitForEngine(page);
        await page.click('#live-toggle');
        await page.waitForFunction(() => Number(document.querySelector('#live').dataset.windows) >= 1, null, { timeout: 30_000, polling: 100 });
        assert.equal((await liveState(page)).state, 'running');
        await page.click('#live-toggle');
      } finally {
        await context.close();
      }
    });
  });
}
