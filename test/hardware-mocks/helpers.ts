// Shared setup for the simulated-rig tests: a driver context and FITS pixel access.
import { createDriverContext, type DriverContext } from '../../drivers/context.js';
import { memoryLogger } from '../../agent/log.js';
import { readFits } from '../../pipeline/image/fits.js';

export function simContext(): DriverContext {
  return createDriverContext({ log: memoryLogger(), stateDir: '/tmp' });
}

/** FITS pixels back as ADU (0..65535). */
export async function readAdu(path: string): Promise<{ width: number; height: number; adu: Float64Array; cards: Record<string, unknown> }> {
  const { image, header } = await readFits(path);
  const adu = new Float64Array(image.data.length);
  for (let i = 0; i < adu.length; i++) adu[i] = Math.round(image.data[i]! * 65535);
  return { width: image.width, height: image.height, adu, cards: header.cards };
}

export function median(values: ArrayLike<number>): number {
  const a = Float64Array.from(values).sort();
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
}
