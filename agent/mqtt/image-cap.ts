// Retained preview images live in the broker's memory and are pushed to every subscriber on
// connect, so they get a hard size cap: shrink (quality, then dimensions) until under it.
import sharp from 'sharp';

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
  const meta = await sharp(jpeg).metadata();
  const width0 = meta.width ?? 0;
  const height0 = meta.height ?? 0;
  if (!width0 || !height0) throw new Error('preview image has no dimensions');
  if (jpeg.length <= maxBytes && meta.format === 'jpeg') {
    return { jpeg, width: width0, height: height0, reencoded: false };
  }
  let scale = 1;
  let quality = 75;
  let size = jpeg.length;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // JPEG size goes roughly with pixel count: aim 10 % under the cap.
    if (attempt > 0 || size > maxBytes) scale *= Math.min(0.9, Math.sqrt((maxBytes * 0.9) / size));
    const width = Math.max(1, Math.round(width0 * scale));
    const height = Math.max(1, Math.round(height0 * scale));
    if (Math.max(width, height) < MIN_SIDE) return null;
    const out = await sharp(jpeg)
      .resize(width, height, { fit: 'fill' })
      .jpeg({ quality, mozjpeg: false })
      .toBuffer();
    if (out.length <= maxBytes) return { jpeg: out, width, height, reencoded: true };
    size = out.length;
    quality = Math.max(50, quality - 10);
  }
  return null;
}
