// Shared helpers for the browser tests: a static server on a free port and a headless
// Debian Chromium driven by playwright-core (its own browser download is not used).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { DEFAULT_ROOT, startServer } from './serve.mjs';

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

/**
 * Starts the static server for web/ on a free port. Fails early with a hint when the wasm
 * package has not been built yet.
 */
export async function startWebServer({ root = DEFAULT_ROOT } = {}) {
  const wasm = path.join(root, 'pkg', 'genrescope_bg.wasm');
  if (!existsSync(wasm)) {
    throw new Error(`${wasm} is missing: run ./build.sh build first`);
  }
  return startServer({ root, port: 0 });
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
 * want to assert on: every request URL (pages and workers alike), uncaught page errors and
 * console errors.
 */
export async function openPage(browser) {
  const context = await browser.newContext();
  const requests = [];
  const errors = [];
  context.on('request', (req) => requests.push(req.url()));
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { context, page, requests, errors };
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
