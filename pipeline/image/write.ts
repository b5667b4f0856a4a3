// Whole-image writers through sharp (JPEG, PNG 8/16-bit, TIFF) and FITS; all atomic.
import { extname } from 'node:path';
import { loadSharp } from '../../lib/sharp.js';
import type { Sharp } from 'sharp';
import { withAtomicPath } from '../../lib/atomic.js';
import { writeFits } from './fits.js';
import { openRowSink } from './row-sink.js';
import type { ImageF32, ImageMeta } from './types.js';

export function toUint8(img: ImageF32): Buffer {
  const out = Buffer.alloc(img.data.length);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}

export function toUint16(img: ImageF32): Uint16Array {
  const out = new Uint16Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 65535 : Math.round(v * 65535);
  }
  return out;
}

export interface WriteImageOptions {
  quality?: number; // JPEG quality
  depth?: 8 | 16 | 32; // PNG/TIFF depth; 32 = float TIFF (linear, values kept as they are)
  cards?: ImageMeta; // FITS header cards
  fitsBitpix?: 8 | 16 | -32;
}

/**
 * Write by extension: .jpg/.jpeg, .png, .tif/.tiff, .fits/.fit, .hdr (Radiance). Values are clipped to
 * 0..1 except for float FITS, float TIFF (depth 32) and .hdr.
 */
export async function writeImage(path: string, img: ImageF32, options: WriteImageOptions = {}): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.fits' || ext === '.fit' || ext === '.fts') {
    await writeFits(path, img, { bitpix: options.fitsBitpix, cards: options.cards });
    return;
  }
  if (ext === '.hdr' || ((ext === '.tif' || ext === '.tiff') && options.depth === 32)) {
    // the native row sinks: whole image as one strip
    const sink = await openRowSink(path, { width: img.width, height: img.height, channels: img.channels, format: ext === '.hdr' ? 'hdr' : 'tiff-f32' });
    try {
      await sink.writeRows(img.data, img.height);
      await sink.finish();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    return;
  }
  const depth = options.depth ?? 8;
  const sharp = await loadSharp();
  const raw = { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 };
  await withAtomicPath(path, async (tmp) => {
    let s: Sharp;
    if (depth === 16 && (ext === '.png' || ext === '.tif' || ext === '.tiff')) {
      const u16 = toUint16(img);
      s = sharp(u16, { raw, limitInputPixels: false }); // a Uint16Array input tells sharp the depth
      s = s.toColourspace(img.channels === 1 ? 'grey16' : 'rgb16');
    } else {
      s = sharp(toUint8(img), { raw, limitInputPixels: false });
    }
    if (ext === '.jpg' || ext === '.jpeg') s = s.jpeg({ quality: options.quality ?? 90, mozjpeg: false });
    else if (ext === '.png') s = s.png({ compressionLevel: 6 });
    else if (ext === '.tif' || ext === '.tiff') s = s.tiff({ compression: 'deflate' });
    else throw new Error(`${path}: unsupported output format ${ext}`);
    await s.toFile(tmp);
  });
}

/** Encode a JPEG preview in memory (for MQTT), scaled down to fit `maxSize` pixels on the long side. */
export async function encodePreviewJpeg(img: ImageF32, maxSize = 1024, quality = 80): Promise<Buffer> {
  const raw = { width: img.width, height: img.height, channels: img.channels as 1 | 3 };
  const sharp = await loadSharp();
  return sharp(toUint8(img), { raw, limitInputPixels: false })
    .resize({ width: maxSize, height: maxSize, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality })
    .toBuffer();
}
