// Pixel-value weights for Debevec & Malik: trust mid-tones, distrust codes near the noise floor and
// near saturation. Code domain 0..255 (16-bit input is looked up at code = value·255, fractional).

export type WeightKind = 'triangle' | 'sine';

export interface WeightOptions {
  kind: WeightKind;
  /** Codes at or below this get weight 0 (noise floor). */
  lowClip: number;
  /** Codes at or above this get weight 0 (saturation). */
  highClip: number;
}

export const DEFAULT_WEIGHTS: WeightOptions = { kind: 'triangle', lowClip: 5, highClip: 250 };

export function validateWeights(o: WeightOptions): void {
  if (o.kind !== 'triangle' && o.kind !== 'sine') throw new Error(`--weight: expected triangle or sine, got "${String(o.kind)}"`);
  if (!(o.lowClip >= 0 && o.lowClip < 255)) throw new Error(`--low-clip: must be in 0..254, got ${o.lowClip}`);
  if (!(o.highClip > o.lowClip + 2 && o.highClip <= 255)) throw new Error(`--high-clip: must be in ${o.lowClip + 3}..255, got ${o.highClip}`);
}

/** Weight of code z (0..255, may be fractional), peak 127.5 like Debevec's hat, 0 outside (low, high). */
export function weightAt(z: number, o: WeightOptions): number {
  if (z <= o.lowClip || z >= o.highClip) return 0;
  if (o.kind === 'sine') return 127.5 * Math.sin((Math.PI * (z - o.lowClip)) / (o.highClip - o.lowClip));
  const mid = (o.lowClip + o.highClip) / 2;
  // Hat over (low, high) scaled so its peak is 127.5 (Debevec's z-zmin / zmax-z with zmin=0, zmax=255).
  return z <= mid ? (127.5 * (z - o.lowClip)) / (mid - o.lowClip) : (127.5 * (o.highClip - z)) / (o.highClip - mid);
}

export function weightTable(o: WeightOptions, levels = 256): Float64Array {
  const t = new Float64Array(levels);
  const scale = 255 / (levels - 1);
  for (let i = 0; i < levels; i++) t[i] = weightAt(i * scale, o);
  return t;
}

/** Smoothness weights: the unclipped hat floored at 1, so g stays defined (linearly extrapolated)
 *  beyond the clips instead of leaving codes 0..low and high..255 unconstrained. */
export function smoothnessWeights(): Float64Array {
  const t = new Float64Array(256);
  for (let z = 0; z < 256; z++) t[z] = Math.max(1, z <= 127.5 ? z : 255 - z);
  return t;
}
