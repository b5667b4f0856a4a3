// Disk-write accounting for SD-card wear: the process's block-layer writes from /proc/self/io
// (Linux; counts the whole process, so jobs running beside a live stack count too), and whether
// a folder lives on tmpfs (RAM: no wear, lost on power cut or reboot).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ProcessWrites {
  /** Bytes this process caused to be written to storage (write_bytes). */
  written: number;
  /** Of those, dirty pages dropped before writeback (a file deleted or truncated in time). */
  cancelled: number;
  /** written − cancelled: what reached the card. */
  net: number;
}

/** /proc/self/io write counters, or null where the kernel does not provide them. */
export function readProcessWrites(path = '/proc/self/io'): ProcessWrites | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const get = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const written = get('write_bytes'), cancelled = get('cancelled_write_bytes');
  if (!Number.isFinite(written)) return null;
  const c = Number.isFinite(cancelled) ? cancelled : 0;
  return { written, cancelled: c, net: written - c };
}

/** Filesystem type of the mount holding `dir` (longest mount point that prefixes it), from /proc/mounts. */
export function fsTypeOf(dir: string, mounts = '/proc/mounts'): string | null {
  let text: string;
  try {
    text = readFileSync(mounts, 'utf8');
  } catch {
    return null;
  }
  const abs = resolve(dir);
  let best = '', type: string | null = null;
  for (const line of text.split('\n')) {
    const [, mnt, fstype] = line.split(' ');
    if (!mnt || !fstype) continue;
    const m = mnt.replace(/\\040/g, ' ');
    const under = m === '/' || abs === m || abs.startsWith(m.endsWith('/') ? m : `${m}/`);
    if (under && m.length >= best.length) { best = m; type = fstype; }
  }
  return type;
}

/** True when `dir` is in RAM (tmpfs/ramfs): writes there do not wear the card and do not survive a power cut. */
export function isRamDir(dir: string): boolean {
  const t = fsTypeOf(dir);
  return t === 'tmpfs' || t === 'ramfs';
}
