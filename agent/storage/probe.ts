// Make a folder and prove it is writable, in bounded time. Node's `mkdir(..., { recursive: true })`
// spins forever at 100 % CPU on some paths (`/proc/self/nope`: the kernel answers ENOENT for a parent
// that exists) and the process then ignores SIGTERM, so folders named in the config are created here
// one level at a time, and the whole probe (mkdir + write + unlink of a probe file) has a deadline.
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join, parse, resolve, sep } from 'node:path';

/** mkdir -p, one component at a time: fails on the first level it cannot create instead of looping. */
export async function ensureDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  const { root } = parse(abs);
  let cur = root;
  for (const part of abs.slice(root.length).split(sep).filter(Boolean)) {
    cur = join(cur, part);
    try {
      await mkdir(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw err;
      if (!(await stat(cur)).isDirectory()) throw Object.assign(new Error(`${cur} is not a folder`), { code: 'ENOTDIR' });
    }
  }
}

export class NotWritableError extends Error {
  constructor(
    readonly field: string,
    readonly dir: string,
    readonly code: string,
    stage: 'create' | 'write' = 'create',
  ) {
    const hint =
      code === 'EROFS'
        ? ' (read-only file system: under systemd, add it to ReadWritePaths= in the unit)'
        : code === 'EACCES' || code === 'EPERM'
          ? ' (no permission for the user the agent runs as)'
          : code === 'ENOSPC'
            ? ' (disk full)'
            : code === 'ETIMEDOUT'
              ? ' (no answer from the file system: a hung network mount?)'
              : '';
    super(`${field}: cannot ${stage} ${dir}: ${code}${hint}`);
    this.name = 'NotWritableError';
  }
}

/**
 * Create `dir` and write + delete a probe file in it, within `timeoutMs`. `allowFull`: a full disk
 * (ENOSPC on the probe write) passes, so the agent can start degraded and free space.
 */
export async function probeWritable(dir: string, field: string, o: { timeoutMs?: number; allowFull?: boolean } = {}): Promise<void> {
  const probe = join(dir, `.skyrig-probe-${process.pid}`);
  let stage: 'create' | 'write' = 'create';
  const work = (async () => {
    await ensureDir(dir);
    stage = 'write';
    try {
      await writeFile(probe, 'probe\n');
    } finally {
      await unlink(probe).catch(() => {});
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), o.timeoutMs ?? 5000);
  });
  try {
    await Promise.race([work, deadline]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (code === 'ENOSPC' && o.allowFull) return;
    work.catch(() => {}); // a probe still hanging after the deadline must not surface later
    throw new NotWritableError(field, dir, code, stage);
  } finally {
    clearTimeout(timer);
  }
}
