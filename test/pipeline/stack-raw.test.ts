// Camera RAW lights and darks (DNG written here, decoded by the real LibRaw) through `skyrig stack run`:
// the mosaic is read linear with the black level removed, dark-subtracted on the mosaic, debayered,
// aligned and stacked; EXIF exposure, ISO and time reach the FITS master.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readFits } from '../../pipeline/image/fits.js';
import { loadFrame } from '../../pipeline/calib/load.js';
import { gaussianRng, makeCatalog, renderStarField } from '../../pipeline/stack/synth.js';
import { writeDng } from '../helpers/dng.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const W = 256, H = 192;
const BLACK = 512, WHITE = 16383; // a 14-bit camera
const SITE_GAIN = [0.55, 1, 0.75]; // R, G, B response without white balance
const HOT = { x: 101, y: 77, counts: 9000 };

/** A star field as a 14-bit RGGB mosaic: per-site colour response, black level, dark current, hot pixel. */
function mosaicFrame(lum: Float32Array | null, seed: number): Uint16Array {
  const rnd = gaussianRng(seed);
  const m = new Uint16Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = (y & 1) === 0 ? ((x & 1) === 0 ? 0 : 1) : (x & 1) === 0 ? 1 : 2;
      const signal = lum ? lum[y * W + x]! * SITE_GAIN[c]! * (WHITE - BLACK) : 0;
      const dark = 40 + rnd() * 6;
      m[y * W + x] = Math.max(0, Math.min(WHITE, Math.round(BLACK + signal + dark)));
    }
  }
  m[HOT.y * W + HOT.x] = HOT.counts;
  return m;
}

test('stack run on camera RAW (DNG through LibRaw): black level, darks, debayer, alignment and EXIF', async (t) => {
  requireCommand('dcraw_emu', 'libraw-bin');
  requireCommand('raw-identify', 'libraw-bin');
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  const darks = join(dir, 'darks');
  const out = join(dir, 'out');
  await mkdir(lights);
  await mkdir(darks);
  const catalog = makeCatalog(7, 120, W, H);
  const truth: { dx: number; dy: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const tr = { dx: 3.3 * i - 7, dy: -2.1 * i + 4, rotDeg: 0 };
    truth.push(tr);
    const lum = renderStarField({ width: W, height: H, catalog, seed: 100 + i, transform: tr, background: 0.04, noise: 0.003 });
    await writeDng(join(lights, `IMG_${1000 + i}.dng`), mosaicFrame(lum.data, 200 + i), W, H, {
      blackLevel: BLACK, whiteLevel: WHITE, exposureS: 20, iso: 1600, dateTime: `2026:11:21 23:${String(10 + i).padStart(2, '0')}:00`,
    });
  }
  for (let i = 0; i < 3; i++) await writeDng(join(darks, `DARK_${i}.dng`), mosaicFrame(null, 300 + i), W, H, { blackLevel: BLACK, whiteLevel: WHITE, exposureS: 20, iso: 1600 });

  // The loader gives the linear mosaic: black level gone, white level at 1, the CFA pattern and EXIF read.
  const one = await loadFrame(join(darks, 'DARK_0.dng'));
  t.is(one.bayer, 'RGGB');
  t.is(one.exposureS, 20);
  t.is(one.iso, 1600);
  t.is(one.image.channels, 1);
  t.true(Math.abs(one.image.data[HOT.y * W + HOT.x]! - (HOT.counts - BLACK) / (WHITE - BLACK)) < 1e-3);
  t.true(one.image.data[10 * W + 10]! < 80 / (WHITE - BLACK), `dark pixel ${one.image.data[10 * W + 10]}`);

  const r = await execFileP(process.execPath, ['--import', 'tsx', join(repo, 'agent/cli/main.ts'), 'stack', 'run', lights, '--out', out, '--darks', darks, '--method', 'mean'], { cwd: repo });
  t.regex(r.stdout, /stacked 6 frame\(s\), 0 refused/, await readFile(join(out, "stack-frames.csv"), "utf8"));
  const { header, image } = await readFits(join(out, 'stack.fits'));
  t.is(image.channels, 3);
  t.is(header.cards.NCOMBINE, 6);
  t.is(header.cards.EXPTIME, 120);
  t.is(header.cards['DATE-BEG'], '2026-11-21T23:10:00.000');
  // Alignment against the truth (the reference is the first frame; no rotation here).
  const frames = (JSON.parse(await readFile(join(out, 'stack-frames.json'), 'utf8')) as { frames: { shiftX: number; shiftY: number }[] }).frames;
  let err2 = 0;
  for (let i = 1; i < 6; i++) err2 += (frames[i]!.shiftX - (truth[0]!.dx - truth[i]!.dx)) ** 2 + (frames[i]!.shiftY - (truth[0]!.dy - truth[i]!.dy)) ** 2;
  const rms = Math.sqrt(err2 / 5);
  t.log(`RAW alignment error ${rms.toFixed(3)} px RMS`);
  t.true(rms < 0.3);
  // The hot pixel is taken out by the master dark, and the sky keeps the sensor's colour response.
  const at = (x: number, y: number, c: number) => image.data[(y * W + x) * 3 + c]!;
  const around = (at(HOT.x - 3, HOT.y, 1) + at(HOT.x + 3, HOT.y, 1)) / 2;
  t.true(Math.abs(at(HOT.x, HOT.y, 1) - around) < 0.02, `hot pixel ${at(HOT.x, HOT.y, 1)} vs ${around}`);
  const sky = [0, 1, 2].map((c) => at(20, 20, c));
  t.true(Math.abs(sky[0]! / sky[1]! - SITE_GAIN[0]!) < 0.1 && Math.abs(sky[2]! / sky[1]! - SITE_GAIN[2]!) < 0.1, `sky ${sky.join(', ')}`);
});
