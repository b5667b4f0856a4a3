// Debevec & Malik (1997) response recovery without the dense system.
//
// The least-squares problem has unknowns x = [g(0..255), lnE_1..lnE_P]; each sample i (one pixel
// location seen in a bracket of exposures t_j) gives rows  w(z_ij)·(g(z_ij) − lnE_i) = w(z_ij)·ln t_j.
// lnE_i appears only in sample i's rows, so the lnE block of AᵀA is diagonal and can be eliminated
// as each sample arrives (Schur complement): S = G − B D⁻¹ Bᵀ, r = r_g − B D⁻¹ r_E, all 256×256.
// Memory is one 256×256 float64 matrix per channel, whatever the number of samples or brackets;
// the result equals the dense least-squares solution (up to rounding).
import { smoothnessWeights, weightTable, type WeightOptions } from './weights.js';

export const LEVELS = 256;
/** Gauge: g(128) = 0 (Debevec's constraint); the middle code maps to unit exposure. */
export const ANCHOR_CODE = 128;

export class DebevecAccumulator {
  /** Schur-complement normal matrix for g (row-major 256×256). */
  readonly S = new Float64Array(LEVELS * LEVELS);
  readonly r = new Float64Array(LEVELS);
  /** Observations per code with non-zero weight (for diagnostics and monotonic repair). */
  readonly counts = new Float64Array(LEVELS);
  samples = 0;
  private readonly w: Float64Array;
  // Scratch for one sample: distinct codes and their summed w².
  private readonly idx = new Int32Array(LEVELS);
  private readonly bz = new Float64Array(LEVELS);
  private readonly mark = new Int32Array(LEVELS).fill(-1);

  constructor(weights: WeightOptions) {
    this.w = weightTable(weights);
  }

  /** One pixel location across a bracket: integer codes z[j] and ln t_j for j < n. */
  addSample(z: ArrayLike<number>, lnT: ArrayLike<number>, n: number): void {
    let k = 0;
    let d = 0;
    let rE = 0;
    for (let j = 0; j < n; j++) {
      const code = z[j]!;
      const w = this.w[code]!;
      if (w === 0) continue;
      const w2 = w * w;
      let slot = this.mark[code]!;
      if (slot < 0) {
        slot = k++;
        this.mark[code] = slot;
        this.idx[slot] = code;
        this.bz[slot] = 0;
      }
      this.bz[slot] += w2; // −B entries (sign folded below)
      this.S[code * LEVELS + code] += w2;
      this.r[code] += w2 * lnT[j]!;
      this.counts[code]++;
      d += w2;
      rE -= w2 * lnT[j]!;
    }
    if (k > 0) {
      // B_z = −bz; S −= B Bᵀ / d ; r −= B rE / d  →  r += bz·rE/d
      for (let a = 0; a < k; a++) {
        const za = this.idx[a]!;
        const ba = this.bz[a]! / d;
        this.r[za] += ba * rE;
        for (let b = 0; b < k; b++) this.S[za * LEVELS + this.idx[b]!] -= ba * this.bz[b]!;
        this.mark[za] = -1;
      }
      this.samples++;
    }
  }

  /**
   * Add the smoothness rows, the gauge constraint, and solve for g (ln exposure per code).
   * `smoothness` (λ) weighs Debevec's second differences λ·w(z)·(g(z−1) − 2g(z) + g(z+1)).
   * `ripple` (μ) weighs third differences μ·w(z+1)·(−g(z−1) + 3g(z) − 3g(z+1) + g(z+2)), z = 1..253:
   * they hold down the ripple of g that one exposure ladder leaves unseen (see calibrate.ts) while
   * costing a gamma-like curve almost nothing: against such a ripple, a gamma curve's third
   * differences are ~5× smaller than its second, so μ can be strong where λ would bend the curve.
   * μ = 0 is Debevec's (and asi_core's) objective exactly.
   */
  solve(smoothness: number, ripple = 0): Float64Array {
    const S = Float64Array.from(this.S);
    const r = Float64Array.from(this.r);
    let trData = 0;
    for (let z = 0; z < LEVELS; z++) trData += S[z * LEVELS + z]!;
    const ws = smoothnessWeights();
    addDifferenceRows(S, [1, -2, 1], smoothness, ws);
    if (ripple > 0) addDifferenceRows(S, [-1, 3, -3, 1], ripple, ws);
    let tr = 0;
    for (let z = 0; z < LEVELS; z++) tr += S[z * LEVELS + z]!;
    // Gauge g(128) = 0. Every other row is blind to a common shift of g, so the gauge row's weight does
    // not change the answer; weighing it like an average code keeps the system well conditioned.
    S[ANCHOR_CODE * LEVELS + ANCHOR_CODE] += Math.max(1, tr / LEVELS);
    // A whisper of ridge keeps Cholesky safe when a code range has no data and λ = 0. It is scaled by
    // the data alone: scaled by the ripple rows (~10¹¹ per code) it pulled on the direction the data
    // barely sees and cost 2e-5 in g against the dense solution.
    const ridge = (1e-15 * Math.max(1, trData)) / LEVELS;
    for (let z = 0; z < LEVELS; z++) S[z * LEVELS + z] += ridge;
    // Normal equations square the condition number (λ·w up to ~6000 and μ·w up to ~10⁵ vs data
    // weights ~128); one step of iterative refinement brings the answer back to the dense
    // least-squares solution (within 1e-8 in g, test/pipeline/hdr-debevec.test.ts).
    const L = Float64Array.from(S);
    choleskyFactor(L, LEVELS);
    const x = choleskySubstitute(L, r, LEVELS);
    for (let it = 0; it < 1; it++) {
      const res = new Float64Array(LEVELS);
      for (let i = 0; i < LEVELS; i++) {
        let t = r[i]!;
        for (let k = 0; k < LEVELS; k++) t -= S[i * LEVELS + k]! * x[k]!;
        res[i] = t;
      }
      const dx = choleskySubstitute(L, res, LEVELS);
      for (let i = 0; i < LEVELS; i++) x[i] += dx[i]!;
    }
    // The objective is invariant to a common shift of g and lnE; pin the gauge exactly.
    const a = x[ANCHOR_CODE]!;
    for (let i = 0; i < LEVELS; i++) x[i] -= a;
    return x;
  }
}

/**
 * Normal-equation terms of the rows scale·ws(centre)·Σ coef[k]·g(z0 + k) for every window z0 that
 * fits in 0..255 (centre = z0 + ⌈(len − 1)/2⌉: code z for Debevec's second differences at z−1..z+1).
 */
function addDifferenceRows(S: Float64Array, coef: number[], scale: number, ws: Float64Array): void {
  const m = coef.length;
  for (let z0 = 0; z0 + m <= LEVELS; z0++) {
    const l = scale * ws[z0 + Math.ceil((m - 1) / 2)]!;
    const l2 = l * l;
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) S[(z0 + a) * LEVELS + z0 + b] += l2 * coef[a]! * coef[b]!;
  }
}

/** Solve an SPD system (row-major n×n, A overwritten by its factor); throws when not positive definite. */
export function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  choleskyFactor(A, n);
  return choleskySubstitute(A, b, n);
}

/** In-place lower Cholesky factor L (A = L·Lᵀ) in the lower triangle. */
export function choleskyFactor(A: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j]!;
    for (let k = 0; k < j; k++) s -= A[j * n + k]! * A[j * n + k]!;
    if (!(s > 0)) throw new Error(`response solve: normal matrix not positive definite at code ${j} (too few usable samples?)`);
    const d = Math.sqrt(s);
    A[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j]!;
      for (let k = 0; k < j; k++) t -= A[i * n + k]! * A[j * n + k]!;
      A[i * n + j] = t / d;
    }
  }
}

export function choleskySubstitute(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = b[i]!;
    for (let k = 0; k < i; k++) t -= A[i * n + k]! * y[k]!;
    y[i] = t / A[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let t = y[i]!;
    for (let k = i + 1; k < n; k++) t -= A[k * n + i]! * x[k]!;
    x[i] = t / A[i * n + i]!;
  }
  return x;
}

/**
 * Make g strictly increasing: pool-adjacent-violators (least-squares isotonic fit), then a tiny
 * ramp so equal neighbours become distinct (merge needs g invertible). Returns how many codes moved.
 */
export function enforceMonotonic(g: Float64Array, eps = 1e-4): number {
  const n = g.length;
  const orig = Float64Array.from(g);
  const val: number[] = [];
  const cnt: number[] = [];
  for (let i = 0; i < n; i++) {
    val.push(g[i]!);
    cnt.push(1);
    while (val.length > 1 && val[val.length - 2]! > val[val.length - 1]!) {
      const c = cnt.pop()! + cnt[cnt.length - 1]!;
      const v = val.pop()!;
      const prev = val[val.length - 1]!;
      val[val.length - 1] = (prev * cnt[cnt.length - 1]! + v * (c - cnt[cnt.length - 1]!)) / c;
      cnt[cnt.length - 1] = c;
    }
  }
  let i = 0;
  for (let b = 0; b < val.length; b++) for (let k = 0; k < cnt[b]!; k++) g[i++] = val[b]!;
  for (let z = 1; z < n; z++) if (g[z]! <= g[z - 1]!) g[z] = g[z - 1]! + eps;
  // Re-anchor so g(128) = 0 still holds after the repair.
  const a = g[ANCHOR_CODE]!;
  for (let z = 0; z < n; z++) g[z] -= a;
  let moved = 0;
  for (let z = 0; z < n; z++) if (Math.abs(g[z]! - (orig[z]! - a)) > 1e-9) moved++;
  return moved;
}

export function isStrictlyIncreasing(g: ArrayLike<number>): boolean {
  for (let z = 1; z < g.length; z++) if (!(g[z]! > g[z - 1]!)) return false;
  return true;
}
