// Picture of a response curve: g(z) per channel (red, green, blue; grey for mono) and the mean
// (black), code z on x (0..255), ln exposure on y, with grid lines every 32 codes and every 1 in lnE.
import type { ImageF32 } from '../image/types.js';
import { writeImage } from '../image/write.js';
import type { CameraResponse } from './response.js';

const COLORS = [
  [0.85, 0.1, 0.1],
  [0.1, 0.65, 0.1],
  [0.1, 0.25, 0.9],
];

export function renderResponsePlot(r: CameraResponse, width = 640, height = 480): ImageF32 {
  const C = 3;
  const data = new Float32Array(width * height * C).fill(1);
  const img: ImageF32 = { width, height, channels: C, bitDepth: 8, data };
  const m = 40;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of r.g) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(hi > lo)) hi = lo + 1;
  const px = (z: number) => m + (z / 255) * (width - 2 * m);
  const py = (g: number) => height - m - ((g - lo) / (hi - lo)) * (height - 2 * m);
  const put = (x: number, y: number, col: number[]) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= width || yi >= height) return;
    for (let c = 0; c < C; c++) data[(yi * width + xi) * C + c] = col[c]!;
  };
  const line = (x0: number, y0: number, x1: number, y1: number, col: number[], thick = 1) => {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -thick + 1; dx < thick; dx++) for (let dy = -thick + 1; dy < thick; dy++) put(x + dx, y + dy, col);
    }
  };
  const grid = [0.88, 0.88, 0.88];
  for (let z = 0; z <= 256; z += 32) line(px(Math.min(255, z)), m, px(Math.min(255, z)), height - m, grid);
  for (let g = Math.ceil(lo); g <= hi; g++) line(m, py(g), width - m, py(g), g === 0 ? [0.6, 0.6, 0.6] : grid);
  line(m, height - m, width - m, height - m, [0, 0, 0]);
  line(m, m, m, height - m, [0, 0, 0]);
  const curve = (get: (z: number) => number, col: number[], thick: number) => {
    for (let z = 1; z < 256; z++) line(px(z - 1), py(get(z - 1)), px(z), py(get(z)), col, thick);
  };
  for (let c = 0; c < r.channels; c++) curve((z) => r.g[z * r.channels + c]!, r.channels === 1 ? [0.4, 0.4, 0.4] : COLORS[c % 3]!, 2);
  if (r.channels > 1) {
    curve((z) => {
      let s = 0;
      for (let c = 0; c < r.channels; c++) s += r.g[z * r.channels + c]!;
      return s / r.channels;
    }, [0, 0, 0], 1);
  }
  return img;
}

export async function writeResponsePlot(path: string, r: CameraResponse): Promise<void> {
  await writeImage(path, renderResponsePlot(r));
}
