// V-curve fits: hyperbola for star size (HFR/FWHM grow as sqrt(a² + s²(x−c)²) with defocus),
// parabola or Gaussian for contrast measures (which peak at focus). With R² and outlier rejection.

export type FitKind = 'hyperbola' | 'parabola' | 'gaussian';

export interface CurveFit {
  kind: FitKind;
  /** Position of best focus (minimum of size, maximum of contrast). */
  center: number;
  /** Curve value at the centre. */
  best: number;
  r2: number;
  params: number[];
  /** Indices (into the input points) rejected as outliers. */
  rejected: number[];
  evaluate(x: number): number;
}

/** Least squares y = p0 + p1·t + p2·t² with t = (x − mx)/sx; returns coefficients in x. */
export function polyfit2(x: number[], y: number[], w?: number[]): [number, number, number] | null {
  const n = x.length;
  if (n < 3) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const sx = Math.max(1e-9, Math.sqrt(x.reduce((a, b) => a + (b - mx) ** 2, 0) / n));
  const S = new Float64Array(5);
  const T = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const t = (x[i]! - mx) / sx;
    const wi = w ? w[i]! : 1;
    let p = wi;
    for (let k = 0; k < 5; k++) {
      S[k]! += p;
      if (k < 3) T[k]! += p * y[i]!;
      p *= t;
    }
  }
  const M = [[S[0]!, S[1]!, S[2]!], [S[1]!, S[2]!, S[3]!], [S[2]!, S[3]!, S[4]!]];
  const sol = solve3(M, [T[0]!, T[1]!, T[2]!]);
  if (!sol) return null;
  const [q0, q1, q2] = sol;
  // back to x: q0 + q1 (x-mx)/sx + q2 (x-mx)²/sx²
  const a = q2 / (sx * sx);
  const b = q1 / sx - (2 * q2 * mx) / (sx * sx);
  const c = q0 - (q1 * mx) / sx + (q2 * mx * mx) / (sx * sx);
  return [c, b, a];
}

function solve3(M: number[][], v: number[]): [number, number, number] | null {
  const det = (m: number[][]) => m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) - m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(M);
  if (Math.abs(d) < 1e-300) return null;
  const col = (k: number) => M.map((row, i) => row.map((val, j) => (j === k ? v[i]! : val)));
  return [det(col(0)) / d, det(col(1)) / d, det(col(2)) / d];
}

export function rSquared(y: number[], yhat: number[]): number {
  const m = y.reduce((a, b) => a + b, 0) / y.length;
  let ssr = 0, sst = 0;
  for (let i = 0; i < y.length; i++) {
    ssr += (y[i]! - yhat[i]!) ** 2;
    sst += (y[i]! - m) ** 2;
  }
  return sst > 0 ? 1 - ssr / sst : 0;
}

function fitOnce(kind: FitKind, x: number[], y: number[]): Omit<CurveFit, 'rejected' | 'r2'> | null {
  if (kind === 'parabola') {
    const p = polyfit2(x, y);
    if (!p || p[2] === 0) return null;
    const [c, b, a] = p;
    const center = -b / (2 * a);
    const evaluate = (t: number) => c + b * t + a * t * t;
    return { kind, center, best: evaluate(center), params: [a, b, c], evaluate };
  }
  if (kind === 'gaussian') {
    if (y.some((v) => !(v > 0))) return null;
    const p = polyfit2(x, y.map(Math.log), y.map((v) => v * v)); // weight by y² (log-space error)
    if (!p || !(p[2] < 0)) return null;
    const [c, b, a] = p;
    const center = -b / (2 * a);
    const evaluate = (t: number) => Math.exp(c + b * t + a * t * t);
    return { kind, center, best: evaluate(center), params: [Math.exp(c - (b * b) / (4 * a)), center, Math.sqrt(-1 / (2 * a))], evaluate };
  }
  // Hyperbola y = sqrt(A² + S²(x−C)²): start from the parabola through y², then Levenberg–Marquardt.
  const p = polyfit2(x, y.map((v) => v * v));
  if (!p || !(p[2] > 0)) return null;
  let C = -p[1] / (2 * p[2]);
  let S = Math.sqrt(p[2]);
  let A = Math.sqrt(Math.max(1e-6, p[0] - (p[1] * p[1]) / (4 * p[2])));
  const model = (t: number, a = A, s = S, c = C) => Math.sqrt(a * a + s * s * (t - c) * (t - c));
  const sse = (a: number, s: number, c: number) => x.reduce((acc, t, i) => acc + (y[i]! - model(t, a, s, c)) ** 2, 0);
  let lambda = 1e-3;
  let err = sse(A, S, C);
  for (let it = 0; it < 100; it++) {
    const JtJ = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    const Jtr = [0, 0, 0];
    for (let i = 0; i < x.length; i++) {
      const f = model(x[i]!);
      const d = x[i]! - C;
      const J = [A / f, (S * d * d) / f, (-S * S * d) / f];
      const r = y[i]! - f;
      for (let a = 0; a < 3; a++) {
        Jtr[a]! += J[a]! * r;
        for (let b = 0; b < 3; b++) JtJ[a]![b]! += J[a]! * J[b]!;
      }
    }
    const M = JtJ.map((row, i) => row.map((v, j) => (i === j ? v * (1 + lambda) : v)));
    const dp = solve3(M, Jtr);
    if (!dp) break;
    const nA = Math.abs(A + dp[0]), nS = Math.abs(S + dp[1]), nC = C + dp[2];
    const nErr = sse(nA, nS, nC);
    if (nErr < err) {
      const done = err - nErr < 1e-12 * (1 + err);
      A = nA; S = nS; C = nC; err = nErr;
      lambda = Math.max(1e-9, lambda / 3);
      if (done) break;
    } else {
      lambda *= 4;
      if (lambda > 1e9) break;
    }
  }
  const evaluate = (t: number) => model(t);
  return { kind, center: C, best: A, params: [A, S, C], evaluate };
}

/**
 * Fit with outlier rejection: drop the worst point while its residual exceeds `sigma` robust
 * standard deviations (at most a quarter of the points, keeping at least 5).
 */
export function fitCurve(kind: FitKind, x: number[], y: number[], sigma = 3): CurveFit | null {
  const idx = x.map((_, i) => i);
  const rejected: number[] = [];
  const maxReject = Math.floor(x.length / 4);
  for (;;) {
    const xs = idx.map((i) => x[i]!), ys = idx.map((i) => y[i]!);
    const f = fitOnce(kind, xs, ys);
    if (!f) return null;
    const res = ys.map((v, i) => v - f.evaluate(xs[i]!));
    const absRes = res.map(Math.abs);
    const sorted = [...absRes].sort((a, b) => a - b);
    const mad = sorted[sorted.length >> 1]! * 1.4826;
    const scale = Math.max(mad, 1e-3 * (Math.max(...ys) - Math.min(...ys)) + 1e-12);
    let worst = 0;
    for (let i = 1; i < absRes.length; i++) if (absRes[i]! > absRes[worst]!) worst = i;
    if (rejected.length < maxReject && idx.length > 5 && absRes[worst]! > sigma * scale) {
      rejected.push(idx[worst]!);
      idx.splice(worst, 1);
      continue;
    }
    return { ...f, r2: rSquared(ys, xs.map(f.evaluate)), rejected };
  }
}
