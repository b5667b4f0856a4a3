// Quick metering of one frame for the HDR auto-bracket: the whole frame's luminance median over every
// 4th row and 2nd column, streamed — the same meter and exposure step as the all-sky auto-exposure
// (pipeline/exposure), undamped here because the bracket search wants the answer in a few frames.
import { exposureRatio, meterRows, type Metering } from '../exposure/index.js';
import { defaultIo, type HdrIo } from './io.js';

export type { Metering };

export async function meterFrame(path: string, io: HdrIo = defaultIo): Promise<Metering> {
  const src = await io.openRowSource(path);
  try {
    return await meterRows(src, { region: { shape: 'full' }, rowStep: 4, colStep: 2, bins: 1024 });
  } finally {
    await src.close();
  }
}

/**
 * Next metering exposure toward a target median. Encoded (8-bit JPEG/PNG) values are roughly
 * gamma 2.2, linear sensors (16/32-bit FITS) are linear; clipped or black frames jump 16×.
 */
export function nextExposure(t: number, m: Metering, target = 0.3): number {
  return t * exposureRatio(m, target, m.bitDepth === 8 ? 2.2 : 1);
}
