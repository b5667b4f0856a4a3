// Gaussian/Laplacian pyramids on small interleaved float tiles (5-tap binomial, reflect-101
// borders, like OpenCV's pyrDown/pyrUp), for exposure fusion done tile by tile.

export interface Plane {
  w: number;
  h: number;
  c: number;
  data: Float32Array;
}

export function plane(w: number, h: number, c: number): Plane {
  return { w, h, c, data: new Float32Array(w * h * c) };
}

/**
 * Recycles tile-sized float buffers. Every tile of a fusion has the same few plane sizes, so after the
 * first tile nothing new is allocated: multi-MB temporaries would otherwise pile up in V8's
 * large-object space between major collections and inflate peak RSS.
 */
export class PlanePool {
  private free = new Map<number, Float32Array[]>();
  private lent: Float32Array[] = [];
  get(w: number, h: number, c: number, zero = true): Plane {
    const n = w * h * c;
    const list = this.free.get(n);
    let data = list?.pop();
    if (data) {
      if (zero) data.fill(0);
    } else data = new Float32Array(n);
    this.lent.push(data);
    return { w, h, c, data };
  }
  /** A point to release back to (buffers lent later are returned by releaseTo). */
  mark(): number {
    return this.lent.length;
  }
  releaseTo(mark: number): void {
    for (const d of this.lent.splice(mark)) {
      const list = this.free.get(d.length) ?? [];
      list.push(d);
      this.free.set(d.length, list);
    }
  }
  /** Return every buffer handed out. */
  releaseAll(): void {
    this.releaseTo(0);
  }
  /** Forget the free buffers (tile size changed: the old sizes will not come back soon). */
  clear(): void {
    this.free.clear();
  }
}

const alloc = (pool: PlanePool | undefined, w: number, h: number, c: number, zero = true): Plane => (pool ? pool.get(w, h, c, zero) : plane(w, h, c));

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

const K = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** Blur with the 5-tap kernel and keep even samples: size ceil(w/2)×ceil(h/2). */
export function pyrDown(src: Plane, pool?: PlanePool): Plane {
  const { w, h, c } = src;
  const sd = src.data;
  const w2 = (w + 1) >> 1;
  const h2 = (h + 1) >> 1;
  const tmp = alloc(pool, w2, h, c, false).data;
  const k0 = K[0]!;
  const k1 = K[1]!;
  const k2 = K[2]!;
  // Horizontal: interior columns index directly; only the two edge columns at each side reflect.
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w2; x++) {
      const cx = 2 * x;
      const o = (y * w2 + x) * c;
      if (cx >= 2 && cx + 2 < w) {
        const b = (row + cx) * c;
        if (c === 3) {
          tmp[o] = k0 * (sd[b - 6]! + sd[b + 6]!) + k1 * (sd[b - 3]! + sd[b + 3]!) + k2 * sd[b]!;
          tmp[o + 1] = k0 * (sd[b - 5]! + sd[b + 7]!) + k1 * (sd[b - 2]! + sd[b + 4]!) + k2 * sd[b + 1]!;
          tmp[o + 2] = k0 * (sd[b - 4]! + sd[b + 8]!) + k1 * (sd[b - 1]! + sd[b + 5]!) + k2 * sd[b + 2]!;
          continue;
        }
        for (let ch = 0; ch < c; ch++) {
          const i = b + ch;
          tmp[o + ch] = k0 * (sd[i - 2 * c]! + sd[i + 2 * c]!) + k1 * (sd[i - c]! + sd[i + c]!) + k2 * sd[i]!;
        }
      } else {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let d = -2; d <= 2; d++) acc += K[d + 2]! * sd[(row + reflect(cx + d, w)) * c + ch]!;
          tmp[o + ch] = acc;
        }
      }
    }
  }
  // Vertical: whole rows at once.
  const out = alloc(pool, w2, h2, c, false);
  const od = out.data;
  const rowLen = w2 * c;
  for (let y = 0; y < h2; y++) {
    const cy = 2 * y;
    const r0 = reflect(cy - 2, h) * rowLen;
    const r1 = reflect(cy - 1, h) * rowLen;
    const r2 = cy * rowLen;
    const r3 = reflect(cy + 1, h) * rowLen;
    const r4 = reflect(cy + 2, h) * rowLen;
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) od[o + i] = k0 * (tmp[r0 + i]! + tmp[r4 + i]!) + k1 * (tmp[r1 + i]! + tmp[r3 + i]!) + k2 * tmp[r2 + i]!;
  }
  return out;
}

/** Upsample to w×h: zero-insertion then the 5-tap kernel ×2 per axis (OpenCV pyrUp weights). */
export function pyrUp(src: Plane, w: number, h: number, pool?: PlanePool): Plane {
  const { w: sw, h: sh, c } = src;
  const s = src.data;
  const tmp = alloc(pool, w, sh, c, false).data;
  // No closures in these loops: one per pixel costs more than the arithmetic (and far more under tsx).
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    for (let x = 0; x < w; x++) {
      const half = x >> 1;
      const o = (y * w + x) * c;
      if (x & 1) {
        const a = (row + reflect((x - 1) >> 1, sw)) * c;
        const b = (row + reflect((x + 1) >> 1, sw)) * c;
        if (c === 3) {
          tmp[o] = 0.5 * (s[a]! + s[b]!);
          tmp[o + 1] = 0.5 * (s[a + 1]! + s[b + 1]!);
          tmp[o + 2] = 0.5 * (s[a + 2]! + s[b + 2]!);
        } else for (let ch = 0; ch < c; ch++) tmp[o + ch] = 0.5 * (s[a + ch]! + s[b + ch]!);
      } else {
        const m = (row + reflect(half, sw)) * c;
        const l = (row + reflect(half - 1, sw)) * c;
        const r = (row + reflect(half + 1, sw)) * c;
        if (c === 3) {
          tmp[o] = 0.75 * s[m]! + 0.125 * (s[l]! + s[r]!);
          tmp[o + 1] = 0.75 * s[m + 1]! + 0.125 * (s[l + 1]! + s[r + 1]!);
          tmp[o + 2] = 0.75 * s[m + 2]! + 0.125 * (s[l + 2]! + s[r + 2]!);
        } else for (let ch = 0; ch < c; ch++) tmp[o + ch] = 0.75 * s[m + ch]! + 0.125 * (s[l + ch]! + s[r + ch]!);
      }
    }
  }
  const out = alloc(pool, w, h, c, false);
  const d = out.data;
  const rowLen = w * c;
  for (let y = 0; y < h; y++) {
    const half = y >> 1;
    const o = y * rowLen;
    if (y & 1) {
      const a = reflect((y - 1) >> 1, sh) * rowLen;
      const b = reflect((y + 1) >> 1, sh) * rowLen;
      for (let i = 0; i < rowLen; i++) d[o + i] = 0.5 * (tmp[a + i]! + tmp[b + i]!);
    } else {
      const m = reflect(half, sh) * rowLen;
      const l = reflect(half - 1, sh) * rowLen;
      const r = reflect(half + 1, sh) * rowLen;
      for (let i = 0; i < rowLen; i++) d[o + i] = 0.75 * tmp[m + i]! + 0.125 * (tmp[l + i]! + tmp[r + i]!);
    }
  }
  return out;
}

export function gaussianPyramid(p: Plane, levels: number, pool?: PlanePool): Plane[] {
  const out = [p];
  for (let l = 1; l <= levels; l++) out.push(pyrDown(out[l - 1]!, pool));
  return out;
}

/** levels Laplacian bands plus the coarsest Gaussian as the last entry. */
export function laplacianPyramid(p: Plane, levels: number, pool?: PlanePool): Plane[] {
  const g = gaussianPyramid(p, levels, pool);
  const out: Plane[] = [];
  for (let l = 0; l < levels; l++) {
    const up = pyrUp(g[l + 1]!, g[l]!.w, g[l]!.h, pool);
    const band = alloc(pool, g[l]!.w, g[l]!.h, p.c, false);
    for (let i = 0; i < band.data.length; i++) band.data[i] = g[l]!.data[i]! - up.data[i]!;
    out.push(band);
  }
  out.push(g[levels]!);
  return out;
}

export function collapse(pyr: Plane[], pool?: PlanePool): Plane {
  let cur = pyr[pyr.length - 1]!;
  for (let l = pyr.length - 2; l >= 0; l--) {
    const band = pyr[l]!;
    const up = pyrUp(cur, band.w, band.h, pool);
    for (let i = 0; i < up.data.length; i++) up.data[i] += band.data[i]!;
    cur = up;
  }
  return cur;
}
