// Camera response curves for JPEG/PNG output: what an in-camera pipeline does between the linear
// sensor signal and the 8-bit value. Exported so HDR tests know the true curve they should recover.
import type { ResponseName } from './params.js';

/** Linear signal X (0 = black level, 1 = white point) → output value 0..1. Monotonic, f(0)=0, f(1)=1. */
export function applyResponse(name: ResponseName, x: number): number {
  const v = x <= 0 ? 0 : x >= 1 ? 1 : x;
  switch (name) {
    case 'linear':
      return v;
    case 'srgb':
      return srgb(v);
    case 'scurve': {
      // sRGB then a gentle contrast S (half smoothstep): flatter in shadows and highlights, like a picture style.
      const s = srgb(v);
      return 0.5 * s + 0.5 * s * s * (3 - 2 * s);
    }
  }
}

function srgb(v: number): number {
  return v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055;
}

/** Inverse of applyResponse by bisection (the curves are strictly increasing). */
export function inverseResponse(name: ResponseName, value: number): number {
  if (value <= 0) return 0;
  if (value >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (applyResponse(name, mid) < value) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The curve in the form Debevec & Malik recover: g(z) = ln X for each output code z of `levels`
 * (256 for 8-bit). Code 0 takes the value of half a code step, since ln 0 is −∞. Same shape per channel.
 */
export function responseLnTable(name: ResponseName, levels = 256): Float64Array {
  const out = new Float64Array(levels);
  const max = levels - 1;
  for (let z = 0; z < levels; z++) out[z] = Math.log(Math.max(1e-12, inverseResponse(name, Math.max(z, 0.5) / max)));
  return out;
}
