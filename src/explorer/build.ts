// Builds the explorer's browser bundle (build/explorer/app.js) from src/explorer/app.ts with esbuild:
// one file, no build server. The page runs the same light-client code as the CLI (src/light/); the
// few Node-only pieces under it are swapped for browser ones here: sodium-native -> @noble
// (shims/sodium.ts), node:fs/path/url -> stubs never called in the page, Buffer -> the `buffer`
// package. Run by `npm run build:explorer` (CI) and by the node on the first request for the bundle
// when it is missing or older than its sources.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const EXPLORER_SRC = join(REPO_ROOT, 'src', 'explorer');
export const UPLOT_DIR = join(REPO_ROOT, 'node_modules', 'uplot', 'dist');
export const BUNDLE = join(REPO_ROOT, 'build', 'explorer', 'app.js');
const SOURCES = ['src/explorer', 'src/light', 'src/core', 'src/hierarchy', 'src/shard', 'src/trie', 'src/proof'].map((d) => join(REPO_ROOT, d));

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function bundleIsFresh(): boolean {
  if (!existsSync(BUNDLE)) return false;
  const built = statSync(BUNDLE).mtimeMs;
  return SOURCES.every((d) => !existsSync(d) || newestMtime(d) <= built);
}

/** Builds the bundle; writes it to BUNDLE when `write` (a read-only install keeps it in memory only). */
export async function buildExplorer(write = true): Promise<{ file: string; bytes: number; text: string }> {
  const esbuild = await import('esbuild');
  const shims = join(EXPLORER_SRC, 'shims');
  const nodeStub = join(shims, 'node-fs.ts');
  const r = await esbuild.build({
    entryPoints: [join(EXPLORER_SRC, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    outfile: BUNDLE,
    write: false,
    inject: [join(shims, 'buffer.ts')],
    define: { 'process.env.NODE_DEBUG': 'false', global: 'globalThis' },
    logLevel: 'silent',
    plugins: [{
      name: 'smt-browser',
      setup(b) {
        b.onResolve({ filter: /^sodium-native$/ }, () => ({ path: join(shims, 'sodium.ts') }));
        b.onResolve({ filter: /^node:(fs|path|url|os)$/ }, () => ({ path: nodeStub }));
        b.onResolve({ filter: /^node:crypto$/ }, () => ({ path: join(shims, 'node-crypto.ts') }));
        b.onResolve({ filter: /^circomlibjs$/ }, () => ({ path: join(shims, 'circomlibjs.ts') }));
        // our sources import siblings as .js (NodeNext); the files are .ts
        b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (a) => {
          const ts = join(a.resolveDir, a.path.slice(0, -3) + '.ts');
          return existsSync(ts) ? { path: ts } : undefined;
        });
      },
    }],
  });
  const out = r.outputFiles[0]!;
  if (write) {
    mkdirSync(dirname(BUNDLE), { recursive: true });
    writeFileSync(BUNDLE, out.contents);
  }
  return { file: BUNDLE, bytes: out.contents.length, text: out.text };
}

let building: Promise<string> | undefined;
let inMemory: string | undefined;
/** The bundle's text, built first if missing or stale (one build at a time; kept in memory if the checkout is read-only). */
export async function ensureExplorerBundle(): Promise<string> {
  if (inMemory !== undefined) return inMemory;
  if (bundleIsFresh()) return readFileSync(BUNDLE, 'utf8');
  building ??= (async () => {
    try {
      return (await buildExplorer(true)).text;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
      return (inMemory = (await buildExplorer(false)).text);
    }
  })().finally(() => (building = undefined));
  return building;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await buildExplorer();
  console.log(`built ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB)`);
}
