// Whole-frame decode through sharp (libvips): JPEG/PNG/TIFF/WebP/GIF/AVIF into one Float32 frame.
// readImage uses it for whole reads; the row sources use it where no streaming decoder applies
// (compressed float TIFF, WebP…), holding the whole frame (see docs/image-io.md).
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import { loadSharp } from '../../lib/sharp.js';
import { assertNotLogLuv, readTiffLayoutOf } from './tiff-rows.js';
import { ImageFormatError, type ImageF32, type ImageMeta } from './types.js';
import { toGray } from './strip.js';

/** Decode a whole file through sharp (alpha dropped, 8-bit grey kept as one channel, float kept linear). */
export async function readWithSharp(path: string, options: { grayscale?: boolean } = {}): Promise<ImageF32 & { meta: ImageMeta }> {
  let image: ImageF32;
  const meta: ImageMeta = {};
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new ImageFormatError(path, err.code === 'ENOENT' ? 'no such file' : err.message);
  });
  if (st.size === 0) throw new ImageFormatError(path, 'empty file');
  if (['.tif', '.tiff'].includes(extname(path).toLowerCase())) assertNotLogLuv(await readTiffLayoutOf(path), path);
  try {
    // failOn 'truncated' makes sharp reject a cut-off JPEG instead of returning grey rows.
    const sharp = await loadSharp();
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
