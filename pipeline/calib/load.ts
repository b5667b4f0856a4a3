// Loading one light/dark/flat/bias frame as the sensor delivered it: FITS (8/16/32-bit
// integer, float; BAYERPAT mosaics stay one channel here so calibration runs on the mosaic),
// 8-bit JPEG/PNG, 16-bit PNG/TIFF (through readImage), and camera RAW through dcraw
// (`-d -4`: linear 16-bit mosaic, black level removed, no white balance or interpolation).
import { execFile } from 'node:child_process';
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { bytesPerSample, decodeFitsSamples, readFitsHeader } from '../image/fits.js';
import { isFitsPath, readImage } from '../image/read.js';
import { ImageFormatError, type ImageF32, type ImageMeta } from '../image/types.js';
import { bayerPatternFromCards, BAYER_PATTERNS, type BayerPattern } from '../image/debayer.js';

const execFileP = promisify(execFile);

export const RAW_EXTENSIONS = new Set(['.cr2', '.cr3', '.nef', '.arw', '.dng', '.raf', '.orf', '.rw2', '.pef', '.srw']);
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

export async function loadFrame(path: string): Promise<LoadedFrame> {
  const ext = extname(path).toLowerCase();
  let image: ImageF32;
  let meta: ImageMeta = {};
  let bayer: BayerPattern | null = null;
  if (RAW_EXTENSIONS.has(ext)) {
    ({ image, bayer, meta } = await readRawWithDcraw(path));
  } else if (isFitsPath(path)) {
    ({ image, meta } = await readFitsWhole(path));
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
async function readFitsWhole(path: string): Promise<{ image: ImageF32; meta: ImageMeta }> {
  const h = await readFitsHeader(path);
  const n = h.width * h.height * h.planes;
  const need = h.dataOffset + n * bytesPerSample(h.bitpix);
  const bytes = await readFile(path);
  if (bytes.length < need) throw new ImageFormatError(path, `truncated FITS data (${bytes.length} bytes, need ${need})`);
  const planar = new Float32Array(n);
  const full = h.bitpix === 8 ? 255 : h.bitpix === 16 ? 65535 : h.bitpix === 32 ? (h.bzero === 2147483648 ? 4294967295 : 2147483647) : 1;
  if (h.bitpix === 16) {
    const raw = Buffer.from(bytes.subarray(h.dataOffset, h.dataOffset + 2 * n)); // aligned copy
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

async function readRawWithDcraw(path: string): Promise<{ image: ImageF32; bayer: BayerPattern | null; meta: ImageMeta }> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new ImageFormatError(path, 'no such file');
  let info: string;
  let pgm: Buffer;
  try {
    info = (await execFileP('dcraw', ['-i', '-v', path], { maxBuffer: 1 << 20 })).stdout;
    pgm = (await execFileP('dcraw', ['-c', '-d', '-4', '-t', '0', path], { encoding: 'buffer', maxBuffer: 1 << 30 })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer | string };
    if (e.code === 'ENOENT') throw new ImageFormatError(path, 'dcraw is not installed (apt-get install dcraw)');
    throw new ImageFormatError(path, `dcraw cannot decode: ${String(e.stderr ?? e.message).trim().split('\n')[0]}`);
  }
  const m = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  if (!m) throw new ImageFormatError(path, 'dcraw gave no PGM output');
  const w = Number(m[1]), h = Number(m[2]), maxv = Number(m[3]);
  const off = m[0].length;
  const bps = maxv > 255 ? 2 : 1;
  if (pgm.length < off + w * h * bps) throw new ImageFormatError(path, 'truncated raw data');
  const data = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) data[i] = (bps === 2 ? pgm.readUInt16BE(off + 2 * i) : pgm[off + i]!) / maxv;
  const pat = /Filter pattern:\s*([RGB/]+)/.exec(info)?.[1];
  const meta: ImageMeta = {};
  const iso = /ISO speed:\s*(\d+)/.exec(info)?.[1];
  if (iso) meta.ISOSPEED = Number(iso);
  const sh = /Shutter:\s*(?:1\/)?([\d.]+)/.exec(info);
  if (sh) meta.EXPTIME = /Shutter:\s*1\//.test(info) ? 1 / Number(sh[1]) : Number(sh[1]);
  const ts = /Timestamp:\s*(.+)/.exec(info)?.[1];
  if (ts && !Number.isNaN(new Date(ts).getTime())) meta['DATE-OBS'] = new Date(ts).toISOString();
  return { image: { width: w, height: h, channels: 1, bitDepth: 16, data }, bayer: parseBayer(pat ? pat.replace(/\//g, '').slice(0, 4) : null), meta };
}
