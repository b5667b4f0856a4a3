// Synthetic exposure brackets with known truth: a radiance map rendered through a known response
// curve with shot/read noise and 8-bit quantisation. Used by the quality tests and the benchmark.
import { mulberry32 } from './random.js';

export interface SynthScene {
  width: number;
  height: number;
  channels: number;
  /** True radiance, interleaved. */
  radiance: Float32Array;
}

/** Log-radiance ramp over `stops` (natural-log span) with texture, sun-like hot spot, per-channel tint. */
export function makeScene(width: number, height: number, options: { lnMin?: number; lnMax?: number; seed?: number } = {}): SynthScene {
  const lnMin = options.lnMin ?? -2;
  const lnMax = options.lnMax ?? 6;
  const rnd = mulberry32(options.seed ?? 7);
  const tint = [1, 0.8, 0.6];
  const radiance = new Float32Array(width * height * 3);
  const phase = rnd() * 6;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / Math.max(1, width - 1);
      const v = y / Math.max(1, height - 1);
      let ln = lnMin + (lnMax - lnMin) * (0.75 * u + 0.25 * v) + 0.35 * Math.sin(phase + x / 7) * Math.cos(y / 11);
      const dx = x - width * 0.8;
      const dy = y - height * 0.3;
      ln += 1.0 * Math.exp(-(dx * dx + dy * dy) / (2 * (0.05 * width) ** 2));
      for (let c = 0; c < 3; c++) radiance[(y * width + x) * 3 + c] = Math.exp(Math.min(lnMax, ln)) * tint[c]!;
    }
  }
  return { width, height, channels: 3, radiance };
}

/** Camera curve: exposure X = E·t (1 = full scale) → 0..1 before quantisation (a filmic S-ish gamma). */
export function cameraCurve(X: number): number {
  if (X <= 0) return 0;
  const v = Math.pow(X, 1 / 2.2);
  return Math.min(1, v * (1.08 - 0.08 * v));
}

/** One 8-bit frame (codes 0..255, interleaved) at exposure t with noise. */
export function renderFrame(scene: SynthScene, t: number, options: { readNoise?: number; shotScale?: number; seed?: number } = {}): Uint8Array {
  const rnd = mulberry32(options.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const read = options.readNoise ?? 0.002;
  const shot = options.shotScale ?? 0.0004; // variance ∝ signal
  const out = new Uint8Array(scene.radiance.length);
  for (let i = 0; i < out.length; i++) {
    const X = scene.radiance[i]! * t;
    const noisy = X + gauss() * Math.sqrt(read * read + shot * Math.max(0, X));
    out[i] = Math.max(0, Math.min(255, Math.round(255 * cameraCurve(Math.min(1, noisy)))));
  }
  return out;
}
