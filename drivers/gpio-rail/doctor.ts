// What `skyrig doctor` says about GPIO: chips, sysfs numbering (the Pi 5 / Bookworm offset),
// and whether this user may drive the lines.
import { access, constants, readdir, readFile } from 'node:fs/promises';
import { headerChip, listSysfsGpioChips } from './sysfs.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  message: string;
  /** What to do about it, one line. */
  fix?: string;
  /** True when the check found hardware (a camera, a GPIO chip, an INDI device). */
  hardware?: boolean;
}

export interface GpioDoctorPaths {
  dev?: string;
  sysfs?: string;
}

export async function boardModel(): Promise<string | null> {
  for (const p of ['/proc/device-tree/model', '/sys/firmware/devicetree/base/model']) {
    const m = await readFile(p, 'utf8').catch(() => null);
    if (m) return m.replace(/\0/g, '').trim();
  }
  return null;
}

const canReadWrite = (p: string) => access(p, constants.R_OK | constants.W_OK).then(() => true, () => false);

export async function gpioChecks(paths: GpioDoctorPaths = {}): Promise<DoctorCheck[]> {
  const dev = paths.dev ?? '/dev';
  const sysfs = paths.sysfs ?? '/sys/class/gpio';
  const out: DoctorCheck[] = [];
  const chardevs = (await readdir(dev).catch(() => [] as string[])).filter((n) => /^gpiochip\d+$/.test(n)).sort();
  if (!chardevs.length) {
    out.push({ name: 'gpio chips', level: 'ok', message: `no /dev/gpiochip* here: no GPIO (fine off a Pi; a gpio-rail:// focuser needs one)` });
  } else {
    const denied = [];
    for (const c of chardevs) if (!(await canReadWrite(`${dev}/${c}`))) denied.push(c);
    out.push(
      denied.length
        ? { name: 'gpio chips', level: 'warn', hardware: true, message: `${chardevs.join(', ')} present; no read/write access to ${denied.join(', ')}`, fix: 'sudo usermod -aG gpio $USER, then log out and in' }
        : { name: 'gpio chips', level: 'ok', hardware: true, message: `${chardevs.join(', ')} present and accessible` },
    );
  }

  const chips = await listSysfsGpioChips(sysfs);
  const sysfsPresent = await access(sysfs).then(() => true, () => false);
  if (!sysfsPresent) {
    if (chardevs.length) {
      out.push({ name: 'gpio sysfs', level: 'warn', message: `${sysfs} missing: onoff (used by gpio-rail) needs the sysfs GPIO interface`, fix: 'use a kernel with CONFIG_GPIO_SYSFS (Raspberry Pi OS has it)' });
    }
    return out;
  }
  const header = headerChip(chips);
  const list = chips.map((c) => `${c.name} "${c.label}" base ${c.base} (${c.ngpio} lines)`).join('; ');
  if (header) {
    const note = header.base === 0
      ? 'sysfs numbers equal BCM numbers (older kernel)'
      : `sysfs line = ${header.base} + BCM (Pi 5 / Bookworm kernel numbering; e.g. BCM 17 is sysfs ${header.base + 17}); gpio-rail adds this base itself`;
    out.push({ name: 'gpio numbering', level: 'ok', hardware: true, message: `header chip ${header.label} at base ${header.base}: ${note}` });
  } else if (chips.length) {
    out.push({ name: 'gpio numbering', level: 'warn', message: `no Raspberry Pi header chip among ${list}`, fix: 'give the base in the URL: gpio-rail://?…&chip_base=N' });
  }
  if (!(await canReadWrite(`${sysfs}/export`))) {
    out.push({ name: 'gpio export', level: 'warn', message: `${sysfs}/export is not writable by this user`, fix: 'sudo usermod -aG gpio $USER, then log out and in' });
  }
  return out;
}
