// Robertson, Borman & Stevenson (2003) response recovery: maximum likelihood in the radiance domain.
// A bench variant for bench/hdr-multibracket.ts (issue 13 item 6), not a calibration method of the
// product: measured, it gets g closer to the true curve but merges worse (docs/hdr.md, "Calibrating
// from several brackets").
// Alternates the radiance of every sample, E_i = Σ_j w(z_ij)·t_j·I(z_ij) / Σ_j w(z_ij)·t_j², with
// the inverse response as a conditional mean, I(m) = mean of E_i·t_j over all observations with
// z_ij = m, normalised so I(128) = 1 (g = ln I, the same gauge as Debevec's g(128) = 0). As
// OpenCV's CalibrateRobertson, but on sampled pixels (any number, across brackets) and with the
// calibration weights. Being a mean in X, not in ln X, more observations average the noise of I
// instead of carrying a fixed log bias.
import { addDifferenceRows, ANCHOR_CODE, choleskyFactor, choleskySubstitute, LEVELS } from '../pipeline/hdr/debevec.js';
import { smoothnessWeights, weightTable, type WeightOptions } from '../pipeline/hdr/weights.js';

export interface RobertsonOptions {
  /** Stop when no code's ln I moves by more than this in an iteration (default 1e-6). */
  tolerance?: number;
  /** Iteration cap (default 300). */
  maxIterations?: number;
  /** Leave-one-out E-step: E_i for observation j leaves exposure j out (default false). */
  leaveOneOut?: boolean;
  /**
   * Hybrid: after each update, ln I is replaced by the g that minimises
   * Σ_z n_z·w(z)²·(g(z) − ln I(z))² + Debevec's λ second- and μ third-difference rows (the data term
   * weighs each observation as Debevec's rows do). 0/0 = plain Robertson.
   */
  smoothness?: number;
  ripple?: number;
  /** 'radiance' (Robertson: I = mean of E·t in X) or 'log' (g = mean of ln(E·t), E from Debevec's w² mean in ln). */
  domain?: 'radiance' | 'log';
}

export interface RobertsonResult {
  g: Float64Array;
  iterations: number;
  /** Observations per code that had a radiance estimate in the last iteration. */
  counts: Float64Array;
}

/** Per-channel collector of sample codes: each sample is one pixel of one bracket (n codes, n times). */
export class RobertsonAccumulator {
  private readonly chunks: { codes: Uint8Array; t: Float64Array; n: number; count: number }[] = [];
  private readonly w: Float64Array;
  samples = 0;

  constructor(weights: WeightOptions) {
    this.w = weightTable(weights);
  }

  /** `codes` holds count × n codes (sample-major), `t` the bracket's n exposure times in seconds. */
  addBracket(codes: Uint8Array, t: ArrayLike<number>): void {
    const n = t.length;
    if (codes.length % n !== 0) throw new Error(`robertson: ${codes.length} codes is not a multiple of ${n} exposures`);
    this.chunks.push({ codes, t: Float64Array.from(t), n, count: codes.length / n });
    this.samples += codes.length / n;
  }

  solve(options: RobertsonOptions = {}): RobertsonResult {
    const tol = options.tolerance ?? 1e-6;
    const maxIt = options.maxIterations ?? 300;
    const loo = options.leaveOneOut ?? false;
    const w = this.w;
    // OpenCV's start: a linear response, I(z) = z / 128 (code 0 floored so ln I is finite).
    let I = new Float64Array(LEVELS);
    for (let z = 0; z < LEVELS; z++) I[z] = Math.max(0.5, z) / ANCHOR_CODE;
    const sum = new Float64Array(LEVELS);
    const cnt = new Float64Array(LEVELS);
    const logDomain = options.domain === 'log';
    const lam = options.smoothness ?? 0;
    const mu = options.ripple ?? 0;
    const smooth = lam > 0 || mu > 0 ? this.smoother(lam, mu) : null;
    let it = 0;
    for (; it < maxIt; it++) {
      sum.fill(0);
      cnt.fill(0);
      for (const { codes, t, n, count } of this.chunks) {
        for (let s = 0; s < count; s++) {
          const o = s * n;
          let num = 0;
          let den = 0;
          for (let j = 0; j < n; j++) {
            const z = codes[o + j]!;
            const wz = w[z]!;
            if (logDomain) {
              num += wz * wz * (Math.log(I[z]!) - Math.log(t[j]!));
              den += wz * wz;
            } else {
              num += wz * t[j]! * I[z]!;
              den += wz * t[j]! * t[j]!;
            }
          }
          if (den <= 0) continue;
          for (let j = 0; j < n; j++) {
            const z = codes[o + j]!;
            let nu = num;
            let de = den;
            if (loo) {
              const wz = w[z]!;
              if (logDomain) {
                nu -= wz * wz * (Math.log(I[z]!) - Math.log(t[j]!));
                de -= wz * wz;
              } else {
                nu -= wz * t[j]! * I[z]!;
                de -= wz * t[j]! * t[j]!;
              }
              if (de <= 1e-12 * den) continue;
            }
            sum[z] += logDomain ? nu / de + Math.log(t[j]!) : (nu / de) * t[j]!;
            cnt[z]++;
          }
        }
      }
      const next = new Float64Array(LEVELS);
      for (let z = 0; z < LEVELS; z++) next[z] = cnt[z]! > 0 ? (logDomain ? Math.exp(sum[z]! / cnt[z]!) : sum[z]! / cnt[z]!) : NaN;
      fillGapsLog(next);
      if (smooth) {
        const rhs = new Float64Array(LEVELS);
        for (let z = 0; z < LEVELS; z++) rhs[z] = smooth.d[z]! * Math.log(next[z]!);
        const gs = choleskySubstitute(smooth.L, rhs, LEVELS);
        for (let z = 0; z < LEVELS; z++) next[z] = Math.exp(gs[z]!);
      }
      const a = next[ANCHOR_CODE]!;
      let change = 0;
      for (let z = 0; z < LEVELS; z++) {
        next[z] /= a;
        change = Math.max(change, Math.abs(Math.log(next[z]!) - Math.log(I[z]!)));
      }
      I = next;
      if (change < tol) {
        it++;
        break;
      }
    }
    const g = new Float64Array(LEVELS);
    for (let z = 0; z < LEVELS; z++) g[z] = Math.log(I[z]!);
    return { g, iterations: it, counts: Float64Array.from(cnt) };
  }

  /** Factor of diag(d) + λ, μ difference rows (+ a tiny ridge), d_z = n_z·w(z)², λ and μ per 1000 samples. */
  private smoother(lam: number, mu: number): { L: Float64Array; d: Float64Array } {
    const d = new Float64Array(LEVELS);
    for (const { codes, n, count } of this.chunks) {
      for (let s = 0; s < count; s++) {
        let any = false;
        for (let j = 0; j < n; j++) if (this.w[codes[s * n + j]!]! > 0) any = true;
        if (any) for (let j = 0; j < n; j++) d[codes[s * n + j]!] += this.w[codes[s * n + j]!]! ** 2;
      }
    }
    for (let z = 0; z < LEVELS; z++) d[z] = Math.max(d[z]!, 1e-6);
    const scale = Math.sqrt(Math.max(1, this.samples) / 1000);
    const S = new Float64Array(LEVELS * LEVELS);
    for (let z = 0; z < LEVELS; z++) S[z * LEVELS + z] = d[z]!;
    const ws = smoothnessWeights();
    if (lam > 0) addDifferenceRows(S, [1, -2, 1], lam * scale, ws);
    if (mu > 0) addDifferenceRows(S, [-1, 3, -3, 1], mu * scale, ws);
    choleskyFactor(S, LEVELS);
    return { L: S, d };
  }
}

/**
 * Codes nobody observed (NaN) get I by linear interpolation of ln I between the nearest observed
 * codes, and constant-slope extrapolation beyond the ends, so I stays positive and defined.
 */
function fillGapsLog(I: Float64Array): void {
  const known: number[] = [];
  for (let z = 0; z < LEVELS; z++) if (Number.isFinite(I[z]!) && I[z]! > 0) known.push(z);
  if (known.length === 0) throw new Error('robertson: no sample had a usable exposure (all codes clipped)');
  if (known.length === 1) {
    const v = I[known[0]!]!;
    for (let z = 0; z < LEVELS; z++) I[z] = v * Math.max(0.5, z) / Math.max(0.5, known[0]!);
    return;
  }
  const L = (z: number) => Math.log(I[z]!);
  for (let k = 0; k + 1 < known.length; k++) {
    const a = known[k]!;
    const b = known[k + 1]!;
    for (let z = a + 1; z < b; z++) I[z] = Math.exp(L(a) + ((L(b) - L(a)) * (z - a)) / (b - a));
  }
  const [f0, f1] = [known[0]!, known[1]!];
  const lo = (L(f1) - L(f0)) / (f1 - f0);
  for (let z = f0 - 1; z >= 0; z--) I[z] = Math.exp(L(f0) - lo * (f0 - z));
  const [e0, e1] = [known[known.length - 2]!, known[known.length - 1]!];
  const hi = (L(e1) - L(e0)) / (e1 - e0);
  for (let z = e1 + 1; z < LEVELS; z++) I[z] = Math.exp(L(e1) + hi * (z - e1));
}
