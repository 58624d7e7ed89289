/**
 * The built browser app (dist/ui, written by `vite build` in `npm run build`), read once and
 * served from memory: a few small files, hashed names, no CDN.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Uint8Array;
  type: string;
  /** Vite puts a content hash in every name under assets/: cache them for good. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** dist/ui: beside this module when it runs built (dist/src/ui), under dist/ when run from source (tests). */
export const DEFAULT_ASSET_DIR = fileURLToPath(new URL(/\/dist\/src\/ui\/[^/]+$/.test(import.meta.url) ? '../../ui/' : '../../dist/ui/', import.meta.url));

export class AssetsMissingError extends Error {
  constructor(dir: string) {
    super(`the web UI is not built (no ${join(dir, 'index.html')}): run npm run build`);
    this.name = 'AssetsMissingError';
  }
}

/** Every file under `dir`, keyed by URL path relative to it ("index.html", "assets/index-abc.js"). */
export function loadAssets(dir = DEFAULT_ASSET_DIR): Map<string, Asset> {
  if (!existsSync(join(dir, 'index.html'))) throw new AssetsMissingError(dir);
  const out = new Map<string, Asset>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const key = relative(dir, p).split(sep).join('/');
        out.set(key, { body: readFileSync(p), type: TYPES[extname(p)] ?? 'application/octet-stream', immutable: key.startsWith('assets/') });
      }
    }
  };
  walk(dir);
  return out;
}
