// Bracket frames on disk: listing, checking (sizes, decodability), small grayscale copies for
// alignment, and reading an aligned region (a tile) of a frame as floats.
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { ImageFormatError } from '../image/types.js';
import { readFits, readFitsHeader } from '../image/fits.js';
import { isFitsPath, readAllRows } from '../image/read.js';
import { openRowSource } from '../image/row-source.js';
import { checkImageFile } from '../image/header-size.js';
import { toUint16, toUint8 } from '../image/write.js';
import { apply, type Affine, type SmallGray } from './align.js';
import { alloc, type FloatBits, type Plane } from './pyramid.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp', '.bmp', '.fits', '.fit', '.fts']);

function isBmpPath(path: string): boolean {
  return extname(path).toLowerCase() === '.bmp';
}

/**
 * A sharp pipeline over a frame. FITS (what INDI cameras and the simulated rig write) is not a sharp
 * format: it is read natively and handed over as 16-bit raw pixels.
 */
export async function openFrame(path: string, options: sharp.SharpOptions = {}): Promise<sharp.Sharp> {
  await checkImageFile(path); // regular file, header size within the limits (image bombs)
  if (isBmpPath(path)) {
    // sharp has no BMP loader: our row reader, handed over as 8-bit raw pixels.
    const image = await readAllRows(await openRowSource(path));
    return sharp(toUint8(image), { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 }, limitInputPixels: false });
  }
  if (!isFitsPath(path)) return sharp(path, options);
  const { image } = await readFits(path);
  const channels = image.channels >= 3 ? 3 : 1;
  const img = channels === image.channels ? image : { ...image, channels: 1, data: image.data.subarray(0, image.width * image.height) };
  return sharp(toUint16(img), { raw: { width: image.width, height: image.height, channels }, limitInputPixels: false });
}

/** Image files of a directory (and its sub-folders with `recursive`), or the given files, sorted by name. */
export async function listImages(inputs: string[], options: { recursive?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      // not only regular files: a FIFO or device named like a frame is listed so the reader refuses it by name
      if (!e.isDirectory() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(join(dir, e.name));
    }
    if (options.recursive) for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name));
  };
  for (const p of inputs) {
    const st = await stat(p).catch(() => {
      throw new Error(`${p}: no such file or directory`);
    });
    if (st.isDirectory()) await walk(p);
    else out.push(p);
  }
  return out;
}

export interface FrameInfo {
  path: string;
  width: number;
  height: number;
  channels: number; // 1 or 3
  is16: boolean;
}

export async function frameInfo(path: string): Promise<FrameInfo> {
  await checkImageFile(path);
  try {
    if (isFitsPath(path)) {
      const h = await readFitsHeader(path);
      return { path, width: h.width, height: h.height, channels: h.planes >= 3 ? 3 : 1, is16: true };
    }
    if (isBmpPath(path)) {
      const h = await checkImageFile(path);
      return { path, width: h.width, height: h.height, channels: h.channels === 1 ? 1 : 3, is16: false };
    }
    const m = await sharp(path, { limitInputPixels: false }).metadata();
    if (!m.width || !m.height) throw new Error('no dimensions');
    const ch = (m.channels ?? 3) - (m.hasAlpha ? 1 : 0);
    return { path, width: m.width, height: m.height, channels: ch >= 3 ? 3 : 1, is16: m.depth === 'ushort' || m.depth === 'short' };
  } catch (err) {
    throw new ImageFormatError(path, `cannot read: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** Decode the whole frame once (catches truncation) into a small luminance copy of long side `maxSide`. */
export async function smallGray(path: string, maxSide: number): Promise<{ gray: SmallGray; scale: number }> {
  try {
    const m = await frameInfo(path);
    const s = Math.min(1, maxSide / Math.max(m.width, m.height));
    const w = Math.max(8, Math.round(m.width! * s));
    const h = Math.max(8, Math.round(m.height! * s));
    const { data } = await (await openFrame(path, { failOn: 'truncated', limitInputPixels: false }))
      .resize({ width: w, height: h, fit: 'fill' })
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const f = new Float32Array(w * h);
    for (let i = 0; i < f.length; i++) f[i] = data[i]! / 255;
    return { gray: { w, h, data: f }, scale: w / m.width };
  } catch (err) {
    throw new ImageFormatError(path, `cannot decode: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

async function readRegion(info: FrameInfo, r: Rect, bits: FloatBits): Promise<Plane> {
  const c = info.channels;
  try {
    let s = (await openFrame(info.path, { failOn: 'truncated', limitInputPixels: false })).extract({ left: r.x, top: r.y, width: r.w, height: r.h });
    s = s.removeAlpha().toColourspace(info.is16 ? (c === 1 ? 'grey16' : 'rgb16') : c === 1 ? 'b-w' : 'srgb');
    const { data, info: o } = await s.raw({ depth: info.is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const n = o.width * o.height * o.channels;
    const out = alloc(bits, n);
    if (info.is16) {
      const u = new Uint16Array(data.buffer, data.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = u[i]! / 65535;
    } else for (let i = 0; i < n; i++) out[i] = data[i]! / 255;
    return { w: o.width, h: o.height, c: o.channels, data: out };
  } catch (err) {
    throw new ImageFormatError(info.path, `cannot decode region: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** True when `t` moves no pixel (the frame is read as it is, no resampling). */
export function isIdentity(t: Affine | null): boolean {
  return !t || (Math.abs(t[0] - 1) < 1e-9 && Math.abs(t[4] - 1) < 1e-9 && Math.abs(t[1]) + Math.abs(t[3]) < 1e-9 && Math.abs(t[2]) + Math.abs(t[5]) < 1e-6);
}

/**
 * The part of a frame that lands on `tile` (reference coordinates) after alignment: reads just the
 * needed source rectangle (decoded by sharp, or from `region`: the frame store's codes) and
 * resamples it (Catmull-Rom bicubic, edges replicated).
 */
export async function readAlignedTile(
  info: FrameInfo,
  t: Affine | null,
  tile: Rect,
  bits: FloatBits,
  region: (r: Rect) => Promise<Plane> = (r) => readRegion(info, r, bits),
): Promise<Plane> {
  if (!t || isIdentity(t)) return region(tile);
  const corners = [apply(t, tile.x, tile.y), apply(t, tile.x + tile.w, tile.y), apply(t, tile.x, tile.y + tile.h), apply(t, tile.x + tile.w, tile.y + tile.h)];
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0]))) - 2);
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1]))) - 2);
  const x1 = Math.min(info.width, Math.ceil(Math.max(...corners.map((c) => c[0]))) + 3);
  const y1 = Math.min(info.height, Math.ceil(Math.max(...corners.map((c) => c[1]))) + 3);
  const src = await region({ x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) });
  const c = src.c;
  const out = alloc(bits, tile.w * tile.h * c);
  // Catmull-Rom bicubic: bilinear would soften every frame by up to half a pixel, which costs
  // a focus stack more than it gains from alignment.
  const wx = new Float64Array(4), wy = new Float64Array(4);
  const cubic = (t: number, w: Float64Array) => {
    const t2 = t * t, t3 = t2 * t;
    w[0] = -0.5 * t3 + t2 - 0.5 * t;
    w[1] = 1.5 * t3 - 2.5 * t2 + 1;
    w[2] = -1.5 * t3 + 2 * t2 + 0.5 * t;
    w[3] = 0.5 * t3 - 0.5 * t2;
  };
  // The hot loop of a focus stack (every frame, every band): affine coordinates stepped along the
  // row, the 4×4 neighbourhood's clamped offsets found once per pixel for all channels.
  const sw = src.w, sh = src.h, sd = src.data;
  const [a, b, e, d, f, g] = t;
  const ox = new Int32Array(4), oy = new Int32Array(4);
  for (let y = 0; y < tile.h; y++) {
    const Y = tile.y + y;
    let uRaw = a * tile.x + b * Y + e - x0;
    let vRaw = d * tile.x + f * Y + g - y0;
    for (let x = 0; x < tile.w; x++, uRaw += a, vRaw += d) {
      const u = uRaw < 0 ? 0 : uRaw > sw - 1 ? sw - 1 : uRaw;
      const v = vRaw < 0 ? 0 : vRaw > sh - 1 ? sh - 1 : vRaw;
      const ix = Math.floor(u), iy = Math.floor(v);
      cubic(u - ix, wx);
      cubic(v - iy, wy);
      for (let k = 0; k < 4; k++) {
        const xi = ix - 1 + k, yi = iy - 1 + k;
        ox[k] = (xi < 0 ? 0 : xi >= sw ? sw - 1 : xi) * c;
        oy[k] = (yi < 0 ? 0 : yi >= sh ? sh - 1 : yi) * sw * c;
      }
      const o = (y * tile.w + x) * c;
      if (c === 3) {
        // Colour frames (the common case): the three channels share every index and weight.
        const w0 = wx[0]!, w1 = wx[1]!, w2 = wx[2]!, w3 = wx[3]!;
        const q0 = ox[0]!, q1 = ox[1]!, q2 = ox[2]!, q3 = ox[3]!;
        let r = 0, gr = 0, bl = 0;
        for (let j = 0; j < 4; j++) {
          const row = oy[j]!, wj = wy[j]!;
          const p0 = row + q0, p1 = row + q1, p2 = row + q2, p3 = row + q3;
          r += wj * (w0 * sd[p0]! + w1 * sd[p1]! + w2 * sd[p2]! + w3 * sd[p3]!);
          gr += wj * (w0 * sd[p0 + 1]! + w1 * sd[p1 + 1]! + w2 * sd[p2 + 1]! + w3 * sd[p3 + 1]!);
          bl += wj * (w0 * sd[p0 + 2]! + w1 * sd[p1 + 2]! + w2 * sd[p2 + 2]! + w3 * sd[p3 + 2]!);
        }
        out[o] = r;
        out[o + 1] = gr;
        out[o + 2] = bl;
        continue;
      }
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let j = 0; j < 4; j++) {
          const row = oy[j]! + ch;
          acc += wy[j]! * (wx[0]! * sd[row + ox[0]!]! + wx[1]! * sd[row + ox[1]!]! + wx[2]! * sd[row + ox[2]!]! + wx[3]! * sd[row + ox[3]!]!);
        }
        out[o + ch] = acc;
      }
    }
  }
  return { w: tile.w, h: tile.h, c, data: out };
}
