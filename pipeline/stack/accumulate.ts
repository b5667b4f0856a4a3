// Alignment choice and accumulation: the transform of a frame onto the reference by the stack's
// alignment mode, the per-channel sky and noise the accumulators need, and whether a transform
// moves anything at all (the reference and `none` are not warped).
import type { ImageF32 } from '../image/types.js';
import type { Star } from '../stars/detect.js';
import { eccAlign } from './align/ecc.js';
import { phaseCorrelate } from './align/phase.js';
import { matchStars } from './align/triangles.js';
import { identity, type Mat3 } from './align/transform.js';
import { matchReference, residualOf } from './judge.js';
import type { Accumulator, FrameInfo } from './methods.js';
import type { FrameQuality } from './quality.js';
import type { AlignMode } from './types.js';

export interface AlignContext {
  mode: AlignMode;
  model: 'similarity' | 'affine';
  minStars?: number;
  width: number;
  height: number;
  refStars: Star[] | null;
  refGray: ImageF32 | null;
}

/** Frame → reference transform, or null when star alignment finds no consistent pattern (throws when ECC diverges). */
export function alignFrame(c: AlignContext, gray: ImageF32, stars: Star[]): { transform: Mat3; residual: number; inliers: number } | null {
  switch (c.mode) {
    case 'star': {
      const m = matchStars(stars, c.refStars!, { model: c.model, minInliers: c.minStars ? Math.min(6, c.minStars) : 6 });
      return m ? { transform: m.transform, residual: m.residual, inliers: m.inliers } : null;
    }
    case 'phase': {
      const p = phaseCorrelate(c.refGray!, gray);
      const m = Float64Array.of(1, 0, p.dx, 0, 1, p.dy, 0, 0, 1);
      return { transform: m, ...residualOf(matchReference(m, stars, c.refStars ?? [])) };
    }
    case 'ecc': {
      const p = phaseCorrelate(c.refGray!, gray);
      const init = Float64Array.of(1, 0, -p.dx, 0, 1, -p.dy, 0, 0, 1);
      const e = eccAlign(c.refGray!, gray, { init, maxSize: Math.min(1024, Math.max(c.width, c.height)) });
      return { transform: e.transform, ...residualOf(matchReference(e.transform, stars, c.refStars ?? [])) };
    }
    case 'none':
      return { transform: identity(), ...residualOf(matchReference(identity(), stars, c.refStars ?? [])) };
  }
}

/** Add one aligned frame to every accumulator; returns the pixel values sigma rejected. */
export function accumulate(accs: Accumulator[], aligned: ImageF32, info: FrameInfo): number {
  let rejected = 0;
  for (const a of accs) rejected += a.push(aligned.data, info);
  return rejected;
}

export function isIdentity(m: Mat3): boolean {
  const id = identity();
  for (let i = 0; i < 9; i++) if (Math.abs(m[i]! - id[i]!) > 1e-9) return false;
  return true;
}

/** Sky level and noise per channel (mono: the frame's measured figures). */
export function channelStats(img: ImageF32, q: FrameQuality): FrameInfo {
  if (img.channels === 1) return { background: [q.background], noise: [q.noise] };
  const bg: number[] = [], noise: number[] = [];
  const ch = img.channels;
  const stride = Math.max(1, Math.floor(img.width * img.height / 50000));
  for (let c = 0; c < ch; c++) {
    const s: number[] = [];
    for (let i = 0; i < img.width * img.height; i += stride) { const v = img.data[i * ch + c]!; if (v === v) s.push(v); }
    s.sort((a, b) => a - b);
    const m = s[s.length >> 1] ?? 0;
    const d = s.map((v) => Math.abs(v - m)).sort((a, b) => a - b);
    bg.push(m);
    noise.push(1.4826 * (d[d.length >> 1] ?? 0));
  }
  return { background: bg, noise };
}
