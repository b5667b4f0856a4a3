// Focus map of one image file, band by band (memory bound by bands, not by the image):
//   pass 1  RDF per scale → per-scale histograms (for p99/MAD normalisation)
//   pass 2  RDF again, normalise, fuse by sum → filter .npy (+ per-scale .npy if asked) + histogram
//   pass 3  fused rows from the .npy → KDE impulses → Gaussian → kde .npy (raw) + filter_vis PNG
//   pass 4  clip + scale the KDE to 0..1 in place → kde_vis heat map over the image
// Layout is focus_response's: filter_arrays/<name>_filter.npy, kde_arrays/<name>_kde.npy,
// filter_vis/<name>_filter.png, kde_vis/<name>_kde.png.
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { openRowSink, openRowSource, type RowSource } from '../image/rows.js';
import { frameInfo } from './frames.js';
import { ImageFormatError } from '../image/types.js';
import type { BorderMode } from './border.js';
import { overlayHeatRows } from './colormap.js';
import { boxGaussianBand, gaussianBlurBand, gaussianKernel, kernelRadius } from './gaussian.js';
import { impulses, kdeThreshold, validateKde, type KdeOptions } from './kde.js';
import { NpyRowFile } from './npy-stream.js';
import { bandFromPlane, loadGrayPlane, type Band, type GrayPlane } from './plane.js';
import { LogHistogram } from './quantiles.js';
import { fuseScales, normFromStats, rdfBand, rdfHalo, type RadiiPair, type RdfNormalize, type RdfPower, type ScaleNorm } from './rdf.js';

export interface FocusMapOptions {
  radii: RadiiPair[];
  power: RdfPower;
  normalize: RdfNormalize;
  border: BorderMode;
  downsample: number; // 1 = full resolution
  kde: KdeOptions;
  saveScales: boolean;
  /** Rows per band (memory/speed trade). */
  bandRows?: number;
}

export interface FocusMapResult {
  name: string;
  input: string;
  width: number;
  height: number;
  threshold: number;
  filterMs: number;
  kdeMs: number;
  files: { filter: string; kde: string; filterVis: string; kdeVis: string; scales: string[] };
}

export function imageStem(path: string): string {
  return basename(path, extname(path));
}

/** Compute fused RDF rows for a plane; `emit` gets (y0, fused rows, per-scale rows). */
async function fusedRows(
  plane: GrayPlane,
  o: FocusMapOptions,
  radii: readonly RadiiPair[],
  emit: (y0: number, fused: Float32Array, scales: Float32Array[]) => Promise<void>,
): Promise<void> {
  const halo = rdfHalo(radii);
  const bandRows = o.bandRows ?? 64;
  let buf: Float32Array | undefined;
  const eachBand = async (fn: (b: Band, maps: Float32Array[]) => Promise<void> | void): Promise<void> => {
    for (let y0 = 0; y0 < plane.height; y0 += bandRows) {
      const rows = Math.min(bandRows, plane.height - y0);
      const band = bandFromPlane(plane, y0, rows, halo, o.border, buf);
      buf = band.data;
      await fn(band, rdfBand(band, radii, o.power, o.border));
    }
  };
  let norms: ScaleNorm[] = radii.map(() => ({ gain: 1, offset: 0 }));
  if (o.normalize !== 'none') {
    const hists = radii.map(() => new LogHistogram());
    await eachBand((_b, maps) => maps.forEach((m, i) => hists[i]!.add(m)));
    norms = hists.map((h) => {
      const { median, mad } = h.medianMad();
      return normFromStats(o.normalize, { p99: h.quantile(0.99), median, mad });
    });
  }
  await eachBand(async (b, maps) => {
    const fused = new Float32Array(b.rows * b.width);
    fuseScales(maps, norms, fused);
    await emit(b.y0, fused, maps);
  });
}

export async function focusMapFile(input: string, outDir: string, o: FocusMapOptions): Promise<FocusMapResult> {
  validateKde(o.kde);
  const name = imageStem(input);
  const dirs = { filter: join(outDir, 'filter_arrays'), kde: join(outDir, 'kde_arrays'), fvis: join(outDir, 'filter_vis'), kvis: join(outDir, 'kde_vis') };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  const files = {
    filter: join(dirs.filter, `${name}_filter.npy`),
    kde: join(dirs.kde, `${name}_kde.npy`),
    filterVis: join(dirs.fvis, `${name}_filter.png`),
    kdeVis: join(dirs.kvis, `${name}_kde.png`),
    scales: [] as string[],
  };
  const t0 = performance.now();
  const ds = Math.max(1, Math.floor(o.downsample));
  let plane: GrayPlane | null = await loadGrayPlane(input, { downsample: ds });
  const full = ds > 1 ? await frameInfo(input) : null;
  const fullW = full ? full.width : plane.width;
  const fullH = full ? full.height : plane.height;
  const radii = ds > 1 ? o.radii.map(([a, b]) => [Math.max(1, Math.floor(a / ds)), Math.max(2, Math.floor(b / ds))] as const) : o.radii;

  const filterNpy = await NpyRowFile.create(files.filter, fullW, fullH);
  const scaleNpys: NpyRowFile[] = [];
  const fusedHist = new LogHistogram();
  try {
    if (o.saveScales) {
      for (const [a, b] of o.radii) {
        const p = join(dirs.filter, `${name}_rdf_${a}-${b}.npy`);
        files.scales.push(p);
        scaleNpys.push(await NpyRowFile.create(p, fullW, fullH));
      }
    }
    if (ds === 1) {
      await fusedRows(plane, o, radii, async (y0, fused, maps) => {
        fusedHist.add(fused);
        await filterNpy.writeRows(y0, fused);
        for (let i = 0; i < scaleNpys.length; i++) await scaleNpys[i]!.writeRows(y0, maps[i]!);
      });
    } else {
      // Small maps in memory, then bilinear upsampling to full size row by row.
      const sw = plane.width, sh = plane.height;
      const small = new Float32Array(sw * sh);
      const smallScales = scaleNpys.map(() => new Float32Array(sw * sh));
      await fusedRows(plane, o, radii, async (y0, fused, maps) => {
        small.set(fused, y0 * sw);
        maps.forEach((m, i) => smallScales[i]?.set(m, y0 * sw));
      });
      const rowBuf = new Float32Array(fullW);
      for (let y = 0; y < fullH; y++) {
        upsampleRow(small, sw, sh, fullW, fullH, y, rowBuf);
        fusedHist.add(rowBuf);
        await filterNpy.writeRows(y, rowBuf);
        for (let i = 0; i < scaleNpys.length; i++) {
          upsampleRow(smallScales[i]!, sw, sh, fullW, fullH, y, rowBuf);
          await scaleNpys[i]!.writeRows(y, rowBuf);
        }
      }
    }
    plane = null; // free the luminance plane before the KDE passes
    for (const s of scaleNpys) await s.finish();
    await filterNpy.finish();
  } catch (err) {
    await filterNpy.abort();
    for (const s of scaleNpys) await s.abort();
    throw err;
  }
  const filterMs = performance.now() - t0;

  // Pass 3: KDE density, unnormalised, band by band from the fused .npy.
  const t1 = performance.now();
  const threshold = kdeThreshold(fusedHist, o.kde.topPercent);
  const visScale = 1 / (fusedHist.quantile(0.99) || fusedHist.max || 1);
  const filterVis = await openRowSink(files.filterVis, { width: fullW, height: fullH, channels: 1, format: 'png8' });
  const k = gaussianKernel(o.kde.bandwidthPx);
  const halo = kernelRadius(k);
  const fusedReader = await openReader(files.filter, fullW);
  const kdeNpy = await NpyRowFile.create(files.kde, fullW, fullH);
  const dHist = new LogHistogram();
  const bandRows = Math.max(o.bandRows ?? 64, halo);
  try {
    for (let y0 = 0; y0 < fullH; y0 += bandRows) {
      const rows = Math.min(bandRows, fullH - y0);
      const top = Math.max(0, y0 - halo);
      const bottom = Math.min(fullH, y0 + rows + halo);
      const stored = rows + 2 * halo;
      const data = new Float32Array(stored * fullW); // rows outside the image stay 0 (constant border)
      const chunk = await fusedReader.readRows(top, bottom - top);
      data.set(chunk, (top - (y0 - halo)) * fullW);
      const vis = new Float32Array(rows * fullW);
      for (let i = 0; i < vis.length; i++) {
        const v = data[halo * fullW + i]! * visScale;
        vis[i] = v >= 1 ? 1 : v <= 0 ? 0 : v;
      }
      await filterVis.writeRows(vis, rows);
      impulses(data, threshold, o.kde.includeStrength, data);
      const band: Band = { width: fullW, y0, rows, halo, data, inside: new Uint8Array(stored) };
      // Exact taps for narrow bandwidths, five box passes (O(1) per pixel) for wide ones.
      const dens = o.kde.bandwidthPx > 3 ? boxGaussianBand(band, o.kde.bandwidthPx) : gaussianBlurBand(band, k, 'constant');
      dHist.add(dens);
      await kdeNpy.writeRows(y0, dens);
    }
    await filterVis.finish();
  } catch (err) {
    await kdeNpy.abort();
    await filterVis.abort();
    throw err;
  } finally {
    await fusedReader.close();
  }

  // Pass 4: clip and normalise in place, paint the heat map.
  let hi = Infinity;
  if (o.kde.clipPercentile !== null && o.kde.clipPercentile < 100) hi = dHist.quantile(o.kde.clipPercentile / 100) || Infinity;
  const max = Math.min(hi, dHist.max);
  const gain = o.kde.normalize && max > 0 ? 1 / max : 1;
  // The heat map is painted over the image as its rows stream in (row source → row sink).
  const image = await openRowSource(input).catch((err: Error) => {
    throw new ImageFormatError(input, `cannot decode: ${err.message.split('\n')[0]}`, { cause: err });
  });
  const heat = await openRowSink(files.kdeVis, { width: fullW, height: fullH, channels: 3, format: 'png8' });
  try {
    for (let y0 = 0; y0 < fullH; y0 += bandRows) {
      const rows = Math.min(bandRows, fullH - y0);
      const d = await kdeNpy.readRows(y0, rows);
      for (let i = 0; i < d.length; i++) d[i] = Math.min(d[i]!, max) * gain;
      await kdeNpy.writeRows(y0, d);
      const px = await readRowsExactly(image, rows);
      await heat.writeRows(overlayHeatRows(px, image.channels, d), rows);
    }
    await kdeNpy.finish();
    await heat.finish();
  } catch (err) {
    await kdeNpy.abort();
    await heat.abort();
    throw err;
  } finally {
    await image.close();
  }
  const kdeMs = performance.now() - t1;
  return { name, input, width: fullW, height: fullH, threshold, filterMs, kdeMs, files };
}

async function openReader(path: string, w: number): Promise<{ readRows(y0: number, rows: number): Promise<Float32Array>; close(): Promise<void> }> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  const head = Buffer.alloc(10);
  await fh.read(head, 0, 10, 0);
  const offset = 10 + head.readUInt16LE(8);
  return {
    async readRows(y0, rows) {
      const out = new Float32Array(rows * w);
      await fh.read(Buffer.from(out.buffer), 0, out.byteLength, offset + y0 * w * 4);
      return out;
    },
    close: () => fh.close(),
  };
}

function upsampleRow(src: Float32Array, sw: number, sh: number, W: number, H: number, y: number, out: Float32Array): void {
  const fy = Math.min(sh - 1, Math.max(0, ((y + 0.5) * sh) / H - 0.5));
  const y0 = Math.floor(fy);
  const y1 = Math.min(sh - 1, y0 + 1);
  const wy = fy - y0;
  for (let x = 0; x < W; x++) {
    const fx = Math.min(sw - 1, Math.max(0, ((x + 0.5) * sw) / W - 0.5));
    const x0 = Math.floor(fx);
    const x1 = Math.min(sw - 1, x0 + 1);
    const wx = fx - x0;
    const a = src[y0 * sw + x0]! * (1 - wx) + src[y0 * sw + x1]! * wx;
    const b = src[y1 * sw + x0]! * (1 - wx) + src[y1 * sw + x1]! * wx;
    out[x] = a * (1 - wy) + b * wy;
  }
}

async function readRowsExactly(src: RowSource, rows: number): Promise<Float32Array> {
  const out = new Float32Array(rows * src.width * src.channels);
  let got = 0;
  while (got < rows) {
    const b = await src.readRows(rows - got);
    if (!b) throw new ImageFormatError(src.path, `ended after ${got} of ${rows} rows`);
    out.set(b.data.subarray(0, b.rows * src.width * src.channels), got * src.width * src.channels);
    got += b.rows;
  }
  return out;
}
