// The seed-compatible live stack: what the seed LiveStack program does, frame by frame —
// 8-bit frames in [0, 1] as three channels, its rising master dark and its dark subtraction, ECC
// homography of each frame onto the previous *aligned* frame (the last warp is the next start),
// the six accumulators, `OUT/<METHOD>.png` (or `OUT/<NAME>_<METHOD>.png`) as uint8. No warm-up,
// no rejection, no cosmetic fixes, no state file. Several methods run side by side on the same
// aligned frames: alignment does not depend on the method, so this equals the seed's
// one-method-after-another ALL.
import { join } from 'node:path';
import { readImage } from '../../image/read.js';
import { writeImage } from '../../image/write.js';
import type { ImageF32 } from '../../image/types.js';
import { eccAlign } from '../align/ecc.js';
import { identity, type Mat3 } from '../align/transform.js';
import { warpBilinear } from '../align/warp.js';
import { createAccumulator, type Accumulator, type SeedMethod } from '../methods.js';
import { seedDarkUpdate, seedSubtractDark, seedToUint8, toSeedDomain } from './rules.js';

export interface SeedStackOptions {
  outDir: string;
  /** `-output_image NAME`: products are `<NAME>_<METHOD>.png`; without it `<METHOD>.png`. */
  outputName?: string;
  methods: SeedMethod[];
  /** Master dark in the seed's domain (see seedMasterDark). */
  dark?: SeedImage;
}

/** A frame as the seed holds it: 3 channels, float32 in [0, 1] on 8-bit steps. */
export type SeedImage = ImageF32 & { channels: 3 };

export interface SeedFrameResult {
  path: string;
  accepted: boolean;
  /** Why the frame was not stacked (unreadable, other size, ECC failed). */
  reason: string | null;
  /** 1-based index of the frame in this stack. */
  index: number;
  /** ECC correlation coefficient (NaN for the first frame). */
  rho: number;
}

/** Read an image as the seed's `cv2.imread(path) / 255` would: 8 bits, 3 channels. */
export async function readSeedImage(path: string): Promise<SeedImage> {
  const img = await readImage(path);
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  const c = img.channels;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) out[i * 3 + k] = toSeedDomain(img.data[i * c + (c >= 3 ? k : 0)]!, img.bitDepth);
  }
  return { width: img.width, height: img.height, channels: 3, bitDepth: 8, data: out };
}

/** The seed's master dark from files in name order (D = d1; D = d > D ? (d + D)/2 : D). */
export async function seedMasterDark(paths: string[], source: string): Promise<SeedImage> {
  if (!paths.length) throw new Error(`${source}: no dark frames`);
  let D: SeedImage | null = null;
  for (const p of paths) {
    const d = await readSeedImage(p);
    if (!D) { D = d; continue; }
    if (d.width !== D.width || d.height !== D.height) throw new Error(`${p}: ${d.width}×${d.height} differs from the other darks' ${D.width}×${D.height}`);
    seedDarkUpdate(D.data, d.data);
  }
  return D!;
}

/** OpenCV's BGR2GRAY weights (the seed aligns on cv2.cvtColor grey images). */
function seedGray(img: ImageF32): ImageF32 {
  const n = img.width * img.height;
  const g = new Float32Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) g[i] = 0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!;
  return { width: img.width, height: img.height, channels: 1, bitDepth: 32, data: g };
}

export class SeedStacker {
  readonly opts: SeedStackOptions;
  private accs: Accumulator[] = [];
  private geom: { width: number; height: number } | null = null;
  private prevGray: ImageF32 | null = null;
  private warp: Mat3 = identity();
  private n = 0;
  readonly results: SeedFrameResult[] = [];

  constructor(opts: SeedStackOptions) {
    if (!opts.methods.length) throw new Error('no stacking method');
    this.opts = opts;
  }

  /** Frames stacked so far. */
  get count(): number {
    return this.n;
  }

  outputPath(method: SeedMethod): string {
    return join(this.opts.outDir, this.opts.outputName ? `${this.opts.outputName}_${method}.png` : `${method}.png`);
  }

  /** Stack one file. Never throws for a bad frame: it is skipped with a reason. */
  async push(path: string): Promise<SeedFrameResult> {
    const r = await this.pushFile(path);
    this.results.push(r);
    return r;
  }

  private async pushFile(path: string): Promise<SeedFrameResult> {
    const skip = (reason: string): SeedFrameResult => ({ path, accepted: false, reason, index: this.n, rho: NaN });
    let img: SeedImage;
    try {
      img = await readSeedImage(path);
    } catch (err) {
      return skip(String((err as Error).message).split('\n')[0]!);
    }
    const dark = this.opts.dark;
    if (dark) {
      if (dark.width !== img.width || dark.height !== img.height) return skip(`${path}: ${img.width}×${img.height} differs from the master dark's ${dark.width}×${dark.height}`);
      seedSubtractDark(img.data, dark.data);
    }
    if (this.geom && (img.width !== this.geom.width || img.height !== this.geom.height)) {
      return skip(`${path}: ${img.width}×${img.height} differs from the stack's ${this.geom.width}×${this.geom.height}`);
    }
    let aligned: ImageF32 = img;
    let rho = NaN;
    if (!this.prevGray) {
      this.geom = { width: img.width, height: img.height };
      const len = img.width * img.height * 3;
      this.accs = this.opts.methods.map((m) => createAccumulator(m, len, 3));
    } else {
      try {
        const e = eccAlign(this.prevGray, seedGray(img), { init: this.warp, maxSize: Math.min(1024, Math.max(img.width, img.height)) });
        this.warp = e.refToFrame;
        rho = e.rho;
      } catch (err) {
        return skip(`${path}: ECC alignment failed (${String((err as Error).message).split('\n')[0]})`);
      }
      aligned = warpBilinear(img, this.warp);
      // warpPerspective's constant border: 0 outside the frame, as the seed stacks it.
      const d = aligned.data;
      for (let i = 0; i < d.length; i++) if (d[i] !== d[i]) d[i] = 0;
    }
    this.prevGray = seedGray(aligned);
    for (const a of this.accs) a.push(aligned.data, { background: [0, 0, 0], noise: [0, 0, 0] });
    this.n++;
    return { path, accepted: true, reason: null, index: this.n, rho };
  }

  /** The stack of one method as the seed writes it (uint8, ADDMAX2 rescaled), or null before any frame. */
  product(method: SeedMethod): { width: number; height: number; data: Uint8Array } | null {
    const a = this.accs.find((x) => x.method === method);
    if (!a || !this.geom) return null;
    return { ...this.geom, data: seedToUint8(a.result(), method) };
  }

  /** Write `<METHOD>.png` (or `<NAME>_<METHOD>.png`) for every method; returns the paths written. */
  async write(): Promise<string[]> {
    const written: string[] = [];
    for (const m of this.opts.methods) {
      const p = this.product(m);
      if (!p) continue;
      const data = new Float32Array(p.data.length);
      for (let i = 0; i < data.length; i++) data[i] = p.data[i]! / 255;
      await writeImage(this.outputPath(m), { width: p.width, height: p.height, channels: 3, bitDepth: 8, data }, { depth: 8 });
      written.push(this.outputPath(m));
    }
    return written;
  }
}
