import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFits } from '../../pipeline/image/fits.js';
import { readNpy } from '../../pipeline/image/npy.js';
import { bracketStats, denormalise, findBrackets, findWavelengthBrackets, loadCameraSamples, parseWavelength, writeStatsReport, type FpnMaps } from '../../pipeline/hdr/index.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const W = 64;
const H = 48;
const P = W * H;

/** Deterministic normal deviates (Box–Muller on a small LCG). */
function gauss(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Per-pixel offset with mean 0 and gain with mean 1, so the fit against frame means recovers them exactly. */
function pattern(seed: number): { off: Float64Array; gain: Float64Array } {
  const g = gauss(seed);
  const off = Float64Array.from({ length: P }, () => 0.01 * g());
  const gain = Float64Array.from({ length: P }, () => 1 + 0.05 * g());
  const mo = off.reduce((a, b) => a + b, 0) / P;
  const mg = gain.reduce((a, b) => a + b, 0) / P;
  for (let i = 0; i < P; i++) {
    off[i] -= mo;
    gain[i] /= mg;
  }
  return { off, gain };
}

const LEVELS = [0.05, 0.15, 0.3, 0.45, 0.6, 0.75];
const EXPOS_US = [1000, 3000, 6000, 9000, 12000, 15000];

async function stack(dir: string, sigma: number, seed: number, suffix = '', scale = 1): Promise<{ off: Float64Array; gain: Float64Array }> {
  await mkdir(dir, { recursive: true });
  const pat = pattern(seed);
  const g = gauss(seed + 100);
  for (let k = 0; k < LEVELS.length; k++) {
    const data = new Float32Array(P);
    for (let i = 0; i < P; i++) data[i] = pat.off[i]! + pat.gain[i]! * LEVELS[k]! * scale + sigma * g();
    await writeFits(join(dir, `20250601120000_${EXPOS_US[k]}${suffix}.fits`), { width: W, height: H, channels: 1, bitDepth: 32, data }, { bitpix: -32 });
  }
  return pat;
}

test('FPN fit against the frame means recovers a known per-pixel offset and gain; maps hold them', async (t) => {
  const dir = await tempDir(t);
  const pat = await stack(join(dir, 'in'), 0, 7);
  const brackets = await findBrackets(join(dir, 'in'));
  let maps: FpnMaps | null = null;
  const r = await bracketStats(brackets, { maps: true, onMaps: async (_b, m) => void (maps = m) });
  t.truthy(maps);
  const m = maps as unknown as FpnMaps;
  let eo = 0;
  let eg = 0;
  for (let i = 0; i < P; i++) {
    eo = Math.max(eo, Math.abs(m.offset[i]! - pat.off[i]!));
    eg = Math.max(eg, Math.abs(m.gain[i]! - pat.gain[i]!));
  }
  t.true(eo < 2e-5, `offset error ${eo}`);
  t.true(eg < 2e-5, `gain error ${eg}`);
  const fpn = r.brackets[0]!.fpn!;
  t.true(Math.abs(fpn.gainMean[0]! - 1) < 1e-6);
  t.true(Math.abs(fpn.offsetMean[0]!) < 1e-6);
  t.true(Math.abs(fpn.prnu[0]! - 0.05) < 0.01, `PRNU ${fpn.prnu[0]}`);
  t.true(fpn.temporalNoise[0]! < 1e-5);
  t.is(fpn.pixelsFit[0], P);
});

test('temporal noise after FPN removal: the saved std matches the noise put in; peak normalisation and denormalise', async (t) => {
  const dir = await tempDir(t);
  const sigma = 0.004;
  await stack(join(dir, 'in'), sigma, 11);
  const r = await bracketStats(await findBrackets(join(dir, 'in')));
  for (const im of r.images) t.true(Math.abs(im.temporalStd![0]! / sigma - 1) < 0.06, `frame ${im.expTime}: ${im.temporalStd![0]}`);
  const fpn = r.brackets[0]!.fpn!;
  t.true(Math.abs(fpn.temporalNoise[0]! / sigma - 1) < 0.03, `temporal noise ${fpn.temporalNoise[0]}`);
  // Spatial std of a frame is dominated by the pattern (gain 5 % of the level), far above sigma.
  const cs = r.camera_samples;
  t.is(cs.normalise, 'peak');
  const best = r.images.find((i) => i.path === r.brackets[0]!.best)!;
  t.true(best.std[0]! > 5 * sigma);
  // One bracket: the peak is its own mean/t, so mean = 1 and scale = mean/t.
  t.is(cs.mean[0]![0], 1);
  t.true(Math.abs(cs.scale - best.mean[0]! / best.expTime) < 1e-9 * cs.scale);
  t.true(Math.abs(cs.std[0]![0]! - best.temporalStd![0]! / best.expTime / cs.scale) < 1e-12);
  const d = denormalise(cs);
  t.true(Math.abs(d.mean[0]![0]! - best.mean[0]! / best.expTime) < 1e-9 * d.mean[0]![0]!);
  t.true(Math.abs(d.std[0]![0]! - best.temporalStd![0]! / best.expTime) < 1e-12 * 1e6);
  t.is(d.normalise, 'none');
  t.deepEqual(cs.n, [P]);
  t.true(Number.isInteger(cs.n[0]));
});

test('brackets by wavelength: tokens in names and folders, units converted, nom_wl per sample', async (t) => {
  t.is(parseWavelength('frame_550nm'), 550);
  t.is(parseWavelength('0.65um', 'nm'), 650);
  t.is(parseWavelength('550nm', 'um'), 0.55);
  t.is(parseWavelength('wl700'), 700);
  t.is(parseWavelength('20250601120000_1000'), null);
  const dir = await tempDir(t);
  await stack(join(dir, 'sweep'), 0.002, 3, '_550nm', 1);
  await stack(join(dir, 'sweep', '650nm'), 0.002, 4, '', 0.5);
  const br = await findWavelengthBrackets(join(dir, 'sweep'));
  t.deepEqual(br.map((b) => [b.id, b.nomWl, b.frames.length]), [
    ['550nm', 550, 6],
    ['650nm', 650, 6],
  ]);
  const r = await bracketStats(br, { normalise: 'none' });
  t.deepEqual(r.camera_samples.nom_wl, [550, 650]);
  t.is(r.camera_samples.wl_units, 'nm');
  // Best SNR is the brightest frame: level/t = 0.75 / 15 ms for 550 nm, half that for 650 nm.
  t.true(Math.abs(r.camera_samples.mean[0]![0]! - 0.75 / 0.015) < 1e-3 * 50);
  t.true(Math.abs(r.camera_samples.mean[1]![0]! - 0.375 / 0.015) < 1e-3 * 25);
});

test('ROI crop: statistics and n over the rectangle only', async (t) => {
  const dir = await tempDir(t);
  await stack(join(dir, 'in'), 0, 5);
  const roi = { x: 10, y: 7, width: 20, height: 13 };
  const r = await bracketStats(await findBrackets(join(dir, 'in')), { roi, normalise: 'none', stripRows: 4 });
  t.deepEqual(r.camera_samples.n, [260]);
  t.deepEqual(r.camera_samples.roi, [10, 7, 20, 13]);
  // Hand mean over the rectangle of the brightest frame.
  const pat = pattern(5);
  let s = 0;
  for (let y = roi.y; y < roi.y + roi.height; y++) for (let x = roi.x; x < roi.x + roi.width; x++) s += pat.off[y * W + x]! + pat.gain[y * W + x]! * 0.75;
  const im = r.images.find((i) => i.expTime === 0.015)!;
  t.true(Math.abs(im.mean[0]! - s / 260) < 1e-6, `${im.mean[0]} vs ${s / 260}`);
  const errors: string[] = [];
  await bracketStats(await findBrackets(join(dir, 'in')), { roi: { x: 60, y: 0, width: 10, height: 5 }, onBracket: (_id, e) => void (e && errors.push(e)) });
  t.deepEqual(errors, ['20250601120000: ROI 60,0,10,5 is outside the 64×48 frame']);
});

test.serial('HDF5 for h5py: our /camera_samples record; loader round trip; CLI -i settings YAML, --quiet, maps as FITS/.npy', async (t) => {
  const python = requireCommand('/usr/bin/python3', 'python3-h5py');
  const dir = await tempDir(t);
  const pat = await stack(join(dir, 'in'), 0, 9);
  const out = join(dir, 'stats.h5');
  const maps = join(dir, 'maps');
  await writeFile(join(dir, 'settings.yaml'), `input: ${join(dir, 'in')}\nout: ${out}\ncamera: asi178\nnd: 2\nunits: W/m2/sr\nroi: [0, 0, ${W}, ${H}]\nmaps: ${maps}\nquiet: true\nsettings:\n  gain: 100\n`);
  const { Command } = await import('commander');
  const { registerHdrCommands } = await import('../../agent/cli/commands/hdr.js');
  const program = new Command('skyrig').exitOverride();
  registerHdrCommands(program);
  let stdout = '';
  const ow = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string) => ((stdout += c), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'skyrig', 'hdr', 'stats', '-i', join(dir, 'settings.yaml'), '--camera', 'cli-wins']);
  } finally {
    process.stdout.write = ow;
  }
  t.is(stdout, '');
  const py = `import h5py, json
f = h5py.File('${out}', 'r'); g = f['camera_samples']
print(json.dumps({'keys': sorted(g.keys()), 'n': g['n'].dtype.kind, 'shape': list(g['mean'].shape), 'camera': g.attrs['camera'], 'units': g.attrs['units'], 'wl_units': g.attrs['wl_units'], 'nd': float(g.attrs['nd']), 'normalise': g.attrs['normalise'], 'settings': json.loads(g.attrs['settings']), 'mean': float(g['mean'][0, 0])}))`;
  const res = JSON.parse((await run(python, ['-c', py])).stdout) as Record<string, unknown>;
  t.deepEqual(res, { keys: ['exp_time', 'mean', 'n', 'nom_wl', 'std'], n: 'i', shape: [1, 1], camera: 'cli-wins', units: 'W/m2/sr', wl_units: 'nm', nd: 2, normalise: 'peak', settings: { gain: 100 }, mean: 1 });
  const cs = await loadCameraSamples(out);
  t.is(cs.camera, 'cli-wins');
  t.deepEqual(cs.n, [P]);
  t.is(cs.mean[0]![0], 1);
  const json = join(dir, 'stats.json');
  await writeStatsReport(json, await bracketStats(await findBrackets(join(dir, 'in'))));
  const cj = await loadCameraSamples(json);
  t.true(Math.abs(denormalise(cj).mean[0]![0]! - denormalise(cs).mean[0]![0]!) < 1e-9 * cj.scale);
  const gain = await readNpy(join(maps, '20250601120000_gain.npy'));
  t.deepEqual(gain.shape, [H, W]);
  t.true(Math.abs((gain.data[100] as number) - pat.gain[100]!) < 2e-5);
  const { readFits } = await import('../../pipeline/image/fits.js');
  const off = await readFits(join(maps, '20250601120000_offset.fits'));
  t.is(off.image.width, W);
  t.true(Math.abs(off.image.data[100]! - pat.off[100]!) < 2e-5);
});

test.serial('hdr stats CLI: wavelength brackets end to end, one-line errors for a bad settings key, --group-by and --roi', async (t) => {
  const dir = await tempDir(t);
  await stack(join(dir, 'sweep', '550nm'), 0.002, 21);
  await stack(join(dir, 'sweep', '700nm'), 0.002, 22, '', 0.5);
  const { Command } = await import('commander');
  const { registerHdrCommands } = await import('../../agent/cli/commands/hdr.js');
  const cli = async (args: string[]): Promise<{ out: string; err: string }> => {
    const program = new Command('skyrig').exitOverride();
    registerHdrCommands(program);
    let out = '';
    const ow = process.stdout.write.bind(process.stdout);
    const ew = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((c: string) => ((out += c), true)) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await program.parseAsync(['node', 'skyrig', 'hdr', 'stats', ...args]);
      return { out, err: '' };
    } catch (e) {
      return { out, err: (e as Error).message };
    } finally {
      process.stdout.write = ow;
      process.stderr.write = ew;
    }
  };
  const js = join(dir, 'wl.json');
  const ok = await cli([join(dir, 'sweep'), '--out', js, '--group-by', 'wavelength', '--normalise', 'none']);
  t.is(ok.err, '');
  t.regex(ok.out, /stats: .*wl\.json \(12 images, 0 rejected above --max, 2 best-SNR samples\)/);
  const cs = await loadCameraSamples(js);
  t.deepEqual(cs.nom_wl, [550, 700]);
  t.true(Math.abs(cs.mean[0]![0]! / cs.mean[1]![0]! - 2) < 0.01, `${cs.mean[0]![0]} / ${cs.mean[1]![0]}`);
  await writeFile(join(dir, 'bad.yaml'), 'input: x\nexposure: 3\n');
  t.regex((await cli(['-i', join(dir, 'bad.yaml')])).err, /bad\.yaml: unknown setting "exposure"/);
  t.regex((await cli([join(dir, 'sweep'), '--out', js, '--group-by', 'colour'])).err, /^--group-by: expected time or wavelength, got "colour"$/);
  t.regex((await cli([join(dir, 'sweep'), '--out', js, '--group-by', 'wavelength', '--roi', '1,2,3'])).err, /^--roi: expected x,y,width,height/);
});

test('the HDF5 root is the seed tool\'s CameraSamples file: h5py reads its field names, values by its rules (counts/s, fit across samples)', async (t) => {
  const python = requireCommand('/usr/bin/python3', 'python3-h5py');
  const dir = await tempDir(t);
  const w = 8, h = 6, n = w * h;
  // One 16-bit frame per wavelength (written out of wavelength order): integer counts
  // off + gain·L + a small frame-specific wobble, so the per-pixel line through the samples leaves residuals.
  const waves = [[650, 4000, 20000], [450, 2000, 9000], [550, 8000, 30000]] as const; // nm, exposure µs, level
  const counts = new Map<number, Int32Array>();
  for (const [k, [wl, us, level]] of waves.entries()) {
    const c = Int32Array.from({ length: n }, (_, i) => 100 + (i % 7) * 3 + Math.round(level * (1 + 0.01 * (i % 5))) + ((i * (k + 3)) % 11));
    counts.set(wl, c);
    await mkdir(join(dir, 'sweep'), { recursive: true });
    await writeFits(join(dir, 'sweep', `20250601120000_${us}_${wl}nm.fits`), { width: w, height: h, channels: 1, bitDepth: 16, data: Float32Array.from(c, (v) => v / 65535) }, { bitpix: 16 });
  }
  const report = await bracketStats(await findWavelengthBrackets(join(dir, 'sweep')), { camera: 'asi178', lens: 'fisheye', label: 'sweep1', nd: 0.5, settings: { gain: 100 } });
  const out = join(dir, 'samples.h5');
  await writeStatsReport(out, report);
  // The seed's rules, by hand: samples sorted by wavelength; y = counts / t; x_k = mean over the ROI;
  // per pixel b = cov(x, y)/var(x), a = ȳ − b·x̄ (population moments); std_k = np.std of y_k − a − b·x_k.
  const order = [...waves].sort((a, b) => a[0] - b[0]);
  const y = order.map(([wl, us]) => Array.from(counts.get(wl)!, (v) => v / (us / 1e6)));
  const x = y.map((r) => r.reduce((a, b) => a + b, 0) / n);
  const xm = x.reduce((a, b) => a + b, 0) / 3;
  const xv = x.reduce((a, b) => a + (b - xm) ** 2, 0) / 3;
  const res = y.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const ym = (y[0]![i]! + y[1]![i]! + y[2]![i]!) / 3;
    const b = x.reduce((s, xk, k) => s + (xk - xm) * (y[k]![i]! - ym), 0) / 3 / xv;
    const a = ym - b * xm;
    for (let k = 0; k < 3; k++) res[k]![i] = y[k]![i]! - a - b * x[k]!;
  }
  const std = res.map((r) => {
    const m = r.reduce((a, b) => a + b, 0) / n;
    return Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / n);
  });
  t.true(std.every((s) => s > 1), `residual std ${std}`);
  const py = `import h5py, json
f = h5py.File('${out}', 'r'); s = f['samples']
print(json.dumps({
  'root': {k: str(v) for k, v in f.attrs.items() if k != 'report_json'},
  'wl': f['nominal_wavelength'][()].tolist(), 'wl_units': f['nominal_wavelength'].attrs['units'],
  't': f['exposure_time'][()].tolist(), 't_units': f['exposure_time'].attrs['units'],
  'samples': s[()].tolist(), 'std': f['samples_std'][()].tolist(),
  'units': s.attrs['units'], 'n': int(s.attrs['n']), 'n_kind': s.attrs['n'].dtype.kind, 'std_units': f['samples_std'].attrs['units'], 'std_n': int(f['samples_std'].attrs['n']),
  'dims': [s.dims[0].label, s.dims[1].label, [d.name for d in s.dims[0].values()], len(s.dims[1])],
  'ND': float(f['ND'][()]), 'ND_shape': list(f['ND'].shape)}))`;
  const got = JSON.parse((await run(python, ['-c', py])).stdout) as Record<string, unknown> & { samples: number[][]; std: number[][] };
  t.deepEqual(got.root, { camera: 'asi178', lens: 'fisheye', settings: '{"gain":100}', label: 'sweep1' });
  t.deepEqual(got.wl, [450, 550, 650]);
  t.is(got.wl_units, 'nm');
  t.deepEqual(got.t, [0.002, 0.008, 0.004]);
  t.is(got.t_units, 's');
  t.deepEqual([got.units, got.n, got.n_kind, got.std_units, got.std_n], ['counts/s', n, 'i', 'counts/s', n]);
  t.deepEqual(got.dims, ['nominal_wavelength', 'channel', ['/nominal_wavelength'], 0]);
  t.deepEqual([got.ND, got.ND_shape], [0.5, []]);
  for (let k = 0; k < 3; k++) {
    t.true(Math.abs(got.samples[k]![0]! - x[k]!) < 1e-9 * x[k]!, `samples[${k}] ${got.samples[k]![0]} vs ${x[k]}`);
    t.true(Math.abs(got.std[k]![0]! - std[k]!) < 1e-6 * std[k]!, `samples_std[${k}] ${got.std[k]![0]} vs ${std[k]}`);
  }
  // Our own record is still there beside it, normalised by peak as before.
  t.is((await loadCameraSamples(out)).normalise, 'peak');
});

/** A baseline 16-bit grey TIFF (little-endian, one strip) with IFD0 → Exif IFD → ExposureTime = num/den, as dcraw writes them. */
function tiff16(w: number, h: number, px: Uint16Array, num: number, den: number): Buffer {
  const tags: [number, number, number, number][] = []; // tag, type, count, value
  const dataOff = 8;
  const dataLen = w * h * 2;
  const ifd = dataOff + dataLen;
  const entries = 10;
  const exifIfd = ifd + 2 + entries * 12 + 4;
  const rational = exifIfd + 2 + 12 + 4;
  tags.push([256, 3, 1, w], [257, 3, 1, h], [258, 3, 1, 16], [259, 3, 1, 1], [262, 3, 1, 1], [273, 4, 1, dataOff], [277, 3, 1, 1], [278, 3, 1, h], [279, 4, 1, dataLen], [34665, 4, 1, exifIfd]);
  const b = Buffer.alloc(rational + 8);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(ifd, 4);
  for (let i = 0; i < px.length; i++) b.writeUInt16LE(px[i]!, dataOff + 2 * i);
  b.writeUInt16LE(entries, ifd);
  tags.forEach(([tag, type, count, value], i) => {
    const e = ifd + 2 + 12 * i;
    b.writeUInt16LE(tag, e);
    b.writeUInt16LE(type, e + 2);
    b.writeUInt32LE(count, e + 4);
    if (type === 3) b.writeUInt16LE(value, e + 8);
    else b.writeUInt32LE(value, e + 8);
  });
  b.writeUInt16LE(1, exifIfd);
  b.writeUInt16LE(33434, exifIfd + 2);
  b.writeUInt16LE(5, exifIfd + 4);
  b.writeUInt32LE(1, exifIfd + 6);
  b.writeUInt32LE(rational, exifIfd + 10);
  b.writeUInt32LE(num, rational);
  b.writeUInt32LE(den, rational + 4);
  return b;
}

test.serial('the seed\'s own settings YAML (-i): image_dir + image_name pattern + images per wavelength, .tiff with EXIF exposure, ROI, ND; -o gets .h5', async (t) => {
  const python = requireCommand('/usr/bin/python3', 'python3-h5py');
  const dir = await tempDir(t);
  const w = 10, h = 8;
  await mkdir(join(dir, 'raw'), { recursive: true });
  // Wavelength 500: images 1 (1/100 s, level 1000) and 2 (1/50 s, level 3000: brighter, less relative noise → best SNR);
  // wavelength 600: image 3 (1/25 s) and image 4 with a pixel inside the ROI above 0.995 of full scale (rejected).
  const frame = (level: number, hot = false) => Uint16Array.from({ length: w * h }, (_, i) => (hot && i === 23 ? 65535 : level + (i % 4) * 10 + (i % 3) * 7));
  await writeFile(join(dir, 'raw', 'DSC_0001.tiff'), tiff16(w, h, frame(1000), 1, 100));
  await writeFile(join(dir, 'raw', 'DSC_0002.tiff'), tiff16(w, h, frame(3000), 1, 50));
  await writeFile(join(dir, 'raw', 'DSC_0003.tiff'), tiff16(w, h, frame(2000), 1, 25));
  await writeFile(join(dir, 'raw', 'DSC_0004.tiff'), tiff16(w, h, frame(9000, true), 1, 10));
  await writeFile(join(dir, 'cam.yaml'), [
    'camera: Nikon D850', 'lens: Nikkor 50mm', 'settings: ISO 100, f/8', 'label: d850', 'ND: 1.0', 'crop: [0, 0, 10, 8]', 'dcraw: -4 -T',
    'roi: [2, 1, 6, 5]', 'non_negative: True', 'source_spectra: mono', 'image_dir: raw', 'image_name: DSC_{:04}.NEF',
    'images:', '  600: [3, 4]', '  500: [1, 2]', '',
  ].join('\n'));
  const { Command } = await import('commander');
  const { registerHdrCommands } = await import('../../agent/cli/commands/hdr.js');
  const program = new Command('skyrig').exitOverride();
  registerHdrCommands(program);
  const ow = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'skyrig', 'hdr', 'stats', '-i', join(dir, 'cam.yaml'), '-o', join(dir, 'samples.out'), '--quiet']);
  } finally {
    process.stdout.write = ow;
  }
  // Hand values over the ROI (x 2..7, y 1..5): mean of the chosen frame's counts ÷ its exposure.
  const roiMean = (level: number) => {
    let s = 0;
    for (let y = 1; y < 6; y++) for (let x = 2; x < 8; x++) { const i = y * w + x; s += level + (i % 4) * 10 + (i % 3) * 7; }
    return s / 30;
  };
  const py = `import h5py, json
f = h5py.File('${join(dir, 'samples.h5')}', 'r')
print(json.dumps({'root': {k: str(v) for k, v in f.attrs.items() if k != 'report_json'}, 'wl': f['nominal_wavelength'][()].tolist(),
  't': f['exposure_time'][()].tolist(), 'samples': f['samples'][()].tolist(), 'n': int(f['samples'].attrs['n']), 'ND': float(f['ND'][()])}))`;
  const got = JSON.parse((await run(python, ['-c', py])).stdout) as { root: Record<string, string>; wl: number[]; t: number[]; samples: number[][]; n: number; ND: number };
  t.deepEqual(got.root, { camera: 'Nikon D850', lens: 'Nikkor 50mm', settings: 'ISO 100, f/8', label: 'd850' });
  t.deepEqual(got.wl, [500, 600]);
  t.deepEqual(got.t, [0.02, 0.04]);
  t.is(got.n, 30);
  t.is(got.ND, 1);
  t.true(Math.abs(got.samples[0]![0]! - roiMean(3000) / 0.02) < 1e-6, `500 nm: ${got.samples[0]![0]} vs ${roiMean(3000) / 0.02}`);
  t.true(Math.abs(got.samples[1]![0]! - roiMean(2000) / 0.04) < 1e-6, `600 nm: ${got.samples[1]![0]} vs ${roiMean(2000) / 0.04}`);
  // A missing image fails its wavelength with one line naming the file.
  await writeFile(join(dir, 'bad.yaml'), 'camera: x\nimage_dir: raw\nimage_name: DSC_{:04}.NEF\nimages:\n  700: [9]\n');
  const { isSeedSettings, parseSeedSettings, seedBrackets, formatImageName } = await import('../../pipeline/hdr/index.js');
  const { parse } = await import('yaml');
  const doc = parse('camera: x\nimage_dir: raw\nimage_name: DSC_{:04}.NEF\nimages:\n  700: [9]\n') as Record<string, unknown>;
  t.true(isSeedSettings(doc));
  const [b] = await seedBrackets(parseSeedSettings(doc, join(dir, 'bad.yaml')));
  t.is(b!.error, `700nm: ${join(dir, 'raw', 'DSC_0009.tiff')}: no such image (image 9 of the settings)`);
  t.is(formatImageName('IMG_{}.CR2', 7), 'IMG_7.CR2');
  t.is(formatImageName('x{:4}', 7), 'x   7');
});

test('a file the seed wrote (its root layout only, made here with h5py) loads as its CameraSamples does: counts/s, scale 1', async (t) => {
  const python = requireCommand('/usr/bin/python3', 'python3-h5py');
  const dir = await tempDir(t);
  const path = join(dir, 'seed.h5');
  const py = `import h5py, numpy as np
f = h5py.File('${path}', 'w')
for k, v in {'camera': 'D850', 'lens': '50mm', 'settings': 'ISO 100', 'label': 'run1'}.items(): f.attrs[k] = v
f.create_dataset('nominal_wavelength', data=np.array([400, 410])); f['nominal_wavelength'].attrs['units'] = 'nm'
f.create_dataset('exposure_time', data=np.array([0.5, 0.25])); f['exposure_time'].attrs['units'] = 's'
for name, d in (('samples', [[10.0, 20.0, 30.0], [11.0, 21.0, 31.0]]), ('samples_std', [[1.0, 2.0, 3.0], [1.5, 2.5, 3.5]])):
    f.create_dataset(name, data=np.array(d)); f[name].attrs['units'] = 'counts/s'; f[name].attrs['n'] = 4096
f.create_dataset('ND', data=0.3)
f['nominal_wavelength'].make_scale()
f['samples'].dims[0].attach_scale(f['nominal_wavelength'])
f.close()`;
  await run(python, ['-c', py]);
  const cs = await loadCameraSamples(path);
  t.deepEqual(cs.mean, [[10, 20, 30], [11, 21, 31]]);
  t.deepEqual(cs.std, [[1, 2, 3], [1.5, 2.5, 3.5]]);
  t.deepEqual(cs.n, [4096, 4096]);
  t.deepEqual(cs.nom_wl, [400, 410]);
  t.deepEqual(cs.exp_time, [0.5, 0.25]);
  t.like(cs, { units: 'counts/s', wl_units: 'nm', nd: 0.3, camera: 'D850', lens: '50mm', settings: 'ISO 100', label: 'run1', scale: 1, normalise: 'none' });
});
