// Times "Your own genres" in the page on the CPU path: for 10, 50 and 200 examples (10 s
// excerpts of the shared GTZAN clips, 3 patches each; 2, 10 and 10 genres), how long
// the page takes to analyse them (the engine pool, every worker) and to train (the training
// module in its worker: 5-fold cross-validation and the final fit). Each size runs in a fresh
// browser profile, so no embedding is cached. Prints one JSON document to stdout; progress
// on stderr.
//
//   node tests/browser/own-bench.mjs [--sizes 10,50,200] [--seconds 10]
//
// Not a test (CI does not run it); tests/browser/own-genres.test.mjs checks the feature.

import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, SHIPPED_MODEL, launchBrowser, offsiteRequests, startWebServer, wavExcerpt } from './harness.mjs';

const GENRES_DIR = path.resolve(REPO, '..', 'shared', 'data', 'gtzan-mini', 'genres');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/**
 * `count` distinct excerpts in `count / 5` genres (2 to 10; 5 examples each, more when there
 * are more than 50): every clip's first excerpt, then its second, …
 */
function examples(count, seconds) {
  const genres = readdirSync(GENRES_DIR).sort().slice(0, Math.min(10, Math.max(2, Math.floor(count / 5))));
  const clips = genres.map((g) => readdirSync(path.join(GENRES_DIR, g)).filter((f) => f.endsWith('.wav')).sort().map((f) => path.join(GENRES_DIR, g, f)));
  const out = Object.fromEntries(genres.map((g) => [g, []]));
  for (let i = 0; i < count; i++) {
    const g = i % genres.length;
    const k = Math.floor(i / genres.length);
    const clip = clips[g][k % clips[g].length];
    const part = Math.floor(k / clips[g].length);
    out[genres[g]].push({ name: `${path.basename(clip, '.wav')}-${part}.wav`, mimeType: 'audio/wav', buffer: wavExcerpt(clip, seconds, part * seconds) });
  }
  return Object.entries(out).filter(([, files]) => files.length);
}

const sizes = arg('sizes', '10,50,200').split(',').map(Number);
const seconds = Number(arg('seconds', '10'));
const server = await startWebServer({ model: SHIPPED_MODEL });
const runs = [];
try {
  for (const size of sizes) {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const context = await browser.newContext();
      const requests = [];
      context.on('request', (r) => requests.push(r.url()));
      const page = await context.newPage();
      await page.goto(server.url, { waitUntil: 'load' });
      await page.locator('#engine[data-settled="yes"]').waitFor({ timeout: 180_000 });
      await page.locator('#own[data-available="yes"]').waitFor({ timeout: 30_000 });
      const groups = examples(size, seconds);
      const t0 = Date.now();
      for (const [genre, files] of groups) {
        await page.fill('#own-category-name', genre);
        await page.click('#own-add button[type="submit"]');
        await page.locator(`.own-category[data-name="${genre}"] input[type="file"]`).setInputFiles(files);
      }
      await page.waitForFunction((n) => document.querySelectorAll('.own-example[data-state="ready"]').length === n, size, { timeout: 3_600_000, polling: 100 });
      const analyseMs = Date.now() - t0;
      const t1 = Date.now();
      await page.click('#own-train');
      await page.locator('#own-report[data-state="done"]').waitFor({ timeout: 3_600_000 });
      const trainMs = Date.now() - t1;
      const report = await page.evaluate(() => globalThis.genrescope.own.training.report);
      const run = {
        examples: size,
        categories: groups.length,
        secondsEach: seconds,
        patches: report.patches,
        workers: await page.evaluate(() => globalThis.genrescope.pool.status.workers),
        analyseMs,
        trainMs,
        trainModuleMs: Math.round(report.trainMs),
        folds: report.folds,
        accuracy: report.accuracy,
        offsite: offsiteRequests(requests, server.url),
      };
      console.error(`# ${size} examples: analysed in ${(analyseMs / 1000).toFixed(1)} s, trained in ${(trainMs / 1000).toFixed(1)} s (${run.folds} folds, ${(100 * run.accuracy).toFixed(1)} %)`);
      runs.push(run);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
console.log(JSON.stringify({ machine: { cores: os.cpus().length }, runs }, null, 2));
