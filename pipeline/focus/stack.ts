// Focus stacking of a bracket: align, then fuse band by band (a "tile" is a full-width band plus halo
// rows) with frames streaming through; only the fused state of the current band is in memory.
// The band height comes from --memory-limit, so small frames are one band and a 6000×4000 bracket is
// split automatically (shinestacker's tiles/auto modes).
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { releaseGarbage } from '../image/gc.js';
import sharp from 'sharp';
import { withAtomicPath, writeFileAtomic } from '../../lib/atomic.js';
import { openRowSink } from '../image/row-sink.js';
import { createFocusPyramidKernels, type FocusPyramidKernels } from '../kernels/focus-pyramid-wasm.js';
import { kernelModule } from '../kernels/wasm.js';
import { chainToReference, estimateAffine, scaleAffine, IDENTITY, type Affine } from './align.js';
import { alignedSource, frameInfo, isIdentity, readAlignedTile, smallGray, type FrameInfo, type Rect } from './frames.js';
import { frameCodeBytes, openFrameStore, type FrameStore, type FrameStoreKind } from './frame-store.js';
import { createWasmDepthMap, type WasmDepthMap } from '../kernels/focus-wasm.js';
import { codesAhead, type CodesAhead, type CodesRead } from './codes-ahead.js';
import { bilateralPlane } from './bilateral.js';
import { cvGaussianKernel, grayNative, sepFilter, shineEnergy } from './shine-energy.js';
import { gaussianBlurPlane } from './gaussian.js';
import { energyPlane, type EnergyMeasure } from './measures.js';
import { planeFromFloat } from './plane.js';
import { denoise, sharpen } from './post.js';
import { alloc, collapse, gaussianPyramid, genKernel, laplacianPyramid, levelsFor, PyramidFuser, type FArray, type FloatBits, type Plane } from './pyramid.js';

/** Long side of the grayscale copies alignment is estimated on. */
const ALIGN_SIZE = 640;

export type StackAlgorithm = 'pyramid' | 'depthmap';

export interface StackOptions {
  algorithm: StackAlgorithm;
  pyramidMinSize: number;
  kernelSize: number;
  genKernel: number;
  float: FloatBits;
  energy: EnergyMeasure;
  map: 'max' | 'average';
  weightPower: number;
  /** 'max' map only (shinestacker): < 1e-4 = hard max, ties shared equally; else soft max exp((E − Emax)/T), E in the frame's units. */
  temperature: number;
  /**
   * How energies, weights and the blend are computed. `shinestacker`: its OpenCV calls on the gray
   * frame in its own units (0..255 / 0..65535), weights E^p/ΣE^p, cv2.pyrDown's kernel, output
   * truncated as numpy's astype does. `ours`: our measures (pipeline/focus/measures.ts) in one pass.
   */
  energyKernels: 'shinestacker' | 'ours';
  /** Energy smoothing: shinestacker's bilateral filter, or our Gaussian of sigma `energySmooth`. */
  smoothing: 'bilateral' | 'gaussian' | 'none';
  energySmooth: number; // Gaussian sigma (px) on the energy map (smoothing 'gaussian')
  smoothSize: number; // bilateral diameter (px; OpenCV d)
  sigmaColor: number; // bilateral range sigma, in energy units (frame units²for tenengrad)
  sigmaSpace: number; // bilateral spatial sigma (px)
  /** Laplacian-type energies: Gaussian pre-blur size (odd, 0/1 = none) and kernel size (shinestacker blur_size / kernel_size). */
  dmBlurSize: number;
  dmKernelSize: number;
  pyramidLevels: number; // depthmap blending levels (0 = per-pixel)
  /** Gaussian blur of each weight map before blending, in taps (shinestacker pyramid_smooth_size; ≤ 1 = none). */
  pyramidSmoothSize: number;
  /** shinestacker's tiling modes mapped onto our bands: auto = from --memory-limit, memory = one band, tiled = bands of tileSize rows. */
  tiling: 'auto' | 'memory' | 'tiled';
  tileSize: number;
  /** Accepted for shinestacker parity; every band carries all levels with a halo, so it changes nothing here. */
  nTiledLayers: number;
  /** EXIF source for JPEG output: undefined = the first frame, null = none, or a file. */
  exif?: string | null;
  depthMapPath?: string;
  bunch?: number;
  overlap: number;
  denoise: number;
  sharpen: number;
  sharpenRadius: number;
  sharpenThreshold: number;
  prefix: string;
  align: boolean;
  memoryLimitMB: number;
  quality: number;
  /** Forced band height (tests of the tiled path); normally derived from memoryLimitMB. */
  bandRows?: number;
  /** Threads for the kernels and parallel decoding (default: the cores). */
  threads?: number;
  /** Where decoded frames wait between bands (tests); normally chosen from the memory limit. */
  frameStore?: FrameStoreKind;
  /**
   * Depth map on the kernels (tests): its band leaves as floats through the sink's writeRows and each
   * frame's codes are read in turn — the path the kernels' samples and the read-ahead equal byte for byte.
   */
  plainIO?: boolean;
  /** Depth-map and pyramid (`--float 32`) kernels: the SIMD WebAssembly ones (default, where they load) or the plain-TS references. */
  kernels?: 'wasm' | 'js';
  onProgress?: (label: string, done: number, total: number) => void;
}

/** shinestacker's DepthMapStack defaults for --algorithm depthmap (see docs/focus.md). */
export const DEFAULT_STACK: StackOptions = {
  algorithm: 'pyramid', pyramidMinSize: 32, kernelSize: 5, genKernel: 0.4, float: 32,
  energy: 'tenengrad', map: 'average', weightPower: 1, temperature: 0, energyKernels: 'shinestacker',
  smoothing: 'bilateral', energySmooth: 2, smoothSize: 1, sigmaColor: 0.8, sigmaSpace: 2, dmBlurSize: 5, dmKernelSize: 5,
  pyramidLevels: 4, pyramidSmoothSize: 1, tiling: 'auto', tileSize: 512, nTiledLayers: 2,
  overlap: 0, denoise: 0, sharpen: 0, sharpenRadius: 1, sharpenThreshold: 0, prefix: '', align: true,
  memoryLimitMB: 512, quality: 95,
};

/** Our depth-map choice (chosen on PSNR vs truth; `--depthmap-preset ours`): hard max, Laplacian, Gaussian σ 2, 5 levels. */
export const OURS_DEPTHMAP: Partial<StackOptions> = {
  energy: 'laplacian', map: 'max', weightPower: 4, temperature: 0, energyKernels: 'ours', smoothing: 'gaussian', energySmooth: 2, dmBlurSize: 0, pyramidLevels: 5, pyramidSmoothSize: 0,
};

/** Bunch size when --bunch is given without a number (shinestacker's FocusStackBunch frames). */
export const DEFAULT_BUNCH = 10;

export interface StackResult {
  outputs: string[];
  width: number;
  height: number;
  frames: number;
  bands: number;
  bandRows: number;
  transforms: Affine[];
  alignEcc: number[];
  /** Where the decoded frames were kept, and the bytes written to the spill file (SD-card wear). */
  frameStore: FrameStoreKind;
  spillBytes: number;
  threads: number;
  /** Which kernels ran (the depth map's, or the pyramid's for --algorithm pyramid): SIMD WebAssembly on `threads` threads, or plain TS. */
  kernels: 'wasm' | 'js';
  ms: number;
}

export function validateStackOptions(o: StackOptions): void {
  const need = (ok: boolean, field: string, msg: string) => {
    if (!ok) throw new Error(`${field}: ${msg}`);
  };
  need(o.pyramidMinSize >= 4, '--pyramid-min-size', `expected >= 4, got ${o.pyramidMinSize}`);
  need(Number.isInteger(o.kernelSize) && o.kernelSize >= 1 && o.kernelSize % 2 === 1, '--kernel-size', `expected an odd integer >= 1, got ${o.kernelSize}`);
  genKernel(o.genKernel);
  need(o.float === 32 || o.float === 64, '--float', `expected 32 or 64, got ${o.float}`);
  need(o.weightPower > 0, '--weight-power', `expected > 0, got ${o.weightPower}`);
  need(o.temperature >= 0, '--temperature', `expected >= 0, got ${o.temperature}`);
  need(o.energyKernels === 'shinestacker' || o.energyKernels === 'ours', 'energyKernels', `expected shinestacker or ours, got ${String(o.energyKernels)}`);
  need(o.algorithm !== 'depthmap' || o.energyKernels !== 'shinestacker' || o.energy !== 'brenner', '--energy', 'brenner is not one of shinestacker\'s energies (tenengrad|laplacian|modified-laplacian|sobel|variance); add --depthmap-preset ours to use it');
  need(o.energySmooth >= 0, '--energy-smooth', `expected >= 0, got ${o.energySmooth}`);
  need(['bilateral', 'gaussian', 'none'].includes(o.smoothing), '--smoothing', `expected bilateral|gaussian|none, got ${o.smoothing}`);
  need(Number.isInteger(o.smoothSize) && o.smoothSize >= 0, '--smooth-size', `expected an integer >= 0, got ${o.smoothSize}`);
  need(o.sigmaColor > 0, '--sigma-color', `expected > 0, got ${o.sigmaColor}`);
  need(o.sigmaSpace > 0, '--sigma-space', `expected > 0, got ${o.sigmaSpace}`);
  need(Number.isInteger(o.dmBlurSize) && o.dmBlurSize >= 0 && (o.dmBlurSize <= 1 || o.dmBlurSize % 2 === 1), '--blur-size', `expected 0, 1 or an odd integer, got ${o.dmBlurSize}`);
  need(Number.isInteger(o.dmKernelSize) && o.dmKernelSize >= 3 && o.dmKernelSize % 2 === 1, '--dm-kernel-size', `expected an odd integer >= 3, got ${o.dmKernelSize}`);
  need(Number.isInteger(o.pyramidSmoothSize) && o.pyramidSmoothSize >= 0, '--pyramid-smooth-size', `expected an integer >= 0, got ${o.pyramidSmoothSize}`);
  need(['auto', 'memory', 'tiled'].includes(o.tiling), '--tiling', `expected auto|memory|tiled, got ${o.tiling}`);
  need(Number.isInteger(o.tileSize) && o.tileSize >= 32, '--tile-size', `expected an integer >= 32, got ${o.tileSize}`);
  need(Number.isInteger(o.nTiledLayers) && o.nTiledLayers >= 0, '--n-tiled-layers', `expected an integer >= 0, got ${o.nTiledLayers}`);
  need(Number.isInteger(o.pyramidLevels) && o.pyramidLevels >= 0 && o.pyramidLevels <= 10, '--pyramid-levels', `expected 0..10, got ${o.pyramidLevels}`);
  if (o.bunch !== undefined) {
    need(Number.isInteger(o.bunch) && o.bunch >= 2, '--bunch', `expected an integer >= 2, got ${o.bunch}`);
    need(Number.isInteger(o.overlap) && o.overlap >= 0 && o.overlap < o.bunch, '--overlap', `expected 0 <= M < bunch (${o.bunch}), got ${o.overlap}`);
  }
  need(o.denoise >= 0, '--denoise', `expected >= 0, got ${o.denoise}`);
  need(o.sharpen >= 0, '--sharpen', `expected >= 0, got ${o.sharpen}`);
  need(o.sharpenRadius > 0, '--sharpen-radius', `expected > 0, got ${o.sharpenRadius}`);
  need(o.memoryLimitMB >= 64, '--memory-limit', `expected >= 64 (MB), got ${o.memoryLimitMB}`);
  if (o.threads !== undefined) need(Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 64, '--threads', `expected an integer 1..64, got ${o.threads}`);
  need(/^[\w.-]*$/.test(o.prefix), '--prefix', `only letters, digits, '.', '_' and '-' allowed, got '${o.prefix}'`);
}

/** Split a bracket into bunches of n frames overlapping by m (FocusStackBunch). */
export function bunches<T>(items: T[], n: number, m: number): T[][] {
  const out: T[][] = [];
  for (let s = 0; s < items.length; s += n - m) {
    out.push(items.slice(s, s + n));
    if (s + n >= items.length) break;
  }
  return out;
}

/** Stack `files` into `out` (or one file per bunch next to it). */
export async function stackFiles(files: string[], out: string, o: StackOptions): Promise<StackResult> {
  validateStackOptions(o);
  const t0 = performance.now();
  if (files.length < 2) throw new Error(files.length === 0 ? 'focus stack: no input frames' : `${files[0]}: a single frame is not a focus bracket (need at least 2)`);
  const groups = o.bunch ? bunches(files, o.bunch, o.overlap) : [files];
  const ext = extname(out) || '.jpg';
  const stem = basename(out, extname(out));
  const outputs: string[] = [];
  let last: Omit<StackResult, 'outputs' | 'ms'> | null = null;
  for (let g = 0; g < groups.length; g++) {
    const target = o.bunch ? join(dirname(out), `${o.prefix}${stem}_${String(g).padStart(4, '0')}${ext}`) : join(dirname(out), `${o.prefix}${basename(out)}`);
    last = await stackOne(groups[g]!, target, o, o.bunch ? `bunch ${g + 1}/${groups.length}` : 'stack');
    outputs.push(target);
  }
  return { outputs, ...last!, ms: performance.now() - t0 };
}

async function stackOne(files: string[], out: string, o: StackOptions, label: string): Promise<Omit<StackResult, 'outputs' | 'ms'>> {
  if (files.length < 2) throw new Error(`${files[0]}: a single frame is not a focus bracket (need at least 2)`);
  const infos: FrameInfo[] = [];
  for (const f of files) infos.push(await frameInfo(f));
  const { width: W, height: H } = infos[0]!;
  for (const i of infos) {
    if (i.width !== W || i.height !== H) throw new Error(`${i.path}: size ${i.width}×${i.height} differs from ${infos[0]!.path} (${W}×${H})`);
  }
  const C = Math.max(...infos.map((i) => i.channels));
  for (const i of infos) i.channels = C;
  const is16 = infos.some((i) => i.is16);

  // Alignment pass (small grey copies of every frame, so a corrupt file fails before any output).
  const aligning = alignFrames(infos, o, label);
  aligning.catch(() => {}); // awaited below, after the store may have started

  const bits = o.float;
  const seedDm = o.algorithm === 'depthmap' && o.energyKernels === 'shinestacker';
  // shinestacker's depth map blends through cv2.pyrDown/pyrUp: the 5-tap binomial, a = 0.375.
  const kernel = genKernel(seedDm ? 0.375 : o.genKernel);
  const native = is16 ? 65535 : 255;
  const levels = o.algorithm === 'pyramid' ? levelsFor(W, H, o.pyramidMinSize) : o.pyramidLevels;
  const unit = 1 << levels;
  const postHalo = Math.ceil(3 * Math.max(o.sharpen > 0 ? o.sharpenRadius : 0, o.energySmooth)) + 3;
  // Two coarsest-level grid steps of context: beyond that a pixel's pyramid coefficients hardly move.
  const halo = Math.min(H, Math.max(postHalo, Math.min(2 * unit, 256)));
  const ext = extname(out).toLowerCase();
  if (!['.jpg', '.jpeg', '.png', '.tif', '.tiff'].includes(ext)) throw new Error(`--out: unsupported output format '${ext}' (use .jpg, .png or .tif)`);
  // JPEG and PNG stream out band by band (cjpeg / pnmtopng row sinks); TIFF is encoded whole by sharp.
  const streamed = ext !== '.tif' && ext !== '.tiff';
  const outBytes = is16 && ext !== '.jpg' && ext !== '.jpeg' ? 2 : 1;
  // Frames that alignment moves are resampled in the heap: their bands are planned smaller.
  const rowsFor = (warped: boolean) =>
    o.bandRows ??
    (o.tiling === 'memory' ? H : o.tiling === 'tiled' ? Math.min(H, Math.max(unit, Math.round(o.tileSize / unit) * unit)) : chooseBandRows(W, H, C, bits, o, streamed ? 0 : outBytes, halo, unit, warped, files.length));
  const twoPass = o.algorithm === 'depthmap' && (o.map === 'max' ? o.pyramidLevels > 0 || o.temperature >= 1e-4 : o.energyKernels === 'shinestacker');
  const passes = twoPass ? 2 : 1;
  const threads = o.threads ?? availableParallelism();
  let done = 0;
  let total = 0;
  const tick = (what: string) => o.onProgress?.(`${label}: ${what}`, ++done, total);
  // Each frame decoded once: kept in memory when the bracket's codes fit beside the largest band's
  // working set, else spilled to a file beside the output (frame-store.ts).
  const budget = o.memoryLimitMB * 2 ** 20 - fixedBytes(W, H, C, streamed ? 0 : outBytes);
  const frameBytes = Math.max(...infos.map(frameCodeBytes));
  const openStore = (warped: boolean) => {
    const rows = rowsFor(warped);
    const nb = Math.ceil(H / rows);
    total = nb * files.length * passes + (nb * passes > 1 ? files.length : 0);
    return openFrameStore({
      infos,
      out,
      readsPerFrame: nb * passes,
      memoryBytes: budget - bandBytes(W, C, bits, o, Math.min(H, rows + 2 * halo + unit), warped, files.length),
      parallel: Math.max(1, Math.min(threads, Math.floor(budget / (2 * frameBytes)))),
      ...(o.frameStore ? { kind: o.frameStore } : {}),
      onDecoded: (k) => tick(`decode frame ${k + 1}`),
    });
  };
  // With threads to spare the frames decode into the store (libuv threads) while the main thread
  // aligns; the store is then planned as if alignment moved frames (bands no taller than the final
  // ones, so no more reads per frame nor room for codes than planned).
  const overlap = threads > 1 && o.align;
  const storing = overlap ? openStore(true) : null;
  storing?.catch(() => {});
  const aligned = await Promise.allSettled([aligning, storing]);
  if (aligned[0].status === 'rejected' || aligned[1].status === 'rejected') {
    if (aligned[1].status === 'fulfilled') await aligned[1].value?.close();
    const failed = aligned[0].status === 'rejected' ? aligned[0] : (aligned[1] as PromiseRejectedResult);
    throw failed.reason;
  }
  const { transforms, ecc } = aligned[0].value;
  const warped = transforms.some((t) => !isIdentity(t));
  const bandRows = rowsFor(warped);
  const nb = Math.ceil(H / bandRows);
  const store: FrameStore = aligned[1].value ?? (await openStore(warped));
  total = nb * files.length * passes + (nb * passes > 1 ? files.length : 0);
  const result: Uint8Array | Uint16Array | null = streamed ? null : outBytes === 2 ? new Uint16Array(W * H * C) : new Uint8Array(W * H * C);
  // The decoders' buffers go before the band memory is taken.
  releaseGarbage();
  let sink: Awaited<ReturnType<typeof openRowSink>> | null = null;
  let depthSink: Awaited<ReturnType<typeof openRowSink>> | null = null;
  let wasm: WasmDepthMap | null = null;
  let pyramidKernels: FocusPyramidKernels | null = null;
  let ahead: CodesAhead | null = null;
  // Band b's extent: its core rows, and with halo, its top aligned to the pyramid grid so levels line up across bands.
  const bandRect = (b: number) => {
    const y0 = b * bandRows;
    const y1 = Math.min(H, y0 + bandRows);
    const e0 = Math.max(0, Math.floor((y0 - halo) / unit) * unit);
    const e1 = Math.min(H, y1 + halo);
    return { y0, y1, rect: { x: 0, y: e0, w: W, h: e1 - e0 } as Rect };
  };
  try {
  if (o.algorithm === 'depthmap' && bits === 32 && o.kernels !== 'js') {
    const rows = Math.min(H, bandRows + 2 * halo + unit);
    // 8-bit codes: two slots in the room of one 16-bit slot, so the next frame's codes are read while
    // the kernels work on this one's (16-bit brackets keep one slot: a second would shrink the bands).
    wasm = createWasmDepthMap({ width: W, rows, c: C, threads, levels, codes: true, cacheFrames: keepsEnergies(o, files.length) ? files.length : 0, codeSlots: is16 || o.plainIO ? 1 : 2, codeBytes: is16 ? 2 : 1 });
    const kernels = wasm;
    // A 'direct' store decodes the whole frame per read: reading ahead would hold two decoded frames.
    if (kernels && kernels.codeSlots === 2 && store.kind !== 'direct') {
      // The plan of code reads: a band's unmoved frames in order, twice for shinestacker's average map
      // and the hard max map (pass 1's energies, pass 2's blend), then the next band's. Moved frames are resampled in JS.
      const ids = infos.map((_, k) => k).filter((k) => isIdentity(transforms[k]!));
      const twice = (o.map === 'average' && o.energyKernels === 'shinestacker') || (o.map === 'max' && o.temperature < 1e-4 && levels > 0);
      const plan = twice ? [...ids, ...ids] : ids;
      const at = (b: number, i: number): CodesRead => ({ b, i, k: plan[i]!, y: bandRect(b).rect.y, h: bandRect(b).rect.h });
      ahead = codesAhead(
        (r, slot) => store.codesInto(r.k, r.y, r.h, kernels.codesView(infos[r.k]!.is16, slot, r.h)),
        (r) => (r.i + 1 < plan.length ? at(r.b, r.i + 1) : r.b + 1 < nb && plan.length ? at(r.b + 1, 0) : null),
      );
    }
  }
  if (o.algorithm === 'pyramid' && bits === 32 && o.kernels !== 'js') {
    // Sized for the tallest band (halo included, its top on the pyramid grid as below).
    let maxRows = 0;
    // A code slot holds the tallest source window a moved frame needs (taller than its band by the
    // shift, scale and rotation), up to half a band more; a window beyond that is resampled in JS.
    let codeRows = 0;
    for (let b = 0; b < nb; b++) {
      const e0 = Math.max(0, Math.floor((b * bandRows - halo) / unit) * unit);
      const rows = Math.min(H, Math.min(H, (b + 1) * bandRows) + halo) - e0;
      maxRows = Math.max(maxRows, rows);
      for (const t of transforms) if (!isIdentity(t)) codeRows = Math.max(codeRows, alignedSource(infos[0]!, t, { x: 0, y: e0, w: W, h: rows }).h);
    }
    // Frames come in as their codes and the band leaves as encoder samples (fuseBandCodes).
    pyramidKernels = createFocusPyramidKernels({ width: W, maxRows, channels: C, levels, kernel, kernelSize: o.kernelSize, threads, codeBytes: is16 ? 2 : 1, codeRows: Math.min(codeRows, Math.ceil(maxRows * 1.5)) });
  }
  sink = streamed ? await openRowSink(out, { width: W, height: H, channels: C, format: ext === '.png' ? (outBytes === 2 ? 'png16' : 'png8') : 'jpeg', quality: o.quality }) : null;
  depthSink = o.depthMapPath ? await openRowSink(o.depthMapPath, { width: W, height: H, channels: 1, format: 'png8' }) : null;
  type Sink = NonNullable<typeof sink>;
  // The kernels' samples are overwritten by the next band while the encoder still reads: it gets a copy.
  const sendCopy = (to: Sink, bytes: Uint8Array, rows: number) => {
    const own = Buffer.allocUnsafe(bytes.length);
    own.set(bytes);
    return to.writeEncoded!(own, rows);
  };
  // A band's core rows as the output's samples: to the encoder, or into the whole result.
  const emitSamples = async (samples: Uint8Array, y0: number, y1: number) => {
    if (sink) await sendCopy(sink, samples, y1 - y0);
    else result!.set(outBytes === 2 ? new Uint16Array(samples.buffer, samples.byteOffset, samples.length >> 1) : samples, y0 * W * C);
  };
  for (let b = 0; b < nb; b++) {
    const { y0, y1, rect } = bandRect(b);
    const e0 = rect.y;
    const read = (k: number) => readAlignedTile(infos[k]!, transforms[k]!, rect, bits, (r) => store.region(k, r, bits));
    let fusedPlane: Plane | null;
    let depthBand: Float32Array | null = null;
    if (o.algorithm === 'pyramid' && pyramidKernels) {
      const fuser = await fuseBandCodes(pyramidKernels, infos, transforms, store, rect, read, (k) => tick(`band ${b + 1}/${nb} frame ${k + 1}`));
      const encoded = o.denoise === 0 && o.sharpen === 0 && (!sink || sink.writeEncoded);
      if (encoded) {
        // The core rows as the encoder's samples, straight from the kernels; the encoder works on them
        // while the next band is fused (writeEncoded returns once the previous band has drained).
        await emitSamples(await fuser.samples(y0 - e0, y1 - y0, outBytes === 2 ? (sink ? 'u16be' : 'u16') : 'u8'), y0, y1);
        continue;
      }
      fusedPlane = await fuser.result();
    } else if (o.algorithm === 'pyramid') {
      const fuser = new PyramidFuser(levels, kernel, o.kernelSize, bits);
      for (let k = 0; k < infos.length; k++) {
        await fuser.push(await read(k));
        releaseGarbage();
        tick(`band ${b + 1}/${nb} frame ${k + 1}`);
      }
      fusedPlane = await fuser.result();
    } else {
      // The frame's energy on the SIMD kernels (a copy: the max map keeps the first one), or the reference.
      const energy = wasm ? (p: Plane) => wasm!.energy(p, o, native) : async (p: Plane) => frameEnergy(p, o, native);
      const kernels = wasm;
      // The band's code reads so far (their place in the read-ahead plan).
      let got = 0;
      const codes = async (k: number): Promise<number> => {
        if (ahead) return ahead.get({ b, i: got++, k, y: rect.y, h: rect.h });
        await store.codesInto(k, rect.y, rect.h, kernels!.codesView(infos[k]!.is16));
        return 0;
      };
      const frame = async (k: number): Promise<Plane | null> => {
        if (!kernels || !isIdentity(transforms[k]!)) return read(k);
        await kernels.loadCodes(infos[k]!.is16, await codes(k));
        return null;
      };
      const planar = async (k: number): Promise<Plane | 'planar'> => {
        if (!kernels || !isIdentity(transforms[k]!)) return read(k);
        await kernels.loadCodesPlanar(infos[k]!.is16, await codes(k));
        return 'planar';
      };
      // The band leaves the kernels as the encoder's samples when nothing in JS works on it after.
      const encoded = Boolean(kernels) && !o.plainIO && levels > 0 && o.denoise === 0 && o.sharpen === 0 && (!sink || Boolean(sink.writeEncoded));
      const dm = kernels ? { kernels, band: { w: W, h: rect.h, c: C }, frame, planar, encoded } : null;
      const r = await depthMapBand(infos.length, read, o, levels, kernel, bits, energy, (k, pass) => tick(`band ${b + 1}/${nb} ${pass} frame ${k + 1}`), dm, native);
      fusedPlane = r.image;
      depthBand = r.depth;
      if (depthSink?.writeEncoded && kernels && levels > 0 && !o.plainIO) {
        // The depth's samples from the kernels (the band they began; levels 0 computes there only the energies), encoded while the next band is computed.
        await sendCopy(depthSink, await kernels.depthSamples(depthBand, y0 - e0, y1 - y0, infos.length > 1 ? 1 / (infos.length - 1) : 0), y1 - y0);
        depthBand = null;
      }
      if (!fusedPlane) {
        // The core rows as the encoder's samples (truncated as shinestacker's astype for its preset),
        // the bytes the float path below makes; the encoder works on them while the next band runs.
        await emitSamples(await kernels!.samples(y0 - e0, y1 - y0, outBytes === 2 ? (sink ? 'u16be' : 'u16') : 'u8', seedDm), y0, y1);
        continue;
      }
    }
    if (o.denoise > 0) denoise(fusedPlane, o.denoise);
    if (o.sharpen > 0) sharpen(fusedPlane, o.sharpen, o.sharpenRadius, o.sharpenThreshold);
    // Keep the core rows only.
    const from = (y0 - e0) * W * C;
    const n = (y1 - y0) * W * C;
    if (sink) {
      const rows = new Float32Array(n);
      const q = outBytes === 2 ? 65535 : 255;
      for (let i = 0; i < n; i++) {
        const v = fusedPlane.data[from + i]!;
        // shinestacker: np.clip(result·255, 0, 255).astype(uint8) truncates.
        rows[i] = v <= 0 ? 0 : v >= 1 ? 1 : seedDm ? Math.floor(v * q) / q : v;
      }
      await sink.writeRows(rows, y1 - y0);
    } else {
      const scale = outBytes === 2 ? 65535 : 255;
      for (let i = 0; i < n; i++) {
        const v = fusedPlane.data[from + i]! * scale;
        result![y0 * W * C + i] = v <= 0 ? 0 : v >= scale ? scale : seedDm ? Math.floor(v) : Math.round(v);
      }
    }
    if (depthSink && depthBand) {
      const dn = infos.length > 1 ? 1 / (infos.length - 1) : 0;
      const rows = new Float32Array((y1 - y0) * W);
      for (let i = 0; i < rows.length; i++) rows[i] = depthBand[(y0 - e0) * W + i]! * dn;
      await depthSink.writeRows(rows, y1 - y0);
    }
  }
  if (sink) {
    await sink.finish();
    const exifFrom = o.exif === undefined ? infos[0]!.path : o.exif;
    if ((ext === '.jpg' || ext === '.jpeg') && exifFrom) await copyExif(out, exifFrom);
  } else await writeOutput(out, result!, W, H, C, o.quality, o.exif === undefined ? infos[0]!.path : o.exif);
  await depthSink?.finish();
  } catch (err) {
    await sink?.abort();
    await depthSink?.abort();
    throw err;
  } finally {
    await ahead?.close();
    await wasm?.close();
    await pyramidKernels?.close();
    await store.close();
  }
  const used = pyramidKernels ?? wasm;
  return { width: W, height: H, frames: files.length, bands: nb, bandRows, transforms, alignEcc: ecc, frameStore: store.kind, spillBytes: store.bytesWritten, threads: used?.threads ?? 1, kernels: used ? 'wasm' : 'js' };
}

async function alignFrames(infos: FrameInfo[], o: StackOptions, label: string): Promise<{ transforms: Affine[]; ecc: number[] }> {
  const n = infos.length;
  const d: Affine[] = [[...IDENTITY]];
  const ecc: number[] = [1];
  // With threads to spare, frame k + 1's grey copy is decoded (libuv thread) while frame k is aligned.
  const ahead = (o.threads ?? availableParallelism()) > 1;
  const gray = (k: number) => {
    const p = smallGray(infos[k]!.path, ALIGN_SIZE);
    p.catch(() => {}); // awaited in turn; an earlier failure must not leave it unhandled
    return p;
  };
  let prev = await gray(0);
  let next = ahead && n > 1 ? gray(1) : null;
  for (let k = 1; k < n; k++) {
    const cur = await (next ?? gray(k));
    next = ahead && k + 1 < n ? gray(k + 1) : null;
    if (o.align) {
      // moving = frame k, fixed = frame k-1: m maps frame k-1 coordinates to frame k coordinates.
      const r = estimateAffine(prev.gray, cur.gray);
      d.push(scaleAffine(r.m, cur.scale));
      ecc.push(r.ecc);
    } else {
      d.push([...IDENTITY]);
      ecc.push(1);
    }
    prev = cur;
    o.onProgress?.(`${label}: align frame ${k + 1}`, 0, 0);
  }
  // Transforms that move no pixel by more than a quarter pixel are dropped: resampling would blur
  // more than such a misalignment does.
  const transforms = chainToReference(d, Math.floor((n - 1) / 2)).map((t) => (maxDisplacement(t, infos[0]!.width, infos[0]!.height) < 0.25 ? [...IDENTITY] as Affine : t));
  return { transforms, ecc };
}

/**
 * One band of the pyramid stack on the WASM kernels: each frame's rows go from the frame store
 * straight into the kernels' memory as codes (the next frame's read while this one is fused); frames
 * that alignment moves are resampled there from their codes too (bit for bit readAlignedTile), unless
 * their source window is taller than a code slot — those go through the JS resampler (`read`).
 */
async function fuseBandCodes(
  kernels: FocusPyramidKernels,
  infos: FrameInfo[],
  transforms: Affine[],
  store: FrameStore,
  rect: Rect,
  read: (k: number) => Promise<Plane>,
  tick: (k: number) => void,
) {
  const fuser = kernels.fuser(rect.h);
  const bytes = (k: number) => (infos[k]!.is16 ? 2 : 1);
  // Frame k's source rows in the frame (null: too tall for a slot, resampled in JS).
  const source = (k: number): Rect | null => {
    const t = transforms[k]!;
    if (isIdentity(t)) return rect;
    const src = alignedSource(infos[k]!, t, rect);
    return src.h <= kernels.codeRows ? src : null;
  };
  const fill = (k: number, src: Rect) => {
    const p = store.codesInto(k, src.y, src.h, kernels.codes(k & 1, src.h, bytes(k)));
    // Awaited on its turn; if a fusion before it throws first, the read must not be an unhandled rejection.
    p.catch(() => {});
    return p;
  };
  const sources = infos.map((_, k) => source(k));
  let next: Promise<void> | null = sources[0] ? fill(0, sources[0]) : null;
  for (let k = 0; k < infos.length; k++) {
    const codes = next;
    const src = sources[k];
    next = null;
    if (codes && src) {
      await codes;
      if (k + 1 < infos.length && sources[k + 1]) next = fill(k + 1, sources[k + 1]!);
      if (src === rect) await fuser.pushCodes(k & 1, bytes(k));
      else await fuser.pushWarped(k & 1, bytes(k), src, transforms[k]!, rect.y);
    } else {
      await fuser.push(await read(k));
      releaseGarbage();
      if (k + 1 < infos.length && sources[k + 1]) next = fill(k + 1, sources[k + 1]!);
    }
    tick(k);
  }
  return fuser;
}

/** Band height that keeps the per-band working set within the memory limit. */
export function chooseBandRows(W: number, H: number, C: number, bits: FloatBits, o: StackOptions, outBytes: number, halo: number, unit: number, warped = true, frames = 0): number {
  const perPx = bandBytes(W, C, bits, o, 1, warped, frames) / W;
  const fixed = fixedBytes(W, H, C, outBytes) + (pyramidWasm(o, bits) || depthMapWasm(o, bits) ? workerBytes(o) : 0);
  const budget = o.memoryLimitMB * 2 ** 20 - fixed;
  const rowsTotal = Math.floor(budget / (perPx * W));
  if (rowsTotal >= H) return H;
  if (pyramidWasm(o, bits) || depthMapWasm(o, bits)) {
    // The band's extent is its core + two halos + up to a grid step (its top on the pyramid grid); cores
    // of equal height (the fewest bands the budget allows, evenly split) repeat the least halo work.
    const most = Math.floor((rowsTotal - 2 * halo - unit) / unit) * unit;
    if (most < Math.max(unit, 32)) throw new Error(`--memory-limit: ${o.memoryLimitMB} MB is too small for ${W}×${H} frames (need about ${Math.ceil((fixed + perPx * W * (2 * halo + unit * 2)) / 2 ** 20)} MB)`);
    return Math.min(most, Math.ceil(H / Math.ceil(H / most) / unit) * unit);
  }
  const core = Math.floor((rowsTotal - 2 * halo) / unit) * unit;
  if (core < Math.max(unit, 32)) throw new Error(`--memory-limit: ${o.memoryLimitMB} MB is too small for ${W}×${H} frames (need about ${Math.ceil((fixed + perPx * W * (2 * halo + unit * 2)) / 2 ** 20)} MB)`);
  return core;
}

/** Whether the pyramid stack runs on the SIMD WebAssembly kernels (32-bit floats, where they load). */
function pyramidWasm(o: StackOptions, bits: FloatBits): boolean {
  return o.algorithm === 'pyramid' && bits === 32 && o.kernels !== 'js' && o.kernelSize <= 17 && kernelModule('pyramid') !== null;
}

/** Whether the depth map runs on the SIMD WebAssembly kernels (32-bit floats, where they load). */
function depthMapWasm(o: StackOptions, bits: FloatBits): boolean {
  return o.algorithm === 'depthmap' && bits === 32 && o.kernels !== 'js' && kernelModule('focus') !== null;
}

/** The seed's average map keeps each frame's energy from pass 1 for pass 2 (up to 32 frames: beyond, the bands would get too thin). */
function keepsEnergies(o: StackOptions, frames: number): boolean {
  return o.algorithm === 'depthmap' && o.map === 'average' && o.energyKernels === 'shinestacker' && o.pyramidLevels > 0 && frames <= 32;
}

/** Each kernel worker thread's own isolate and instance (measured ≈ 10–15 MB). */
function workerBytes(o: StackOptions): number {
  return 12 * 2 ** 20 * Math.max(0, (o.threads ?? availableParallelism()) - 1);
}

/** Memory outside the bands: the runtime, and the whole output when it is encoded at the end (TIFF). */
function fixedBytes(W: number, H: number, C: number, outBytes: number): number {
  return 120 * 2 ** 20 + W * H * C * outBytes;
}

/** Working set of a band of `rows` rows (with halo), heap fragmentation included. */
function bandBytes(W: number, C: number, bits: FloatBits, o: StackOptions, rows: number, warped = true, frames = 0): number {
  const fb = bits / 8;
  const frag = process.env.MALLOC_MMAP_THRESHOLD_ ? 1 : 1.5;
  if (depthMapWasm(o, bits)) {
    // Depth map on the WASM kernels (one mapping): the frame (f32 + codes), four f32 planes, the
    // separable filters' f64 plane, three f64 map planes, 2C + 2 pyramids (×4/3), the kept energies.
    // In the heap: the blended band and the rows for the encoder, the depth; moved frames' tiles; the
    // max map's best energy, index, count and index sum.
    const wasm = C * 6 + 16 + 8 + 24 + (o.pyramidLevels > 0 ? (2 * C + 2) * 4 * (4 / 3) : 0) + (keepsEnergies(o, frames) ? 4 * frames : 0);
    const js = C * 4 * 2 + 4 + (warped ? C * 4 * 2.5 : 0) + (o.map === 'max' ? 24 : 0);
    // × 1.1: 24 MP stacks peaked about that much above this sum (the encoder's buffers, the runtime's growth).
    return 1.1 * (wasm + js * frag) * W * rows;
  }
  if (pyramidWasm(o, bits)) {
    // Pyramid on the WASM kernels: all in their memory (one mapping, no heap fragmentation) — the
    // candidate and fused pyramids (C planes ×4/3 each), the best energies (×4/3), two code slots (of
    // up to 2-byte codes), and C·4 of headroom: the runtime's own baseline is above fixedBytes' 120 MB
    // (measured ≈ 150 MB when started through tsx; 6000×4000 peaks then stay ≤ 470 MB at 1–4 threads).
    // Frames that alignment moves are resampled there from their codes too; their source windows
    // are taller than the band (planned: a tenth; the slots are sized to the transforms).
    const wasm = C * 4 * (8 / 3) + 4 * (4 / 3) + 2 * C * 2 * (warped ? 1.1 : 1) + C * 4;
    return wasm * W * rows;
  }
  // Per pixel of a band: fused + candidate pyramids (×4/3 each), energies, the frame and its
  // decoded 8/16-bit buffer and intermediate copies; measured ~ this with some slack.
  // (pyramid: frame + its Laplacian pyramid + fused pyramid ≈ 3.7 C planes, energies ≈ 4.3 planes;
  // depthmap: frame, blend numerator/denominator pyramids and weight pyramids.)
  // Depth map on the WASM kernels: their shared memory adds the frame, four f32 planes and an f64 one
  // (36 B/px), and each energy comes back as a copy; measured peaks at 24 MP ask for this much.
  const wasm = o.algorithm === 'depthmap' && bits === 32 && o.kernels !== 'js' ? C * 4 + 48 : 0;
  const perPx = (o.algorithm === 'pyramid' ? C * fb * 5 + fb * 6 + 8 : C * fb * 8 + fb * 9 + 8) + wasm;
  // Without a fixed glibc mmap threshold freed pyramids fragment the heap (measured ≈ 1.5× the live
  // set on 6000×4000 brackets), so plan smaller bands unless the environment fixes it.
  const fragmentation = process.env.MALLOC_MMAP_THRESHOLD_ ? 1 : 1.5;
  return perPx * fragmentation * W * rows;
}

function luminance(p: Plane): Float32Array {
  const n = p.w * p.h;
  const g = new Float32Array(n);
  if (p.c === 1) for (let i = 0; i < n; i++) g[i] = p.data[i]!;
  else for (let i = 0; i < n; i++) g[i] = 0.2126 * p.data[i * 3]! + 0.7152 * p.data[i * 3 + 1]! + 0.0722 * p.data[i * 3 + 2]!;
  return g;
}

/** OpenCV's sigma for a Gaussian kernel of `size` taps with sigma 0 (shinestacker's GaussianBlur(img, (k, k), 0)). */
function cvSigma(size: number): number {
  return 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
}

/**
 * Energy of one frame, then smoothed. `shinestacker`: its energy on the gray frame in the frame's own
 * units (0..255 / 0..65535), never rescaled, so its tenengrad threshold, bilateral sigma colour and
 * temperature mean what they mean there; bilateral smoothing only when its size is > 0. `ours`: our
 * measures on the luminance (0..1), Laplacian-type ones after a Gaussian pre-blur of `dmBlurSize` taps.
 */
export function frameEnergy(p: Plane, o: StackOptions, native: number): Float32Array {
  let e: Float32Array;
  if (o.energyKernels === 'shinestacker') {
    e = shineEnergy(grayNative(p, native), p.w, p.h, o.energy, { blurSize: o.dmBlurSize, kernelSize: o.dmKernelSize });
  } else {
    let lum = luminance(p);
    const laplacian = o.energy === 'laplacian' || o.energy === 'modified-laplacian';
    if (laplacian && o.dmBlurSize > 1) lum = gaussianBlurPlane(lum, p.w, p.h, cvSigma(o.dmBlurSize), 'reflect');
    e = energyPlane(planeFromFloat(p.w, p.h, lum), o.energy, 'reflect', laplacian ? o.dmKernelSize : 5);
  }
  if (o.smoothing === 'gaussian' && o.energySmooth > 0) return gaussianBlurPlane(e, p.w, p.h, o.energySmooth, 'reflect');
  if (o.smoothing === 'bilateral' && o.smoothSize > 0) return bilateralPlane(e, p.w, p.h, o.smoothSize, o.sigmaColor, o.sigmaSpace);
  return e;
}

/**
 * Depth-map stacking of one band. 'max': pass 1 finds each pixel's highest energy and how many frames
 * reach it (shinestacker shares ties equally: weight 1/count each); pass 2 blends frames with those
 * masks (or the soft max exp((E − Emax)/T)) through Laplacian pyramids. With --pyramid-levels 0 and a
 * hard max pass 1 alone gives the image (the mean of the tied frames). 'average': shinestacker's
 * E^p / ΣE^p (0 where every frame has E = 0) needs ΣE^p first, so two passes; `ours` blends E^p in one.
 */
async function depthMapBand(
  n: number,
  read: (k: number) => Promise<Plane>,
  o: StackOptions,
  levels: number,
  kernel: number[],
  bits: FloatBits,
  energy: (p: Plane) => Promise<Float32Array>,
  tick: (k: number, pass: string) => void,
  dm: { kernels: WasmDepthMap; band: { w: number; h: number; c: number }; frame: (k: number) => Promise<Plane | null>; planar: (k: number) => Promise<Plane | 'planar'>; encoded?: boolean } | null = null,
  native = 255,
): Promise<{ image: Plane | null; depth: Float32Array }> {
  let w = 0, h = 0, c = 0;
  const seed = o.energyKernels === 'shinestacker';
  const blendFloor = seed ? 1e-8 : 1e-12;
  // On the kernels the blend (and for the average map everything) stays in their memory; frames that
  // need no resampling go into it as their codes (`dm.frame` gives null), others as float planes.
  const wasmBlend = dm && levels > 0 ? dm.kernels : null;
  if (wasmBlend) wasmBlend.begin(dm!.band.w, dm!.band.h, dm!.band.c, { levels, kernel, floor: blendFloor, keepBelow: seed });
  // The blended band: interleaved in the kernels' memory, or (`encoded`) left there for their samples: null.
  const blended = async (): Promise<Plane | null> => {
    if (!dm?.encoded) return wasmBlend!.blendResult();
    await wasmBlend!.finishBlend();
    return null;
  };
  if (wasmBlend && o.map === 'average') {
    // The first pass's energies, kept when there is room, spare the second pass computing them again.
    const keep = seed && wasmBlend.cacheFrames >= n;
    if (seed) {
      for (let k = 0; k < n; k++) {
        const p = await dm!.frame(k);
        const e = await wasmBlend.energyAt(p, o, native);
        if (keep) wasmBlend.keepEnergy(e, k);
        await wasmBlend.sumPower(e, o.weightPower, k);
        if (p) releaseGarbage();
        tick(k, 'energy');
      }
    }
    for (let k = 0; k < n; k++) {
      // With the energies kept, a frame read as codes goes straight into the blend's planes.
      const p = keep ? await dm!.planar(k) : await dm!.frame(k);
      if (p && p !== 'planar') wasmBlend.load(p);
      const e = keep ? wasmBlend.keptEnergy(k) : await wasmBlend.energyAt(p as Plane | null, o, native);
      if (seed) await wasmBlend.seedWeights(e, o.weightPower);
      else await wasmBlend.oursWeights(e, o.weightPower, k);
      if (o.pyramidSmoothSize > 1) await wasmBlend.smoothWeight(smoothKernel(o));
      await wasmBlend.blendFrame(p === 'planar' ? 'planar' : null);
      // Only a float frame (a moved one) leaves garbage worth a full collection.
      if (p && p !== 'planar') releaseGarbage();
      tick(k, 'blend');
    }
    return { image: await blended(), depth: await wasmBlend.depth(seed ? 'total' : 'den') };
  }
  if (wasmBlend && o.map === 'max' && o.temperature < 1e-4) {
    // The hard max on the kernels: pass 1 keeps the best energy, its frame, the tie count and the
    // index sum in their memory; pass 2 weights each frame from them (the loops below, bit for bit).
    let ties = false;
    for (let k = 0; k < n; k++) {
      const p = await dm!.frame(k);
      if (await wasmBlend.maxUpdate(await wasmBlend.energyAt(p, o, native), k)) ties = true;
      if (p) releaseGarbage();
      tick(k, 'energy');
    }
    for (let k = 0; k < n; k++) {
      // Recomputed energies are bit-identical to pass 1's, so equality finds the tied frames; without
      // ties the frame goes from its codes straight into the blend's planes.
      const p = ties ? await dm!.frame(k) : await dm!.planar(k);
      if (ties) await wasmBlend.maxWeights(await wasmBlend.energyAt(p as Plane | null, o, native), k);
      else {
        if (p && p !== 'planar') wasmBlend.load(p);
        await wasmBlend.maxWeights(null, k);
      }
      if (o.pyramidSmoothSize > 1) await wasmBlend.smoothWeight(smoothKernel(o));
      await wasmBlend.blendFrame(p === 'planar' ? 'planar' : null);
      if (p && p !== 'planar') releaseGarbage();
      tick(k, 'blend');
    }
    return { image: await blended(), depth: await wasmBlend.maxDepth() };
  }
  if (o.map === 'max') {
    let bestE: Float32Array | null = null;
    let idx: Uint16Array | null = null;
    let count: Uint16Array | null = null;
    let sumIdx: Float64Array | null = null;
    let pix: FArray | null = null;
    let ties = false;
    for (let k = 0; k < n; k++) {
      const p = await read(k);
      ({ w, h, c } = p);
      const e = await energy(p);
      if (!bestE) {
        bestE = e;
        idx = new Uint16Array(w * h);
        count = new Uint16Array(w * h).fill(1);
        sumIdx = new Float64Array(w * h);
        if (levels === 0) pix = p.data;
      } else {
        for (let i = 0; i < e.length; i++) {
          if (e[i]! > bestE[i]!) {
            bestE[i] = e[i]!;
            idx![i] = k;
            count![i] = 1;
            sumIdx![i] = k;
            if (pix) for (let ch = 0; ch < c; ch++) pix[i * c + ch] = p.data[i * c + ch]!;
          } else if (e[i] === bestE[i]) {
            ties = true;
            const m = ++count![i]!;
            sumIdx![i] += k;
            if (pix) for (let ch = 0; ch < c; ch++) pix[i * c + ch]! += (p.data[i * c + ch]! - pix[i * c + ch]!) / m;
          }
        }
      }
      releaseGarbage();
      tick(k, 'energy');
    }
    const depth = new Float32Array(w * h);
    for (let i = 0; i < depth.length; i++) depth[i] = sumIdx![i]! / count![i]!;
    // shinestacker: a temperature below 1e-4 is the hard max.
    const soft = o.temperature >= 1e-4;
    if (levels === 0 && !soft) return { image: { w, h, c, data: pix! }, depth };
    const blender = levels > 0 && !wasmBlend ? new WeightedPyramidBlend(levels, kernel, bits, blendFloor, seed) : null;
    const num = blender || wasmBlend ? null : alloc(bits, w * h * c);
    const den = blender ? null : new Float64Array(w * h);
    for (let k = 0; k < n; k++) {
      const p = await read(k);
      const m = alloc(bits, w * h);
      if (soft) {
        const e = await energy(p);
        // shinestacker: softmax, then weights^power renormalised = exp(power·(E − Emax)/T).
        const f = o.weightPower / o.temperature;
        for (let i = 0; i < m.length; i++) m[i] = Math.exp((e[i]! - bestE![i]!) * f);
      } else if (ties) {
        // Recomputed energies are bit-identical to pass 1's, so equality finds the tied frames.
        const e = await energy(p);
        for (let i = 0; i < m.length; i++) m[i] = e[i] === bestE![i] ? 1 / count![i]! : 0;
      } else for (let i = 0; i < m.length; i++) m[i] = idx![i] === k ? 1 : 0;
      if (wasmBlend) {
        wasmBlend.setWeight(m as Float32Array);
        if (o.pyramidSmoothSize > 1) await wasmBlend.smoothWeight(smoothKernel(o));
        await wasmBlend.blendFrame(p);
        releaseGarbage();
        tick(k, 'blend');
        continue;
      }
      smoothWeights(m, w, h, o);
      if (blender) blender.add(p, m);
      else
        for (let i = 0; i < w * h; i++) {
          den![i] += m[i]!;
          for (let ch = 0; ch < c; ch++) num![i * c + ch]! += m[i]! * p.data[i * c + ch]!;
        }
      releaseGarbage();
      tick(k, 'blend');
    }
    if (wasmBlend) return { image: await blended(), depth };
    if (blender) return { image: blender.result(), depth };
    for (let i = 0; i < w * h; i++) for (let ch = 0; ch < c; ch++) num![i * c + ch]! /= den![i]! || 1;
    return { image: { w, h, c, data: num! }, depth };
  }
  // average. shinestacker: weights E^p / ΣE^p (the power applied to E/ΣE and renormalised is the
  // same), zero where ΣE = 0; the sum needs a first pass. ours: E^p (+1e-6) normalised by the blend.
  let total: Float64Array | null = null;
  let dnum: Float64Array | null = null;
  if (seed) {
    for (let k = 0; k < n; k++) {
      const p = await read(k);
      ({ w, h, c } = p);
      const e = await energy(p);
      if (!total) {
        total = new Float64Array(w * h);
        dnum = new Float64Array(w * h);
      }
      for (let i = 0; i < e.length; i++) {
        const v = o.weightPower === 1 ? e[i]! : Math.pow(e[i]!, o.weightPower);
        total[i] += v;
        dnum![i] += v * k;
      }
      releaseGarbage();
      tick(k, 'energy');
    }
  }
  let blender: WeightedPyramidBlend | null = null;
  let num: FArray | null = null;
  let den: Float64Array | null = null;
  for (let k = 0; k < n; k++) {
    const p = await read(k);
    ({ w, h, c } = p);
    const e = await energy(p);
    if (k === 0) {
      den = new Float64Array(w * h);
      if (!seed) dnum = new Float64Array(w * h);
      if (levels > 0) blender = new WeightedPyramidBlend(levels, kernel, bits, blendFloor, seed);
      else num = alloc(bits, w * h * c);
    }
    const wgt = alloc(bits, w * h);
    for (let i = 0; i < wgt.length; i++) {
      if (seed) {
        const v = o.weightPower === 1 ? e[i]! : Math.pow(e[i]!, o.weightPower);
        wgt[i] = total![i]! !== 0 ? v / total![i]! : 0;
      } else {
        wgt[i] = Math.pow(e[i]! + 1e-6, o.weightPower);
        dnum![i]! += wgt[i]! * k;
      }
      den![i]! += wgt[i]!;
    }
    releaseGarbage();
    smoothWeights(wgt, w, h, o);
    if (blender) blender.add(p, wgt);
    else for (let i = 0; i < w * h; i++) for (let ch = 0; ch < c; ch++) num![i * c + ch]! += wgt[i]! * p.data[i * c + ch]!;
    tick(k, 'blend');
  }
  const depth = new Float32Array(w * h);
  const dden = seed ? total! : den!;
  for (let i = 0; i < depth.length; i++) depth[i] = dden[i]! > 0 ? dnum![i]! / dden[i]! : 0;
  if (blender) return { image: blender.result(), depth };
  for (let i = 0; i < w * h; i++) for (let ch = 0; ch < c; ch++) num![i * c + ch]! /= den![i]! || 1;
  return { image: { w, h, c, data: num! }, depth };
}

/** shinestacker's pyramid_smooth_size: GaussianBlur(weight, (k, k), 0) with k made odd, in place (OpenCV's kernel). */
function smoothWeights(m: FArray, w: number, h: number, o: StackOptions): void {
  if (o.pyramidSmoothSize <= 1) return;
  const k = smoothKernel(o);
  m.set(sepFilter(m instanceof Float32Array ? m : Float32Array.from(m), w, h, k, k));
}

function smoothKernel(o: StackOptions): Float64Array {
  return cvGaussianKernel(o.pyramidSmoothSize % 2 === 0 ? o.pyramidSmoothSize + 1 : o.pyramidSmoothSize);
}

/** Σ_k G(w_k)·L(I_k) / Σ_k G(w_k) per level, accumulated frame by frame. */
export class WeightedPyramidBlend {
  private num: Plane[] | null = null;
  private den: FArray[] = [];
  /** A level's summed weight at or below `floor` zeroes the pixel's coefficients, or with `keepBelow`
   *  leaves them unnormalised (shinestacker: divide only where the sum exceeds 1e-8). */
  constructor(private readonly levels: number, private readonly kernel: number[], private readonly bits: FloatBits, private readonly floor = 1e-12, private readonly keepBelow = false) {}

  add(p: Plane, weight: FArray): void {
    const L = laplacianPyramid(p, this.levels, this.kernel, this.bits);
    const G = gaussianPyramid({ w: p.w, h: p.h, c: 1, data: weight }, this.levels, this.kernel, this.bits);
    if (!this.num) {
      this.num = L.map((l) => ({ ...l, data: alloc(this.bits, l.data.length) }));
      this.den = G.map((g) => alloc(this.bits, g.data.length));
    }
    for (let l = 0; l <= this.levels; l++) {
      const N = this.num[l]!, D = this.den[l]!, Ll = L[l]!, Gl = G[l]!;
      const c = N.c;
      for (let i = 0; i < D.length; i++) {
        const g = Gl.data[i]!;
        D[i]! += g;
        for (let ch = 0; ch < c; ch++) N.data[i * c + ch]! += g * Ll.data[i * c + ch]!;
      }
    }
  }

  result(): Plane {
    const pyr = this.num!.map((N, l) => {
      const D = this.den[l]!;
      for (let i = 0; i < D.length; i++) {
        const d = D[i]! > this.floor ? 1 / D[i]! : this.keepBelow ? 1 : 0;
        for (let ch = 0; ch < N.c; ch++) N.data[i * N.c + ch]! *= d;
      }
      return N;
    });
    return collapse(pyr, this.kernel, this.bits);
  }
}

/** Encode by extension; JPEG gets the first frame's EXIF block spliced in. */
async function writeOutput(out: string, data: Uint8Array | Uint16Array, W: number, H: number, C: number, quality: number, exifFrom: string | null): Promise<void> {
  const ext = extname(out).toLowerCase();
  const raw = { width: W, height: H, channels: C as 1 | 3 };
  let s = sharp(data, { raw, limitInputPixels: false });
  if (data instanceof Uint16Array) s = s.toColourspace(C === 1 ? 'grey16' : 'rgb16');
  await withAtomicPath(out, async (tmp) => {
    if (ext === '.jpg' || ext === '.jpeg') {
      const jpeg = await s.jpeg({ quality }).toBuffer();
      const exif = exifFrom ? (await sharp(exifFrom).metadata().catch(() => null))?.exif : undefined;
      const { writeFile } = await import('node:fs/promises');
      await writeFile(tmp, exif ? spliceExif(jpeg, exif) : jpeg);
    } else if (ext === '.png') await s.png({ compressionLevel: 6 }).toFile(tmp);
    else if (ext === '.tif' || ext === '.tiff') await s.tiff({ compression: 'deflate' }).toFile(tmp);
    else throw new Error(`--out: unsupported output format '${ext}' (use .jpg, .png or .tif)`);
  });
}

/** Put the first frame's EXIF block into a JPEG written by the row sink (small rewrite, atomic). */
async function copyExif(jpegPath: string, from: string): Promise<void> {
  const exif = (await sharp(from).metadata().catch(() => null))?.exif;
  if (!exif) return;
  const { readFile } = await import('node:fs/promises');
  await writeFileAtomic(jpegPath, spliceExif(await readFile(jpegPath), exif));
}

/** Insert an APP1 EXIF segment right after SOI (sharp's metadata().exif already starts with "Exif\0\0"). */
export function spliceExif(jpeg: Buffer, exif: Buffer): Buffer {
  if (exif.length + 2 > 0xffff || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg.writeUInt16BE(exif.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, exif, jpeg.subarray(2)]);
}

function maxDisplacement(t: Affine, w: number, h: number): number {
  let m = 0;
  for (const [x, y] of [[0, 0], [w, 0], [0, h], [w, h]] as const) {
    const u = t[0] * x + t[1] * y + t[2], v = t[3] * x + t[4] * y + t[5];
    m = Math.max(m, Math.hypot(u - x, v - y));
  }
  return m;
}

