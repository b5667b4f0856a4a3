// Write and read the bracket-analysis report: JSON, or HDF5 (h5wasm, which writes real files under
// Node). The HDF5 root is the seed tool's CameraSamples file to the letter (image_stats.py's
// `_h5members`: root attributes camera/lens/settings/label, /nominal_wavelength, /exposure_time,
// /samples and /samples_std with `units` and `n`, dimension scales, /ND), so its `CameraSamples(path)`
// loads it; our own record sits beside it in /camera_samples, /images, /fpn. Per-pixel FPN maps go
// to FITS and .npy beside it.
import { extname, join } from 'node:path';
import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { tempPathFor, writeFileAtomic } from '../../lib/atomic.js';
import { writeFits } from '../image/fits.js';
import { writeNpy } from '../image/npy.js';
import type { CameraSamples, FpnMaps, Normalise, SeedSamples, StatsReport } from './stats.js';

type H5 = typeof import('h5wasm/node').default;
async function h5(): Promise<H5> {
  const m = (await import('h5wasm/node')).default;
  await m.ready;
  return m;
}

export async function writeStatsReport(path: string, r: StatsReport): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return writeFileAtomic(path, JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  if (ext !== '.h5' && ext !== '.hdf5') throw new Error(`--out: ${path} must end in .json, .h5 or .hdf5`);
  const h5wasm = await h5();
  const tmp = tempPathFor(path);
  try {
    const f = new h5wasm.File(tmp, 'w');
    if (r.seed_samples) writeSeedSamples(f, r.seed_samples);
    const cs = r.camera_samples;
    const C = cs.mean[0]?.length ?? 0;
    type Group = ReturnType<typeof f.create_group>;
    f.create_group('camera_samples');
    const grp = f.get('camera_samples') as Group;
    grp.create_dataset({ name: 'mean', data: new Float64Array(cs.mean.flat()), shape: [cs.mean.length, C] });
    grp.create_dataset({ name: 'std', data: new Float64Array(cs.std.flat()), shape: [cs.std.length, C] });
    grp.create_dataset({ name: 'n', data: new Int32Array(cs.n), shape: [cs.n.length] });
    grp.create_dataset({ name: 'exp_time', data: new Float64Array(cs.exp_time), shape: [cs.exp_time.length] });
    grp.create_dataset({ name: 'nom_wl', data: new Float64Array(cs.nom_wl), shape: [cs.nom_wl.length] });
    for (const [k, v] of Object.entries({ exp_time_units: cs.exp_time_units, wl_units: cs.wl_units, units: cs.units, camera: cs.camera, lens: cs.lens, label: cs.label, normalise: cs.normalise, settings: JSON.stringify(cs.settings) }))
      grp.create_attribute(k, v);
    grp.create_attribute('nd', cs.nd);
    grp.create_attribute('scale', cs.scale);
    if (cs.roi.length === 4) grp.create_attribute('roi', new Int32Array(cs.roi));
    f.create_group('images');
    const im = f.get('images') as Group;
    const n = r.images.length;
    im.create_dataset({ name: 'snr', data: new Float64Array(r.images.map((i) => (Number.isFinite(i.snr) ? i.snr : NaN))), shape: [n] });
    im.create_dataset({ name: 'noise', data: new Float64Array(r.images.map((i) => i.noise)), shape: [n] });
    im.create_dataset({ name: 'exp_time', data: new Float64Array(r.images.map((i) => i.expTime)), shape: [n] });
    im.create_dataset({ name: 'max', data: new Float64Array(r.images.map((i) => i.max)), shape: [n] });
    im.create_dataset({ name: 'rejected', data: new Uint8Array(r.images.map((i) => (i.rejected ? 1 : 0))), shape: [n] });
    im.create_dataset({ name: 'mean', data: new Float64Array(r.images.flatMap((i) => i.mean)), shape: [n, C] });
    im.create_dataset({ name: 'std', data: new Float64Array(r.images.flatMap((i) => i.std)), shape: [n, C] });
    im.create_dataset({ name: 'temporal_std', data: new Float64Array(r.images.flatMap((i) => i.temporalStd ?? i.mean.map(() => NaN))), shape: [n, C] });
    im.create_attribute('paths', JSON.stringify(r.images.map((i) => i.path)));
    const fits = r.brackets.filter((b) => b.fpn);
    f.create_group('fpn');
    const fp = f.get('fpn') as Group;
    fp.create_attribute('brackets', JSON.stringify(fits.map((b) => b.id)));
    for (const key of ['offsetMean', 'offsetStd', 'gainMean', 'gainStd', 'prnu', 'temporalNoise', 'pixelsFit'] as const)
      fp.create_dataset({ name: key, data: new Float64Array(fits.flatMap((b) => b.fpn![key])), shape: [fits.length, C] });
    f.create_attribute('report_json', JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
    f.close();
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new Error(`${path}: cannot write HDF5: ${(err as Error).message}`, { cause: err });
  }
}

type H5File = InstanceType<H5['File']>;
interface H5Dataset {
  create_attribute(name: string, value: unknown, shape?: number[] | null, dtype?: string | null): void;
  make_scale(name?: string): void;
  attach_scale(index: number, path: string): void;
  set_dimension_label(index: number, label: string): void;
}

/** The seed's CameraSamples layout at the file root (see the header comment). */
function writeSeedSamples(f: H5File, s: SeedSamples): void {
  const N = s.samples.length;
  const C = s.samples[0]?.length ?? 0;
  for (const [k, v] of Object.entries({ camera: s.camera, lens: s.lens, settings: s.settings, label: s.label })) f.create_attribute(k, v);
  const ds = (name: string) => f.get(name) as unknown as H5Dataset;
  f.create_dataset({ name: 'nominal_wavelength', data: new Float64Array(s.nominal_wavelength), shape: [N] });
  ds('nominal_wavelength').create_attribute('units', s.wl_units);
  f.create_dataset({ name: 'exposure_time', data: new Float64Array(s.exposure_time), shape: [N] });
  ds('exposure_time').create_attribute('units', s.exp_time_units);
  for (const [name, rows] of [['samples', s.samples], ['samples_std', s.samples_std]] as const) {
    f.create_dataset({ name, data: new Float64Array(rows.flat()), shape: [N, C] });
    const d = ds(name);
    d.create_attribute('units', s.units);
    d.create_attribute('n', BigInt(s.n), null, '<q');
    d.set_dimension_label(0, 'nominal_wavelength');
    d.set_dimension_label(1, 'channel');
  }
  f.create_dataset({ name: 'ND', data: new Float64Array([s.ND]), shape: [] });
  // After every dataset exists, as the seed does: the wavelengths become the samples' first axis.
  ds('nominal_wavelength').make_scale();
  ds('samples').attach_scale(0, 'nominal_wavelength');
  ds('samples_std').attach_scale(0, 'nominal_wavelength');
}

function rows(flat: ArrayLike<number | bigint>, shape: number[]): number[][] {
  const [n = 0, c = 1] = shape;
  return Array.from({ length: n }, (_, i) => Array.from({ length: c }, (_, j) => Number(flat[i * c + j]!)));
}

/** Load CameraSamples from a stats .h5/.hdf5 or .json (as written above); `denormalise` undoes `normalise`. */
export async function loadCameraSamples(path: string): Promise<CameraSamples> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') {
    let r: StatsReport;
    try {
      r = JSON.parse(await readFile(path, 'utf8')) as StatsReport;
    } catch (err) {
      throw new Error(`${path}: cannot read stats report: ${(err as Error).message}`, { cause: err });
    }
    if (!r.camera_samples) throw new Error(`${path}: no camera_samples in the report`);
    const cs = r.camera_samples;
    return { ...cs, nom_wl: (cs.nom_wl ?? []).map((v) => (v === null ? NaN : v)), mean: cs.mean.map((row) => row.map((v) => (v === null ? NaN : v))), std: cs.std.map((row) => row.map((v) => (v === null ? NaN : v))) };
  }
  if (ext !== '.h5' && ext !== '.hdf5') throw new Error(`${path}: stats file must end in .json, .h5 or .hdf5`);
  const h5wasm = await h5();
  let f;
  try {
    await readFile(path, { flag: 'r' }).then(() => undefined);
    f = new h5wasm.File(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot read HDF5: ${(err as Error).message}`, { cause: err });
  }
  try {
    const g = f.get('camera_samples') as { get(k: string): unknown; attrs: Record<string, { value: unknown }> } | null;
    if (!g && f.get('samples')) return seedFileSamples(f as unknown as H5Node, path);
    if (!g) throw new Error(`${path}: no /camera_samples group (nor the seed's /samples)`);
    const ds = (k: string) => {
      const d = g.get(k) as { value: ArrayLike<number | bigint>; shape: number[] } | null;
      if (!d) throw new Error(`${path}: no /camera_samples/${k}`);
      return d;
    };
    const attr = (k: string): unknown => g.attrs[k]?.value;
    const mean = ds('mean');
    const std = ds('std');
    const roi = attr('roi') as ArrayLike<number> | undefined;
    return {
      mean: rows(mean.value, mean.shape),
      std: rows(std.value, std.shape),
      n: Array.from(ds('n').value, Number),
      exp_time: Array.from(ds('exp_time').value, Number),
      exp_time_units: 's',
      nom_wl: Array.from(ds('nom_wl').value, Number),
      wl_units: String(attr('wl_units') ?? 'nm'),
      units: String(attr('units') ?? ''),
      nd: Number(attr('nd') ?? 0),
      camera: String(attr('camera') ?? ''),
      lens: String(attr('lens') ?? ''),
      settings: JSON.parse(String(attr('settings') ?? '{}')) as Record<string, unknown> | string,
      label: String(attr('label') ?? ''),
      scale: Number(attr('scale') ?? 1),
      normalise: String(attr('normalise') ?? 'none') as Normalise,
      roi: roi ? Array.from(roi, Number) : [],
    };
  } finally {
    f.close();
  }
}

interface H5Node {
  get(k: string): { value: ArrayLike<number | bigint> | number | bigint; shape: number[]; attrs: Record<string, { value: unknown }> } | null;
  attrs: Record<string, { value: unknown }>;
}

/**
 * A file the seed image_stats.py wrote (only its root layout): read as its CameraSamples(path) loads
 * it — counts/s, scale 1, nothing normalised — into our record; `n` repeated per sample.
 */
function seedFileSamples(f: H5Node, path: string): CameraSamples {
  const ds = (k: string) => {
    const d = f.get(k);
    if (!d) throw new Error(`${path}: no /${k} (the seed's CameraSamples layout)`);
    return d;
  };
  const arr = (k: string) => Array.from(ds(k).value as ArrayLike<number | bigint>, Number);
  const samples = ds('samples');
  const std = ds('samples_std');
  const N = samples.shape[0] ?? 0;
  const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  const nd = f.get('ND');
  return {
    mean: rows(samples.value as ArrayLike<number | bigint>, samples.shape),
    std: rows(std.value as ArrayLike<number | bigint>, std.shape),
    n: Array.from({ length: N }, () => Number(samples.attrs.n?.value ?? 0)),
    exp_time: arr('exposure_time'),
    exp_time_units: 's',
    nom_wl: arr('nominal_wavelength'),
    wl_units: text(ds('nominal_wavelength').attrs.units?.value) || 'nm',
    units: text(samples.attrs.units?.value),
    nd: nd ? Number(nd.value) : 0,
    camera: text(f.attrs.camera?.value),
    lens: text(f.attrs.lens?.value),
    settings: text(f.attrs.settings?.value),
    label: text(f.attrs.label?.value),
    scale: 1,
    normalise: 'none',
    roi: [],
  };
}

/** `<dir>/<stamp>_{offset,gain,residual}.{fits,npy}`; returns the paths written. */
export async function writeFpnMaps(dir: string, stamp: string, maps: FpnMaps): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const shape = maps.channels > 1 ? [maps.height, maps.width, maps.channels] : [maps.height, maps.width];
  const out: string[] = [];
  for (const [name, data] of [['offset', maps.offset], ['gain', maps.gain], ['residual', maps.residual]] as const) {
    const base = join(dir, `${stamp.replace(/[^\w.-]+/g, '_')}_${name}`);
    await writeNpy(`${base}.npy`, data, shape, '<f4');
    await writeFits(`${base}.fits`, { width: maps.width, height: maps.height, channels: maps.channels, bitDepth: 32, data }, { bitpix: -32, cards: { FPNMAP: name } });
    out.push(`${base}.fits`, `${base}.npy`);
  }
  return out;
}
