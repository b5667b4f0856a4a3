// Retained preview images live in the broker's memory and are pushed to every subscriber on
// connect, so they get a hard size cap: shrink (quality, then dimensions) until under it.
import { loadSharp } from '../../lib/sharp.js';

export interface FitResult {
  jpeg: Buffer;
  width: number;
  height: number;
  reencoded: boolean;
}

const MIN_SIDE = 64;
const MAX_ATTEMPTS = 6;

/**
 * The JPEG itself when it fits `maxBytes`; otherwise a smaller re-encode; null when even a
 * MIN_SIDE-pixel version would not fit. Throws when the input cannot be decoded.
 */
export async function fitJpegToCap(jpeg: Buffer, maxBytes: number): Promise<FitResult | null> {
  const sharp = await loadSharp();
  const meta = await sharp(jpeg).metadata();
  const width0 = meta.width ?? 0;
  const height0 = meta.height ?? 0;
  if (!width0 || !height0) throw new Error('preview image has no dimensions');
  if (jpeg.length <= maxBytes && meta.format === 'jpeg') {
    return { jpeg, width: width0, height: height0, reencoded: false };
  }
  // First a plain re-encode at quality 75 (most oversized previews are just high-quality JPEGs), then
  // shrink by the measured overshoot: JPEG size goes roughly with pixel count; aim 10 % under the cap.
  let scale = 1;
  let quality = 75;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const width = Math.max(1, Math.round(width0 * scale));
    const height = Math.max(1, Math.round(height0 * scale));
    if (Math.max(width, height) < MIN_SIDE) return null;
    const sharp = await loadSharp();
    let pipeline = sharp(jpeg);
    if (scale < 1) pipeline = pipeline.resize(width, height, { fit: 'fill' });
    const out = await pipeline.jpeg({ quality }).toBuffer();
    if (out.length <= maxBytes) return { jpeg: out, width, height, reencoded: true };
    scale *= Math.min(0.9, Math.sqrt((maxBytes * 0.9) / out.length));
    if (attempt > 0) quality = Math.max(50, quality - 10);
  }
  return null;
}
