// The seed-compatible mode against the seed digest's rules (shared/reference/livestack-seed.md):
// hand-computed pixels, a numpy transcription of the seed's own code, and the CLI contract
// (OUT/<METHOD>.png uint8, --number 0 = all, exit status 4 for a missing folder).
import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { createAccumulator, SEED_METHODS, type SeedMethod } from '../../pipeline/stack/methods.js';
import { seedDarkUpdate, seedSubtractDark, seedToUint8, toSeedDomain } from '../../pipeline/stack/seed/rules.js';
import { makeCatalog, mulberry32, renderStarField } from '../../pipeline/stack/synth.js';
import { writeImage } from '../../pipeline/image/write.js';
import type { ImageF32 } from '../../pipeline/image/types.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const f = Math.fround;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', join(repo, 'agent/cli/main.ts'), ...args], { cwd: repo, env: { ...process.env, CI: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('seed master dark rises halfway toward brighter darks and never falls', (t) => {
  const D = Float32Array.of(0.1, 0.5, 0.2);
  seedDarkUpdate(D, Float32Array.of(0.3, 0.1, 0.2)); // 0.3 > 0.1 → 0.2; 0.1 < 0.5 stays; equal stays
  t.deepEqual(Array.from(D), [0.2, 0.5, 0.2].map(f));
  seedDarkUpdate(D, Float32Array.of(0.0, 0.9, 0.6)); // 0 < 0.2 stays; (0.9+0.5)/2 = 0.7; (0.6+0.2)/2 = 0.4
  t.deepEqual(Array.from(D), [0.2, 0.7, 0.4].map(f));
});

test('seed dark subtraction leaves pixels at or below the dark as they were', (t) => {
  const I = Float32Array.of(0.5, 0.1, 0.2, 0, 1);
  seedSubtractDark(I, Float32Array.of(0.2, 0.3, 0.2, 0.1, 0.25));
  t.deepEqual(Array.from(I), [f(f(0.5) - f(0.2)), 0.1, 0.2, 0, 0.75].map(f));
});

test('seed output: uint8(255·S) truncates; ADDMAX2 rescales the whole image by 255/max(S)', (t) => {
  const S = Float32Array.of(0, 1, 0.5, 0.999, 2 / 255, 0.2);
  // 255·0.5 = 127.5 → 127 (numpy's astype truncates); 255·0.999 = 254.745 → 254
  t.deepEqual(Array.from(seedToUint8(S, 'ADD')), [0, 255, 127, 254, 2, 51]);
  // max over all values (channels together) = 0.8 → k = 255/0.8 = 318.75; 0.2·k = 63.75 → 63; 0.5·k = 159.375 → 159
  const T = Float32Array.of(0.2, 0.8, 0.5, 0, 0.4, 0.1);
  t.deepEqual(Array.from(seedToUint8(T, 'ADDMAX2')), [63, 255, 159, 0, 127, 31]);
  t.deepEqual(Array.from(seedToUint8(T, 'ADDMAX')), [51, 204, 127, 0, 102, 25]);
});

test('seed pixel domain: 8-bit as it is, 16-bit through imread\'s v/256', (t) => {
  t.is(toSeedDomain(128 / 255, 8), f(128 / 255));
  t.is(toSeedDomain(1000 / 65535, 16), f(4 / 255)); // 1000/256 = 3.9 → 4
  t.is(toSeedDomain(65535 / 65535, 16), f(255 / 255));
});

test('the six methods agree to the last bit with a numpy transcription of the seed code', (t) => {
  const py = requireCommand('/usr/bin/python3', 'python3-numpy');
  const N = 7, L = 600;
  const r = mulberry32(42);
  // 8-bit values with many near 0 and near 1 (where the clipping rules bite)
  const frames = Array.from({ length: N }, () => Uint8Array.from({ length: L }, () => { const u = r(); return u < 0.2 ? Math.floor(r() * 4) : u > 0.8 ? 250 + Math.floor(r() * 6) : Math.floor(r() * 256); }));
  const script = `
import sys, json, numpy as np
fr = [np.array(a, dtype=np.uint8).astype(np.float32) / 255 for a in json.loads(sys.stdin.read())]
out = {}
for m in ${JSON.stringify(SEED_METHODS)}:
    S = fr[0].copy()
    for n, I in enumerate(fr[1:], start=2):
        if m == 'ADD': S = np.where(S + I > 1, np.float32(1), S + I)
        elif m == 'ADD2': S = np.where(S + I < 1, S + I, S)
        elif m in ('ADDMAX', 'ADDMAX2'): S = np.where(I > S, I, S)
        elif m == 'ADDMEAN': S = np.where(I > 0, (S + I) / 2, S)
        elif m == 'ADDCOMP':
            T = (S * (n - 1) + I) / n
            S = np.where(T > 0, T, S)
        S = S.astype(np.float32)
    o = (255 / np.max(S) * S) if m == 'ADDMAX2' else 255 * S
    out[m] = o.astype(np.uint8).tolist()
print(json.dumps(out))
`;
  const want = JSON.parse(execFileSync(py, ['-c', script], { input: JSON.stringify(frames.map((a) => Array.from(a))), encoding: 'utf8' })) as Record<SeedMethod, number[]>;
  for (const m of SEED_METHODS) {
    const acc = createAccumulator(m, L, 1);
    for (const fr of frames) acc.push(Float32Array.from(fr, (v) => f(v / 255)), { background: [0], noise: [0] });
    const got = Array.from(seedToUint8(acc.result(), m));
    const diff = got.filter((v, i) => v !== want[m][i]).length;
    t.is(diff, 0, `${m}: ${diff} of ${L} pixels differ`);
  }
});

const W = 160, H = 128;
const catalog = makeCatalog(7, 90, W, H);

async function writePng(path: string, img: ImageF32): Promise<void> {
  await writeImage(path, img, { depth: 8 });
}

test('stack run in seed mode: OUT/<METHOD>.png uint8 for ALL, --number 0 = all, dark subtracted the seed way', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'input'), darks = join(dir, 'dark'), out = join(dir, 'output');
  for (const d of [lights, darks, out]) await mkdir(d);
  // Three identical frames: ECC finds no motion, so every product is the rule applied to one pixel value.
  const field = renderStarField({ width: W, height: H, catalog, seed: 3, background: 0.1, noise: 0.01, quantize: 8 });
  for (let i = 0; i < 3; i++) await writePng(join(lights, `f${i}.png`), field);
  // A flat dark of 20/255 with one bright column at 200/255 (above the sky: light left untouched there)
  const dark = { width: W, height: H, channels: 1, bitDepth: 8 as const, data: new Float32Array(W * H).fill(20 / 255) };
  for (let y = 0; y < H; y++) dark.data[y * W + 5] = 200 / 255;
  await writePng(join(darks, 'd0.png'), dark);
  const r = await cli(['stack', 'run', lights, '--out', out, '--darks', darks, '--method', 'ALL', '--number', '0']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /stacked 3 frame\(s\) \(seed mode\), 0 skipped → /);
  t.deepEqual((await readdir(out)).sort(), SEED_METHODS.map((m) => `${m}.png`).sort());
  const px = async (m: string) => {
    const { data, info } = await sharp(join(out, `${m}.png`)).raw().toBuffer({ resolveWithObject: true });
    t.is(info.channels, 3);
    return (x: number, y: number) => data[(y * W + x) * 3]!;
  };
  // Pixel values of the light, in 8-bit steps
  const L = (x: number, y: number) => Math.round(field.data[y * W + x]! * 255);
  // A sky pixel away from stars and from the dark column
  let sx = 20, sy = 20;
  for (let x = 10; x < W - 10; x++) if (L(x, 60) > 20 && L(x, 60) < 40) { sx = x; sy = 60; break; }
  const cal = L(sx, sy) - 20; // I > D ? I − D : I
  const near = (a: number, e: number, what: string) => t.true(Math.abs(a - e) <= 1, `${what}: ${a} vs ${e}`);
  near((await px('ADDMAX'))(sx, sy), cal, 'ADDMAX = calibrated frame');
  near((await px('ADDMEAN'))(sx, sy), cal, 'ADDMEAN of equal frames');
  near((await px('ADDCOMP'))(sx, sy), cal, 'ADDCOMP of equal frames');
  near((await px('ADD'))(sx, sy), Math.min(255, 3 * cal), 'ADD = 3×');
  // Column 5 is under the bright dark: I ≤ D there, so the light is kept as it was
  t.true(L(5, sy) <= 200);
  near((await px('ADDMAX'))(5, sy), L(5, sy), 'at or below the dark: untouched');
  // ADDMAX2 is ADDMAX rescaled so its brightest value is 255
  const a2 = await px('ADDMAX2'), a1 = await px('ADDMAX');
  let max1 = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) max1 = Math.max(max1, a1(x, y));
  near(a2(sx, sy), Math.floor((cal / max1) * 255), 'ADDMAX2 rescaled');
  // -output_image NAME: NAME_<METHOD>.png
  const out2 = join(dir, 'out2');
  await mkdir(out2);
  const named = await cli(['stack', 'run', lights, '--out', out2, '--method', 'ADD2', '--output-name', 'm13', '--number', '2']);
  t.is(named.code, 0, named.stderr);
  t.regex(named.stdout, /stacked 2 frame\(s\)/);
  t.deepEqual(await readdir(out2), ['m13_ADD2.png']);
});

test('stack run in seed mode: a missing input, output or dark folder exits with status 4', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'input'), out = join(dir, 'output');
  await mkdir(lights);
  await mkdir(out);
  await writeFile(join(lights, 'x.txt'), '');
  const noIn = await cli(['stack', 'run', join(dir, 'nope'), '--out', out, '--method', 'ADD']);
  t.is(noIn.code, 4);
  t.regex(noIn.stderr, /^skyrig: .*nope: input folder not found\n$/);
  const noOut = await cli(['stack', 'run', lights, '--out', join(dir, 'none'), '--seed-compat']);
  t.is(noOut.code, 4);
  t.regex(noOut.stderr, /none: output folder not found/);
  const noDark = await cli(['stack', 'run', lights, '--out', out, '--method', 'ALL', '--darks', join(dir, 'darkless')]);
  t.is(noDark.code, 4);
  t.regex(noDark.stderr, /darkless: dark folder not found/);
  // our own mode is unchanged: it creates the output folder; --seed-compat refuses a non-seed method
  const bad = await cli(['stack', 'run', lights, '--out', out, '--seed-compat', '--method', 'sigma']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--seed-compat: --method must be one of ADD, ADD2, ADDMAX, ADDMAX2, ADDMEAN, ADDCOMP or ALL/);
  const num = await cli(['stack', 'run', lights, '--out', out, '--number', '-1']);
  t.regex(num.stderr, /--number: expected an integer ≥ 0 \(0 = all\), got "-1"/);
});

test('stack watch in seed mode: a hot folder (the seed\'s -mode LOOP as meant), each new file stacked, exit 0 on SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'input'), out = join(dir, 'output');
  await mkdir(lights);
  await mkdir(out);
  const field = (i: number) => renderStarField({ width: W, height: H, catalog, seed: 20 + i, background: 0.1, noise: 0.01, quantize: 8, transform: { dx: i, dy: -0.5 * i, rotDeg: 0 } });
  await writePng(join(lights, 'a0.png'), field(0));
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'agent/cli/main.ts'), 'stack', 'watch', lights, '--out', out, '--method', 'ADDMAX', '--poll', '150'], { cwd: repo, env: { ...process.env, CI: '1' } });
  let stderr = '', stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const waitFor = async (re: RegExp, ms = 90000) => {
    const t0 = Date.now();
    while (!re.test(stderr)) {
      if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${re}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(/a0\.png: #1 \(first frame\)/);
  await writePng(join(lights, 'a1.png'), field(1));
  await waitFor(/a1\.png: #2 ecc 0\.\d+/);
  await writePng(join(lights, 'a2.png'), field(2));
  await waitFor(/a2\.png: #3/);
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.regex(stdout, /stacked 3 frame\(s\) \(seed mode\), 0 skipped → .*ADDMAX\.png/);
  t.deepEqual(await readdir(out), ['ADDMAX.png']);
});
