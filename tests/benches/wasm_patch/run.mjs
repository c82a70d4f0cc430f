// Wasm single-thread timing of one MusiCNN forward pass (`forward_all`, batch 1 and 10), the
// page's CPU path without the page (the Burn-free network the page's CPU engine runs, and the
// same network through Burn, as the CPU engine built with Burn runs it): builds the `wasm_patch` example (lib.rs beside this file)
// for wasm32-unknown-unknown with +simd128 and the `wasm-release` profile into
// target/wasm-bench, runs wasm-bindgen (--target nodejs) and times it in Node.
//
// Run from the repository root:
//   node tests/benches/wasm_patch/run.mjs            # build, then time
//   node tests/benches/wasm_patch/run.mjs --no-build # time the last build
// WASM_BENCH_TARGET_DIR overrides the target dir.
// Options: --runs N (timed runs per batch size, default 7; the median is printed); --front
// also times the backbone's front end alone (`Musicnn::front_end`); --pkg DIR times a build
// kept from before (a copy of target/wasm-bench/pkg) instead of building; --relaxed builds
// with the `relaxed-simd` feature (fused multiply-adds, the page's relaxed CPU engine) into
// target/wasm-bench-relaxed (Node 20 needs `node --experimental-wasm-relaxed-simd` for it).
//
// Prints ms per patch (median of the runs) for each batch size, and a checksum of the outputs
// (weights are random per run, so it only shows the pass produced finite numbers).

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { relaxedSimdAvailable } from '../../../web/lib/backend.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const args = process.argv.slice(2);
const relaxed = args.includes('--relaxed');
const targetDir = process.env.WASM_BENCH_TARGET_DIR ?? path.join(root, relaxed ? 'target/wasm-bench-relaxed' : 'target/wasm-bench');
const pkgAt = process.argv.indexOf('--pkg');
const outDir = pkgAt >= 0 ? path.resolve(process.argv[pkgAt + 1]) : path.join(targetDir, 'pkg');
if (relaxed && !relaxedSimdAvailable()) {
  console.error('this Node has no relaxed SIMD: run it as `node --experimental-wasm-relaxed-simd tests/benches/wasm_patch/run.mjs --relaxed`');
  process.exit(2);
}
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 7;

if (!args.includes('--no-build') && pkgAt < 0) {
  const env = {
    ...process.env,
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS: '-C target-feature=+simd128',
  };
  execFileSync(
    'cargo',
    [
      'build', '--profile', 'wasm-release', '--target', 'wasm32-unknown-unknown',
      '-p', 'genrescope', '--example', 'wasm_patch',
      '--no-default-features', '--features', relaxed ? 'relaxed-simd,burn' : 'engine,burn', '--target-dir', targetDir,
    ],
    { cwd: root, env, stdio: 'inherit' },
  );
  execFileSync(
    'wasm-bindgen',
    [
      '--target', 'nodejs', '--out-dir', outDir,
      path.join(targetDir, 'wasm32-unknown-unknown/wasm-release/examples/wasm_patch.wasm'),
    ],
    { cwd: root, stdio: 'inherit' },
  );
}

const require = createRequire(import.meta.url);
const { PatchBench } = require(path.join(outDir, 'wasm_patch.js'));
const bench = new PatchBench();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (what, run, batch) => {
  let checksum = run(batch); // warm-up
  const perPatch = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    checksum = run(batch);
    perPatch.push((performance.now() - start) / batch);
  }
  const shown = perPatch.map((ms) => ms.toFixed(1)).join(' ');
  console.log(
    `${what}, batch ${batch}: ${median(perPatch).toFixed(1)} ms per patch (median of ${runs}: ${shown}); checksum ${checksum.toFixed(3)}`,
  );
};
for (const batch of [1, 10]) {
  time('forward_all, Burn-free (the page\'s CPU engine)', (b) => bench.plain(b), batch);
  time('forward_all, Burn', (b) => bench.run(b), batch);
}
if (args.includes('--front')) {
  for (const batch of [1, 10]) {
    time('front end only', (b) => bench.front(b), batch);
  }
}
