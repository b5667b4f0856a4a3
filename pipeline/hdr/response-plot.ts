// Picture of a response curve: g(z) per channel (red, green, blue; grey for mono) and their mean,
// pixel code z on x (0..255), ln exposure on y — the plot people check a calibration by.
import { plotChart, type RGB, type Series } from '../image/plot.js';
import type { ImageF32 } from '../image/types.js';
import { writeImage } from '../image/write.js';
import type { CameraResponse } from './response.js';

const CHANNEL_COLORS: RGB[] = [
  [0.85, 0.1, 0.1],
  [0.1, 0.6, 0.1],
  [0.1, 0.25, 0.9],
];
const CHANNEL_NAMES = ['R', 'G', 'B'];

export function renderResponsePlot(r: CameraResponse, width = 800, height = 500): ImageF32 {
  const z = Array.from({ length: 256 }, (_, i) => i);
  const series: Series[] = [];
  for (let c = 0; c < r.channels; c++) {
    series.push({
      name: r.channels === 1 ? 'g(z)' : `g(z) ${CHANNEL_NAMES[c] ?? c}`,
      x: z,
      y: z.map((v) => r.g[v * r.channels + c]!),
      color: r.channels === 1 ? [0.3, 0.3, 0.3] : CHANNEL_COLORS[c % 3]!,
      lineWidth: 2,
    });
  }
  if (r.channels > 1) {
    series.push({
      name: 'mean',
      x: z,
      y: z.map((v) => {
        let s = 0;
        for (let c = 0; c < r.channels; c++) s += r.g[v * r.channels + c]!;
        return s / r.channels;
      }),
      color: [0, 0, 0],
      lineWidth: 1,
    });
  }
  return plotChart(series, {
    width,
    height,
    title: 'Camera response (Debevec-Malik)',
    xLabel: 'pixel value z',
    yLabel: 'g(z) = ln exposure',
    xRange: [0, 255],
    legend: true,
  });
}

/** 960×720: matplotlib's default 6.4×4.8 in figure at dpi 150, the size of asi_core's response_curve.jpg. */
export async function writeResponsePlot(path: string, r: CameraResponse): Promise<void> {
  await writeImage(path, renderResponsePlot(r, 960, 720));
}
