// Synthetic night frames for the night-product tests: 16-bit FITS whose samples are exact codes/65535.
import { join } from 'node:path';
import { writeFits } from '../../pipeline/image/fits.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { silentLogger } from '../../lib/log.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { DEFAULT_NIGHT_CONFIG, type NightFrameInput, type NightProductsConfig } from '../../pipeline/night/types.js';

export const log = silentLogger;

export { mulberry32 } from '../../pipeline/hdr/random.js';

export const code = (v: number) => Math.round(v * 65535) / 65535;

/** Background `sky` with noise and a few random stars; `paint` then plants known values. */
export function starFrame(w: number, h: number, seed: number, sky = 0.05, paint?: (img: ImageF32) => void, channels = 1): ImageF32 {
  const img = createImage(w, h, channels, 16);
  const r = mulberry32(seed);
  for (let i = 0; i < img.data.length; i++) img.data[i] = code(sky + r() * 0.02);
  for (let s = 0; s < 8; s++) {
    const x = Math.floor(r() * w), y = Math.floor(r() * h), v = code(0.5 + r() * 0.5);
    for (let c = 0; c < channels; c++) img.data[(y * w + x) * channels + c] = v;
  }
  paint?.(img);
  return img;
}

export async function saveFrame(dir: string, name: string, img: ImageF32, cards: Record<string, string | number> = {}): Promise<string> {
  const p = join(dir, name);
  await writeFits(p, img, { bitpix: 16, cards });
  return p;
}

export function frameInput(path: string, i: number, sky: number, extra: Partial<NightFrameInput> = {}): NightFrameInput {
  return { path, timestamp: new Date(Date.UTC(2026, 0, 10, 21, 50, 0) + i * 300_000), exposureS: 30, gain: 2, skyLevel: sky, ...extra };
}

export function config(over: Partial<{ [K in keyof NightProductsConfig]: Partial<NightProductsConfig[K]> }> = {}): NightProductsConfig {
  const d = structuredClone(DEFAULT_NIGHT_CONFIG);
  return {
    station: (over.station as string | undefined) ?? 'test-station',
    keogram: { ...d.keogram, band_px: 1, ...over.keogram },
    startrails: { ...d.startrails, ...over.startrails },
    timelapse: { ...d.timelapse, width: 64, fps: 5, ...over.timelapse },
    labels: { ...d.labels, scale: 1, ...over.labels },
  };
}
