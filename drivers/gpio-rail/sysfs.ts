// sysfs GPIO numbering. Since kernel 6.6 (Raspberry Pi OS Bookworm) the sysfs line numbers are no
// longer the BCM numbers: the header chip gets a dynamic base (512 on a Pi 4, 571 on a Pi 5's RP1),
// and sysfs line = base + BCM. onoff speaks sysfs numbers, so the rail adds the base.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SysfsGpioChip {
  name: string; // gpiochip512
  base: number;
  ngpio: number;
  label: string;
}

/** Labels of the chip wired to the 40-pin header, by Pi generation. */
const HEADER_LABELS = [/^pinctrl-rp1$/, /^pinctrl-bcm2712$/, /^pinctrl-bcm2711$/, /^pinctrl-bcm2835$/, /^raspberrypi-gpio$/];

export async function listSysfsGpioChips(root = '/sys/class/gpio'): Promise<SysfsGpioChip[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith('gpiochip'));
  } catch {
    return [];
  }
  const chips: SysfsGpioChip[] = [];
  for (const name of names) {
    const read = (f: string) => readFile(join(root, name, f), 'utf8').then((s) => s.trim()).catch(() => '');
    const [base, ngpio, label] = await Promise.all([read('base'), read('ngpio'), read('label')]);
    if (base === '') continue;
    chips.push({ name, base: Number(base), ngpio: Number(ngpio), label });
  }
  return chips.sort((a, b) => a.base - b.base);
}

/** The chip carrying the header GPIOs, or null when none is recognised (not a Pi). */
export function headerChip(chips: SysfsGpioChip[]): SysfsGpioChip | null {
  for (const re of HEADER_LABELS) {
    const hit = chips.find((c) => re.test(c.label));
    if (hit) return hit;
  }
  return null;
}
