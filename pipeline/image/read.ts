// Whole-image readers: FITS natively (debayered on request), camera RAW through dcraw_emu/dcraw,
// Radiance .hdr natively, JPEG/PNG/TIFF/WebP through sharp. For fixed-memory work on big frames use
// the row sources in rows.ts instead.
import { extname } from 'node:path';
import { readFits } from './fits.js';
import { bayerPatternFromCards, debayerImage } from './debayer.js';
import { readRadiance } from './radiance.js';
import { openRowSource } from './row-source.js';
import { RADIANCE_EXTENSIONS, RAW_EXTENSIONS, isFitsPath, type RowSource } from './formats.js';
import { readWithSharp } from './sharp-decode.js';
import { checkImageFile } from './header-size.js';
import { toGray } from './strip.js';
import type { ImageF32, ImageMeta } from './types.js';

export { FITS_EXTENSIONS, isFitsPath } from './formats.js';
export { toGray } from './strip.js';

export interface ReadImageOptions {
  /** Convert to one channel (luminance, Rec.709 weights). */
  grayscale?: boolean;
  /** FITS with a BAYERPAT (or COLORTYP) card: bilinear debayer to RGB. Ignored for other files. */
  debayer?: boolean;
  /** Camera RAW at half size (see RowSourceOptions.rawHalfSize). */
  rawHalfSize?: boolean;
}

/** Drain a row source into a whole image (closes it). */
export async function readAllRows(src: RowSource): Promise<ImageF32> {
  try {
    const data = new Float32Array(src.width * src.height * src.channels);
    for (;;) {
      const b = await src.readRows(256);
      if (!b) break;
      data.set(b.data, b.y0 * src.width * src.channels);
    }
    return { width: src.width, height: src.height, channels: src.channels, bitDepth: src.bitDepth, data };
  } finally {
    await src.close();
  }
}

/** Read a whole frame. The file is checked first (regular file, header size within limits.ts). */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<ImageF32 & { meta: ImageMeta }> {
  const header = await checkImageFile(path);
  let image: ImageF32;
  let meta: ImageMeta = {};
  if (isFitsPath(path)) {
    const r = await readFits(path);
    image = r.image;
    meta = r.header.cards;
    const pattern = options.debayer && image.channels === 1 ? bayerPatternFromCards(meta) : null;
    if (pattern) image = debayerImage(image, pattern);
  } else if (RAW_EXTENSIONS.has(extname(path).toLowerCase())) {
    // camera RAW: 16-bit linear RGB with camera white balance from LibRaw's dcraw_emu (or dcraw)
    image = await readAllRows(await openRowSource(path, { rawHalfSize: options.rawHalfSize }));
  } else if (header.kind === 'bmp') {
    // sharp has no BMP loader; our row reader does (focus_response takes .bmp inputs)
    image = await readAllRows(await openRowSource(path));
  } else if (RADIANCE_EXTENSIONS.has(extname(path).toLowerCase())) {
    const r = await readRadiance(path);
    image = { width: r.width, height: r.height, channels: 3, bitDepth: 32, data: r.data };
    meta = { EXPOSURE: r.exposure };
  } else {
    const r = await readWithSharp(path);
    image = r;
    if (r.meta.EXIF) meta.EXIF = true;
  }
  if (options.grayscale && image.channels >= 3) image = toGray(image);
  return Object.assign(image, { meta });
}
