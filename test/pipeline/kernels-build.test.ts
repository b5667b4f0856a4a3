// Every committed WebAssembly kernel (pipeline/kernels/*.wasm) is what `npm run build:wasm` makes of
// its AssemblyScript entry today, and the shared band pool (pipeline/kernels/wasm.ts) runs bands on
// every thread, sums what they return and fails with a line naming the kernel when its workers are gone.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createBandPool, kernelArena, kernelModule, rowBands } from '../../pipeline/kernels/wasm.js';
import { tempDir } from '../helpers/tmp.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const kernelsDir = join(repoRoot, 'pipeline/kernels');

test('each committed .wasm equals a fresh build of its assembly/ entry, and every entry has one', async (t) => {
  const dir = await tempDir(t);
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-wasm.mjs'), '--out', dir], { cwd: repoRoot, stdio: 'pipe' });
  const fresh = readdirSync(dir).filter((n) => n.endsWith('.wasm')).sort();
  const entries = readdirSync(join(kernelsDir, 'assembly')).filter((n) => n.endsWith('.ts')).map((n) => n.replace(/\.ts$/, '.wasm')).sort();
  t.deepEqual(fresh, entries);
  t.true(fresh.includes('debevec.wasm'));
  for (const name of fresh) {
    t.true(readFileSync(join(dir, name)).equals(readFileSync(join(kernelsDir, name))), `pipeline/kernels/${name} is stale: run npm run build:wasm and commit it`);
  }
});

test('rowBands splits rows at row boundaries into at most `bands` ranges that cover the strip', (t) => {
  t.deepEqual(rowBands(10, 3, 3), [[0, 9], [9, 21], [21, 30]]);
  t.deepEqual(rowBands(2, 4, 4), [[0, 4], [4, 8]]);
  t.deepEqual(rowBands(5, 2, 1), [[0, 10]]);
});

test('a band pool runs one band per thread over shared memory and sums their results; closed, it fails naming the kernel', async (t) => {
  const arena = kernelArena('debevec')!;
  t.truthy(arena);
  const at = arena.take(4 * 64);
  const made = arena.instantiate<unknown>()!;
  const view = new Int32Array(made.memory.buffer, at, 64);
  // Plain JS bands (the pool does not care what a band calls): each writes its range and returns its length.
  const pool = createBandPool({
    name: 'probe',
    module: kernelModule('debevec')!,
    memory: made.memory,
    exports: made.exports,
    bandSource: 'function runBand(ex, L, start, end, job) { const v = new Int32Array(ex.memory ? ex.memory.buffer : L.buf, L.at, 64); for (let i = start; i < end; i++) v[i] = job.mark + i; return end - start; }',
    layout: { at, buf: made.memory.buffer },
    threads: 3,
  });
  t.is(pool.threads, 3);
  t.is(await pool.run(rowBands(8, 8, 3), { mark: 1000 }), 64);
  for (let i = 0; i < 64; i++) t.is(view[i], 1000 + i);
  await t.throwsAsync(pool.run(rowBands(8, 8, 4), { mark: 0 }), { message: /4 bands for 3 threads/ });
  await pool.close();
  await t.throwsAsync(pool.run(rowBands(8, 8, 2), { mark: 0 }), { message: /probe kernels closed/ });
});
