// Doctor checks of this machine: group membership for device access, free disk, a writable state dir.
import { existsSync } from 'node:fs';
import { access, constants, mkdir, readFile, stat, statfs } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { DoctorCheck } from '../../../../drivers/gpio-rail/doctor.js';

export async function groupChecks(): Promise<DoctorCheck[]> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  const groups = new Map<string, { gid: number; members: string[] }>();
  for (const line of text.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (name && gid) groups.set(name, { gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) });
  }
  const mine = new Set(process.getgroups?.() ?? []);
  const user = userInfo().username;
  const isRoot = process.getuid?.() === 0;
  const need: Record<string, string> = { gpio: 'GPIO lines (gpio-rail)', plugdev: 'USB cameras (gphoto2)', video: 'V4L2 / Pi cameras' };
  const out: DoctorCheck[] = [];
  for (const [group, why] of Object.entries(need)) {
    const g = groups.get(group);
    if (isRoot) out.push({ name: `group ${group}`, level: 'ok', message: `running as root: ${why} not limited by group` });
    else if (!g) out.push({ name: `group ${group}`, level: 'ok', message: `no ${group} group on this system (${why}; created by Raspberry Pi OS / udev rules)` });
    else if (mine.has(g.gid)) out.push({ name: `group ${group}`, level: 'ok', message: `${user} is in ${group} (${why})` });
    else if (g.members.includes(user)) {
      out.push({ name: `group ${group}`, level: 'warn', message: `${user} was added to ${group} but this session predates it (${why})`, fix: 'log out and back in (or newgrp ' + group + ')' });
    } else out.push({ name: `group ${group}`, level: 'warn', message: `${user} is not in ${group}: needed for ${why}`, fix: `sudo usermod -aG ${group} ${user}, then log out and in` });
  }
  return out;
}

export async function diskCheck(dir: string): Promise<DoctorCheck> {
  // A data dir the agent has not created yet lives on the file system of its nearest parent.
  let probe = dir;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  const where = probe === dir ? dir : `${dir} (not created yet; on ${probe})`;
  try {
    const s = await statfs(probe);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const pct = total > 0 ? (100 * free) / total : 0;
    const gib = (free / 2 ** 30).toFixed(1);
    const msg = `${where}: ${gib} GiB free (${pct.toFixed(0)}%)`;
    if (free < 2 ** 30 || pct < 5) return { name: 'disk', level: 'fail', message: msg, fix: 'free space or point the spool elsewhere: frames are not captured into a full disk' };
    if (pct < 15) return { name: 'disk', level: 'warn', message: msg, fix: 'retention will have to delete old runs soon; add space' };
    return { name: 'disk', level: 'ok', message: msg };
  } catch (err) {
    return { name: 'disk', level: 'fail', message: `${dir}: ${(err as Error).message}`, fix: 'create the data directory or pass --data-dir' };
  }
}

export async function stateDirCheck(dir: string): Promise<DoctorCheck> {
  await mkdir(dir, { recursive: true }).catch(() => {});
  const ok = await access(dir, constants.W_OK).then(() => true, () => false);
  if (ok) return { name: 'state dir', level: 'ok', message: `${dir} writable (rail positions are kept here)` };
  // On an installed station the agent's state dir belongs to the service user: fine for the agent,
  // only a rail moved from this shell could not record its position there.
  const owner = await stat(dir).then((s) => s.uid, () => null);
  const ownerName = owner === null ? null : await userName(owner);
  if (owner !== null && owner !== process.getuid?.()) {
    return {
      name: 'state dir',
      level: 'warn',
      message: `${dir} belongs to ${ownerName ?? `uid ${owner}`} (the agent keeps rail positions there); \`skyrig focuser\` from this shell cannot record a move`,
      fix: ownerName ? `sudo -u ${ownerName} skyrig focuser …` : 'run skyrig focuser as the agent\'s user',
    };
  }
  return { name: 'state dir', level: 'warn', message: `${dir} not writable: a gpio-rail cannot persist its position`, fix: 'pass --state-dir or set SKYRIG_STATE_DIR' };
}

async function userName(uid: number): Promise<string | null> {
  const text = await readFile('/etc/passwd', 'utf8').catch(() => '');
  return text.split('\n').find((l) => l.split(':')[2] === String(uid))?.split(':')[0] ?? null;
}
