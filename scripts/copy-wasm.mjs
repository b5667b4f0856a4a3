// After tsc: put the built WebAssembly kernels beside their compiled loaders in dist/ (tsc copies
// only .ts output), so `new URL('./x.wasm', import.meta.url)` resolves from the sources and from dist.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const from = 'pipeline/kernels';
const to = join('dist', from);
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) if (name.endsWith('.wasm')) copyFileSync(join(from, name), join(to, name));
