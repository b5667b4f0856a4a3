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

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

const K = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** Blur with the 5-tap kernel and keep even samples: size ceil(w/2)×ceil(h/2). */
export function pyrDown(src: Plane): Plane {
  const { w, h, c } = src;
  const w2 = (w + 1) >> 1;
  const h2 = (h + 1) >> 1;
  const tmp = new Float32Array(w2 * h * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w2; x++) {
      const cx = 2 * x;
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let d = -2; d <= 2; d++) s += K[d + 2]! * src.data[(y * w + reflect(cx + d, w)) * c + ch]!;
        tmp[(y * w2 + x) * c + ch] = s;
      }
    }
  }
  const out = plane(w2, h2, c);
  for (let y = 0; y < h2; y++) {
    const cy = 2 * y;
    for (let x = 0; x < w2; x++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let d = -2; d <= 2; d++) s += K[d + 2]! * tmp[(reflect(cy + d, h) * w2 + x) * c + ch]!;
        out.data[(y * w2 + x) * c + ch] = s;
      }
    }
  }
  return out;
}

/** Upsample to w×h: zero-insertion then the 5-tap kernel ×2 per axis (OpenCV pyrUp weights). */
export function pyrUp(src: Plane, w: number, h: number): Plane {
  const { w: sw, h: sh, c } = src;
  const s = src.data;
  const tmp = new Float32Array(w * sh * c);
  // No closures in these loops: one per pixel costs more than the arithmetic (and far more under tsx).
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    for (let x = 0; x < w; x++) {
      const half = x >> 1;
      const o = (y * w + x) * c;
      if (x & 1) {
        const a = (row + reflect((x - 1) >> 1, sw)) * c;
        const b = (row + reflect((x + 1) >> 1, sw)) * c;
        for (let ch = 0; ch < c; ch++) tmp[o + ch] = 0.5 * (s[a + ch]! + s[b + ch]!);
      } else {
        const m = (row + reflect(half, sw)) * c;
        const l = (row + reflect(half - 1, sw)) * c;
        const r = (row + reflect(half + 1, sw)) * c;
        for (let ch = 0; ch < c; ch++) tmp[o + ch] = 0.75 * s[m + ch]! + 0.125 * (s[l + ch]! + s[r + ch]!);
      }
    }
  }
  const out = plane(w, h, c);
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

export function gaussianPyramid(p: Plane, levels: number): Plane[] {
  const out = [p];
  for (let l = 1; l <= levels; l++) out.push(pyrDown(out[l - 1]!));
  return out;
}

/** levels Laplacian bands plus the coarsest Gaussian as the last entry. */
export function laplacianPyramid(p: Plane, levels: number): Plane[] {
  const g = gaussianPyramid(p, levels);
  const out: Plane[] = [];
  for (let l = 0; l < levels; l++) {
    const up = pyrUp(g[l + 1]!, g[l]!.w, g[l]!.h);
    const band = plane(g[l]!.w, g[l]!.h, p.c);
    for (let i = 0; i < band.data.length; i++) band.data[i] = g[l]!.data[i]! - up.data[i]!;
    out.push(band);
  }
  out.push(g[levels]!);
  return out;
}

export function collapse(pyr: Plane[]): Plane {
  let cur = pyr[pyr.length - 1]!;
  for (let l = pyr.length - 2; l >= 0; l--) {
    const band = pyr[l]!;
    const up = pyrUp(cur, band.w, band.h);
    for (let i = 0; i < up.data.length; i++) up.data[i] += band.data[i]!;
    cur = up;
  }
  return cur;
}
