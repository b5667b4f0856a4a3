// Seeded randomness. Every simulated quantity draws from a stream keyed by (seed, purpose, frame…),
// so the same seed and the same sequence of captures give identical bytes, and changing one frame
// (or one purpose) never shifts the random numbers of another.

/** Purposes a stream can be keyed by; fixed numbers so files stay reproducible across versions. */
export const STREAM = {
  stars: 1,
  hotPixels: 2,
  prnu: 3,
  noise: 4,
  jitter: 5,
  clouds: 6,
  scene: 7,
  trail: 8,
} as const;

/** Fold integers (any sign, up to 2^53) into one 32-bit seed. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5 | 0;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = Math.imul(h ^ lo, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h ^ hi, 0x2c1b3c6d);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Stateless hash of integer coordinates to [0, 1): lattice noise without storing a grid. */
export function hashUnit(seed: number, a: number, b: number, c = 0): number {
  return mixSeed(seed, a, b, c) / 4294967296;
}

/** splitmix32: small, fast, good enough for noise; not for anything secret. */
export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  uniform(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  }

  /** Standard normal (Marsaglia polar: no trigonometry; the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u: number;
    let v: number;
    let q: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    this.spare = v * f;
    return u * f;
  }

  /** Poisson sample: exact (Knuth) for small means, normal approximation above 30 where it is indistinguishable. */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean > 30) {
      const v = Math.round(mean + Math.sqrt(mean) * this.normal());
      return v < 0 ? 0 : v;
    }
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }
}

/** Smooth 2-D value noise in [0, 1] (bilinear over a hashed lattice with smoothstep weights). */
export function valueNoise(seed: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hashUnit(seed, x0, y0);
  const b = hashUnit(seed, x0 + 1, y0);
  const c = hashUnit(seed, x0, y0 + 1);
  const d = hashUnit(seed, x0 + 1, y0 + 1);
  return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
}

/** Fractal sum of value noise, normalised to [0, 1]. `scale` is the size of the largest feature in px. */
export function fbm(seed: number, x: number, y: number, scale: number, octaves = 4): number {
  let sum = 0;
  let amp = 1;
  let norm = 0;
  let f = 1 / scale;
  for (let o = 0; o < octaves; o++) {
    sum += amp * valueNoise(seed + o * 7919, x * f, y * f);
    norm += amp;
    amp *= 0.5;
    f *= 2;
  }
  return sum / norm;
}
