// Running stack accumulators, one per method, all float32 and whole-frame (a live stack has to
// hold its running result; nothing else grows with the number of frames). NaN in a frame means
// "no data here" (outside the warped frame) and leaves that pixel of the stack untouched.
//
// The seed's six methods, as the seed program's code runs them (digest:
// shared/reference/livestack-seed.md), on 0..1 data, float32 arithmetic, S = stack so far,
// I = new aligned frame, n = 1-based index of I (per pixel: frames that covered it). The first
// frame initialises S = I.
//   ADD      S ← S + I > 1 ? 1 : S + I           add, clip at saturation
//   ADD2     S ← S + I < 1 ? S + I : S           a pixel that would saturate keeps its old value
//   ADDMAX   S ← I > S ? I : S                   keep the maximum
//   ADDMAX2  same update as ADDMAX; the output is rescaled by 255 / max(S) (see seed/rules.ts)
//   ADDMEAN  S ← I > 0 ? (S + I) / 2 : S         pairwise average: the last frame weighs ½
//   ADDCOMP  T = (S·(n − 1) + I) / n; S ← T > 0 ? T : S    running mean
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
  /**
   * sigma only: one frame whose pixels are folded in elsewhere (the WASM kernels, over the same
   * planes); `run(useH)` does the pixels and returns the rejected values, this keeps the bookkeeping.
   */
  pushExternal?(run: (useH: boolean, warm: number, kappa: number) => Promise<number>): Promise<number>;
}

export interface AccumulatorOptions {
  kappa?: number;
  /** Frames per pixel before sigma rejection starts (default 3). */
  warmup?: number;
  /** sigma: planes to use instead of new arrays (e.g. in the kernels' shared memory); they are reset. */
  planes?: { M: Float32Array; M2: Float32Array; N: Float32Array; H?: Float32Array | null };
}

export function createAccumulator(method: StackMethod, length: number, channels: number, opts: AccumulatorOptions = {}): Accumulator {
  const nanFilled = () => new Float32Array(length).fill(NaN);
  switch (method) {
    case 'ADD': case 'ADD2': case 'ADDMAX': case 'ADDMAX2': case 'ADDMEAN': case 'max': {
      const S = nanFilled();
      const buffers = { S };
      const op = seedOp(method);
      return {
        method, buffers,
        push(F) {
          for (let i = 0; i < length; i++) {
            const f = F[i]!;
            if (f !== f) continue;
            const s = S[i]!;
            S[i] = s !== s ? f : op(s, f);
          }
          return 0;
        },
        result: () => S,
      };
    }
    case 'ADDCOMP': {
      // The seed's n is the frame's index in the run; per pixel it is the frames that covered it
      // (the same wherever every frame has data, as in the seed, whose warp fills with 0).
      const S = nanFilled();
      const N = new Float32Array(length);
      const f32 = Math.fround;
      return {
        method, buffers: { S, N },
        push(F) {
          for (let i = 0; i < length; i++) {
            const f = F[i]!;
            if (f !== f) continue;
            const n = ++N[i]!;
            const s = S[i]!;
            if (n === 1 || s !== s) { S[i] = f; continue; }
            const T = f32(f32(f32(s * (n - 1)) + f) / n);
            if (T > 0) S[i] = T;
          }
          return 0;
        },
        result: () => S,
      };
    }
    case 'mean': {
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
      // Given planes without an H are of no use to a warm-up longer than 3: then new arrays.
      const given = opts.planes && opts.planes.M.length === length && (warm <= 3 || opts.planes.H) ? opts.planes : null;
      const M = given ? given.M.fill(NaN) : nanFilled();
      const M2 = given ? given.M2.fill(0) : new Float32Array(length);
      const N = given ? given.N.fill(0) : new Float32Array(length);
      // The brightest of a pixel's first `warm` values is tested against the others when the
      // warm-up is full (leave one out), so a trail or cosmic ray in the first frames goes too. With
      // the default warm-up of 3 it needs no memory: the brightest of the first two values is their
      // mean + √(M2/2) (two values x₁, x₂: M = (x₁ + x₂)/2, M2 = (x₁ − x₂)²/2), up to f32 rounding.
      // A longer warm-up keeps them in plane H until most pixels are past it (then it is dropped;
      // pixels first covered later skip that one test).
      const keepH = warm > 3;
      let H = !keepH ? new Float32Array(0) : given?.H ? given.H.fill(NaN) : nanFilled();
      let pushes = 0;
      const buffers: Record<string, Float32Array> = keepH ? { M, M2, N, H } : { M, M2, N };
      const pushed = () => {
        if (H.length > 0 && ++pushes >= warm + 3) {
          delete buffers.H;
          H = new Float32Array(0);
        }
      };
      return {
        method, buffers,
        async pushExternal(run) {
          const rejected = await run(H.length > 0, warm, kappa);
          pushed();
          return rejected;
        },
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
            const q0 = M2[i]!;
            M[i] = nm;
            M2[i] = q0 + d * (f - nm);
            N[i] = n1;
            if (useH) {
              const h0 = H[i]!;
              if (n1 <= warm && (h0 !== h0 || f > h0)) H[i] = f;
            }
            if (n1 === warm && warm >= 3 && (useH || warm === 3)) {
              const h = useH ? H[i]! : Math.fround(Math.max(f, m + Math.sqrt(q0 / 2)));
              const m1 = (n1 * nm - h) / (n1 - 1);
              const q1 = Math.max(0, M2[i]! - (h - nm) * (h - m1));
              const sd = Math.max(Math.sqrt(q1 / (n1 - 2)), noise);
              if (h - m1 > kappa * sd) { M[i] = m1; M2[i] = q1; N[i] = n1 - 1; rejected++; }
              if (useH) H[i] = NaN;
            }
          }
          pushed();
          return rejected;
        },
        result: () => M,
      };
    }
  }
}

/** One pixel's update, in float32 as the seed computes it (a sum that rounds to 1 counts as saturated). */
function seedOp(method: StackMethod): (s: number, f: number) => number {
  const f32 = Math.fround;
  switch (method) {
    case 'ADD': return (s, f) => { const t = f32(s + f); return t > 1 ? 1 : t; };
    case 'ADD2': return (s, f) => { const t = f32(s + f); return t < 1 ? t : s; };
    case 'ADDMAX': case 'ADDMAX2': case 'max': return (s, f) => (f > s ? f : s);
    case 'ADDMEAN': return (s, f) => (f > 0 ? f32(f32(s + f) / 2) : s);
    default: throw new Error(`no per-pixel op for ${method}`);
  }
}
