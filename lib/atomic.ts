// Write-to-temp-then-rename: readers (and a power cut) never see a half-written product.
import { rename, unlink, writeFile, open } from 'node:fs/promises';

export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    const fh = await open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw namingPath(err, path);
  }
}

/**
 * fs errors from write/fsync do not say which file ("ENOSPC: no space left on device, write"):
 * prefix the destination, keep the code for callers that test it.
 */
export function namingPath(err: unknown, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (!(e instanceof Error) || e.message.includes(path)) return e as Error;
  return Object.assign(new Error(`${path}: ${e.message}`, { cause: e }), { code: e.code });
}

/** Run `produce(tmpPath)` and rename its output into place only if it succeeds. */
export async function withAtomicPath<T>(path: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(path);
  try {
    const result = await produce(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
