// 2-D projective transforms as row-major 3×3 matrices (Float64Array(9)), least-squares fits of
// similarity and affine transforms to point pairs, and what a log wants to read from them.

export type Mat3 = Float64Array;

export function identity(): Mat3 {
  return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
}

export function apply(m: Mat3, x: number, y: number): [number, number] {
  const w = m[6]! * x + m[7]! * y + m[8]!;
  return [(m[0]! * x + m[1]! * y + m[2]!) / w, (m[3]! * x + m[4]! * y + m[5]!) / w];
}

export function multiply(a: Mat3, b: Mat3): Mat3 {
  const r = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    let s = 0;
    for (let k = 0; k < 3; k++) s += a[i * 3 + k]! * b[k * 3 + j]!;
    r[i * 3 + j] = s;
  }
  return r;
}

export function invert(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m as unknown as number[];
  const A = e! * i! - f! * h!, B = -(d! * i! - f! * g!), C = d! * h! - e! * g!;
  const det = a! * A + b! * B + c! * C;
  if (!det || !Number.isFinite(det)) throw new Error('singular transform');
  const r = Float64Array.of(
    A, -(b! * i! - c! * h!), b! * f! - c! * e!,
    B, a! * i! - c! * g!, -(a! * f! - c! * d!),
    C, -(a! * h! - b! * g!), a! * e! - b! * d!,
  );
  for (let k = 0; k < 9; k++) r[k]! /= det;
  const n = r[8]!;
  for (let k = 0; k < 9; k++) r[k]! /= n;
  return r;
}

export interface PointPair {
  sx: number; sy: number; // source (frame)
  dx: number; dy: number; // destination (reference)
  /** Weight in the least-squares fit (default 1). */
  w?: number;
}

/** Least-squares similarity (rotation, uniform scale, shift) mapping src → dst. */
export function fitSimilarity(pairs: PointPair[]): Mat3 | null {
  const n = pairs.length;
  if (n < 2) return null;
  let msx = 0, msy = 0, mdx = 0, mdy = 0, sw = 0;
  for (const p of pairs) { const w = p.w ?? 1; msx += w * p.sx; msy += w * p.sy; mdx += w * p.dx; mdy += w * p.dy; sw += w; }
  if (!(sw > 0)) return null;
  msx /= sw; msy /= sw; mdx /= sw; mdy /= sw;
  let sxx = 0, num_a = 0, num_b = 0;
  for (const p of pairs) {
    const w = p.w ?? 1;
    const x = p.sx - msx, y = p.sy - msy, u = p.dx - mdx, v = p.dy - mdy;
    sxx += w * (x * x + y * y);
    num_a += w * (x * u + y * v);
    num_b += w * (x * v - y * u);
  }
  if (sxx <= 0) return null;
  const a = num_a / sxx, b = num_b / sxx;
  return Float64Array.of(a, -b, mdx - a * msx + b * msy, b, a, mdy - b * msx - a * msy, 0, 0, 1);
}

/** Least-squares affine mapping src → dst. */
export function fitAffine(pairs: PointPair[]): Mat3 | null {
  const n = pairs.length;
  if (n < 3) return null;
  // Normal equations [x y 1]ᵀ[x y 1] p = [x y 1]ᵀ u, shared for both output rows.
  const M = new Float64Array(9);
  const bu = new Float64Array(3), bv = new Float64Array(3);
  for (const p of pairs) {
    const r = [p.sx, p.sy, 1];
    const w = p.w ?? 1;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) M[i * 3 + j] += w * r[i]! * r[j]!;
      bu[i] += w * r[i]! * p.dx;
      bv[i] += w * r[i]! * p.dy;
    }
  }
  const pu = solve3(M, bu), pv = solve3(M, bv);
  if (!pu || !pv) return null;
  return Float64Array.of(pu[0]!, pu[1]!, pu[2]!, pv[0]!, pv[1]!, pv[2]!, 0, 0, 1);
}

/** Solve a dense n×n system by Gaussian elimination with partial pivoting. */
export function solveLinear(A: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const a = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    if (Math.abs(a[p * n + c]!) < 1e-300) return null;
    if (p !== c) {
      for (let k = 0; k < n; k++) { const t = a[c * n + k]!; a[c * n + k] = a[p * n + k]!; a[p * n + k] = t; }
      const t = x[c]!; x[c] = x[p]!; x[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / a[c * n + c]!;
      if (!f) continue;
      for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k]!;
      x[r] -= f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= a[r * n + k]! * x[k]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
}

function solve3(M: Float64Array, b: Float64Array): Float64Array | null {
  return solveLinear(M, b, 3);
}

export interface TransformSummary {
  /** Shift of the image centre in px (frame → reference). */
  shiftX: number;
  shiftY: number;
  shift: number;
  rotationDeg: number;
  scale: number;
}

export function summarize(m: Mat3, width: number, height: number): TransformSummary {
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const [x, y] = apply(m, cx, cy);
  const rot = (Math.atan2(m[3]! - m[1]!, m[0]! + m[4]!) * 180) / Math.PI;
  const scale = Math.sqrt(Math.abs(m[0]! * m[4]! - m[1]! * m[3]!));
  return { shiftX: x - cx, shiftY: y - cy, shift: Math.hypot(x - cx, y - cy), rotationDeg: rot, scale };
}

/** RMS distance between two transforms over a grid of points covering the frame. */
export function transformRms(a: Mat3, b: Mat3, width: number, height: number, grid = 8): number {
  let s = 0, n = 0;
  for (let j = 0; j <= grid; j++) for (let i = 0; i <= grid; i++) {
    const x = (i / grid) * (width - 1), y = (j / grid) * (height - 1);
    const [ax, ay] = apply(a, x, y);
    const [bx, by] = apply(b, x, y);
    s += (ax - bx) ** 2 + (ay - by) ** 2;
    n++;
  }
  return Math.sqrt(s / n);
}
