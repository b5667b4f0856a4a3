// The seed LiveStack program's pixel rules that are not accumulator updates (those are in
// ../methods.ts): its master dark, its dark subtraction, its 8-bit pixel domain and its uint8
// output. Pure kernels on float32 data in [0, 1]; digest: shared/reference/livestack-seed.md.
import type { StackMethod } from '../methods.js';

/**
 * The seed's "pairwise" master dark, one dark at a time in name order: D = d1, then
 * `D = d > D ? (d + D) / 2 : D`. D only rises, each time halfway toward a brighter dark value.
 * Updates `D` in place (pass a copy of the first dark as D).
 */
export function seedDarkUpdate(D: Float32Array, d: Float32Array): void {
  if (d.length !== D.length) throw new Error(`seed dark: ${d.length} values, master has ${D.length}`);
  for (let i = 0; i < D.length; i++) {
    const v = d[i]!, m = D[i]!;
    if (v > m) D[i] = (v + m) / 2;
  }
}

/** The seed's dark subtraction: `I > D ? I − D : I` — a pixel at or below the dark is left as it was. */
export function seedSubtractDark(I: Float32Array, D: Float32Array): void {
  if (I.length !== D.length) throw new Error(`seed dark: ${I.length} values in the light, ${D.length} in the master`);
  for (let i = 0; i < I.length; i++) {
    const v = I[i]!, d = D[i]!;
    if (v > d) I[i] = v - d;
  }
}

/**
 * A sample on 0..1 at the given depth brought into the seed's domain: OpenCV's imread gives
 * 8-bit (16-bit inputs by v/256 rounded), then /255 in float32.
 */
export function toSeedDomain(v: number, bitDepth: 8 | 16 | 32): number {
  let k: number;
  if (bitDepth === 16) k = Math.min(255, Math.round(Math.round(v * 65535) / 256));
  else k = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  return Math.fround(k / 255);
}

/**
 * The seed's product: `uint8(255 · S)` (numpy's cast truncates), ADDMAX2 `uint8(255 / max(S) · S)`
 * with one maximum over all channels. Float32 products as numpy computes them.
 */
export function seedToUint8(S: Float32Array, method: StackMethod): Uint8Array {
  const f32 = Math.fround;
  let k = 255;
  if (method === 'ADDMAX2') {
    let max = -Infinity;
    for (let i = 0; i < S.length; i++) { const v = S[i]!; if (v > max) max = v; }
    k = max > 0 ? f32(255 / max) : 0;
  }
  const out = new Uint8Array(S.length);
  for (let i = 0; i < S.length; i++) {
    const v = f32(k * S[i]!);
    out[i] = v !== v || v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return out;
}
