import test from 'ava';
import { createAccumulator, parseMethod, type StackMethod } from '../../pipeline/stack/methods.js';

const info = (b: number, noise = 0.01) => ({ background: [b], noise: [noise] });

function run(method: StackMethod, frames: number[][], bgs: number[]): number[] {
  const acc = createAccumulator(method, frames[0]!.length, 1);
  frames.forEach((f, i) => acc.push(Float32Array.from(f), info(bgs[i]!)));
  return Array.from(acc.result());
}

test('seed methods follow their documented per-pixel formulas on 0..1 data', (t) => {
  const F = [[0.2, 0.5, NaN], [0.4, 0.1, 0.3], [0.1, 0.3, 0.6]];
  const b = [0.1, 0.05, 0.2];
  const close = (a: number[], e: number[]) => a.forEach((v, i) => t.true(Math.abs(v - e[i]!) < 1e-6, `${i}: ${v} vs ${e[i]}`));
  close(run('ADD', F, b), [0.7, 0.9, 0.9]);
  const add2 = (s: number, f: number) => s + f - s * f;
  close(run('ADD2', F, b), [add2(add2(0.2, 0.4), 0.1), add2(add2(0.5, 0.1), 0.3), add2(0.3, 0.6)]);
  close(run('ADDMAX', F, b), [0.4, 0.5, 0.6]);
  const am2 = (s: number, f: number) => (f > s ? f : (s + f) / 2);
  close(run('ADDMAX2', F, b), [am2(am2(0.2, 0.4), 0.1), am2(am2(0.5, 0.1), 0.3), am2(0.3, 0.6)]);
  close(run('ADDMEAN', F, b), [0.7 / 3, 0.9 / 3, 0.45]);
  // ADDCOMP: first frame whole, later frames minus their sky.
  close(run('ADDCOMP', F, b), [0.2 + (0.4 - 0.05) + (0.1 - 0.2), 0.5 + (0.1 - 0.05) + (0.3 - 0.2), 0.3 + (0.6 - 0.2)]);
  close(run('max', F, b), [0.4, 0.5, 0.6]);
  close(run('mean', F, b), [0.7 / 3, 0.9 / 3, 0.45]);
});

test('sigma: running kappa-sigma rejects an outlier after warm-up and keeps the clean mean', (t) => {
  const acc = createAccumulator('sigma', 1, 1, { kappa: 3 });
  const vals = [0.10, 0.11, 0.09, 0.10, 0.9, 0.10, 0.11];
  let rejected = 0;
  for (const v of vals) rejected += acc.push(Float32Array.of(v), info(0.1, 0.005));
  t.is(rejected, 1);
  t.true(Math.abs(acc.result()[0]! - (0.10 + 0.11 + 0.09 + 0.10 + 0.10 + 0.11) / 6) < 1e-6);
});

test('sigma: an outlier among the first three values is taken out leave-one-out; the warm-up plane is released after six frames', (t) => {
  const acc = createAccumulator('sigma', 2, 1, { kappa: 3 });
  // pixel 0: a trail in the second frame; pixel 1: clean
  const frames = [[0.10, 0.10], [0.60, 0.11], [0.11, 0.09], [0.09, 0.10], [0.10, 0.10], [0.10, 0.11]];
  let rejected = 0;
  for (const [k, f] of frames.entries()) {
    rejected += acc.push(Float32Array.from(f), info(0.1, 0.005));
    t.is('H' in acc.buffers, k < 5, `after frame ${k + 1}`);
  }
  t.is(rejected, 1);
  t.true(Math.abs(acc.result()[0]! - (0.10 + 0.11 + 0.09 + 0.10 + 0.10) / 5) < 1e-6, String(acc.result()[0]));
  t.true(Math.abs(acc.result()[1]! - (0.10 + 0.11 + 0.09 + 0.10 + 0.10 + 0.11) / 6) < 1e-6);
  // still rejecting after the plane is gone
  t.is(acc.push(Float32Array.of(0.9, 0.1), info(0.1, 0.005)), 1);
});

test('ALL means the six seed methods; unknown names are refused', (t) => {
  t.deepEqual(parseMethod('all'), ['ADD', 'ADD2', 'ADDMAX', 'ADDMAX2', 'ADDMEAN', 'ADDCOMP']);
  t.deepEqual(parseMethod('Sigma'), ['sigma']);
  t.throws(() => parseMethod('median'), { message: /--method: unknown method "median"/ });
});
