// Grayscale planes and bands. A Band is a run of full-width rows of a plane plus `halo` extra rows
// above and below (border-extended at the image edges), which is what every neighbourhood kernel
// needs to produce its output rows. Whole-image work is the special case of one band.
import { openFrame } from './frames.js';
import { ImageFormatError } from '../image/types.js';
import { borderIndex, type BorderMode } from './border.js';

/** A single-channel plane; data may be 8/16-bit codes (scaled by `scale`) or float. */
export interface GrayPlane {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array | Float32Array;
  /** Multiply a sample by this to get 0..1. */
  scale: number;
}

export interface Band {
  width: number;
  /** First image row of the band's output (interior) rows. */
  y0: number;
  /** Number of output rows. */
  rows: number;
  /** Extra rows stored above and below the interior. */
  halo: number;
  /** (rows + 2*halo) * width floats; row r of the storage is image row y0 - halo + r. */
  data: Float32Array;
  /** For 'constant' border: 1 where the stored row is inside the image (for coverage counts). */
  inside: Uint8Array;
}

export function bandFromPlane(p: GrayPlane, y0: number, rows: number, halo: number, border: BorderMode, reuse?: Float32Array): Band {
  const w = p.width;
  const total = rows + 2 * halo;
  const data = reuse && reuse.length >= total * w ? reuse.subarray(0, total * w) : new Float32Array(total * w);
  const inside = new Uint8Array(total);
  const s = p.scale;
  for (let r = 0; r < total; r++) {
    const y = borderIndex(y0 - halo + r, p.height, border);
    const o = r * w;
    if (y < 0) {
      data.fill(0, o, o + w);
      continue;
    }
    inside[r] = 1;
    const src = y * w;
    for (let x = 0; x < w; x++) data[o + x] = p.data[src + x]! * s;
  }
  return { width: w, y0, rows, halo, data, inside };
}

export function planeFromFloat(width: number, height: number, data: Float32Array): GrayPlane {
  return { width, height, data, scale: 1 };
}

/**
 * Decode an image to one luminance plane at its native depth (8-bit → 1 byte per pixel), so a
 * 6000×4000 frame costs 24 MB, not the 288 MB of float RGB.
 */
export async function loadGrayPlane(path: string, options: { downsample?: number } = {}): Promise<GrayPlane> {
  try {
    let s = await openFrame(path, { failOn: 'truncated', limitInputPixels: false });
    const meta = await s.metadata();
    if (!meta.width || !meta.height) throw new Error('no image dimensions');
    const is16 = meta.depth === 'ushort' || meta.depth === 'short';
    const ds = options.downsample ?? 1;
    if (ds > 1) s = s.resize({ width: Math.max(1, Math.floor(meta.width / ds)), height: Math.max(1, Math.floor(meta.height / ds)), fit: 'fill', kernel: 'linear' });
    s = s.toColourspace(is16 ? 'grey16' : 'b-w');
    const { data, info } = await s.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 1) throw new Error(`expected 1 channel after grey conversion, got ${info.channels}`);
    if (is16) {
      const u16 = new Uint16Array(data.buffer, data.byteOffset, info.width * info.height);
      return { width: info.width, height: info.height, data: u16, scale: 1 / 65535 };
    }
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, info.width * info.height), scale: 1 / 255 };
  } catch (err) {
    if (err instanceof ImageFormatError) throw err;
    throw new ImageFormatError(path, `cannot decode: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** Iterate a plane in bands of `rows` output rows with `halo` rows of context. */
export function* bands(p: GrayPlane, rows: number, halo: number, border: BorderMode): Generator<Band> {
  let buf: Float32Array | undefined;
  for (let y0 = 0; y0 < p.height; y0 += rows) {
    const n = Math.min(rows, p.height - y0);
    const b = bandFromPlane(p, y0, n, halo, border, buf);
    buf = b.data;
    yield b;
  }
}
