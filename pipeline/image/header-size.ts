// What a file claims to be, from its header alone, before anything decodes it: image bombs (a 12 KB
// JPEG claiming 65500×65500) are refused here in milliseconds, and only regular files are opened
// (a FIFO would block open() forever, a device would stream without end).
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { loadSharp } from '../../lib/sharp.js';
import { readFitsHeader } from '../../lib/fits-header.js';
import { commandOnPath } from './commands.js';
import { assertRegularFile, sniffImageKind, type ImageKind } from './formats.js';
import { parseBmpHeader } from './bmp-rows.js';

export { assertRegularFile } from './formats.js';
import { checkImageSize } from './limits.js';
import { parsePngIhdr } from './png-rows.js';
import { parseRadianceHeader } from './radiance.js';
import { readTiffLayoutOf } from './tiff-rows.js';
import { ImageFormatError } from './types.js';

export interface ImageHeaderSize {
  kind: ImageKind;
  width: number;
  height: number;
  /** Samples per pixel as stored, where the header says (null: unknown, e.g. camera RAW). */
  channels: number | null;
}

async function readAt(path: string, n: number, position: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Width, height and components from a JPEG's SOFn segment, walking the markers before it. */
export async function jpegHeaderSize(path: string): Promise<{ width: number; height: number; channels: number }> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(10);
    let pos = 2;
    for (let seg = 0; seg < 4096; seg++) {
      const { bytesRead } = await fh.read(b, 0, 10, pos);
      if (bytesRead < 4 || b[0] !== 0xff) break;
      const m = b[1]!;
      if (m === 0xff) {
        pos += 1; // fill byte
        continue;
      }
      if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        pos += 2;
        continue;
      }
      if (m === 0xda || m === 0xd9) break; // scan data or end before any frame header
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        if (bytesRead < 10) break;
        return { height: b.readUInt16BE(5), width: b.readUInt16BE(7), channels: b[9]! };
      }
      pos += 2 + b.readUInt16BE(2);
    }
  } finally {
    await fh.close();
  }
  throw new ImageFormatError(path, 'JPEG without a frame header (SOF)');
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };

/** Camera RAW: LibRaw's raw-identify (or dcraw -i -v); null when neither is installed. */
async function rawHeaderSize(path: string): Promise<{ width: number; height: number } | null> {
  const tool = commandOnPath('raw-identify') ? ['raw-identify', ['-v', path]] as const : commandOnPath('dcraw') ? ['dcraw', ['-i', '-v', path]] as const : null;
  if (!tool) return null;
  const out = await new Promise<string>((resolve) => {
    // the callback form handles a spawn failure itself; a file it cannot read is the decoder's to report
    execFile(tool[0], [...tool[1]], { timeout: 10_000, maxBuffer: 1 << 20 }, (_err, stdout) => resolve(String(stdout ?? '')));
  });
  let width = 0;
  let height = 0;
  for (const m of out.matchAll(/^(?:Full|Image|Output) size:\s*(\d+)\s*x\s*(\d+)/gm)) {
    width = Math.max(width, Number(m[1]));
    height = Math.max(height, Number(m[2]));
  }
  return width && height ? { width, height } : null;
}

async function headerSize(path: string, kind: ImageKind): Promise<{ width: number; height: number; channels: number | null } | null> {
  switch (kind) {
    case 'jpeg':
      return jpegHeaderSize(path);
    case 'png': {
      const info = parsePngIhdr(await readAt(path, 33, 0), path);
      return { width: info.width, height: info.height, channels: PNG_CHANNELS[info.colorType] ?? null };
    }
    case 'tiff': {
      const t = await readTiffLayoutOf(path);
      return { width: t.width, height: t.height, channels: t.samplesPerPixel };
    }
    case 'fits': {
      const h = await readFitsHeader(path);
      return { width: h.width, height: h.height, channels: h.planes };
    }
    case 'hdr': {
      const h = parseRadianceHeader(await readAt(path, 65536, 0), path);
      return { width: h.width, height: h.height, channels: 3 };
    }
    case 'raw': {
      const r = await rawHeaderSize(path);
      return r && { ...r, channels: 3 };
    }
    case 'bmp': {
      const h = parseBmpHeader(await readAt(path, 54 + 1024 + 84, 0), path);
      return { width: h.width, height: h.height, channels: h.bitCount === 8 && h.grayPalette ? 1 : 3 };
    }
    default: {
      // WebP, GIF, AVIF…: libvips reads only the header for metadata()
      const sharp = await loadSharp();
      const m = await sharp(path, { limitInputPixels: false }).metadata().catch((err: Error) => {
        throw new ImageFormatError(path, `cannot decode: ${err.message.split('\n')[0]}`);
      });
      return m.width && m.height ? { width: m.width, height: m.height, channels: m.channels ?? null } : null;
    }
  }
}

// One look per file version: readImage of a RAW opens a row source, which would look again.
const seen = new Map<string, ImageHeaderSize>();

/**
 * Check an input before it is decoded: a regular file, and a header whose claimed size is within the
 * limits (limits.ts). Returns what the header says; throws an ImageFormatError naming the file.
 */
export async function checkImageFile(path: string): Promise<ImageHeaderSize> {
  const st = await assertRegularFile(path);
  const key = `${path}\0${st.size}\0${st.mtimeMs}`;
  const hit = seen.get(key);
  if (hit) {
    if (hit.width) checkImageSize(path, hit.width, hit.height); // the limits may have changed since
    return hit;
  }
  const kind = await sniffImageKind(path);
  const size = await headerSize(path, kind);
  const result: ImageHeaderSize = size ? { kind, ...size } : { kind, width: 0, height: 0, channels: null };
  if (size) checkImageSize(path, size.width, size.height);
  if (seen.size > 256) seen.clear();
  seen.set(key, result);
  return result;
}
