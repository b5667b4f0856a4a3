// SD-card write budget: bytes a live stack writes to disk per frame, beside the frame's own size.
// Lights (mono 16-bit FITS) and darks are generated first, outside the measurement; then a
// LiveStacker runs over them in this process and the disk writes are the delta of /proc/self/io
// (write_bytes − cancelled_write_bytes: what reaches the block layer, minus dirty pages deleted
// before writeback) around the run. The stacker's own count of the bytes it wrote is printed too.
//   npx tsx bench/write-budget.ts [--width 1600 --height 1200 --frames 16 --method sigma]
//                                 [--save-every-frames N --save-every-s S] [--state-dir DIR] [--out DIR]
// --legacy: the old defaults (master FITS and state after every accepted frame).
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFits } from '../pipeline/image/fits.js';
import { buildCalibration, listImages } from '../pipeline/calib/master.js';
import { LiveStacker, parseMethod, type LiveStackOptions } from '../pipeline/stack/index.js';
import { readProcessWrites } from '../pipeline/stack/disk-io.js';
import { makeCatalog, renderStarField } from '../pipeline/stack/synth.js';

const { values: a } = parseArgs({
  options: {
    width: { type: 'string', default: '1600' }, height: { type: 'string', default: '1200' }, frames: { type: 'string', default: '16' },
    method: { type: 'string', default: 'sigma' }, 'save-every-frames': { type: 'string' }, 'save-every-s': { type: 'string' },
    'state-dir': { type: 'string' }, out: { type: 'string', default: resolve('bench/out/write-budget') }, legacy: { type: 'boolean', default: false },
  },
});
const W = Number(a.width), H = Number(a.height), N = Number(a.frames);
const root = a.out!;
const lights = join(root, 'lights'), darks = join(root, 'darks'), out = join(root, 'stack');
await mkdir(lights, { recursive: true });
await mkdir(darks, { recursive: true });
const catalog = makeCatalog(5, 600, W, H);
for (let i = 0; i < N; i++) {
  const p = join(lights, `l${String(i).padStart(3, '0')}.fits`);
  if (await stat(p).catch(() => null)) continue;
  const img = renderStarField({ width: W, height: H, catalog, seed: 100 + i, quantize: 16, background: 0.08, noise: 0.01, transform: { dx: 0.8 * i, dy: -0.5 * i, rotDeg: 0.01 * i } });
  await writeFits(p, img, { bitpix: 16, cards: { EXPTIME: 30 } });
}
for (let i = 0; i < 3; i++) {
  const p = join(darks, `d${i}.fits`);
  if (await stat(p).catch(() => null)) continue;
  await writeFits(p, renderStarField({ width: W, height: H, catalog: [], seed: 900 + i, quantize: 16, background: 0.02, noise: 0.003 }), { bitpix: 16, cards: { EXPTIME: 30 } });
}
const frameBytes = (await stat(join(lights, 'l000.fits'))).size;
await rm(out, { recursive: true, force: true });
if (a['state-dir']) await rm(a['state-dir'], { recursive: true, force: true });

const opts: LiveStackOptions = {
  outDir: out, methods: parseMethod(a.method!), calibration: await buildCalibration({ darks }),
  stateDir: a['state-dir'],
  saveEveryFrames: a.legacy ? 1 : a['save-every-frames'] ? Number(a['save-every-frames']) : undefined,
  saveEveryS: a['save-every-s'] ? Number(a['save-every-s']) : undefined,
  mastersEveryFrame: a.legacy ? true : undefined,
};
const before = readProcessWrites();
const t0 = performance.now();
const st = new LiveStacker(opts);
for (const f of await listImages(lights)) await st.push(f);
await st.finish();
const after = readProcessWrites();
const disk = after && before ? after.net - before.net : NaN;
const mb = (b: number) => (b / 1e6).toFixed(2);
const label = a.legacy ? 'legacy (FITS + state every frame)' : `save every ${opts.saveEveryFrames ?? 'default'} frames / ${opts.saveEveryS ?? 'default'} s${a['state-dir'] ? `, state in ${a['state-dir']}` : ''}`;
console.log(`${N} frames ${W}×${H} 16-bit mono (${mb(frameBytes)} MB each), ${a.method}, ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`  disk writes (/proc/self/io): ${mb(disk)} MB = ${mb(disk / N)} MB per frame = ${(disk / N / frameBytes).toFixed(2)}× the frame`);
console.log(`  stacker's own count: ${mb(st.bytesWritten)} MB = ${mb(st.bytesWritten / N)} MB per frame (${Object.entries(st.bytesByKind).map(([k, v]) => `${k} ${mb(v)}`).join(', ')})`);
