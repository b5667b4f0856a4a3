// Hostile inputs generated on the spot: tiny files whose headers claim huge frames, and a FIFO.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

const tiny = (format: 'jpeg' | 'png') =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 120, b: 200 } } })[format]().toBuffer();

/** A small valid JPEG whose SOF claims width×height (65500×65500 by default). */
export async function writeJpegBomb(path: string, width = 65500, height = 65500): Promise<number> {
  const jpg = await tiny('jpeg');
  for (let i = 2; i < jpg.length; ) {
    const m = jpg[i + 1]!;
    if (m >= 0xc0 && m <= 0xc2) {
      jpg.writeUInt16BE(height, i + 5);
      jpg.writeUInt16BE(width, i + 7);
      await writeFile(path, jpg);
      return jpg.length;
    }
    i += 2 + jpg.readUInt16BE(i + 2);
  }
  throw new Error('no SOF in the generated JPEG');
}

/** A small PNG whose IHDR (CRC fixed) claims width×height over the original little data. */
export async function writePngBomb(path: string, width = 20000, height = 20000): Promise<number> {
  const png = await tiny('png');
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  await writeFile(path, png);
  return png.length;
}

export function makeFifo(path: string): void {
  execFileSync('mkfifo', [path]);
}
