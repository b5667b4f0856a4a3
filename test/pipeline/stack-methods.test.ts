import test from 'ava';
import { createAccumulator, parseMethod, type StackMethod } from '../../pipeline/stack/methods.js';

const info = (b: number, noise = 0.01) => ({ background: [b], noise: [noise] });

function run(method: StackMethod, frames: number[][], bgs: number[]): number[] {
  const acc = createAccumulator(method, frames[0]!.length, 1);
  frames.forEach((f, i) => acc.push(Float32Array.from(f), info(bgs[i]!)));
  return Array.from(acc.result());
}

// Expected values below are worked by hand from the seed digest's rules
// (shared/reference/livestack-seed.md), not from our code. f = Math.fround (the seed is float32).
const f = Math.fround;
const close = (t: { true(c: boolean, m?: string): void }, a: number[], e: number[], tol = 0) =>
  a.forEach((v, i) => t.true(Number.isNaN(e[i]!) ? Number.isNaN(v) : Math.abs(v - e[i]!) <= tol, `${i}: ${v} vs ${e[i]}`));

test('seed methods follow the seed code to the letter on 0..1 data, near 0 and near 1', (t) => {
  // pixel: 0 1 2 3 4 5
  const F = [
    [0.6, 0.2, 0.5, 0, 0.9, NaN],
    [0.5, 0.3, 0, 0.01, 0.05, 0.3],
    [0.3, 0.45, 0.2, 0, 0.2, 0.6],
  ].map((r) => r.map(f));
  const b = [0.1, 0.05, 0.2];
  // ADD: S + I > 1 ? 1 : S + I  → 0.6+0.5 clips at 1 and stays there; 0.2+0.3+0.45 = 0.95
  close(t, run('ADD', F, b), [1, f(f(f(0.2) + f(0.3)) + f(0.45)), f(f(0.5) + f(0.2)), f(0.01), 1, f(f(0.3) + f(0.6))]);
  // ADD2: S + I < 1 ? S + I : S  → 0.6+0.5 would saturate: keeps 0.6, then 0.6+0.3 = 0.9;
  // 0.9+0.05 = 0.95, +0.2 would saturate: 0.95 stays
  close(t, run('ADD2', F, b), [f(f(0.6) + f(0.3)), f(f(f(0.2) + f(0.3)) + f(0.45)), f(f(0.5) + f(0.2)), f(0.01), f(f(0.9) + f(0.05)), f(f(0.3) + f(0.6))]);
  // ADD2: a sum that is exactly 1 in float32 is not < 1: the old value stays
  close(t, run('ADD2', [[f(0.5)], [f(0.5)]], [0, 0]), [f(0.5)]);
  close(t, run('ADD', [[f(0.5)], [f(0.5)], [f(0.5)]], [0, 0, 0]), [1]);
  // ADDMAX and ADDMAX2 update alike (the rescale is on output)
  close(t, run('ADDMAX', F, b), [0.6, 0.45, 0.5, 0.01, 0.9, 0.6].map(f));
  close(t, run('ADDMAX2', F, b), [0.6, 0.45, 0.5, 0.01, 0.9, 0.6].map(f));
  // ADDMEAN: I > 0 ? (S + I)/2 : S → ((0.6+0.5)/2 + 0.3)/2 = 0.425, ((0.2+0.3)/2 + 0.45)/2 = 0.35; pixel 2: I = 0 leaves S = 0.5,
  // then (0.5+0.2)/2 = 0.35; pixel 3: 0, then (0 + 0.01)/2 = 0.005, then I = 0 leaves it
  close(t, run('ADDMEAN', F, b), [0.425, 0.35, 0.35, 0.005, 0.3375, 0.45].map(f), 1e-7);
  // ADDCOMP: T = (S·(n−1) + I)/n, S = T > 0 ? T : S → the running mean; pixel 3: T = (0·1 + 0.01)/2
  // = 0.005, then T = (0.005·2 + 0)/3 = 0.00333
  close(t, run('ADDCOMP', F, b), [1.4 / 3, 0.95 / 3, 0.7 / 3, 0.01 / 3, 1.15 / 3, 0.45].map(f), 1e-7);
  // ADDCOMP keeps S where T = 0 (a black frame on a black pixel)
  close(t, run('ADDCOMP', [[0], [0]], [0, 0]), [0]);
  close(t, run('max', F, b), [0.6, 0.45, 0.5, 0.01, 0.9, 0.6].map(f));
  close(t, run('mean', F, b), [1.4 / 3, 0.95 / 3, 0.7 / 3, 0.01 / 3, 1.15 / 3, 0.45], 1e-6);
});

test('sigma: running kappa-sigma rejects an outlier after warm-up and keeps the clean mean', (t) => {
  const acc = createAccumulator('sigma', 1, 1, { kappa: 3 });
  const vals = [0.10, 0.11, 0.09, 0.10, 0.9, 0.10, 0.11];
  let rejected = 0;
  for (const v of vals) rejected += acc.push(Float32Array.of(v), info(0.1, 0.005));
  t.is(rejected, 1);
  t.true(Math.abs(acc.result()[0]! - (0.10 + 0.11 + 0.09 + 0.10 + 0.10 + 0.11) / 6) < 1e-6);
});

for (const warmup of [3, 4]) {
  test(`sigma: an outlier among the first ${warmup} values is taken out leave-one-out; ${warmup === 3 ? 'no warm-up plane (the brightest of two values from M, M2)' : 'the warm-up plane is released after warm-up + 3 frames'}`, (t) => {
    const acc = createAccumulator('sigma', 2, 1, { kappa: 3, warmup });
    // pixel 0: a trail in the second frame; pixel 1: clean
    const frames = [[0.10, 0.10], [0.60, 0.11], [0.11, 0.09], [0.09, 0.10], [0.10, 0.10], [0.10, 0.11]];
    let rejected = 0;
    for (const [k, f] of frames.entries()) {
      rejected += acc.push(Float32Array.from(f), info(0.1, 0.005));
      t.is('H' in acc.buffers, warmup > 3 && k < warmup + 2, `after frame ${k + 1}`);
    }
    t.is(rejected, 1);
    t.true(Math.abs(acc.result()[0]! - (0.10 + 0.11 + 0.09 + 0.10 + 0.10) / 5) < 1e-6, String(acc.result()[0]));
    t.true(Math.abs(acc.result()[1]! - (0.10 + 0.11 + 0.09 + 0.10 + 0.10 + 0.11) / 6) < 1e-6);
    // still rejecting after the warm-up (and the plane) are gone
    t.is(acc.push(Float32Array.of(0.9, 0.1), info(0.1, 0.005)), 1);
    t.false('H' in acc.buffers);
  });
}

test('ALL means the six seed methods; unknown names are refused', (t) => {
  t.deepEqual(parseMethod('all'), ['ADD', 'ADD2', 'ADDMAX', 'ADDMAX2', 'ADDMEAN', 'ADDCOMP']);
  t.deepEqual(parseMethod('Sigma'), ['sigma']);
  t.throws(() => parseMethod('median'), { message: /--method: unknown method "median"/ });
});
