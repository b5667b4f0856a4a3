// One agent per data dir. A second `skyrig run` on the same dir (a manual run while the service is
// up) would mark the first one's running runs aborted, adopt its half-written frames and drive the
// same camera. `<data>/skyrig.pid` names the owner; a stale file (crash, SIGKILL, reboot) is taken over.
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PID_FILE = 'skyrig.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is `pid` a running skyrig (not an unrelated process that got the number after a reboot)? */
async function isAgent(pid: number): Promise<boolean> {
  if (!alive(pid)) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return cmdline === null || cmdline.includes('skyrig');
}

/** Take the data dir; resolves with the release function. Throws naming the other agent's pid. */
export async function lockDataDir(dataDir: string, pid = process.pid, onFull?: () => void): Promise<() => Promise<void>> {
  const path = join(dataDir, PID_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${pid}\n`, { flag: 'wx' });
      return async () => {
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner === pid) await unlink(path).catch(() => {});
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        // A full disk must not stop the start (the agent runs degraded and frees space): go unlocked.
        // The empty file left behind reads as stale next time.
        await unlink(path).catch(() => {});
        onFull?.();
        return async () => {};
      }
      if (code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (owner === pid) return async () => {};
    if (Number.isInteger(owner) && owner > 0 && (await isAgent(owner))) {
      throw new Error(`${dataDir}: another skyrig agent (pid ${owner}) is using this data dir; stop it first (systemctl stop skyrig) or give this one another paths.data_dir`);
    }
    await unlink(path).catch(() => {}); // stale: the owner is gone
  }
  throw new Error(`${path}: could not take the data dir lock`);
}
