// Compile every WebAssembly kernel: each top-level pipeline/kernels/assembly/NAME.ts is an entry
// built to pipeline/kernels/NAME.wasm (shared AssemblyScript helpers live in assembly/lib/).
// `--out DIR` writes the modules there instead (the test that checks the committed .wasm uses it).
// One set of flags for every kernel: shared imported memory (workers run bands of the same buffers),
// SIMD, no runtime (kernels never allocate), no assertions.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';

export const ASC_FLAGS = [
  '-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--sharedMemory',
  '--initialMemory', '1', '--maximumMemory', '65536', '--enable', 'simd,threads', '--use', 'abort=',
];
const source = 'pipeline/kernels/assembly';

export function kernelEntries() {
  return readdirSync(source).filter((n) => n.endsWith('.ts')).map((n) => n.slice(0, -3)).sort();
}

export function buildKernel(name, outDir = 'pipeline/kernels') {
  const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
  execFileSync(process.execPath, [asc, join(source, `${name}.ts`), '-o', join(outDir, `${name}.wasm`), ...ASC_FLAGS], { stdio: 'inherit' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = process.argv.indexOf('--out');
  const outDir = o > 0 ? process.argv[o + 1] : 'pipeline/kernels';
  for (const name of kernelEntries()) buildKernel(name, outDir);
}
