// Bracket alignment. Frames of a focus bracket shift and change scale (focus breathing) as focus
// moves, so each frame gets an affine transform to the reference frame. Estimation is
// Lucas–Kanade / ECC-style Gauss–Newton on zero-mean, unit-variance copies (robust to exposure
// drift), coarse to fine, between neighbouring frames (they share most sharp detail), then chained
// to the middle frame (the reference; the ends of the bracket differ most from each other).

/** x' = a*x + b*y + c, y' = d*x + e*y + f: maps reference coordinates to frame coordinates. */
export type Affine = [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

export function compose(outer: Affine, inner: Affine): Affine {
  // outer(inner(p))
  const [a, b, c, d, e, f] = outer;
  const [A, B, C, D, E, F] = inner;
  return [a * A + b * D, a * B + b * E, a * C + b * F + c, d * A + e * D, d * B + e * E, d * C + e * F + f];
}

export function invert(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new Error('align: singular transform');
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

export function apply(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export interface SmallGray {
  w: number;
  h: number;
  data: Float32Array;
}

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
export function estimateAffine(fixed: SmallGray, moving: SmallGray, iterations = 30): { m: Affine; ecc: number } {
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
      const dp = solve6(...normalEquations(F, M, m, step, cx, cy, sc));
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

/**
 * The Gauss–Newton normal equations H·dp = b over every `step`-th pixel: Σ JᵀJ and Σ Jᵀ·err with
 * J = [gx·xn, gx·yn, gx, gy·xn, gy·yn, gy]. The hot loop of alignment (up to 30 iterations × 4
 * levels a frame pair): sums in scalar locals (H is symmetric; each entry is the same products added
 * in the same order as a full 6×6 loop), no array per sample.
 */
function normalEquations(F: SmallGray, M: SmallGray, m: Affine, step: number, cx: number, cy: number, sc: number): [Float64Array, Float64Array] {
  const [m0, m1, m2, m3, m4, m5] = m;
  let h00 = 0, h01 = 0, h02 = 0, h03 = 0, h04 = 0, h05 = 0;
  let h11 = 0, h12 = 0, h13 = 0, h14 = 0, h15 = 0;
  let h22 = 0, h23 = 0, h24 = 0, h25 = 0;
  let h33 = 0, h34 = 0, h35 = 0;
  let h44 = 0, h45 = 0;
  let h55 = 0;
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0;
  const fd = F.data, fw = F.w;
  for (let y = 2; y < F.h - 2; y += step) {
    for (let x = 2; x < fw - 2; x += step) {
      const u = m0 * x + m1 * y + m2, v = m3 * x + m4 * y + m5;
      const iv = sample(M, u, v);
      if (Number.isNaN(iv)) continue;
      const gx = (sample(M, u + 1, v) - sample(M, u - 1, v)) / 2;
      const gy = (sample(M, u, v + 1) - sample(M, u, v - 1)) / 2;
      if (Number.isNaN(gx) || Number.isNaN(gy)) continue;
      const err = fd[y * fw + x]! - iv;
      const xn = (x - cx) / sc, yn = (y - cy) / sc;
      const j0 = gx * xn, j1 = gx * yn, j2 = gx, j3 = gy * xn, j4 = gy * yn, j5 = gy;
      b0 += j0 * err; b1 += j1 * err; b2 += j2 * err; b3 += j3 * err; b4 += j4 * err; b5 += j5 * err;
      h00 += j0 * j0; h01 += j0 * j1; h02 += j0 * j2; h03 += j0 * j3; h04 += j0 * j4; h05 += j0 * j5;
      h11 += j1 * j1; h12 += j1 * j2; h13 += j1 * j3; h14 += j1 * j4; h15 += j1 * j5;
      h22 += j2 * j2; h23 += j2 * j3; h24 += j2 * j4; h25 += j2 * j5;
      h33 += j3 * j3; h34 += j3 * j4; h35 += j3 * j5;
      h44 += j4 * j4; h45 += j4 * j5;
      h55 += j5 * j5;
    }
  }
  const H = Float64Array.of(
    h00, h01, h02, h03, h04, h05,
    h01, h11, h12, h13, h14, h15,
    h02, h12, h22, h23, h24, h25,
    h03, h13, h23, h33, h34, h35,
    h04, h14, h24, h34, h44, h45,
    h05, h15, h25, h35, h45, h55,
  );
  return [H, Float64Array.of(b0, b1, b2, b3, b4, b5)];
}

function correlation(F: SmallGray, M: SmallGray, m: Affine): number {
  let sFF = 0, sMM = 0, sFM = 0;
  const [m0, m1, m2, m3, m4, m5] = m;
  for (let y = 2; y < F.h - 2; y++) {
    for (let x = 2; x < F.w - 2; x++) {
      const u = m0 * x + m1 * y + m2, v = m3 * x + m4 * y + m5;
      const iv = sample(M, u, v);
      if (Number.isNaN(iv)) continue;
      const fv = F.data[y * F.w + x]!;
      sFF += fv * fv; sMM += iv * iv; sFM += fv * iv;
    }
  }
  return sFM / Math.sqrt(sFF * sMM + 1e-12);
}

/** Scale a transform estimated on images downscaled by `s` (small = full * s) to full resolution. */
export function scaleAffine(m: Affine, s: number): Affine {
  return [m[0], m[1], m[2] / s, m[3], m[4], m[5] / s];
}

/** From neighbour transforms d[k] (frame k-1 → frame k coordinates, d[0] unused) to transforms from the reference frame. */
export function chainToReference(d: Affine[], ref: number): Affine[] {
  const n = d.length;
  const t: Affine[] = new Array(n);
  t[ref] = [...IDENTITY];
  for (let k = ref + 1; k < n; k++) t[k] = compose(d[k]!, t[k - 1]!);
  for (let k = ref - 1; k >= 0; k--) t[k] = compose(invert(d[k + 1]!), t[k + 1]!);
  return t;
}
