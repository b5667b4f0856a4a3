// For benches that measure the compiled pipeline (--dist): dist/ must be at least as new as every
// source and kernel it was built from, or the figures would be of old code.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir: string, ok: (name: string) => boolean): { path: string; ms: number } {
  let best = { path: '', ms: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const n = e.isDirectory() ? (e.name === 'assembly' ? { path: '', ms: 0 } : newest(p, ok)) : ok(e.name) ? { path: p, ms: statSync(p).mtimeMs } : { path: '', ms: 0 };
    if (n.ms > best.ms) best = n;
  }
  return best;
}

/** Throws a one-line error naming the stale source when dist/ is older than pipeline/ or lib/. */
export function assertDistFresh(root: string): void {
  const built = join(root, 'dist', 'pipeline', 'hdr', 'merge.js');
  let builtMs: number;
  try {
    builtMs = statSync(built).mtimeMs;
  } catch {
    throw new Error(`--dist: ${built} missing: run \`npm run build\` first`);
  }
  for (const dir of ['pipeline', 'lib']) {
    const n = newest(join(root, dir), (f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.wasm'));
    if (n.ms > builtMs) throw new Error(`--dist: ${n.path} is newer than dist/: run \`npm run build\` first`);
  }
}
