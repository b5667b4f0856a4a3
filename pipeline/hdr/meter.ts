// Quick metering of one frame for auto-exposure: a luminance histogram over every 4th row, streamed.
import { defaultIo, type HdrIo } from './io.js';

export interface Metering {
  median: number;
  mean: number;
  saturatedFraction: number;
  bitDepth: number;
}

export async function meterFrame(path: string, io: HdrIo = defaultIo): Promise<Metering> {
  const src = await io.openRowSource(path);
  try {
    const hist = new Float64Array(1024);
    let n = 0;
    let sum = 0;
    let sat = 0;
    const C = src.channels;
    for (;;) {
      const b = await src.readRows(4);
      if (!b) break;
      // First row of each batch of 4 is enough for metering.
      for (let x = 0; x < src.width; x += 2) {
        let v = 0;
        let s = 0;
        for (let c = 0; c < C; c++) {
          const u = b.data[x * C + c]!;
          if (u >= 0.98) s = 1;
          v += C >= 3 ? [0.2126, 0.7152, 0.0722][c]! * u : u / C;
        }
        const vc = Math.max(0, Math.min(1, v));
        hist[Math.min(1023, Math.floor(vc * 1024))]++;
        sum += vc;
        sat += s;
        n++;
      }
    }
    let acc = 0;
    let median = 0;
    for (let i = 0; i < 1024; i++) {
      acc += hist[i]!;
      if (acc >= n / 2) {
        median = (i + 0.5) / 1024;
        break;
      }
    }
    return { median, mean: sum / Math.max(1, n), saturatedFraction: sat / Math.max(1, n), bitDepth: src.bitDepth };
  } finally {
    await src.close();
  }
}

/**
 * Next metering exposure toward a target median. Encoded (8-bit JPEG/PNG) values are roughly
 * gamma 2.2, linear sensors (16/32-bit FITS) are linear; clipped or black frames jump 16×.
 */
export function nextExposure(t: number, m: Metering, target = 0.3): number {
  if (m.median >= 0.97 || m.saturatedFraction > 0.5) return t / 16;
  if (m.median <= 0.003) return t * 16;
  const gamma = m.bitDepth === 8 ? 2.2 : 1;
  return t * Math.pow(target / m.median, gamma);
}
