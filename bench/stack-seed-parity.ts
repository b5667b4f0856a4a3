// Seed mode against the seed itself: the LiveStack program's algorithm as its digest describes it
// (shared/reference/livestack-seed.md), transcribed in python3-opencv — cv2.imread / 255, the
// rising master dark, `I > D ? I − D : I`, findTransformECC (MOTION_HOMOGRAPHY) of each frame onto
// the previous aligned frame starting from the last warp, warpPerspective (bilinear,
// WARP_INVERSE_MAP), the six methods, uint8 output — and skyrig's seed mode on the same 8-bit PNG
// frames. Prints, per method, how many output bytes agree exactly and within ±1, ±2.
//   npx tsx bench/stack-seed-parity.ts [--width 400 --height 300 --frames 5]
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { listImages } from '../pipeline/calib/master.js';
import { writeImage } from '../pipeline/image/write.js';
import { SEED_METHODS } from '../pipeline/stack/methods.js';
import { SeedStacker, seedMasterDark } from '../pipeline/stack/seed/stacker.js';
import { makeCatalog, renderStarField } from '../pipeline/stack/synth.js';

const { values: a } = parseArgs({ options: { width: { type: 'string', default: '400' }, height: { type: 'string', default: '300' }, frames: { type: 'string', default: '5' }, out: { type: 'string', default: resolve('bench/out/seed-parity') } } });
const W = Number(a.width), H = Number(a.height), N = Number(a.frames);
const root = a.out!;
await rm(root, { recursive: true, force: true });
const dirs = { input: join(root, 'input'), dark: join(root, 'dark'), ours: join(root, 'ours'), seed: join(root, 'seed') };
for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
// A large diffuse object plus stars (ECC's good case, as the author observed), drifting 1.5/−0.8 px and 0.05° a frame
const catalog = makeCatalog(3, 400, W, H);
for (let i = 0; i < N; i++) {
  const img = renderStarField({ width: W, height: H, catalog, seed: 50 + i, background: 0.12, noise: 0.01, quantize: 8, fwhm: 3, transform: { dx: 1.5 * i, dy: -0.8 * i, rotDeg: 0.05 * i } });
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const dx = x - W / 2 - 1.5 * i, dy = y - H / 2 + 0.8 * i;
    img.data[y * W + x] = Math.min(1, img.data[y * W + x]! + 0.25 * Math.exp(-(dx * dx + dy * dy) / (2 * (W / 8) ** 2)));
  }
  await writeImage(join(dirs.input, `f${i}.png`), img, { depth: 8 });
}
for (let i = 0; i < 3; i++) await writeImage(join(dirs.dark, `d${i}.png`), renderStarField({ width: W, height: H, catalog: [], seed: 900 + i, background: 0.03, noise: 0.006, quantize: 8 }), { depth: 8 });

const t0 = performance.now();
const st = new SeedStacker({ outDir: dirs.ours, methods: [...SEED_METHODS], dark: await seedMasterDark(await listImages(dirs.dark), dirs.dark) });
for (const f of await listImages(dirs.input)) { const r = await st.push(f); if (!r.accepted) console.log(r.reason); }
await st.write();
const ours = performance.now() - t0;

const py = `
import cv2, numpy as np, os, sys, time
inp, dark, out = sys.argv[1:4]
t0 = time.time()
D = None
for n in sorted(os.listdir(dark)):
    d = cv2.imread(os.path.join(dark, n)).astype(np.float32) / 255
    D = d if D is None else np.where(d > D, (d + D) / 2, D).astype(np.float32)
frames = []
prev, warp = None, np.eye(3, 3, dtype=np.float32)
crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
for n in sorted(os.listdir(inp)):
    I = cv2.imread(os.path.join(inp, n)).astype(np.float32) / 255
    I = np.where(I > D, I - D, I).astype(np.float32)
    if prev is not None:
        g = cv2.cvtColor(I, cv2.COLOR_BGR2GRAY)
        _, warp = cv2.findTransformECC(prev, g, warp, cv2.MOTION_HOMOGRAPHY, crit, None, 5)
        I = cv2.warpPerspective(I, warp, (I.shape[1], I.shape[0]), flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP)
    prev = cv2.cvtColor(I, cv2.COLOR_BGR2GRAY)
    frames.append(I)
for m in ['ADD', 'ADD2', 'ADDMAX', 'ADDMAX2', 'ADDMEAN', 'ADDCOMP']:
    S = frames[0].copy()
    for k, I in enumerate(frames[1:], start=2):
        if m == 'ADD': S = np.where(S + I > 1, np.float32(1), S + I)
        elif m == 'ADD2': S = np.where(S + I < 1, S + I, S)
        elif m in ('ADDMAX', 'ADDMAX2'): S = np.where(I > S, I, S)
        elif m == 'ADDMEAN': S = np.where(I > 0, (S + I) / 2, S)
        else:
            T = (S * (k - 1) + I) / k
            S = np.where(T > 0, T, S)
        S = S.astype(np.float32)
    o = (255 / np.max(S) * S) if m == 'ADDMAX2' else 255 * S
    cv2.imwrite(os.path.join(out, m + '.png'), o.astype(np.uint8))
print(f'{time.time() - t0:.2f}')
`;
const seedS = Number(execFileSync('/usr/bin/python3', ['-c', py, dirs.input, dirs.dark, dirs.seed], { encoding: 'utf8' }).trim());
console.log(`${N} frames ${W}×${H} 8-bit + 3 darks: skyrig seed mode ${(ours / 1000).toFixed(2)} s, python3-opencv seed ${seedS.toFixed(2)} s`);
// Compare away from the borders (the warps differ by a fraction of a pixel; edge columns go to 0 at different places)
const m0 = Math.ceil(2 * N);
for (const m of SEED_METHODS) {
  const A = await sharp(join(dirs.ours, `${m}.png`)).raw().toBuffer(), B = await sharp(join(dirs.seed, `${m}.png`)).raw().toBuffer();
  let eq = 0, d1 = 0, d2 = 0, n = 0, maxd = 0;
  for (let y = m0; y < H - m0; y++) for (let x = m0; x < W - m0; x++) for (let c = 0; c < 3; c++) {
    const i = (y * W + x) * 3 + c;
    const d = Math.abs(A[i]! - B[i]!);
    n++; if (d === 0) eq++; if (d <= 1) d1++; if (d <= 2) d2++; if (d > maxd) maxd = d;
  }
  console.log(`${m.padEnd(8)} equal ${(100 * eq / n).toFixed(2)} %, within ±1 ${(100 * d1 / n).toFixed(2)} %, ±2 ${(100 * d2 / n).toFixed(2)} %, max ${maxd}`);
}
