// Running stack accumulators, one per method, all float32 and whole-frame (a live stack has to
// hold its running result; nothing else grows with the number of frames). NaN in a frame means
// "no data here" (outside the warped frame) and leaves that pixel of the stack untouched.
//
// The seed's six methods. Their original source was not available to us; these are the
// formulas we use, on 0..1 data, S = stack so far, F = new aligned frame, n = frames so far at
// that pixel including F, b = the frame's median background (per channel):
//   ADD      S ← S + F                       plain sum (float, no clipping)
//   ADD2     S ← S + F − S·F                 saturating sum ("screen"): stays within 0..1
//   ADDMAX   S ← max(S, F)                   lighten
//   ADDMAX2  S ← F > S ? F : (S + F) / 2     lighten, but averages where the frame is darker
//   ADDMEAN  S ← S + (F − S) / n             running mean
//   ADDCOMP  S ← S + (F − b)                 sum with each frame's sky removed (first frame kept whole)
// Plus mean (running mean, Welford), sigma (running kappa-sigma: a value further than κ·σ from
// the running mean is rejected; σ from Welford variance, floored at the frame's noise; frames are
// compared at the reference's sky level; the brightest warm-up value is tested leave-one-out) and max.

export const SEED_METHODS = ['ADD', 'ADD2', 'ADDMAX', 'ADDMAX2', 'ADDMEAN', 'ADDCOMP'] as const;
export const EXTRA_METHODS = ['mean', 'sigma', 'max'] as const;
export type SeedMethod = (typeof SEED_METHODS)[number];
export type StackMethod = SeedMethod | (typeof EXTRA_METHODS)[number];
export const ALL_METHODS: StackMethod[] = [...SEED_METHODS, ...EXTRA_METHODS];

export function parseMethod(s: string): StackMethod[] {
  const up = s.toUpperCase();
  if (up === 'ALL') return [...SEED_METHODS];
  const m = ALL_METHODS.find((x) => x.toUpperCase() === up);
  if (!m) throw new Error(`--method: unknown method "${s}" (one of ${ALL_METHODS.join(', ')}, ALL)`);
  return [m];
}

export interface FrameInfo {
  /** Median background per channel. */
  background: number[];
  /** Background noise sigma per channel. */
  noise: number[];
  /** Sky level minus the reference frame's, per channel: sigma compares frames at the reference's sky level. */
  offset?: number[];
}

export interface Accumulator {
  readonly method: StackMethod;
  /** Named buffers making up the state (saved and restored as they are). */
  readonly buffers: Record<string, Float32Array>;
  /** Add one frame; returns how many pixel values were rejected (sigma only). */
  push(frame: Float32Array, info: FrameInfo): number;
  /** The current stacked image (a view, do not modify). */
  result(): Float32Array;
}

export interface AccumulatorOptions {
  kappa?: number;
  /** Frames per pixel before sigma rejection starts (default 3). */
  warmup?: number;
}

export function createAccumulator(method: StackMethod, length: number, channels: number, opts: AccumulatorOptions = {}): Accumulator {
  const nanFilled = () => new Float32Array(length).fill(NaN);
  switch (method) {
    case 'ADD': case 'ADD2': case 'ADDMAX': case 'ADDMAX2': case 'ADDCOMP': case 'max': {
      const S = nanFilled();
      const buffers = { S };
      const op = seedOp(method);
      return {
        method, buffers,
        push(F, info) {
          for (let i = 0; i < length; i++) {
            const f = F[i]!;
            if (f !== f) continue;
            const s = S[i]!;
            S[i] = s !== s ? f : op(s, f, info.background[i % channels]!);
          }
          return 0;
        },
        result: () => S,
      };
    }
    case 'ADDMEAN': case 'mean': {
      const S = nanFilled();
      const N = new Float32Array(length);
      return {
        method, buffers: { S, N },
        push(F) {
          for (let i = 0; i < length; i++) {
            const f = F[i]!;
            if (f !== f) continue;
            const n = ++N[i]!;
            const s = S[i]!;
            S[i] = n === 1 || s !== s ? f : s + (f - s) / n;
          }
          return 0;
        },
        result: () => S,
      };
    }
    case 'sigma': {
      const kappa = opts.kappa ?? 3;
      const warm = opts.warmup ?? 3;
      const M = nanFilled();
      const M2 = new Float32Array(length);
      const N = new Float32Array(length);
      // Brightest value taken while a pixel warms up: when the warm-up is full it is tested against
      // the others (leave one out), so a trail or cosmic ray in the first frames goes too.
      // Once most pixels are past their warm-up the plane is dropped (a quarter of sigma's memory:
      // 288 MB on a 24 MP colour frame); pixels first covered later skip that one test.
      let H = nanFilled();
      let pushes = 0;
      const buffers: Record<string, Float32Array> = { M, M2, N, H };
      return {
        method, buffers,
        push(F, info) {
          let rejected = 0;
          const useH = H.length > 0;
          const off = info.offset;
          for (let i = 0; i < length; i++) {
            let f = F[i]!;
            if (f !== f) continue;
            const c = i % channels;
            if (off) f -= off[c]!;
            const n = N[i]!;
            const m = M[i]!;
            const noise = info.noise[c]!;
            if (n >= warm) {
              const sd = Math.max(Math.sqrt(M2[i]! / (n - 1)), noise);
              if (Math.abs(f - m) > kappa * sd) { rejected++; continue; }
            }
            if (n === 0 || m !== m) { M[i] = f; M2[i] = 0; N[i] = 1; if (useH) H[i] = f; continue; }
            const n1 = n + 1;
            const d = f - m;
            const nm = m + d / n1;
            M[i] = nm;
            M2[i] += d * (f - nm);
            N[i] = n1;
            if (!useH) continue;
            const h0 = H[i]!;
            if (n1 <= warm && (h0 !== h0 || f > h0)) H[i] = f;
            if (n1 === warm && warm >= 3) {
              const h = H[i]!;
              const m1 = (n1 * nm - h) / (n1 - 1);
              const q1 = Math.max(0, M2[i]! - (h - nm) * (h - m1));
              const sd = Math.max(Math.sqrt(q1 / (n1 - 2)), noise);
              if (h - m1 > kappa * sd) { M[i] = m1; M2[i] = q1; N[i] = n1 - 1; rejected++; }
              H[i] = NaN;
            }
          }
          if (useH && ++pushes >= warm + 3) {
            delete buffers.H;
            H = new Float32Array(0);
          }
          return rejected;
        },
        result: () => M,
      };
    }
  }
}

function seedOp(method: StackMethod): (s: number, f: number, b: number) => number {
  switch (method) {
    case 'ADD': return (s, f) => s + f;
    case 'ADD2': return (s, f) => s + f - s * f;
    case 'ADDMAX': case 'max': return (s, f) => (f > s ? f : s);
    case 'ADDMAX2': return (s, f) => (f > s ? f : (s + f) / 2);
    case 'ADDCOMP': return (s, f, b) => s + (f - b);
    default: throw new Error(`no per-pixel op for ${method}`);
  }
}
