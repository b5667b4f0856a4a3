// Gaussian / Laplacian pyramids (Burt & Adelson) on interleaved multi-channel planes, in 32- or
// 64-bit floats. The generating kernel is [1/4 - a/2, 1/4, a, 1/4, 1/4 - a/2] (a = --gen-kernel).
export type FArray = Float32Array | Float64Array;
export type FloatBits = 32 | 64;

export interface Plane {
  w: number;
  h: number;
  c: number;
  data: FArray;
}

export function alloc(bits: FloatBits, n: number): FArray {
  return bits === 64 ? new Float64Array(n) : new Float32Array(n);
}

export function genKernel(a: number): number[] {
  if (!(a > 0 && a < 0.5)) throw new Error(`--gen-kernel: expected 0 < a < 0.5, got ${a}`);
  return [0.25 - a / 2, 0.25, a, 0.25, 0.25 - a / 2];
}

function refl(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** Blur with the generating kernel and keep every other pixel. */
export function reduce(p: Plane, k: number[], bits: FloatBits): Plane {
  const { w, h, c } = p;
  const w2 = (w + 1) >> 1;
  const h2 = (h + 1) >> 1;
  const tmp = alloc(bits, w2 * h * c); // horizontal pass, decimated
  const xi = new Int32Array(w2 * 5); // source column offsets (× c) of the 5 taps, borders resolved
  for (let x = 0; x < w2; x++) for (let j = -2; j <= 2; j++) xi[x * 5 + j + 2] = refl(2 * x + j, w) * c;
  const k0 = k[0]!, k1 = k[1]!, k2 = k[2]!, k3 = k[3]!, k4 = k[4]!;
  const d = p.data;
  for (let y = 0; y < h; y++) {
    const ro = y * w * c;
    const to = y * w2 * c;
    for (let x = 0; x < w2; x++) {
      const b = x * 5;
      const i0 = ro + xi[b]!, i1 = ro + xi[b + 1]!, i2 = ro + xi[b + 2]!, i3 = ro + xi[b + 3]!, i4 = ro + xi[b + 4]!;
      if (c === 3) {
        const t0 = to + x * 3;
        tmp[t0] = k0 * d[i0]! + k1 * d[i1]! + k2 * d[i2]! + k3 * d[i3]! + k4 * d[i4]!;
        tmp[t0 + 1] = k0 * d[i0 + 1]! + k1 * d[i1 + 1]! + k2 * d[i2 + 1]! + k3 * d[i3 + 1]! + k4 * d[i4 + 1]!;
        tmp[t0 + 2] = k0 * d[i0 + 2]! + k1 * d[i1 + 2]! + k2 * d[i2 + 2]! + k3 * d[i3 + 2]! + k4 * d[i4 + 2]!;
        continue;
      }
      for (let ch = 0; ch < c; ch++) {
        tmp[to + x * c + ch] = k0 * d[i0 + ch]! + k1 * d[i1 + ch]! + k2 * d[i2 + ch]! + k3 * d[i3 + ch]! + k4 * d[i4 + ch]!;
      }
    }
  }
  const out = alloc(bits, w2 * h2 * c);
  const stride = w2 * c;
  for (let y = 0; y < h2; y++) {
    const cy = 2 * y;
    const oo = y * stride;
    for (let j = -2; j <= 2; j++) {
      const kv = k[j + 2]!;
      const so = refl(cy + j, h) * stride;
      for (let i = 0; i < stride; i++) out[oo + i]! += kv * tmp[so + i]!;
    }
  }
  return { w: w2, h: h2, c, data: out };
}

/** Upsample `s` to w×h (zero insertion + 2× kernel), written into `out` with `sign` (out += sign*expand). */
export function expandInto(s: Plane, w: number, h: number, k: number[], out: FArray, sign: 1 | -1, bits: FloatBits): void {
  const c = s.c;
  // Horizontal: tmp (s.h rows × w)
  const tmp = alloc(bits, w * s.h * c);
  // Per output column: the 2 or 3 source columns (× c) and weights of the zero-inserted upsampling.
  const xi = new Int32Array(w * 3).fill(-1);
  const xw = new Float64Array(w * 3);
  for (let x = 0; x < w; x++) {
    let n = 0;
    for (let j = -2; j <= 2; j++) {
      const xx = x - j;
      if (xx & 1) continue;
      xi[x * 3 + n] = refl(xx >> 1, s.w) * c;
      xw[x * 3 + n] = 2 * k[j + 2]!;
      n++;
    }
  }
  const sd = s.data;
  for (let y = 0; y < s.h; y++) {
    const so = y * s.w * c;
    const to = y * w * c;
    for (let x = 0; x < w; x++) {
      const b = x * 3;
      const a0 = so + xi[b]!, a1 = so + xi[b + 1]!, w0 = xw[b]!, w1 = xw[b + 1]!;
      const t0 = to + x * c;
      if (c === 3) {
        // Colour: the three channels unrolled (the inner channel loop costs as much as the sums).
        if (xi[b + 2]! >= 0) {
          const a2 = so + xi[b + 2]!, w2 = xw[b + 2]!;
          tmp[t0] = w0 * sd[a0]! + w1 * sd[a1]! + w2 * sd[a2]!;
          tmp[t0 + 1] = w0 * sd[a0 + 1]! + w1 * sd[a1 + 1]! + w2 * sd[a2 + 1]!;
          tmp[t0 + 2] = w0 * sd[a0 + 2]! + w1 * sd[a1 + 2]! + w2 * sd[a2 + 2]!;
        } else {
          tmp[t0] = w0 * sd[a0]! + w1 * sd[a1]!;
          tmp[t0 + 1] = w0 * sd[a0 + 1]! + w1 * sd[a1 + 1]!;
          tmp[t0 + 2] = w0 * sd[a0 + 2]! + w1 * sd[a1 + 2]!;
        }
        continue;
      }
      if (xi[b + 2]! >= 0) {
        const a2 = so + xi[b + 2]!, w2 = xw[b + 2]!;
        for (let ch = 0; ch < c; ch++) tmp[to + x * c + ch] = w0 * sd[a0 + ch]! + w1 * sd[a1 + ch]! + w2 * sd[a2 + ch]!;
      } else {
        for (let ch = 0; ch < c; ch++) tmp[to + x * c + ch] = w0 * sd[a0 + ch]! + w1 * sd[a1 + ch]!;
      }
    }
  }
  const stride = w * c;
  for (let y = 0; y < h; y++) {
    const oo = y * stride;
    for (let j = -2; j <= 2; j++) {
      const yy = y - j;
      if (yy & 1) continue;
      const sy = refl(yy >> 1, s.h);
      const kv = 2 * k[j + 2]! * sign;
      const so = sy * stride;
      for (let i = 0; i < stride; i++) out[oo + i]! += kv * tmp[so + i]!;
    }
  }
}

/** Laplacian pyramid: levels[0..n-1] band-pass, levels[n] the low-pass residual. */
export function laplacianPyramid(p: Plane, levels: number, k: number[], bits: FloatBits): Plane[] {
  const out: Plane[] = [];
  let g = p;
  for (let l = 0; l < levels; l++) {
    const next = reduce(g, k, bits);
    const lap = alloc(bits, g.data.length);
    lap.set(g.data);
    expandInto(next, g.w, g.h, k, lap, -1, bits);
    out.push({ w: g.w, h: g.h, c: g.c, data: lap });
    g = next;
  }
  out.push(g);
  return out;
}

/** Gaussian pyramid (for weight maps). */
export function gaussianPyramid(p: Plane, levels: number, k: number[], bits: FloatBits): Plane[] {
  const out: Plane[] = [p];
  for (let l = 0; l < levels; l++) out.push(reduce(out[l]!, k, bits));
  return out;
}

/** Collapse a Laplacian pyramid back into an image. */
export function collapse(pyr: Plane[], k: number[], bits: FloatBits): Plane {
  let g = pyr[pyr.length - 1]!;
  for (let l = pyr.length - 2; l >= 0; l--) {
    const L = pyr[l]!;
    const data = alloc(bits, L.data.length);
    data.set(L.data);
    expandInto(g, L.w, L.h, k, data, 1, bits);
    g = { w: L.w, h: L.h, c: L.c, data };
  }
  return g;
}

/** Number of levels so the smallest level keeps at least `minSize` pixels on its short side. */
export function levelsFor(w: number, h: number, minSize: number): number {
  let n = 0;
  let s = Math.min(w, h);
  while (s / 2 >= minSize && n < 12) {
    s /= 2;
    n++;
  }
  return n;
}

/** Per-pixel Σ_c v² box-summed over a size×size window (region energy of a band-pass level). */
export function regionEnergy(p: Plane, size: number, bits: FloatBits): FArray {
  const { w, h, c } = p;
  const e = alloc(bits, w * h);
  for (let i = 0; i < w * h; i++) {
    let s = 0;
    for (let ch = 0; ch < c; ch++) {
      const v = p.data[i * c + ch]!;
      s += v * v;
    }
    e[i] = s;
  }
  return size > 1 ? boxFilter(e, w, h, size, bits) : e;
}

/** Local standard deviation (summed over channels) in a size×size window: base-level selection. */
export function localDeviation(p: Plane, size: number, bits: FloatBits): FArray {
  const { w, h, c } = p;
  const out = alloc(bits, w * h);
  const v = alloc(bits, w * h);
  const v2 = alloc(bits, w * h);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < w * h; i++) {
      const x = p.data[i * c + ch]!;
      v[i] = x;
      v2[i] = x * x;
    }
    const m = boxFilter(v, w, h, size, bits);
    const m2 = boxFilter(v2, w, h, size, bits);
    for (let i = 0; i < w * h; i++) out[i]! += Math.sqrt(Math.max(0, m2[i]! - m[i]! * m[i]!));
  }
  return out;
}

export function boxFilter(src: FArray, w: number, h: number, size: number, bits: FloatBits): FArray {
  const r = size >> 1;
  const n = 2 * r + 1;
  const tmp = alloc(bits, w * h);
  for (let y = 0; y < h; y++) {
    // Running sum along the row.
    const o = y * w;
    let s = 0;
    for (let j = -r; j <= r; j++) s += src[o + refl(j, w)]!;
    for (let x = 0; x < w; x++) {
      tmp[o + x] = s / n;
      s += src[o + refl(x + r + 1, w)]! - src[o + refl(x - r, w)]!;
    }
  }
  const out = alloc(bits, w * h);
  for (let y = 0; y < h; y++) {
    for (let j = -r; j <= r; j++) {
      const so = refl(y + j, h) * w;
      const o = y * w;
      for (let x = 0; x < w; x++) out[o + x]! += tmp[so + x]! / n;
    }
  }
  return out;
}

/**
 * Incremental max-energy pyramid fusion: only the fused pyramid and the best-energy pyramid are
 * kept, each new frame's pyramid is merged and dropped, so memory does not depend on frame count.
 */
export class PyramidFuser {
  private fused: Plane[] | null = null;
  private best: FArray[] = [];
  constructor(
    private readonly levels: number,
    private readonly kernel: number[],
    private readonly kernelSize: number,
    private readonly bits: FloatBits,
  ) {}

  /**
   * Merge one frame (its data is consumed: it becomes the frame's level-0 band-pass in place). Level
   * by level, so only one level's coefficients and energies of the new frame exist at a time.
   */
  push(frame: Plane): void {
    const first = !this.fused;
    if (first) {
      this.fused = [];
      this.best = [];
    }
    let g = frame;
    for (let l = 0; l <= this.levels; l++) {
      let band: Plane;
      let next: Plane | null = null;
      if (l < this.levels) {
        next = reduce(g, this.kernel, this.bits);
        expandInto(next, g.w, g.h, this.kernel, g.data, -1, this.bits); // g becomes L_l
        band = g;
      } else band = g;
      const e = l === this.levels ? localDeviation(band, this.kernelSize, this.bits) : regionEnergy(band, this.kernelSize, this.bits);
      if (first) {
        this.fused!.push(band);
        this.best.push(e);
      } else {
        const F = this.fused![l]!;
        const E = this.best[l]!;
        const c = F.c;
        const nd = band.data;
        for (let i = 0; i < E.length; i++) {
          if (e[i]! > E[i]!) {
            E[i] = e[i]!;
            for (let ch = 0; ch < c; ch++) F.data[i * c + ch] = nd[i * c + ch]!;
          }
        }
      }
      if (next) g = next;
    }
  }

  result(): Plane {
    if (!this.fused) throw new Error('pyramid: no frames');
    return collapse(this.fused, this.kernel, this.bits);
  }
}
