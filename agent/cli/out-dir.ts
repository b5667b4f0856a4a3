// Output folders are made before the work starts: a long calibration or stack must not compute for
// minutes and then fail on a missing or read-only folder.
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** mkdir -p the folder `file` goes into and check it is writable; errors name the option and folder. */
export async function ensureParentDir(file: string, option: string): Promise<void> {
  const dir = dirname(resolve(file));
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOTDIR' || e.code === 'EEXIST' ? 'a file is in the way' : e.message;
    throw new Error(`${option} ${file}: cannot write into ${dir} (${why})`);
  }
}
