// The stacking benches' synthetic dark frames: one fixed pattern (offset, amp-glow gradient, hot
// pixels — the same in every dark and light) plus fresh read noise per seed.
import { createImage, type ImageF32 } from '../pipeline/image/types.js';
import { gaussianRng, mulberry32 } from '../pipeline/stack/synth.js';

/** A W×H 16-bit mono dark maker: `dark(seed)` draws its noise from `seed`, the pattern is fixed. */
export function fixedPatternDarks(W: number, H: number): (seed: number) => ImageF32 {
  const r = mulberry32(9);
  const hot = Array.from({ length: Math.round((W * H) / 20000) }, () => Math.floor(r() * W * H));
  return (seed) => {
    const d = createImage(W, H, 1, 16);
    const g = gaussianRng(seed);
    for (let y = 0, i = 0; y < H; y++) for (let x = 0; x < W; x++, i++) d.data[i] = 0.01 + 0.004 * (x / W) + 0.0015 * g();
    for (const h of hot) d.data[h] = 0.3;
    return d;
  };
}
