// Write the bracket-analysis report: JSON, or HDF5 (h5wasm, which writes real files under Node)
// laid out for h5py users: /camera_samples datasets + attributes, /images, /fpn.
import { extname } from 'node:path';
import { rename, unlink } from 'node:fs/promises';
import { tempPathFor, writeFileAtomic } from '../../lib/atomic.js';
import type { StatsReport } from './stats.js';

export async function writeStatsReport(path: string, r: StatsReport): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return writeFileAtomic(path, JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  if (ext !== '.h5' && ext !== '.hdf5') throw new Error(`--out: ${path} must end in .json, .h5 or .hdf5`);
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const tmp = tempPathFor(path);
  try {
    const f = new h5wasm.File(tmp, 'w');
    const cs = r.camera_samples;
    const C = cs.mean[0]?.length ?? 0;
    type Group = ReturnType<typeof f.create_group>;
    f.create_group('camera_samples');
    const grp = f.get('camera_samples') as Group;
    grp.create_dataset({ name: 'mean', data: new Float64Array(cs.mean.flat()), shape: [cs.mean.length, C] });
    grp.create_dataset({ name: 'std', data: new Float64Array(cs.std.flat()), shape: [cs.std.length, C] });
    grp.create_dataset({ name: 'n', data: new Float64Array(cs.n), shape: [cs.n.length] });
    grp.create_dataset({ name: 'exp_time', data: new Float64Array(cs.exp_time), shape: [cs.exp_time.length] });
    for (const [k, v] of Object.entries({ exp_time_units: cs.exp_time_units, camera: cs.camera, lens: cs.lens, label: cs.label, normalise: cs.normalise, settings: JSON.stringify(cs.settings) }))
      grp.create_attribute(k, v);
    grp.create_attribute('nd', cs.nd);
    grp.create_attribute('scale', cs.scale);
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
    im.create_attribute('paths', JSON.stringify(r.images.map((i) => i.path)));
    const fits = r.brackets.filter((b) => b.fpn);
    f.create_group('fpn');
    const fp = f.get('fpn') as Group;
    fp.create_attribute('brackets', JSON.stringify(fits.map((b) => b.id)));
    for (const key of ['offsetMean', 'offsetStd', 'gainMean', 'gainStd', 'prnu', 'temporalNoise', 'pixelsFit'] as const)
      fp.create_dataset({ name: key, data: new Float64Array(fits.flatMap((b) => b.fpn![key])), shape: [fits.length, C] });
    f.create_attribute('report_json', JSON.stringify(r));
    f.close();
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new Error(`${path}: cannot write HDF5: ${(err as Error).message}`, { cause: err });
  }
}
