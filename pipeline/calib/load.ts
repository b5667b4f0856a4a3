// Loading one light/dark/flat/bias frame as the sensor delivered it: FITS (8/16/32-bit
// integer, float; BAYERPAT mosaics stay one channel here so calibration runs on the mosaic),
// 8-bit JPEG/PNG, 16-bit PNG/TIFF (through readImage), and camera RAW through LibRaw (dcraw_emu,
// else dcraw): the linear 16-bit mosaic, black level removed, no white balance or interpolation.
import { execFile } from 'node:child_process';
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { bytesPerSample, decodeFitsSamples, readFitsHeader } from '../image/fits.js';
import { isFitsPath, readImage } from '../image/read.js';
import { ImageFormatError, type ImageF32, type ImageMeta } from '../image/types.js';
import { bayerPatternFromCards, BAYER_PATTERNS, type BayerPattern } from '../image/debayer.js';
import { openDecoderSource } from '../image/decoder-source.js';
import { checkImageFile } from '../image/header-size.js';
import { missingToolMessage } from '../image/children.js';
import { RAW_EXTENSIONS, rawMosaicDecoder } from '../image/row-source.js';

export { RAW_EXTENSIONS };

const execFileP = promisify(execFile);

export const IMAGE_EXTENSIONS = new Set(['.fits', '.fit', '.fts', '.jpg', '.jpeg', '.png', '.tif', '.tiff', ...RAW_EXTENSIONS]);

export function isImagePath(p: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(p).toLowerCase());
}

export interface LoadedFrame {
  path: string;
  image: ImageF32;
  bayer: BayerPattern | null;
  exposureS: number | null;
  date: Date | null;
  iso: number | null;
  gain: number | null;
  meta: ImageMeta;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export interface LoadOptions {
  /**
   * Decoder for a mono 16-bit FITS data unit (the live stack's WASM kernels, into their frame plane):
   * returns f32(v·scale + zero) for every sample, as readFitsWhole computes, or null to decode here.
   */
  fits16?: (path: string, header: { width: number; height: number; dataOffset: number; scale: number; zero: number }) => Promise<Float32Array | null>;
}

export async function loadFrame(path: string, opts: LoadOptions = {}): Promise<LoadedFrame> {
  await checkImageFile(path); // regular file, header size within the limits (image bombs)
  const ext = extname(path).toLowerCase();
  let image: ImageF32;
  let meta: ImageMeta = {};
  let bayer: BayerPattern | null = null;
  if (RAW_EXTENSIONS.has(ext)) {
    ({ image, bayer, meta } = await readRawMosaic(path));
  } else if (isFitsPath(path)) {
    ({ image, meta } = await readFitsWhole(path, opts.fits16));
    if (image.channels === 1) bayer = bayerOf(meta);
  } else {
    const r = await readImage(path);
    meta = r.meta;
    image = { width: r.width, height: r.height, channels: r.channels, bitDepth: r.bitDepth, data: r.data };
    if (image.channels === 1) bayer = bayerOf(meta);
  }
  if (image.data.length !== image.width * image.height * image.channels) throw new ImageFormatError(path, 'decoded size mismatch');
  const dateStr = meta['DATE-OBS'] ?? meta['DATE-BEG'];
  let date: Date | null = typeof dateStr === 'string' ? new Date(dateStr.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(dateStr) ? dateStr : dateStr + 'Z') : null;
  if (date && Number.isNaN(date.getTime())) date = null;
  if (!date) date = (await stat(path)).mtime;
  return {
    path,
    image,
    bayer,
    exposureS: num(meta.EXPTIME) ?? num(meta.EXPOSURE),
    date,
    iso: num(meta.ISOSPEED) ?? num(meta.ISO),
    gain: num(meta.GAIN),
    meta,
  };
}

function bayerOf(meta: ImageMeta): BayerPattern | null {
  return bayerPatternFromCards(meta);
}

function parseBayer(s: string | null | undefined): BayerPattern | null {
  const v = (s ?? '').trim().toUpperCase();
  return (BAYER_PATTERNS as readonly string[]).includes(v) ? (v as BayerPattern) : null;
}

/**
 * Whole-file FITS read: one read and a native byte swap for 16-bit data (the common camera
 * format), instead of a read per row — a 12 MP frame loads in a fraction of the time.
 */
async function readFitsWhole(path: string, fits16?: LoadOptions['fits16']): Promise<{ image: ImageF32; meta: ImageMeta }> {
  const h = await readFitsHeader(path);
  const n = h.width * h.height * h.planes;
  const need = h.dataOffset + n * bytesPerSample(h.bitpix);
  const full = h.bitpix === 8 ? 255 : h.bitpix === 16 ? 65535 : h.bitpix === 32 ? (h.bzero === 2147483648 ? 4294967295 : 2147483647) : 1;
  if (fits16 && h.bitpix === 16 && h.planes === 1) {
    const size = (await stat(path)).size;
    if (size < need) throw new ImageFormatError(path, `truncated FITS data (${size} bytes, need ${need})`);
    const data = await fits16(path, { width: h.width, height: h.height, dataOffset: h.dataOffset, scale: h.bscale / full, zero: h.bzero / full })
      .catch((err: Error) => { throw new ImageFormatError(path, err.message); });
    if (data) return { image: { width: h.width, height: h.height, channels: 1, bitDepth: 16, data }, meta: h.cards };
  }
  const bytes = await readFile(path);
  if (bytes.length < need) throw new ImageFormatError(path, `truncated FITS data (${bytes.length} bytes, need ${need})`);
  const planar = new Float32Array(n);
  if (h.bitpix === 16) {
    // In place: readFile's buffer is this call's own, and the data unit starts at a multiple of 2880.
    let raw = bytes.subarray(h.dataOffset, h.dataOffset + 2 * n);
    if (raw.byteOffset % 2) raw = Buffer.from(raw); // an aligned copy where the buffer is not
    raw.swap16();
    const i16 = new Int16Array(raw.buffer, raw.byteOffset, n);
    const scale = h.bscale / full, zero = h.bzero / full;
    for (let i = 0; i < n; i++) planar[i] = i16[i]! * scale + zero;
  } else {
    decodeFitsSamples(h, bytes.subarray(h.dataOffset, need), planar, 0, 1, n);
  }
  let data = planar;
  if (h.planes > 1) {
    // Planes become interleaved channels.
    data = new Float32Array(n);
    const plane = h.width * h.height;
    for (let p = 0; p < h.planes; p++) for (let i = 0; i < plane; i++) data[i * h.planes + p] = planar[p * plane + i]!;
  }
  const bitDepth = h.bitpix === 8 ? 8 : h.bitpix === 16 ? 16 : 32;
  return { image: { width: h.width, height: h.height, channels: h.planes, bitDepth, data }, meta: h.cards };
}

/**
 * Camera RAW as the sensor's linear CFA mosaic: LibRaw's dcraw_emu (or dcraw) with unit white
 * balance, no interpolation, no auto-brightening, black level removed and white level at 1. Rows
 * stream from the decoder; metadata (CFA pattern, ISO, shutter, time) from raw-identify/dcraw -i.
 */
async function readRawMosaic(path: string): Promise<{ image: ImageF32; bayer: BayerPattern | null; meta: ImageMeta }> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new ImageFormatError(path, 'no such file');
  const spec = rawMosaicDecoder(path);
  let info: string;
  try {
    info = spec.command === 'dcraw_emu'
      ? (await execFileP('raw-identify', ['-v', path], { maxBuffer: 1 << 20 })).stdout
      : (await execFileP('dcraw', ['-i', '-v', path], { maxBuffer: 1 << 20 })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') throw new ImageFormatError(path, missingToolMessage(spec.command, spec.aptPackage));
    throw new ImageFormatError(path, `${spec.command} cannot decode: ${String(e.stdout || e.stderr || e.message).trim().split('\n').pop()}`);
  }
  // raw-identify exits 0 for files it cannot read and says so on stdout.
  if (/Cannot decode|Unsupported file format/i.test(info)) {
    throw new ImageFormatError(path, `${spec.command} cannot decode: ${/(Cannot decode.*|Unsupported file format.*)/i.exec(info)![1]!.trim()}`);
  }
  const src = await openDecoderSource(path, spec);
  let data: Float32Array;
  try {
    const { width: w, height: h, channels: ch } = src;
    data = new Float32Array(w * h);
    // dcraw_emu -disinterp writes RGB with only the pixel's own CFA colour set: the sum is the site value.
    const strip = new Float32Array(64 * w * ch);
    for (let b = await src.readRows(64, strip); b; b = await src.readRows(64, strip)) {
      const o = b.y0 * w;
      if (ch === 1) data.set(b.data.subarray(0, b.rows * w), o);
      else for (let i = 0; i < b.rows * w; i++) { let v = 0; for (let c = 0; c < ch; c++) v += b.data[i * ch + c]!; data[o + i] = v; }
    }
  } finally {
    await src.close();
  }
  const pat = /Filter pattern:\s*([RGB/]+)/.exec(info)?.[1];
  const meta: ImageMeta = {};
  const iso = /ISO speed:\s*(\d+)/.exec(info)?.[1];
  if (iso) meta.ISOSPEED = Number(iso);
  const sh = /Shutter:\s*(1\/)?([\d.]+)/.exec(info);
  if (sh) meta.EXPTIME = sh[1] ? 1 / Number(sh[2]) : Number(sh[2]);
  const ts = /Timestamp:\s*(.+)/.exec(info)?.[1];
  if (ts && !Number.isNaN(new Date(ts).getTime())) meta['DATE-OBS'] = new Date(ts).toISOString();
  return { image: { width: src.width, height: src.height, channels: 1, bitDepth: 16, data }, bayer: parseBayer(pat ? pat.replace(/\//g, '').slice(0, 4) : null), meta };
}
