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
    throw err;
  }
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
