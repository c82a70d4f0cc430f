// The <genre-scope> widget on its example host page (web/player.html), CPU path: a GTZAN clip
// picked in the page's file picker plays (unmuted; --autoplay-policy lets play() run without
// a gesture) and the widget's smoothed genre, announced by 'genrechange', is the native CLI's
// genre for the clip. A second player with its own widget (made with GenreScope.attach) plays
// another clip at the same time; the model is fetched once for both. The host page's styles
// are the same before and after the widget loads, and the host's styles do not reach inside
// the widget. Pause stops classifying, seeking restarts the rolling window, a new track
// clears the widget; a muted player, a cross-origin track without CORS and an audio context
// held by the autoplay policy are explained. Every result event carries the engine's verdict
// on its window and the window's tags; a near-silent track (20 dB under the model's silence
// gate) is the engine's "Silence", shown as such, never a genre.
//
//   node --test tests/browser/widget.test.mjs      (after ./build.sh build)

import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, launchBrowser, nativeClassify, nativeInfo, offsiteRequests, openPage, pageSession, startWebServer, writeTempWav } from './harness.mjs';

const GENRES = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');
/** Clips the native CLI classifies confidently, with windows that agree. */
const CLIP_A = path.join(GENRES, 'country', 'country.00000.wav');
const CLIP_B = path.join(GENRES, 'metal', 'metal.00000.wav');
/** Classified windows to wait for before comparing with the CLI (3 s + 5 hops of audio). */
const WINDOWS = 6;

/** Chromium lets media and AudioContexts start without a user gesture. */
const AUTOPLAY = ['--autoplay-policy=no-user-gesture-required'];

/** Host-page rules that would leak into the widget if its shadow root let them. */
const TRAP_CSS = `
  .genre, .panel, .labels li, .msg, .conf { color: rgb(255, 0, 0) !important; letter-spacing: 7px; border: 5px solid rgb(0, 255, 0); }
  span, li, p { text-transform: uppercase; }
  main { letter-spacing: 1px; }
`;

/** Computed styles of the host page's own elements. */
function hostStyles(page) {
  return page.evaluate(() => {
    const props = ['display', 'color', 'background-color', 'font-family', 'font-size', 'line-height', 'letter-spacing', 'text-transform', 'margin-top', 'margin-bottom', 'padding-top', 'border-top-width', 'border-top-color'];
    const out = {};
    for (const sel of ['body', 'main', 'h1', 'p.muted', '#note', '.pick', 'label', 'input[type=url]', 'button', '#player']) {
      const el = document.querySelector(sel);
      const cs = getComputedStyle(el);
      out[sel] = Object.fromEntries(props.map((p) => [p, cs.getPropertyValue(p)]));
    }
    out.sheets = document.styleSheets.length;
    out.adopted = document.adoptedStyleSheets.length;
    return out;
  });
}

/** Records every widget event on the document (they bubble and are composed). */
function recordEvents() {
  globalThis.widgetEvents = [];
  for (const type of ['result', 'genrechange', 'error']) {
    document.addEventListener(type, (e) => {
      if (e.target?.localName !== 'genre-scope') return;
      const player = e.target.media?.id ?? null;
      globalThis.widgetEvents.push({ type, player, t: performance.now(), paused: e.target.media?.paused, ...JSON.parse(JSON.stringify(e.detail)) });
    });
  }
}

/** The recorded events of `type` for `player`. */
const eventsOf = (page, type, player) => page.evaluate(([type, player]) => globalThis.widgetEvents.filter((e) => e.type === type && e.player === player), [type, player]);

/** Waits until the widget of `player` has announced `n` results in total. */
const waitForResults = (page, player, n, timeout = 90_000) =>
  page.waitForFunction(([player, n]) => globalThis.widgetEvents.filter((e) => e.type === 'result' && e.player === player).length >= n, [player, n], { timeout, polling: 200 });

/** Adds a second player with its own widget (JS API) and plays `base64` (a WAV) in it. */
async function addSecondPlayer(page, base64) {
  await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const audio = document.createElement('audio');
    audio.id = 'player2';
    audio.controls = true;
    document.querySelector('#note').after(audio);
    globalThis.GenreScope.attach(audio, { look: 'compact', labels: 2 });
    audio.src = URL.createObjectURL(new Blob([bytes], { type: 'audio/wav' }));
    await audio.play();
  }, base64);
}

let server;
let native;
before(async () => {
  server = await startWebServer();
  native = nativeClassify([CLIP_A, CLIP_B]);
});
after(async () => {
  await server?.close();
});

describe('the <genre-scope> widget on the example player page (CPU)', () => {
  const browser = pageSession({ server: () => server, extraArgs: AUTOPLAY });

  test('two players, two widgets, one model load: each shows the CLI’s genre; the host page’s styles are untouched', { timeout: 240_000 }, async () => {
    const { page, requests } = browser.session;
    // Hold the widget's module so the page can be measured without it first.
    let release;
    const held = new Promise((r) => (release = r));
    await page.route('**/widget/genre-scope.js', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${server.url}player.html`, { waitUntil: 'commit' });
    await page.locator('#note').waitFor({ state: 'attached' });
    await page.addStyleTag({ content: TRAP_CSS });
    await page.evaluate(recordEvents);
    const stylesBefore = await hostStyles(page);
    assert.equal(await page.evaluate(() => customElements.get('genre-scope')), undefined, 'the widget is not loaded yet');

    release();
    await page.evaluate(() => customElements.whenDefined('genre-scope'));
    await page.unroute('**/widget/genre-scope.js');
    await page.locator('genre-scope[data-state="ready"]').waitFor({ timeout: 120_000 });

    const started = Date.now();
    await page.setInputFiles('#file', CLIP_A);
    await addSecondPlayer(page, readFileSync(CLIP_B).toString('base64'));
    await Promise.all([waitForResults(page, 'player', WINDOWS), waitForResults(page, 'player2', WINDOWS)]);
    const seconds = (Date.now() - started) / 1000;

    for (const [player, clip] of [['player', CLIP_A], ['player2', CLIP_B]]) {
      const cli = native.get(path.basename(clip)).top[0];
      const results = await eventsOf(page, 'result', player);
      const changes = await eventsOf(page, 'genrechange', player);
      const current = await page.evaluate((id) => document.querySelector(`#${id}`).nextElementSibling.current, player);
      const perWindow = results.map((r) => Object.entries(r.window.probabilities).sort((a, b) => b[1] - a[1])[0][0]);
      console.log(`# ${player} ${path.basename(clip)}: windows ${perWindow.join(' ')}; smoothed ${current.genre} ${current.confidence.toFixed(3)} after ${results.length} windows; genrechange ${changes.map((c) => c.genre).join(' -> ')}; CLI ${cli.label} ${cli.probability.toFixed(3)}; backend ${results[0].backend}`);
      assert.equal(results[0].backend, 'cpu');
      assert.ok(changes.length >= 1, `${player}: a genrechange event arrived`);
      assert.equal(changes[0].previous, null);
      assert.equal(changes.at(-1).genre, cli.label, `${player}: the last genrechange names the CLI's genre`);
      assert.equal(current.genre, cli.label, `${player}: the smoothed genre is the CLI's`);
      assert.ok(results.every((r) => r.paused === false), `${player}: results only while playing`);
      assert.ok(current.top.length >= 1 && current.top[0].label === cli.label);
      // Each event carries the engine's verdict on its window and the window's tags.
      const kinds = ['genre', 'uncertain', 'not_music', 'silent'];
      for (const r of results) {
        assert.ok(kinds.includes(r.verdict?.kind) && typeof r.verdict.text === 'string' && Array.isArray(r.tags), `${player}: ${JSON.stringify(r.verdict)}`);
      }
      const cliVerdict = native.get(path.basename(clip)).verdict;
      assert.equal(cliVerdict.kind, 'genre', `${player}: the CLI gives the clip a genre`);
      const last = results.at(-1);
      assert.equal(last.verdict.kind, 'genre', `${player}: the newest window is music with a genre`);
      assert.equal(current.verdict.kind, last.verdict.kind);
      assert.deepEqual(current.tags, last.tags);
      assert.equal(await page.evaluate((id) => document.querySelector(`#${id}`).nextElementSibling.dataset.verdict, player), last.verdict.kind);
    }
    // At the same time: each widget announced results while the other was also producing them.
    const all = await page.evaluate(() => globalThis.widgetEvents.filter((e) => e.type === 'result'));
    const span = (id) => {
      const t = all.filter((e) => e.player === id).map((e) => e.t);
      return [Math.min(...t), Math.max(...t)];
    };
    const [a, b] = [span('player'), span('player2')];
    assert.ok(a[0] < b[1] && b[0] < a[1], 'both widgets were classifying at the same time');
    console.log(`# both widgets reached ${WINDOWS} windows in ${seconds.toFixed(1)} s`);

    const modelFetches = requests.filter((u) => new URL(u).pathname.endsWith('/model.gscope'));
    assert.equal(modelFetches.length, 1, `one model fetch for both widgets: ${modelFetches.join(', ')}`);
    assert.equal(await page.evaluate(async () => (await import(new URL('./widget/shared-pool.js', location.href).href)).sharedPools().size), 1, 'one shared engine pool');

    // The widget shows the genre in its shadow root, which the host's rules do not reach.
    const inside = await page.evaluate(() => {
      const root = document.querySelector('genre-scope').shadowRoot;
      const genre = root.querySelector('.genre');
      const cs = getComputedStyle(genre);
      return { text: genre.textContent, color: cs.color, letterSpacing: cs.letterSpacing, transform: cs.textTransform, border: getComputedStyle(root.querySelector('.panel')).borderTopColor };
    });
    assert.equal(inside.text, native.get(path.basename(CLIP_A)).top[0].label);
    assert.notEqual(inside.color, 'rgb(255, 0, 0)', 'host colour rules stay out');
    assert.equal(inside.letterSpacing, 'normal', 'inherited host styles stay out');
    assert.equal(inside.transform, 'none');
    assert.notEqual(inside.border, 'rgb(0, 255, 0)');
    // ... and its styles do not reach the host page.
    assert.deepEqual(await hostStyles(page), stylesBefore, 'host page styles unchanged');
    const playing = await page.evaluate(() => [...document.querySelectorAll('audio')].map((m) => ({ paused: m.paused, t: m.currentTime })));
    assert.ok(playing.every((m) => !m.paused && m.t > 5), `both players kept playing: ${JSON.stringify(playing)}`);
  });

  test('pause stops classifying; seeking restarts the window; a new track clears the widget', { timeout: 120_000 }, async () => {
    const { page } = browser.session;
    const widget = page.locator('genre-scope').first();
    await page.evaluate(() => document.querySelector('#player2').pause());
    await page.evaluate(() => document.querySelector('#player').pause());
    await page.locator('genre-scope[data-state="paused"]').first().waitFor();
    const count = (await eventsOf(page, 'result', 'player')).length;
    await page.waitForTimeout(4_000);
    assert.equal((await eventsOf(page, 'result', 'player')).length, count, 'no result while paused');
    assert.match(await widget.evaluate((w) => w.shadowRoot.querySelector('.msg').textContent), /Paused/);

    // Seek and play: the first result comes only once a whole new window has played.
    const seek = await page.evaluate(async () => {
      const p = document.querySelector('#player');
      p.currentTime = 2;
      await new Promise((r) => p.addEventListener('seeked', r, { once: true }));
      await p.play();
      return performance.now();
    });
    await waitForResults(page, 'player', count + 1, 30_000);
    const next = (await eventsOf(page, 'result', 'player'))[count];
    assert.ok(next.t - seek >= 2_900, `the first window after the seek needs 3 s of new audio (${Math.round(next.t - seek)} ms)`);
    assert.ok(next.window.position >= 4.5 && next.window.position < 8, `stamped with the media time (${next.window.position})`);

    // A new track: the timeline and the genre are cleared, and genrechange starts afresh.
    const changes = (await eventsOf(page, 'genrechange', 'player')).length;
    await page.evaluate(() => {
      const p = document.querySelector('#player');
      p.src = document.querySelector('#player2').src;
      globalThis.clearedAt = null;
      p.addEventListener('emptied', () => {
        const w = document.querySelector('genre-scope');
        globalThis.clearedAt = { current: w.current, genre: w.dataset.genre ?? null, track: w.track.length };
      }, { once: true });
      return p.play();
    });
    await page.waitForFunction((n) => globalThis.widgetEvents.filter((e) => e.type === 'genrechange' && e.player === 'player').length > n, changes, { timeout: 30_000, polling: 200 });
    const cleared = await page.evaluate(() => globalThis.clearedAt);
    // 'emptied' runs the widget's listener first (added earlier), so it has cleared already.
    assert.deepEqual(cleared, { current: null, genre: null, track: 0 });
    const fresh = (await eventsOf(page, 'genrechange', 'player')).at(-1);
    assert.equal(fresh.previous, null, 'a new track starts without a previous genre');
    await page.evaluate(() => document.querySelectorAll('audio').forEach((m) => m.pause()));
  });
});

describe('the widget explains what it cannot hear', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser({ extraArgs: AUTOPLAY });
  });
  after(async () => {
    await browser?.close();
  });

  test('a missing or wrong player is named in the error; detach() lets go', { timeout: 60_000 }, async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await page.goto(`${server.url}player.html`, { waitUntil: 'load' });
      await page.evaluate(recordEvents);
      const codes = await page.evaluate(() => {
        const missing = document.createElement('genre-scope');
        missing.setAttribute('for', 'nope');
        document.body.append(missing);
        const wrong = document.createElement('genre-scope');
        wrong.setAttribute('for', 'note');
        document.body.append(wrong);
        return [missing.dataset.error, wrong.dataset.error, missing.shadowRoot.querySelector('.msg').textContent];
      });
      assert.deepEqual(codes.slice(0, 2), ['no_player', 'not_media']);
      assert.match(codes[2], /no element with id "nope"/);
      const errorsSeen = (await page.evaluate(() => globalThis.widgetEvents.filter((e) => e.type === 'error').map((e) => e.code))).sort();
      assert.deepEqual(errorsSeen, ['no_player', 'not_media']);
      const detached = await page.evaluate(() => {
        const w = document.querySelector('genre-scope[for="player"]');
        const before = w.media?.id;
        w.detach();
        return { before, after: w.media, state: w.dataset.state };
      });
      assert.deepEqual(detached, { before: 'player', after: null, state: 'idle' });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('a muted player: says so, classifies nothing', { timeout: 90_000 }, async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await page.goto(`${server.url}player.html`, { waitUntil: 'load' });
      await page.evaluate(recordEvents);
      await page.locator('genre-scope[data-state="ready"]').waitFor({ timeout: 120_000 });
      await page.evaluate(() => (document.querySelector('#player').muted = true));
      await page.setInputFiles('#file', CLIP_A);
      await page.locator('genre-scope[data-state="listening"]').waitFor();
      await page.waitForTimeout(6_000);
      const shown = await page.evaluate(() => {
        const w = document.querySelector('genre-scope');
        return { genre: w.shadowRoot.querySelector('.genre').textContent, msg: w.shadowRoot.querySelector('.msg').textContent, current: w.current };
      });
      assert.equal(shown.genre, 'muted');
      assert.match(shown.msg, /muted/);
      assert.equal(shown.current, null);
      assert.equal((await eventsOf(page, 'result', 'player')).length, 0, 'muted = silence: nothing classified');
      // Unmuted, it classifies.
      await page.evaluate(() => (document.querySelector('#player').muted = false));
      await waitForResults(page, 'player', 1, 30_000);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('an audio context the autoplay policy holds: says so; a click on the page starts it', { timeout: 90_000 }, async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      // Headless Chromium allows autoplay; simulate a browser that keeps new contexts
      // suspended until the visitor interacts with the page.
      await context.addInitScript(() => {
        globalThis.__gesture = false;
        const Real = globalThis.AudioContext;
        globalThis.AudioContext = class extends Real {
          constructor(...args) {
            super(...args);
            super.suspend();
          }
          resume() {
            return globalThis.__gesture ? super.resume() : new Promise(() => {});
          }
        };
        addEventListener('pointerdown', () => (globalThis.__gesture = true), { capture: true });
      });
      await page.goto(`${server.url}player.html`, { waitUntil: 'load' });
      await page.evaluate(recordEvents);
      await page.locator('genre-scope[data-state="ready"]').waitFor({ timeout: 120_000 });
      await page.setInputFiles('#file', CLIP_A);
      await page.locator('genre-scope[data-state="blocked"]').waitFor({ timeout: 20_000 });
      const [event] = await eventsOf(page, 'error', 'player');
      assert.equal(event.code, 'autoplay_blocked');
      assert.match(await page.evaluate(() => document.querySelector('genre-scope').shadowRoot.querySelector('.msg').textContent), /autoplay policy.*Click/);
      const routed = await page.evaluate(async () => (await import(new URL('./widget/media-input.js', location.href).href)).hasSource(document.querySelector('#player')));
      assert.equal(routed, false, 'a suspended context is not put between the player and the speakers');
      await page.mouse.click(5, 5);
      await waitForResults(page, 'player', 1, 30_000);
      assert.equal(await page.locator('genre-scope').getAttribute('data-state'), 'listening');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('a near-silent track: the result events carry the engine’s silent verdict, and the widget shows it, not a genre', { timeout: 90_000 }, async () => {
    const { page, errors, context } = await openPage(browser);
    let quiet = null;
    try {
      // Noise 20 dB under the model's own silence gate (its RMS), never exact zeros.
      const gate = nativeInfo().silence.thresholdDbfs;
      const amplitude = 10 ** ((gate - 20) / 20) * Math.sqrt(3);
      const rate = 22050;
      let x = 1;
      const noise = Float32Array.from({ length: 12 * rate }, () => {
        x = (x * 1103515245 + 12345) >>> 0;
        return (x / 2 ** 32 - 0.5) * 2 * amplitude;
      });
      quiet = writeTempWav('quiet.wav', noise, rate);
      await page.goto(`${server.url}player.html`, { waitUntil: 'load' });
      await page.evaluate(recordEvents);
      await page.locator('genre-scope[data-state="ready"]').waitFor({ timeout: 120_000 });
      await page.setInputFiles('#file', quiet);
      await waitForResults(page, 'player', 2, 60_000);
      await page.evaluate(() => document.querySelector('#player').pause());
      const results = await eventsOf(page, 'result', 'player');
      assert.ok(results.every((r) => r.verdict.kind === 'silent'), results.map((r) => r.verdict.kind).join(' '));
      assert.ok(results.every((r) => r.genre === null && r.top.length === 0), 'no genre from silence');
      assert.deepEqual(await eventsOf(page, 'genrechange', 'player'), []);
      assert.deepEqual(await eventsOf(page, 'error', 'player'), [], 'not digital silence: no no_signal warning');
      const shown = await page.evaluate(() => {
        const w = document.querySelector('genre-scope');
        return { genre: w.shadowRoot.querySelector('.genre').textContent, kind: w.shadowRoot.querySelector('.panel').dataset.kind, verdict: w.dataset.verdict, current: w.current };
      });
      assert.equal(shown.genre, results.at(-1).verdict.text, 'the engine’s text');
      assert.equal(shown.kind, 'silent', 'styled as silence');
      assert.equal(shown.verdict, 'silent');
      assert.equal(shown.current.verdict.kind, 'silent');
      assert.deepEqual(errors, []);
    } finally {
      if (quiet) rmSync(path.dirname(quiet), { recursive: true, force: true });
      await context.close();
    }
  });

  test('a cross-origin track without CORS: a clear message, and the player is left alone', { timeout: 60_000 }, async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      // Another site, simulated in the browser: nothing leaves the machine. No CORS headers.
      const wav = readFileSync(CLIP_A);
      await context.route('http://music.example/**', (route) => route.fulfill({ status: 200, contentType: 'audio/wav', body: wav }));
      await page.goto(`${server.url}player.html`, { waitUntil: 'load' });
      await page.evaluate(recordEvents);
      await page.locator('genre-scope[data-state="ready"]').waitFor({ timeout: 120_000 });
      await page.evaluate(() => {
        const p = document.querySelector('#player');
        p.src = 'http://music.example/country.wav';
        return p.play();
      });
      await page.locator('genre-scope[data-error="cross_origin"]').waitFor({ timeout: 20_000 });
      const [event] = await eventsOf(page, 'error', 'player');
      assert.equal(event.code, 'cross_origin');
      assert.match(event.message, /music\.example.*CORS/);
      const state = await page.evaluate(async () => {
        const { hasSource } = await import(new URL('./widget/media-input.js', location.href).href);
        const p = document.querySelector('#player');
        return { hasSource: hasSource(p), paused: p.paused, msg: document.querySelector('genre-scope').shadowRoot.querySelector('.msg').textContent };
      });
      assert.equal(state.hasSource, false, 'the player’s sound is not routed through Web Audio (it would go silent)');
      assert.equal(state.paused, false, 'the player still plays');
      assert.match(state.msg, /another site/);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
