// Focus map of one image file, band by band (memory bound by bands, not by the image):
//   pass 1  RDF per scale → per-scale histograms (for p99/MAD normalisation)
//   pass 2  RDF again, normalise, fuse by sum → filter .npy (+ per-scale .npy if asked) + histogram
//   pass 3  fused rows from the .npy → KDE impulses → Gaussian → kde .npy (raw) + filter_vis PNG
//   pass 4  clip + scale the KDE to 0..1 in place → kde_vis heat map over the image
// Layout is focus_response's: filter_arrays/<name>_filter.npy, kde_arrays/<name>_kde.npy,
// filter_vis/<name>_filter.png, kde_vis/<name>_kde.png.
import { mkdir, rm } from 'node:fs/promises';
import { releaseGarbage } from '../image/gc.js';
import { availableParallelism } from 'node:os';
import { basename, extname, join } from 'node:path';
import { openRowSink, openRowSource, type RowSink, type RowSource } from '../image/rows.js';
import { frameInfo } from './frames.js';
import { ImageFormatError } from '../image/types.js';
import type { BorderMode } from './border.js';
import { jetPalette, jetRows, overlayHeatFloats, overlayHeatRows, overlayTable } from './colormap.js';
import { openPngSink, type PngSink } from '../image/png-sink.js';
import { DJPEG, openCodecSource } from '../image/row-source.js';
import { checkImageFile } from '../image/header-size.js';
import type { DirectRowSource } from '../image/formats.js';
import { boxesForGauss, boxGaussianBand, gaussianBlurBand, gaussianKernel, kernelRadius } from './gaussian.js';
import { createWasmFocusMap, type WasmFocusMap } from '../kernels/focusmap-wasm.js';
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
  /** Keep filter_arrays/ and kde_arrays/ (focus_response's save_arrays; default true). */
  saveArrays?: boolean;
  /** Write filter_vis/ and kde_vis/ (focus_response's save_visualizations; default true). */
  saveVisualizations?: boolean;
  /** Rows per band (memory/speed trade; default 64). */
  bandRows?: number;
  /** Threads for one image's kernels (default: the cores). */
  threads?: number;
  /** The SIMD WebAssembly kernels (default, where they load) or the plain-TS references. */
  kernels?: 'wasm' | 'js';
}

export interface FocusMapResult {
  name: string;
  input: string;
  width: number;
  height: number;
  threshold: number;
  filterMs: number;
  kdeMs: number;
  /** Which kernels ran, on how many threads. */
  kernels: 'wasm' | 'js';
  threads: number;
  /** Files kept (a path is null when its switch is off). kdeVis is the plain jet map, kdeOverlay the map over the image. */
  files: { filter: string | null; kde: string | null; filterVis: string | null; kdeVis: string | null; kdeOverlay: string | null; scales: string[] };
}

export function imageStem(path: string): string {
  return basename(path, extname(path));
}

/**
 * Compute fused RDF rows for a plane; `emit` gets (y0, fused rows, per-scale rows). Returns the
 * histogram of every fused row. On the WASM kernels (`K`) the rows are views of its memory, valid
 * until `emit` returns.
 */
async function fusedRows(
  plane: GrayPlane,
  o: FocusMapOptions,
  radii: readonly RadiiPair[],
  emit: (y0: number, fused: Float32Array, scales: Float32Array[]) => Promise<void>,
  K: WasmFocusMap | null,
  bandRows: number,
): Promise<LogHistogram> {
  const halo = rdfHalo(radii);
  let buf: Float32Array | undefined = K?.band;
  const eachBand = async (fn: (b: Band) => Promise<void> | void): Promise<void> => {
    for (let y0 = 0; y0 < plane.height; y0 += bandRows) {
      const rows = Math.min(bandRows, plane.height - y0);
      // The kernels read their own band memory: always fill that (not a shorter last band's view).
      const band = bandFromPlane(plane, y0, rows, halo, o.border, K?.band ?? buf);
      buf = band.data;
      await fn(band);
    }
  };
  let norms: ScaleNorm[] = radii.map(() => ({ gain: 1, offset: 0 }));
  const normsOf = (hists: LogHistogram[]) =>
    hists.map((h) => {
      const { median, mad } = h.medianMad();
      return normFromStats(o.normalize, { p99: h.quantile(0.99), median, mad });
    });
  if (K) {
    // 8/16-bit planes go to the kernels as codes (no float band in JavaScript).
    const codes = plane.data instanceof Uint8Array ? 1 : plane.data instanceof Uint16Array ? 2 : 0;
    const codePlane = plane as GrayPlane & { data: Uint8Array | Uint16Array };
    const eachK = async (fn: (y0: number, rows: number, inside: Uint8Array) => Promise<void>): Promise<void> => {
      if (!codes) return eachBand((b) => fn(b.y0, b.rows, b.inside));
      for (let y0 = 0; y0 < plane.height; y0 += bandRows) {
        const rows = Math.min(bandRows, plane.height - y0);
        await fn(y0, rows, K.loadCodes(codePlane, y0, rows));
      }
    };
    const c = codes ? { codes: codes as 1 | 2 } : {};
    if (o.normalize !== 'none') {
      await eachK((_, rows, inside) => K.rdf(rows, inside, { power: o.power, border: o.border, scaleHists: true, ...c }));
      norms = normsOf(K.takeHistograms(radii.length));
    }
    await eachK(async (y0, rows, inside) => {
      await K.rdf(rows, inside, { power: o.power, border: o.border, norms, ...c });
      await emit(y0, K.fused(rows), radii.map((_, s) => K.map(s, rows)));
    });
    return K.takeHistograms(1)[0]!;
  }
  if (o.normalize !== 'none') {
    const hists = radii.map(() => new LogHistogram());
    await eachBand((b) => rdfBand(b, radii, o.power, o.border).forEach((m, i) => hists[i]!.add(m)));
    norms = normsOf(hists);
  }
  const hist = new LogHistogram();
  await eachBand(async (b) => {
    const maps = rdfBand(b, radii, o.power, o.border);
    const fused = new Float32Array(b.rows * b.width);
    fuseScales(maps, norms, fused);
    hist.add(fused);
    await emit(b.y0, fused, maps);
  });
  return hist;
}

export async function focusMapFile(input: string, outDir: string, o: FocusMapOptions): Promise<FocusMapResult> {
  validateKde(o.kde);
  const name = imageStem(input);
  const saveArrays = o.saveArrays ?? true;
  const saveVis = o.saveVisualizations ?? true;
  // The .npy files are also the passes' working storage: without save_arrays they live in a scratch
  // folder under OUT and go when the image is done.
  const scratch = saveArrays ? null : join(outDir, `.scratch-${process.pid}-${name}`);
  const dirs = {
    filter: scratch ?? join(outDir, 'filter_arrays'),
    kde: scratch ?? join(outDir, 'kde_arrays'),
    fvis: join(outDir, 'filter_vis'),
    kvis: join(outDir, 'kde_vis'),
  };
  for (const d of [dirs.filter, dirs.kde, ...(saveVis ? [dirs.fvis, dirs.kvis] : [])]) await mkdir(d, { recursive: true });
  const work = { filter: join(dirs.filter, `${name}_filter.npy`), kde: join(dirs.kde, `${name}_kde.npy`) };
  const files = {
    filter: saveArrays ? work.filter : null,
    kde: saveArrays ? work.kde : null,
    filterVis: saveVis ? join(dirs.fvis, `${name}_filter.png`) : null,
    kdeVis: saveVis ? join(dirs.kvis, `${name}_kde.png`) : null,
    kdeOverlay: saveVis ? join(dirs.kvis, `${name}_kde_overlay.png`) : null,
    scales: [] as string[],
  };
  try {
    return await focusMapPasses(input, name, o, dirs, work, files);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The value the density is clipped at (and divided by): the clip percentile of the fused filter map
 * (focus_response) or of the density itself, never above the density's maximum.
 */
export function kdeCap(kde: KdeOptions, filter: LogHistogram, density: LogHistogram): number {
  let hi = Infinity;
  if (kde.clipPercentile !== null && kde.clipPercentile < 100) {
    const over = (kde.clipOver ?? 'filter') === 'filter' ? filter : density;
    hi = over.quantile(kde.clipPercentile / 100) || Infinity;
  }
  return Math.min(hi, density.max);
}

async function focusMapPasses(
  input: string,
  name: string,
  o: FocusMapOptions,
  dirs: { filter: string },
  work: { filter: string; kde: string },
  files: FocusMapResult['files'],
): Promise<FocusMapResult> {
  const t0 = performance.now();
  const ds = Math.max(1, Math.floor(o.downsample));
  let plane: GrayPlane | null = await loadGrayPlane(input, { downsample: ds });
  const full = ds > 1 ? await frameInfo(input) : null;
  const radii = ds > 1 ? o.radii.map(([a, b]) => [Math.max(1, Math.floor(a / ds)), Math.max(2, Math.floor(b / ds))] as const) : o.radii;

  const threads = o.threads ?? availableParallelism();
  const kdeHalo = kernelRadius(gaussianKernel(o.kde.bandwidthPx));
  // Bands of 64 rows (the RDF's banding never shows in its maps; the KDE's box passes see zeros past a
  // band's halo, so its banding shows in the last bits): small bands keep the kernels' memory small.
  const bandRows = o.bandRows ?? 64;
  const kdeRows = Math.max(o.bandRows ?? 64, kdeHalo);
  const K =
    o.kernels === 'js'
      ? null
      : createWasmFocusMap({
          w: plane.width,
          bandRows,
          radii,
          border: o.border,
          kdeStored: ds === 1 && o.kde.bandwidthPx > 3 ? kdeRows + 2 * kdeHalo : 0,
          // The density is normalised and the pictures painted at full size, in the KDE's bands
          // (the normalisation runs on the kernels with or without pictures).
          paintRows: kdeRows,
          fullWidth: full ? full.width : plane.width,
          overlayTable: overlayTable(),
          threads,
        });
  // Handed over in a holder so the passes can drop the plane before the KDE.
  const holder = { plane: plane as GrayPlane | null };
  plane = null;
  try {
    return await focusMapWithKernels(input, name, o, dirs, work, files, holder, full, ds, radii, K, bandRows, kdeRows, t0);
  } finally {
    await K?.close();
  }
}

async function focusMapWithKernels(
  input: string,
  name: string,
  o: FocusMapOptions,
  dirs: { filter: string },
  work: { filter: string; kde: string },
  files: FocusMapResult['files'],
  holder: { plane: GrayPlane | null },
  full: { width: number; height: number } | null,
  ds: number,
  radii: readonly RadiiPair[],
  K: WasmFocusMap | null,
  bandRowsIn: number,
  kdeRows: number,
  t0: number,
): Promise<FocusMapResult> {
  let plane: GrayPlane | null = holder.plane!;
  holder.plane = null;
  const fullW = full ? full.width : plane.width;
  const fullH = full ? full.height : plane.height;
  const filterNpy = await NpyRowFile.create(work.filter, fullW, fullH);
  const scaleNpys: NpyRowFile[] = [];
  let fusedHist = new LogHistogram();
  try {
    if (o.saveScales) {
      for (const [a, b] of o.radii) {
        const p = join(dirs.filter, `${name}_rdf_${a}-${b}.npy`);
        files.scales.push(p);
        scaleNpys.push(await NpyRowFile.create(p, fullW, fullH));
      }
    }
    if (ds === 1) {
      fusedHist = await fusedRows(plane, o, radii, async (y0, fused, maps) => {
        await filterNpy.writeRows(y0, fused);
        for (let i = 0; i < scaleNpys.length; i++) await scaleNpys[i]!.writeRows(y0, maps[i]!);
      }, K, bandRowsIn);
    } else {
      // Small maps in memory, then bilinear upsampling to full size row by row.
      const sw = plane.width, sh = plane.height;
      const small = new Float32Array(sw * sh);
      const smallScales = scaleNpys.map(() => new Float32Array(sw * sh));
      await fusedRows(plane, o, radii, async (y0, fused, maps) => {
        small.set(fused, y0 * sw);
        maps.forEach((m, i) => smallScales[i]?.set(m, y0 * sw));
      }, K, bandRowsIn);
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
  releaseGarbage(); // the luminance plane (24 MB at 24 MP) goes now, not at the next full collection

  // Pass 3: KDE density, unnormalised, band by band from the fused .npy.
  const t1 = performance.now();
  const threshold = kdeThreshold(fusedHist, o.kde.topPercent);
  const visScale = 1 / (fusedHist.quantile(0.99) || fusedHist.max || 1);
  // The pictures: painted as bytes and deflated in-process (png-sink.ts) on the kernels' path; the
  // plain-TS path keeps the reference painting (float rows → pnmtopng), which these equal pixel for pixel.
  const filterVis: Pictures | null = files.filterVis
    ? K
      ? byteSink(await openPngSink(files.filterVis, { width: fullW, height: fullH, channels: 1 }))
      : floatSink(await openRowSink(files.filterVis, { width: fullW, height: fullH, channels: 1, format: 'png8' }))
    : null;
  const k = gaussianKernel(o.kde.bandwidthPx);
  const halo = kernelRadius(k);
  const fusedReader = await openReader(work.filter, fullW);
  const kdeNpy = await NpyRowFile.create(work.kde, fullW, fullH);
  let dHist = new LogHistogram();
  const bandRows = kdeRows;
  // The WASM box passes (wide bandwidths at full resolution, where its KDE planes were sized).
  const kdeK = K && ds === 1 && o.kde.bandwidthPx > 3 ? K : null;
  const boxes = boxesForGauss(o.kde.bandwidthPx, 5);
  try {
    for (let y0 = 0; y0 < fullH; y0 += bandRows) {
      const rows = Math.min(bandRows, fullH - y0);
      // The kernels carry the row passes of the band overlap over (every band but the first follows a
      // full one): plane rows from halo (filter_vis) are read, rows from 2·halo are worked on.
      const reuse = kdeK && y0 > 0 ? 2 * halo : 0;
      const first = reuse > 0 ? halo : 0;
      const top = Math.max(0, y0 - halo + first);
      const bottom = Math.min(fullH, y0 + rows + halo);
      const stored = rows + 2 * halo;
      // Rows outside the image stay 0 (constant border); the rest is read straight into the plane.
      const data = kdeK ? kdeK.kdePlane(stored) : new Float32Array(stored * fullW);
      const at = (top - (y0 - halo)) * fullW;
      const end = at + (bottom - top) * fullW;
      if (kdeK) {
        data.fill(0, first * fullW, at);
        data.fill(0, end);
      }
      await fusedReader.readRows(top, bottom - top, data.subarray(at, end));
      if (filterVis?.bytes && K) await filterVis.bytes.writeScanlines(await K.vis(data.subarray(halo * fullW), rows, visScale), rows);
      else if (filterVis?.floats) {
        const vis = new Float32Array(rows * fullW);
        for (let i = 0; i < vis.length; i++) {
          const v = data[halo * fullW + i]! * visScale;
          vis[i] = v >= 1 ? 1 : v <= 0 ? 0 : v;
        }
        await filterVis.floats.writeRows(vis, rows);
      }
      if (kdeK) {
        await kdeNpy.writeRows(y0, await kdeK.kde(rows, halo, threshold, o.kde.includeStrength, boxes, reuse));
        continue;
      }
      impulses(data, threshold, o.kde.includeStrength, data);
      const band: Band = { width: fullW, y0, rows, halo, data, inside: new Uint8Array(stored) };
      // Exact taps for narrow bandwidths, five box passes (O(1) per pixel) for wide ones.
      const dens = o.kde.bandwidthPx > 3 ? boxGaussianBand(band, o.kde.bandwidthPx) : gaussianBlurBand(band, k, 'constant');
      dHist.add(dens);
      await kdeNpy.writeRows(y0, dens);
    }
    if (kdeK) dHist = kdeK.takeHistograms(1)[0]!;
    await (filterVis?.bytes ?? filterVis?.floats)?.finish();
  } catch (err) {
    await kdeNpy.abort();
    await (filterVis?.bytes ?? filterVis?.floats)?.abort();
    throw err;
  } finally {
    await fusedReader.close();
  }


  // Pass 4: clip and normalise in place, paint the heat map.
  const max = kdeCap(o.kde, fusedHist, dHist);
  const gain = o.kde.normalize && max > 0 ? 1 / max : 1;
  // kde_vis: the plain jet map (focus_response) and the map over the image (ours), painted as the
  // image's rows stream in (row source → row sinks).
  let paint: Painter;
  try {
    paint = K ? await paintBytes(input, files, fullW, fullH, K) : await paintFloats(input, files, fullW, fullH);
  } catch (err) {
    await kdeNpy.abort();
    throw err;
  }
  try {
    for (let y0 = 0; y0 < fullH; y0 += bandRows) {
      const rows = Math.min(bandRows, fullH - y0);
      await paint.rows(kdeNpy, y0, rows, max, gain);
    }
    await kdeNpy.finish();
    await paint.finish();
  } catch (err) {
    await kdeNpy.abort();
    await paint.abort();
    throw err;
  } finally {
    await paint.close();
  }
  const kdeMs = performance.now() - t1;
  return { name, input, width: fullW, height: fullH, threshold, filterMs, kdeMs, files, kernels: K ? 'wasm' : 'js', threads: K?.threads ?? 1 };
}

async function openReader(path: string, w: number): Promise<{ readRows(y0: number, rows: number, into: Float32Array): Promise<void>; close(): Promise<void> }> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  const head = Buffer.alloc(10);
  await fh.read(head, 0, 10, 0);
  const offset = 10 + head.readUInt16LE(8);
  return {
    async readRows(y0, rows, into) {
      const n = rows * w * 4;
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(Buffer.from(into.buffer, into.byteOffset, n), got, n - got, offset + y0 * w * 4 + got);
        if (bytesRead === 0) throw new Error(`${path}: ended early`);
        got += bytesRead;
      }
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

/** A picture written either as bytes (png-sink) or as float rows (the reference's row sink). */
interface Pictures {
  bytes?: PngSink;
  floats?: RowSink;
}
const byteSink = (bytes: PngSink): Pictures => ({ bytes });
const floatSink = (floats: RowSink): Pictures => ({ floats });

interface Painter {
  /** Clip and scale density rows y0.. of the .npy in place (min(d, cap)·gain) and paint them. */
  rows(npy: NpyRowFile, y0: number, rows: number, cap: number, gain: number): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** A painter's finish/abort/close over its two picture sinks and the overlay's image source. */
function sinkEnds(
  heat: { finish(): Promise<unknown>; abort(): Promise<void> } | null | undefined,
  overlay: { finish(): Promise<unknown>; abort(): Promise<void> } | null | undefined,
  image: RowSource | null | undefined,
): Pick<Painter, 'finish' | 'abort' | 'close'> {
  return {
    async finish() {
      await heat?.finish();
      await overlay?.finish();
    },
    async abort() {
      await heat?.abort();
      await overlay?.abort();
    },
    close: async () => image?.close(),
  };
}

async function openOverlaySource(input: string, direct: boolean, w: number, h: number): Promise<RowSource> {
  let src: RowSource;
  try {
    // JPEG: djpeg without read-ahead, rows as 8-bit codes (DirectRowSource); anything else by floats.
    const header = direct ? await checkImageFile(input) : null;
    src = header?.kind === 'jpeg' ? await openCodecSource(input, DJPEG(input), header, { pull: true }) : await openRowSource(input);
  } catch (err) {
    if (err instanceof ImageFormatError) throw err;
    throw new ImageFormatError(input, `cannot decode: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (src.width !== w || src.height !== h) {
    await src.close();
    throw new ImageFormatError(input, `decodes to ${src.width}×${src.height} for the overlay, but the map is ${w}×${h}`);
  }
  return src;
}

/** The overlay's image source and the two heat-map sinks; whatever opened is closed if the rest fails. */
async function openPainting<S extends { abort(): Promise<void> }>(
  input: string,
  files: FocusMapResult['files'],
  w: number,
  h: number,
  direct: boolean,
  heatSink: (path: string) => Promise<S>,
  overlaySink: (path: string) => Promise<S>,
): Promise<{ image: RowSource | null; heat: S | null; overlay: S | null }> {
  const image = files.kdeOverlay ? await openOverlaySource(input, direct, w, h) : null;
  let heat: S | null = null;
  try {
    heat = files.kdeVis ? await heatSink(files.kdeVis) : null;
    const overlay = files.kdeOverlay ? await overlaySink(files.kdeOverlay) : null;
    return { image, heat, overlay };
  } catch (err) {
    await heat?.abort();
    await image?.close();
    throw err;
  }
}

/** The reference painting: float rows → jetRows / overlayHeatRows → pnmtopng. */
async function paintFloats(input: string, files: FocusMapResult['files'], w: number, h: number): Promise<Painter> {
  const { image, heat, overlay } = await openPainting(
    input,
    files,
    w,
    h,
    false,
    (path) => openRowSink(path, { width: w, height: h, channels: 3, format: 'png8' }),
    (path) => openRowSink(path, { width: w, height: h, channels: 3, format: 'png8' }),
  );
  let d: Float32Array | undefined;
  return {
    async rows(npy, y0, rows, cap, gain) {
      d = await npy.readRows(y0, rows, d);
      for (let i = 0; i < d.length; i++) d[i] = Math.min(d[i]!, cap) * gain;
      await npy.writeRows(y0, d);
      if (heat) await heat.writeRows(jetRows(d), rows);
      if (overlay && image) await overlay.writeRows(overlayHeatRows(await readRowsExactly(image, rows), image.channels, d), rows);
    },
    ...sinkEnds(heat, overlay, image),
  };
}

/**
 * The same pictures painted by the kernels as PNG scanlines (heat indices, the jet map as a palette
 * over them, the overlay by table lookups on the image's 8-bit codes — djpeg's, for JPEG) and
 * deflated in-process: pixel for pixel the reference's.
 */
async function paintBytes(input: string, files: FocusMapResult['files'], w: number, h: number, K: WasmFocusMap): Promise<Painter> {
  const { image, heat, overlay } = await openPainting(
    input,
    files,
    w,
    h,
    true,
    (path) => openPngSink(path, { width: w, height: h, channels: 1, palette: jetPalette(), filter: 'up' }),
    (path) => openPngSink(path, { width: w, height: h, channels: 3, filter: 'sub' }),
  );
  const codes = image && 'readRowsCodes' in image && (image as DirectRowSource).codeLevels === 256 && (image.channels === 1 || image.channels === 3) ? (image as DirectRowSource) : null;
  // Other sources (PNG, TIFF, FITS, 16-bit): the overlay from their float rows, in JavaScript.
  const table = image && !codes ? overlayTable() : null;
  let px = new Uint8Array(0);
  return {
    async rows(npy, y0, rows, cap, gain) {
      const d = K.paintDensity(rows);
      await npy.readRows(y0, rows, d);
      if (codes) K.paintCodes(rows, codes.channels).set(await codes.readRowsCodes(rows));
      const scans = await K.paint(rows, cap, gain, codes ? codes.channels : 0);
      await npy.writeRows(y0, d);
      if (heat) await heat.writeScanlines(scans.heat, rows);
      if (overlay && scans.overlay) await overlay.writeScanlines(scans.overlay, rows);
      else if (overlay && image && table) {
        const n = rows * w;
        if (px.length < 3 * n) px = new Uint8Array(3 * n);
        overlayHeatFloats(await readRowsExactly(image, rows), image.channels, K.heatIndices(rows), n, table, px);
        await overlay.writeRows(px, rows);
      }
    },
    ...sinkEnds(heat, overlay, image),
  };
}
