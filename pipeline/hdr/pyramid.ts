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
  const tmp = new Float32Array(w * sh * c);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const at = (i: number) => src.data[(y * sw + reflect(i, sw)) * c + ch]!;
        tmp[(y * w + x) * c + ch] = x & 1 ? 0.5 * (at((x - 1) >> 1) + at((x + 1) >> 1)) : 0.75 * at(x >> 1) + 0.125 * (at((x >> 1) - 1) + at((x >> 1) + 1));
      }
    }
  }
  const out = plane(w, h, c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const at = (i: number) => tmp[(reflect(i, sh) * w + x) * c + ch]!;
        out.data[(y * w + x) * c + ch] = y & 1 ? 0.5 * (at((y - 1) >> 1) + at((y + 1) >> 1)) : 0.75 * at(y >> 1) + 0.125 * (at((y >> 1) - 1) + at((y >> 1) + 1));
      }
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
