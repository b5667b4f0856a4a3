// Bilateral filter of a single-channel float plane as OpenCV's cv2.bilateralFilter computes it for
// float32 images, which shinestacker uses to smooth depth-map energies:
// - radius d/2 but at least 1 (d ≤ 0: round(1.5·sigma space)), a round window;
// - the colour weight exp(−Δ²/2σc²) read from a 4096-bin table spanning the plane's value range,
//   linearly interpolated between bins — so with energies in the thousands and σc 0.8 the weight
//   falls linearly to 0 over one bin, not as the Gaussian;
// - a constant plane is returned as is; borders reflect without repeating the edge (REFLECT_101).
const BINS = 1 << 12;

/**
 * The filter's tables for a plane whose values span lo..hi: the round window (dx, dy pairs, without
 * the centre) with its f32 spatial weights, the colour-weight table and the |Δ| → bin scale; null
 * when the plane is constant (returned as is). Shared with the WebAssembly kernel (focus-wasm.ts).
 */
export function bilateralTables(d: number, sigmaColor: number, sigmaSpace: number, lo: number, hi: number): { offs: Int32Array; spatial: Float32Array; lut: Float32Array; scaleIndex: number } | null {
  const sc = sigmaColor > 0 ? sigmaColor : 1;
  const ss = sigmaSpace > 0 ? sigmaSpace : 1;
  const r = Math.max(1, d <= 0 ? Math.round(1.5 * ss) : Math.floor(d / 2));
  if (!(Math.abs(hi - lo) >= 1.1920928955078125e-7)) return null;
  const scaleIndex = Math.fround(BINS / Math.fround(hi - lo));
  const gc = -0.5 / (sc * sc);
  const lut = new Float32Array(BINS + 2);
  let last = 1;
  for (let i = 0; i < BINS + 2; i++) {
    if (last > 0) {
      const val = i / scaleIndex;
      lut[i] = Math.exp(val * val * gc);
      last = lut[i]!;
    } else lut[i] = 0;
  }
  const gs = -0.5 / (ss * ss);
  const offs: number[] = [];
  const spatial: number[] = [];
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      const rr = Math.sqrt(dx * dx + dy * dy);
      if (rr > r || (dx === 0 && dy === 0)) continue;
      offs.push(dx, dy);
      spatial.push(Math.fround(Math.exp(rr * rr * gs)));
    }
  return { offs: Int32Array.from(offs), spatial: Float32Array.from(spatial), lut, scaleIndex };
}

export function bilateralPlane(src: Float32Array, w: number, h: number, d: number, sigmaColor: number, sigmaSpace: number): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const t = bilateralTables(d, sigmaColor, sigmaSpace, lo, hi);
  if (!t) return src.slice();
  const { offs, spatial, lut, scaleIndex } = t;
  const refl = (v: number, n: number) => {
    if (n === 1) return 0;
    while (v < 0 || v >= n) v = v < 0 ? -v : 2 * n - 2 - v;
    return v;
  };
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = src[y * w + x]!;
      // The centre weighs 1 (space and colour weights both 1 at zero offset).
      let num = c;
      let den = 1;
      for (let j = 0; j < spatial.length; j++) {
        const v = src[refl(y + offs[2 * j + 1]!, h) * w + refl(x + offs[2 * j]!, w)]!;
        if (Number.isNaN(v)) continue;
        let a = Math.fround(Math.abs(v - c) * scaleIndex);
        const idx = Math.floor(a);
        a -= idx;
        const wt = spatial[j]! * (lut[idx]! + a * (lut[idx + 1]! - lut[idx]!));
        num += v * wt;
        den += wt;
      }
      out[y * w + x] = num / den;
    }
  return out;
}
