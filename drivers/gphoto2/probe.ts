// Size and layout of a downloaded frame: JPEG/TIFF via sharp's header read, camera raw via
// `dcraw -i -v` (identify only, no decoding).
import { execFile } from 'node:child_process';
import { extname } from 'node:path';
import { loadSharp } from '../../lib/sharp.js';
import type { FrameFormat } from '../types.js';

export interface FrameProbe {
  format: FrameFormat;
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: 8 | 16;
  bayer?: string;
}

const RAW_EXT = new Set(['.cr2', '.cr3', '.nef', '.nrw', '.arw', '.srw', '.orf', '.rw2', '.raf', '.pef', '.dng', '.raw']);

export async function probeFrame(path: string): Promise<FrameProbe> {
  const ext = extname(path).toLowerCase();
  if (RAW_EXT.has(ext)) return probeRaw(path);
  const sharp = await loadSharp();
  const meta = await sharp(path).metadata();
  const format: FrameFormat = meta.format === 'png' ? 'png' : meta.format === 'tiff' ? 'tiff' : 'jpeg';
  return {
    format,
    width: meta.width ?? 0,
    height: meta.height ?? 0,
    channels: (meta.channels ?? 3) >= 3 ? 3 : 1,
    bitDepth: meta.depth === 'ushort' ? 16 : 8,
  };
}

function probeRaw(path: string): Promise<FrameProbe> {
  return new Promise((resolve, reject) => {
    execFile('dcraw', ['-i', '-v', path], { timeout: 30_000 }, (err, stdout) => {
      if (err) {
        reject(new Error(`${path}: dcraw cannot identify this raw file (${(err as Error).message.split('\n')[0]}); apt-get install dcraw`));
        return;
      }
      const size = /Image size:\s+(\d+)\s*x\s*(\d+)/.exec(stdout) ?? /Output size:\s+(\d+)\s*x\s*(\d+)/.exec(stdout);
      const filter = /Filter pattern:\s*([RGB]{2})\/?([RGB]{2})/.exec(stdout);
      resolve({
        format: 'raw',
        width: size ? Number(size[1]) : 0,
        height: size ? Number(size[2]) : 0,
        channels: 1,
        bitDepth: 16,
        bayer: filter ? filter[1] + filter[2] : undefined,
      });
    });
  });
}
