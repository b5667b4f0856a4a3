import test from 'ava';
import { execFileSync } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DebevecAccumulator, enforceMonotonic, isStrictlyIncreasing } from '../../pipeline/hdr/debevec.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { weightTable, smoothnessWeights, type WeightOptions } from '../../pipeline/hdr/weights.js';
import {
  decodeResponseNpz as decodeNpz,
  encodeResponseNpz as encodeNpz,
  loadResponse,
  saveResponse,
  lnERange,
} from '../../pipeline/hdr/response.js';
import { parseExposureList, parseRound, parseFrameName, floorTime, formatStamp, roundTime } from '../../pipeline/hdr/names.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const W: WeightOptions = { kind: 'triangle', lowClip: 5, highClip: 250 };

function synthSamples(P: number, times: number[], seed = 1): { z: Int32Array[]; lnT: Float64Array } {
  const rnd = mulberry32(seed);
  const lnT = Float64Array.from(times, Math.log);
  const z: Int32Array[] = [];
  for (let i = 0; i < P; i++) {
    const E = Math.exp(-4 + 8 * rnd());
    z.push(Int32Array.from(times, (t) => Math.max(0, Math.min(255, Math.round(255 * Math.pow(Math.min(1, (E * t) / 50), 1 / 2.2))))));
  }
  return { z, lnT };
}

test('Schur-complement solve equals the dense Debevec least squares (numpy lstsq), with and without the ripple rows', async (t) => {
  const py = requireCommand('/usr/bin/python3', 'python3-numpy');
  const dir = await tempDir(t);
  const times = [1 / 100, 1 / 25, 1 / 6, 0.7, 3];
  const { z, lnT } = synthSamples(150, times);
  const acc = new DebevecAccumulator(W);
  for (const s of z) acc.addSample(s, lnT, times.length);
  const lambda = 20;
  // μ = 0: Debevec's gsolve. μ = 800: plus third-difference rows; at 150 samples that is the calibration
  // default μ 2000 scaled by √(150/1000), the condition the refinement step has to cope with.
  const cases = [0, 800];
  const ours = cases.map((mu) => acc.solve(lambda, mu));
  // Dense reference: Debevec's gsolve with the same weights and smoothness weights, plus the rows
  // mu·ws[i+1]·(−g(i−1) + 3g(i) − 3g(i+1) + g(i+2)) for i = 1..253.
  await writeFile(join(dir, 'in.json'), JSON.stringify({ z: z.map((a) => Array.from(a)), lnT: Array.from(lnT), w: Array.from(weightTable(W)), ws: Array.from(smoothnessWeights()), l: lambda, mus: cases }));
  const script = `
import json, numpy as np, sys
d = json.load(open(sys.argv[1])); Z = np.array(d['z']); B = np.array(d['lnT']); w = np.array(d['w']); ws = np.array(d['ws']); l = d['l']
P, N = Z.shape; n = 256
out = []
for mu in d['mus']:
    A = np.zeros((P*N + 1 + 254 + 253, n + P)); b = np.zeros(A.shape[0]); k = 0
    for i in range(P):
        for j in range(N):
            wij = w[Z[i, j]]; A[k, Z[i, j]] = wij; A[k, n + i] = -wij; b[k] = wij * B[j]; k += 1
    A[k, 128] = 1; k += 1
    for i in range(1, n - 1):
        A[k, i - 1] = l * ws[i]; A[k, i] = -2 * l * ws[i]; A[k, i + 1] = l * ws[i]; k += 1
    for i in range(1, n - 2):
        A[k, i - 1] = -mu * ws[i + 1]; A[k, i] = 3 * mu * ws[i + 1]; A[k, i + 1] = -3 * mu * ws[i + 1]; A[k, i + 2] = mu * ws[i + 1]; k += 1
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    out.append(list(x[:n] - x[128]))
json.dump(out, open(sys.argv[2], 'w'))
`;
  await writeFile(join(dir, 'g.py'), script);
  execFileSync(py, [join(dir, 'g.py'), join(dir, 'in.json'), join(dir, 'out.json')]);
  const refs = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as number[][];
  cases.forEach((mu, k) => {
    const g = ours[k]!;
    let maxDiff = 0;
    for (let i = 0; i < 256; i++) maxDiff = Math.max(maxDiff, Math.abs(g[i]! - refs[k]![i]!));
    t.log(`μ ${mu}: max |g − g_dense| = ${maxDiff.toExponential(2)}`);
    t.true(maxDiff < 1e-6, `μ ${mu}: max |g - g_dense| = ${maxDiff}`);
    t.true(Math.abs(g[128]!) < 1e-9);
    t.true(isStrictlyIncreasing(g));
  });
  // The ripple rows change the answer (the test is not comparing two copies of one solve).
  let moved = 0;
  for (let i = 0; i < 256; i++) moved = Math.max(moved, Math.abs(ours[0]![i]! - ours[1]![i]!));
  t.true(moved > 1e-3, `μ changed g by ${moved}`);
});

test('accumulator memory does not depend on the number of samples', (t) => {
  const acc = new DebevecAccumulator(W);
  const before = acc.S.length;
  const { z, lnT } = synthSamples(20000, [0.001, 0.01, 0.1, 1]);
  for (const s of z) acc.addSample(s, lnT, 4);
  t.is(acc.S.length, before);
  t.is(acc.samples, 20000);
  const g = acc.solve(50);
  t.true(isStrictlyIncreasing(g));
});

test('enforceMonotonic repairs a dip with an isotonic fit and keeps g(128)=0', (t) => {
  const g = Float64Array.from({ length: 256 }, (_, z) => (z - 128) / 50);
  g[40] = g[45]! + 0.2; // dip
  t.false(isStrictlyIncreasing(g));
  const moved = enforceMonotonic(g);
  t.true(moved > 0);
  t.true(isStrictlyIncreasing(g));
  t.is(g[128], 0);
});

test('npz round trip and numpy loads it like asi_core (response float32 (256,C), metadata str)', async (t) => {
  const py = requireCommand('/usr/bin/python3', 'python3-numpy');
  const dir = await tempDir(t);
  const g = Float32Array.from({ length: 256 * 3 }, (_, i) => (Math.floor(i / 3) - 128) / 40 + (i % 3) * 0.01);
  const path = join(dir, 'response.npz');
  await saveResponse(path, { channels: 3, g, metadata: { method: 'debevec', samples: 1000, note: 'ü' } });
  const out = execFileSync(py, ['-c', `import numpy as np, json; d=np.load('${path}'); r=d['response']; m=json.loads(str(d['metadata'])); print(r.dtype, r.shape, round(float(r[255,2]),4), m['samples'], m['note'])`], { encoding: 'utf8' });
  t.is(out.trim(), `float32 (256, 3) 3.195 1000 ü`);
  const back = await loadResponse(path);
  t.deepEqual(Array.from(back.g), Array.from(g));
  // numpy-written npz (deflated) loads too
  const p2 = join(dir, 'np.npz');
  execFileSync(py, ['-c', `import numpy as np, json; np.savez_compressed('${p2}', response=np.linspace(-3,2,256,dtype=np.float32).reshape(256,1), metadata=json.dumps({'a':1}))`]);
  const r2 = await loadResponse(p2);
  t.is(r2.channels, 1);
  t.is(r2.metadata.a, 1);
  t.true(Math.abs(r2.g[255]! - 2) < 1e-6);
  const json = join(dir, 'r.json');
  await saveResponse(json, back);
  t.deepEqual((await loadResponse(json)).channels, 3);
  const range = lnERange(back, [0.001, 1]);
  t.true(Math.abs(range[0] - (-128 / 40 - 0)) < 1e-5);
  t.true(decodeNpz(encodeNpz({ a: { dtype: 'str', shape: [], value: 'x' } })).a!.dtype === 'str');
});

test('missing or corrupt response file gives a one-line error naming it', async (t) => {
  const dir = await tempDir(t);
  const e1 = await t.throwsAsync(loadResponse(join(dir, 'nope.npz')));
  t.regex(e1!.message, /nope\.npz: cannot read response file \(no such file\)/);
  await writeFile(join(dir, 'bad.npz'), 'garbage');
  const e2 = await t.throwsAsync(loadResponse(join(dir, 'bad.npz')));
  t.regex(e2!.message, /bad\.npz: .*zip/);
  t.false(e2!.message.includes('\n'));
});

test('names, rounds and exposure lists', (t) => {
  const p = parseFrameName('20250101123015_250000.jpg')!;
  t.is(p.exposureS, 0.25);
  t.is(p.stamp, '20250101123015');
  t.is(parseFrameName('20250101123015_250.jpg', 'ms')!.exposureS, 0.25);
  t.is(parseFrameName('20250101123015.jpg')!.exposureS, null);
  t.is(parseFrameName('IMG_0001.jpg'), null);
  t.is(parseRound('30s'), 30);
  t.is(parseRound('1min'), 60);
  t.is(parseRound('5min'), 300);
  t.throws(() => parseRound('soon'), { message: /--round/ });
  t.deepEqual(parseExposureList('1/1000,1/250, 0.5,4ms'), [0.001, 0.004, 0.5, 0.004]);
  t.throws(() => parseExposureList('1/0'), { message: /--exposures/ });
  t.is(formatStamp(floorTime(p.timestamp, 60)), '20250101123000');
  // pandas Timestamp.round (asi_core's grouping): nearest multiple, exact halves to the even multiple.
  const at = (hms: string) => parseFrameName(`20250101${hms}_1.jpg`)!.timestamp;
  t.is(formatStamp(roundTime(at('123014'), 30)), '20250101123000');
  t.is(formatStamp(roundTime(at('123016'), 30)), '20250101123030');
  t.is(formatStamp(roundTime(at('123015'), 30)), '20250101123000'); // an exact half: the even multiple (…820 of 30 s)
  t.is(formatStamp(roundTime(at('123045'), 30)), '20250101123100');
  t.is(formatStamp(roundTime(at('123130'), 60)), '20250101123200');
  t.is(formatStamp(roundTime(at('123030'), 60)), '20250101123000');
});

test('fast RGBE encoder writes exactly the bytes of the reference encoder', async (t) => {
  const { encodeRgbe } = await import('../helpers/rgbe-reference.js');
  const { encodeRgbe: encodeRgbeFast } = await import('../../pipeline/image/radiance.js');
  const rnd = mulberry32(9);
  const W = 20000;
  const src = new Float32Array(W * 3);
  for (let i = 0; i < src.length; i++) src[i] = rnd() < 0.01 ? 0 : Math.exp((rnd() - 0.5) * 80);
  src.set([1, 0.5, 0.25, 1e-40, 0, 0, Infinity, 1, 1, -3, 2, NaN], 0);
  const a = new Uint8Array(W * 4);
  const b = new Uint8Array(W * 4);
  encodeRgbe(src, 0, 3, W, a);
  encodeRgbeFast(src, 0, 3, W, b);
  t.deepEqual(Buffer.from(b), Buffer.from(a));
});
