// One line for a file the user may not read or write (EACCES/EPERM): which file, who may, and the
// fix. On an installed station /etc/skyrig/config.yaml and /var/lib/skyrig belong to group skyrig.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';

function groupName(gid: number): string | null {
  try {
    // /etc/group is enough for the local groups install.sh creates (getent would spawn).
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid));
    return line ? line.split(':')[0]! : null;
  } catch {
    return null;
  }
}

export function isAccessError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** `permission denied (mode 0640, group skyrig); <fix>` — the caller puts the path in front. */
export function accessProblem(path: string): string {
  let who = '';
  let group: string | null = null;
  for (const p of [path, dirname(path)]) {
    try {
      const s = statSync(p);
      group = groupName(s.gid);
      who = ` (${p === path ? '' : 'its directory '}mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}, group ${group ?? s.gid})`;
      break;
    } catch {
      // try the directory
    }
  }
  const user = userInfo().username;
  const fix = group && group !== 'root'
    ? `add yourself to group ${group} (sudo usermod -aG ${group} ${user}, then log out and in) or run it with sudo`
    : 'run it with sudo';
  return `permission denied${who}; ${fix}`;
}

/** `<path>: permission denied (…); <fix>` */
export function accessHint(path: string): string {
  return `${path}: ${accessProblem(path)}`;
}
