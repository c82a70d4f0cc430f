// Peak memory of the page on files that lie about (or really hold) a huge amount of audio:
// each file goes to a fresh one-worker engine pool (the bench page's, web/lib/bench-run.js)
// on the CPU path and, with --enable-unsafe-webgpu, the WebGPU path; the report gives each
// file's outcome (verdict or error) and the worker's wasm memory after it (engine and
// decoder module; wasm memory never shrinks, so this is the worker's peak).
//
//   python3 tests/fixtures/hostile/make_lying.py /tmp/genrescope-lying
//   node tests/browser/memory.mjs [--dir /tmp/genrescope-lying] [--backends cpu,webgpu]
//
// Not a test (no *.test.mjs): the files are too big to commit. The native side is
// tests/memory/measure.py. Needs `./build.sh build` first. JSON on stdout.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { launchBrowser } from './harness.mjs';
import { startServer } from './serve.mjs';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const dir = option('dir', '/tmp/genrescope-lying');
const backends = option('backends', 'cpu,webgpu').split(',');
const files = readdirSync(dir).filter((n) => statSync(path.join(dir, n)).size < 400 << 20).sort();
const overrides = Object.fromEntries(files.map((n) => [`/lying/${n}`, path.join(dir, n)]));
const server = await startServer({ port: 0, overrides });
const report = { files: {}, backends: {} };
for (const n of files) report.files[n] = statSync(path.join(dir, n)).size;

try {
  for (const backend of backends) {
    const browser = await launchBrowser({ webgpu: backend === 'webgpu' });
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}bench.html?backends=${backend}`);
      report.backends[backend] = [];
      for (const name of files) {
        // A fresh pool (and worker) per file, so each figure is that file's own peak.
        const outcome = await page.evaluate(
          async ({ name, backend }) => {
            const { startBackend } = await import('./lib/bench-run.js');
            const { pool, reason } = await startBackend(backend);
            if (!pool) return { error: `backend ${backend} unavailable: ${reason}` };
            const blob = await (await fetch(`/lying/${name}`)).blob();
            const t0 = performance.now();
            try {
              const r = await pool.classifyFile(new File([blob], name));
              return { verdict: r.verdict.text, seconds: r.source?.durationSeconds, memory: r.memory, ms: performance.now() - t0 };
            } catch (err) {
              return { error: err.message, code: err.code, memory: err.memory, ms: performance.now() - t0 };
            } finally {
              for (const w of pool.workers) w.terminate();
            }
          },
          { name, backend },
        );
        const mb = (b) => Math.round((b ?? 0) / 1e5) / 10;
        const line = { file: name, ...outcome, engineMB: mb(outcome.memory?.engineBytes), decoderMB: mb(outcome.memory?.decoderBytes) };
        delete line.memory;
        process.stderr.write(`${backend} ${name}: ${JSON.stringify(line)}\n`);
        report.backends[backend].push(line);
      }
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
console.log(JSON.stringify(report, null, 2));
