// Whole-image readers: FITS natively (debayered on request), camera RAW through dcraw_emu/dcraw,
// Radiance .hdr natively, JPEG/PNG/TIFF/WebP through sharp. For fixed-memory work on big frames use
// the row sources in rows.ts instead.
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { readFits } from './fits.js';
import { bayerPatternFromCards, debayerImage } from './debayer.js';
import { readRadiance } from './radiance.js';
import { RAW_EXTENSIONS, openRowSource } from './row-source.js';
import type { RowSource } from './rows.js';
import { assertNotLogLuv, readTiffLayoutOf } from './tiff-rows.js';
import { ImageFormatError, type ImageF32, type ImageMeta } from './types.js';

export const FITS_EXTENSIONS = new Set(['.fits', '.fit', '.fts']);

export function isFitsPath(path: string): boolean {
  return FITS_EXTENSIONS.has(extname(path).toLowerCase());
}

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

export async function readImage(path: string, options: ReadImageOptions = {}): Promise<ImageF32 & { meta: ImageMeta }> {
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
  } else if (['.hdr', '.pic'].includes(extname(path).toLowerCase())) {
    const r = await readRadiance(path);
    image = { width: r.width, height: r.height, channels: 3, bitDepth: 32, data: r.data };
    meta = { EXPOSURE: r.exposure };
  } else {
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new ImageFormatError(path, err.code === 'ENOENT' ? 'no such file' : err.message);
    });
    if (st.size === 0) throw new ImageFormatError(path, 'empty file');
    if (['.tif', '.tiff'].includes(extname(path).toLowerCase())) assertNotLogLuv(await readTiffLayoutOf(path), path);
    try {
      // failOn 'truncated' makes sharp reject a cut-off JPEG instead of returning grey rows.
      const s = sharp(path, { failOn: 'truncated', limitInputPixels: false });
      const info = await s.metadata();
      const is16 = info.depth === 'ushort' || info.depth === 'short';
      const isFloat = info.depth === 'float' || info.depth === 'double';
      const mono = (info.channels ?? 3) <= 2;
      // 16-bit needs an explicit 16-bit colourspace or libvips narrows to 8 bits on the way out.
      // float RGB TIFF is tagged scRGB by libvips; keep it there or it is gamma-encoded to 0..255.
      // 8-bit grey must be asked for too, or libvips hands it back as sRGB (3 channels).
      const pipeline = is16 ? s.toColourspace(mono ? 'grey16' : 'rgb16') : isFloat ? (mono ? s : s.toColourspace('scrgb')) : mono ? s.toColourspace('b-w') : s;
      const depth = isFloat ? 'float' : is16 ? 'ushort' : 'uchar';
      const { data, info: out } = await pipeline.raw({ depth }).toBuffer({ resolveWithObject: true });
      const n = out.width * out.height * out.channels;
      let f: Float32Array = new Float32Array(n);
      if (isFloat) {
        // float TIFF: values are taken as stored (linear radiance may exceed 1)
        const bytes = new Uint8Array(n * 4); // copy: sharp's buffer may not be 4-byte aligned
        bytes.set(data.subarray(0, n * 4));
        f = new Float32Array(bytes.buffer);
      } else if (is16) {
        const u16 = new Uint16Array(data.buffer, data.byteOffset, n);
        for (let i = 0; i < n; i++) f[i] = u16[i]! / 65535;
      } else {
        for (let i = 0; i < n; i++) f[i] = data[i]! / 255;
      }
      image = { width: out.width, height: out.height, channels: out.channels, bitDepth: isFloat ? 32 : is16 ? 16 : 8, data: f };
      image = dropAlpha(image);
      if (info.exif) meta.EXIF = true;
    } catch (err) {
      throw new ImageFormatError(path, `cannot decode: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }
  if (options.grayscale && image.channels >= 3) image = toGray(image);
  return Object.assign(image, { meta });
}

function dropAlpha(img: ImageF32): ImageF32 {
  if (img.channels !== 2 && img.channels !== 4) return img;
  const keep = img.channels - 1;
  const n = img.width * img.height;
  const out = new Float32Array(n * keep);
  for (let i = 0; i < n; i++) for (let c = 0; c < keep; c++) out[i * keep + c] = img.data[i * img.channels + c]!;
  return { ...img, channels: keep, data: out };
}

export function toGray(img: ImageF32): ImageF32 {
  if (img.channels === 1) return img;
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const c = img.channels;
  for (let i = 0; i < n; i++) out[i] = 0.2126 * img.data[i * c]! + 0.7152 * img.data[i * c + 1]! + 0.0722 * img.data[i * c + 2]!;
  return { width: img.width, height: img.height, channels: 1, bitDepth: img.bitDepth, data: out };
}
