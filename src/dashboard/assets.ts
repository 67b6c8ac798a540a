/**
 * The console's files: what Vite built from `web/` into `dist/console/` (see
 * ./build-console.ts), read into memory once. The image ships the built folder; a
 * checkout builds it with `npm test`, `npm start` or `codedance dashboard`.
 *
 * When the folder is missing the page says how to build it instead of failing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the dashboard serves. */
export interface Asset {
  type: string;
  body: Buffer;
  /** Its name carries a content hash: browsers may cache it for good. */
  immutable: boolean;
}

/** Where the build goes: `<repo>/dist/console/` (the image has the same layout under /app). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Codedance</title></head>
<body><h1>The console is not built</h1><p>Run <code>npm run build:console</code> (or <code>npm start</code>) in the Codedance checkout, then reload.</p></body></html>`;

/** The files under `dir` by URL path (`/`, `/assets/index-abc.js`); source maps are left out. */
export function consoleAssets(dir = CONSOLE_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(join(dir, 'index.html'))) {
    assets.set('/', { type: TYPES['.html']!, body: Buffer.from(NOT_BUILT), immutable: false });
    return assets;
  }
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.map')) continue;
    const file = join(entry.parentPath, entry.name);
    const path = `/${relative(dir, file).split(sep).join('/')}`;
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    assets.set(path, { type, body: readFileSync(file), immutable: path.startsWith('/assets/') });
  }
  assets.set('/', assets.get('/index.html')!);
  return assets;
}
