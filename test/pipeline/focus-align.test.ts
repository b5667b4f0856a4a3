// Alignment's hot loop (pipeline/focus/align.ts normalEquations: scalar sums, no array per sample)
// gives exactly the transforms and correlations of the implementation it replaced, kept below as the
// reference, on images that need a transform and on ones that do not.
import test from 'ava';
import { apply, estimateAffine, IDENTITY, type Affine, type SmallGray } from '../../pipeline/focus/align.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';

// ---- the implementation before (commit 0333d4d), verbatim ----
function halve(g: SmallGray): SmallGray {
  const w = g.w >> 1, h = g.h >> 1;
  const d = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = 2 * y * g.w + 2 * x;
      d[y * w + x] = (g.data[i]! + g.data[i + 1]! + g.data[i + g.w]! + g.data[i + g.w + 1]!) / 4;
    }
  return { w, h, data: d };
}

function standardize(g: SmallGray): SmallGray {
  let s = 0, s2 = 0;
  for (const v of g.data) { s += v; s2 += v * v; }
  const n = g.data.length;
  const m = s / n;
  const sd = Math.sqrt(Math.max(1e-12, s2 / n - m * m));
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (g.data[i]! - m) / sd;
  return { w: g.w, h: g.h, data: d };
}

function sample(g: SmallGray, x: number, y: number): number {
  if (x < 0 || y < 0 || x > g.w - 1 || y > g.h - 1) return NaN;
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, g.w - 1), y1 = Math.min(y0 + 1, g.h - 1);
  const fx = x - x0, fy = y - y0;
  const a = g.data[y0 * g.w + x0]! * (1 - fx) + g.data[y0 * g.w + x1]! * fx;
  const b = g.data[y1 * g.w + x0]! * (1 - fx) + g.data[y1 * g.w + x1]! * fx;
  return a * (1 - fy) + b * fy;
}

function solve6(H: Float64Array, b: Float64Array): Float64Array | null {
  const n = 6;
  const M = new Float64Array(n * (n + 1));
  for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) M[i * 7 + j] = H[i * 6 + j]!; M[i * 7 + 6] = b[i]!; }
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r * 7 + col]!) > Math.abs(M[piv * 7 + col]!)) piv = r;
    if (Math.abs(M[piv * 7 + col]!) < 1e-12) return null;
    if (piv !== col) for (let j = 0; j < 7; j++) { const t = M[col * 7 + j]!; M[col * 7 + j] = M[piv * 7 + j]!; M[piv * 7 + j] = t; }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r * 7 + col]! / M[col * 7 + col]!;
      for (let j = col; j < 7; j++) M[r * 7 + j]! -= f * M[col * 7 + j]!;
    }
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = M[i * 7 + 6]! / M[i * 7 + i]!;
  return x;
}

/**
 * Affine `m` such that moving(m(p)) ≈ fixed(p), estimated on small grayscale images.
 * Returns the transform and the final correlation (ECC) of the overlap.
 */
function referenceEstimateAffine(fixed: SmallGray, moving: SmallGray, iterations = 30): { m: Affine; ecc: number } {
  const levels: [SmallGray, SmallGray][] = [[standardize(fixed), standardize(moving)]];
  while (levels.length < 4 && levels[levels.length - 1]![0].w >= 96 && levels[levels.length - 1]![0].h >= 96) {
    const [f, m] = levels[levels.length - 1]!;
    levels.push([halve(f), halve(m)]);
  }
  const identityEcc = correlation(levels[0]![0], levels[0]![1], IDENTITY);
  let m: Affine = [...IDENTITY];
  for (let li = levels.length - 1; li >= 0; li--) {
    const [F, M] = levels[li]!;
    if (li < levels.length - 1) m = [m[0], m[1], m[2] * 2, m[3], m[4], m[5] * 2];
    const cx = F.w / 2, cy = F.h / 2, sc = Math.max(F.w, F.h) / 2; // centred, scaled coordinates
    const step = Math.max(1, Math.round(Math.sqrt((F.w * F.h) / 40000)));
    for (let it = 0; it < iterations; it++) {
      const H = new Float64Array(36);
      const b = new Float64Array(6);
      for (let y = 2; y < F.h - 2; y += step) {
        for (let x = 2; x < F.w - 2; x += step) {
          const [u, v] = apply(m, x, y);
          const iv = sample(M, u, v);
          if (Number.isNaN(iv)) continue;
          const gx = (sample(M, u + 1, v) - sample(M, u - 1, v)) / 2;
          const gy = (sample(M, u, v + 1) - sample(M, u, v - 1)) / 2;
          if (Number.isNaN(gx) || Number.isNaN(gy)) continue;
          const fv = F.data[y * F.w + x]!;
          const err = fv - iv;
          const xn = (x - cx) / sc, yn = (y - cy) / sc;
          const J = [gx * xn, gx * yn, gx, gy * xn, gy * yn, gy];
          for (let i = 0; i < 6; i++) {
            b[i]! += J[i]! * err;
            for (let j = 0; j < 6; j++) H[i * 6 + j]! += J[i]! * J[j]!;
          }
        }
      }
      const dp = solve6(H, b);
      if (!dp) break;
      // Parameters were in centred, scaled coordinates: convert the increment to pixel terms.
      const da = dp[0]! / sc, db = dp[1]! / sc, dd = dp[3]! / sc, de = dp[4]! / sc;
      const dc = dp[2]! - da * cx - db * cy, df = dp[5]! - dd * cx - de * cy;
      m = [m[0] + da, m[1] + db, m[2] + dc, m[3] + dd, m[4] + de, m[5] + df];
      if (Math.abs(dp[2]!) + Math.abs(dp[5]!) < 1e-3 && Math.abs(dp[0]!) + Math.abs(dp[4]!) < 1e-4) break;
    }
  }
  // Frames at different focus differ in blur, which can pull the fit a little: keep a transform only
  // when it clearly beats no transform.
  const finalEcc = correlation(levels[0]![0], levels[0]![1], m);
  if (!(finalEcc > identityEcc + 1e-3)) return { m: [...IDENTITY], ecc: identityEcc };
  return { m, ecc: finalEcc };
}

function correlation(F: SmallGray, M: SmallGray, m: Affine): number {
  let sFF = 0, sMM = 0, sFM = 0;
  for (let y = 2; y < F.h - 2; y++) {
    for (let x = 2; x < F.w - 2; x++) {
      const [u, v] = apply(m, x, y);
      const iv = sample(M, u, v);
      if (Number.isNaN(iv)) continue;
      const fv = F.data[y * F.w + x]!;
      sFF += fv * fv; sMM += iv * iv; sFM += fv * iv;
    }
  }
  return sFM / Math.sqrt(sFF * sMM + 1e-12);
}


/** A smooth random texture w×h, seen through `m` (bilinear, edges clamped). */
function scene(w: number, h: number, seed: number): SmallGray {
  const r = mulberry32(seed);
  const blobs = Array.from({ length: 40 }, () => [r() * w, r() * h, 3 + r() * 12, r() - 0.5] as const);
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0.5;
      for (const [bx, by, s, a] of blobs) v += a * Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * s * s));
      data[y * w + x] = v;
    }
  return { w, h, data };
}

function warp(g: SmallGray, m: Affine): SmallGray {
  const data = new Float32Array(g.w * g.h);
  for (let y = 0; y < g.h; y++)
    for (let x = 0; x < g.w; x++) {
      const [u, v] = apply(m, x, y);
      const cu = Math.min(g.w - 1, Math.max(0, u)), cv = Math.min(g.h - 1, Math.max(0, v));
      const x0 = Math.floor(cu), y0 = Math.floor(cv), x1 = Math.min(x0 + 1, g.w - 1), y1 = Math.min(y0 + 1, g.h - 1);
      const fx = cu - x0, fy = cv - y0;
      data[y * g.w + x] = (g.data[y0 * g.w + x0]! * (1 - fx) + g.data[y0 * g.w + x1]! * fx) * (1 - fy) + (g.data[y1 * g.w + x0]! * (1 - fx) + g.data[y1 * g.w + x1]! * fx) * fy;
    }
  return { w: g.w, h: g.h, data };
}

test('estimateAffine equals the implementation it replaced, bit for bit (transforms found and identity kept)', (t) => {
  const cases: Array<[string, Affine, number, number]> = [
    ['shift', [1, 0, 2.3, 0, 1, -1.7], 200, 150],
    ['scale and rotation', [1.01, 0.012, -1.1, -0.011, 0.995, 0.8], 240, 180],
    ['none', [...IDENTITY] as Affine, 160, 120],
  ];
  let moved = 0;
  for (const [name, m, w, h] of cases) {
    const fixed = scene(w, h, w);
    const moving = warp(fixed, m);
    const got = estimateAffine(fixed, moving);
    const want = referenceEstimateAffine(fixed, moving);
    t.deepEqual(got.m, want.m, name);
    t.is(got.ecc, want.ecc, name);
    if (got.m.some((v, i) => v !== IDENTITY[i])) moved++;
  }
  t.is(moved, 2, 'the shifted and the rotated scenes get a transform');
});
