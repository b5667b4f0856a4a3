// Free-space guard and file hashing. A full SD card is the second way an unattended station dies.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { statfs } from 'node:fs/promises';

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
  freePercent: number;
}

export async function diskSpace(path: string): Promise<DiskSpace> {
  const s = await statfs(path);
  const freeBytes = s.bavail * s.bsize;
  const totalBytes = s.blocks * s.bsize;
  return { freeBytes, totalBytes, freePercent: totalBytes ? (100 * freeBytes) / totalBytes : 0 };
}

export class DiskFullError extends Error {
  constructor(path: string, freeMb: number, minMb: number) {
    super(`${path}: only ${freeMb.toFixed(0)} MB free, below retention.min_free_mb=${minMb}; capture refused (free at least ${Math.max(1, Math.ceil(minMb - freeMb))} MB there or lower the limit)`);
    this.name = 'DiskFullError';
  }
}

export async function assertFreeSpace(path: string, minFreeMb: number): Promise<DiskSpace> {
  const d = await diskSpace(path);
  if (d.freeBytes / 1e6 < minFreeMb) throw new DiskFullError(path, d.freeBytes / 1e6, minFreeMb);
  return d;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
