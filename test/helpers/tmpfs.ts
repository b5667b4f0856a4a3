// A small tmpfs per test (we run as root in CI and on the dev machines), for filling a disk to 100 %.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export async function mountTmpfs(t: ExecutionContext, sizeMb: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skyrig-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`this test mounts a ${sizeMb} MB tmpfs and needs root (mount -t tmpfs): ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`);
  }
  t.teardown(async () => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // already gone
    }
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fill the file system holding `dir` to 100 % with one file written by another process; returns its path. */
export function fillDisk(dir: string, name = 'filler'): string {
  const path = join(dir, name);
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=64k'], { stdio: 'pipe' });
  } catch {
    // dd stops with ENOSPC: that is the point
  }
  return path;
}
