// A tiny static file server for web/ (no dependencies).
//
// Used by `./build.sh serve` and by the browser tests. It only serves files inside its root,
// only to 127.0.0.1 by default, with the MIME types the browser needs for ES modules and
// `WebAssembly.instantiateStreaming` (application/wasm), and `Cache-Control: no-cache` so a
// rebuilt wasm is always picked up.
//
//   node tests/browser/serve.mjs [--port 8000] [--host 127.0.0.1] [--root web]
//
// As a module: `const srv = await startServer({ root, port: 0 }); srv.url; await srv.close();`

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository's web/ directory, the default root. */
export const DEFAULT_ROOT = path.resolve(here, '..', '..', 'web');

/** Content types by lower-case file extension; anything else is application/octet-stream. */
export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.au': 'audio/basic',
};

function send(res, status, body) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : `${status} ${body}\n`);
}

/** True when `p` is `root` itself or inside it (both absolute, normalised). */
function isInside(root, p) {
  return p === root || p.startsWith(root + path.sep);
}

/**
 * Maps a request path to a file under `root`, or returns an HTTP status on refusal.
 * Percent-decoding happens before the check, so `/%2e%2e/` cannot escape; symlinks are
 * resolved and checked again.
 */
async function resolveFile(root, rawUrl) {
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(rawUrl, 'http://localhost').pathname);
  } catch {
    return { status: 400 };
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return { status: 400 };
  // `new URL` already collapses plain `..` segments; check the raw URL too, since a client can
  // send anything on the request line.
  const rawPath = rawUrl.split(/[?#]/, 1)[0];
  let rawDecoded;
  try {
    rawDecoded = decodeURIComponent(rawPath);
  } catch {
    return { status: 400 };
  }
  if (rawDecoded.split('/').includes('..')) return { status: 403 };

  let file = path.resolve(root, '.' + path.posix.normalize('/' + pathname));
  if (!isInside(root, file)) return { status: 403 };
  let info;
  try {
    info = await stat(file);
    if (info.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file);
    }
    const real = await realpath(file);
    if (!isInside(root, real)) return { status: 403 };
  } catch {
    return { status: 404 };
  }
  if (!info.isFile()) return { status: 404 };
  return { file, size: info.size, mtime: info.mtime };
}

/** The file `overrides` puts at the request's path, if any (see `startServer`). */
async function overrideFile(overrides, rawUrl) {
  if (!overrides) return null;
  let pathname;
  try {
    pathname = new URL(rawUrl, 'http://localhost').pathname;
  } catch {
    return null;
  }
  const file = overrides[pathname];
  if (!file) return null;
  const info = await stat(file);
  return { file, size: info.size, mtime: info.mtime };
}

/**
 * Whether a conditional request's copy is current: `If-None-Match` lists `etag` (or `*`), or,
 * without `If-None-Match`, `If-Modified-Since` is not older than `mtime` (whole seconds).
 */
export function isFresh(headers, etag, mtime) {
  const match = headers['if-none-match'];
  if (match !== undefined) {
    return match.split(',').some((t) => {
      const tag = t.trim();
      return tag === '*' || tag === etag || tag === `W/${etag}`;
    });
  }
  const since = Date.parse(headers['if-modified-since'] ?? '');
  return Number.isFinite(since) && Math.floor(mtime.getTime() / 1000) * 1000 <= since;
}

/**
 * Starts the server. `port: 0` picks a free port. Resolves once listening, with the base URL
 * (`http://127.0.0.1:PORT/`) and a `close()` that also drops open keep-alive connections.
 * `responses` (an array), if given, receives `{method, url, status}` for every file served
 * (status 200, or 304 when the client's copy was current). `overrides` (an object), if
 * given, maps URL paths (e.g. `/models/default/model.gscope`) to files served in their place.
 */
export async function startServer({ root = DEFAULT_ROOT, port = 8000, host = '127.0.0.1', log = false, responses = null, overrides = null } = {}) {
  const rootReal = await realpath(path.resolve(root));
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'Method Not Allowed');
    }
    const found = (await overrideFile(overrides, req.url ?? '/')) ?? (await resolveFile(rootReal, req.url ?? '/'));
    if (log) console.log(`${req.method} ${req.url} ${found.status ?? 200}`);
    if (found.status) {
      const text = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found' }[found.status];
      return send(res, found.status, text);
    }
    const type = MIME_TYPES[path.extname(found.file).toLowerCase()] ?? 'application/octet-stream';
    // Validators, as static hosts send them: with 'no-cache' the browser revalidates every
    // time and a 304 spares the body (the service worker's first fill then costs no second
    // download of what the page has just loaded).
    const etag = `"${found.size.toString(16)}-${Math.floor(found.mtime.getTime()).toString(16)}"`;
    const validators = { ETag: etag, 'Last-Modified': found.mtime.toUTCString(), 'Cache-Control': 'no-cache' };
    if (isFresh(req.headers, etag, found.mtime)) {
      responses?.push({ method: req.method, url: req.url, status: 304 });
      res.writeHead(304, validators);
      return res.end();
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': found.size,
      ...validators,
      'X-Content-Type-Options': 'nosniff',
    });
    responses?.push({ method: req.method, url: req.url, status: 200 });
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    port: addr.port,
    url: `http://${shownHost}:${addr.port}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

function parseArgs(argv) {
  const opts = { port: 8000, host: '127.0.0.1', root: DEFAULT_ROOT, log: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port' || a === '-p') opts.port = Number(value());
    else if (a === '--host') opts.host = value();
    else if (a === '--root') opts.root = path.resolve(value());
    else if (a === '--log') opts.log = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node serve.mjs [--port N] [--host ADDR] [--root DIR] [--log]');
      process.exit(0);
    } else if (/^\d+$/.test(a)) opts.port = Number(a);
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`invalid port: ${opts.port}`);
  }
  return opts;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve.mjs: ${e.message}`);
    process.exit(2);
  }
  try {
    const srv = await startServer(opts);
    console.log(`Serving ${opts.root} at ${srv.url}  (Ctrl-C to stop)`);
    const stop = async () => {
      await srv.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    const hint = e.code === 'EADDRINUSE' ? ` (port ${opts.port} is in use; pass another port)` : '';
    console.error(`serve.mjs: ${e.message}${hint}`);
    process.exit(1);
  }
}
