// The production GpioChip: onoff (sysfs) loaded only when a rail is actually opened, so machines
// without GPIO never load the native module. BCM numbers in, sysfs numbers (base + BCM) out.
import type { Direction, Edge, GpioChip, GpioLine } from '../types.js';
import { headerChip, listSysfsGpioChips } from './sysfs.js';

interface OnoffGpio {
  readSync(): 0 | 1;
  writeSync(value: 0 | 1): void;
  watch(cb: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}
interface OnoffModule {
  Gpio: {
    new (gpio: number, direction: 'in' | 'out' | 'high' | 'low', edge?: Edge): OnoffGpio;
    accessible: boolean;
  };
}

// Variable specifier: onoff is an optionalDependency and must not be resolved at build time.
const ONOFF = 'onoff';

export async function createOnoffChip(opts: { base?: number | null } = {}): Promise<GpioChip & { base: number }> {
  let mod: OnoffModule;
  try {
    const imported = (await import(ONOFF)) as OnoffModule & { default?: OnoffModule };
    mod = imported.default ?? imported;
  } catch (err) {
    throw new Error(`GPIO: cannot load onoff (${(err as Error).message}); install it with npm install onoff`);
  }
  if (!mod.Gpio.accessible) {
    throw new Error('GPIO: /sys/class/gpio is not accessible (not a Pi, or the user is not in the gpio group: sudo usermod -aG gpio $USER)');
  }
  let base = opts.base ?? null;
  if (base === null) {
    const chip = headerChip(await listSysfsGpioChips());
    base = chip?.base ?? 0;
  }
  const chipBase = base;
  return {
    base: chipBase,
    open(line: number, direction: Direction, edge: Edge = 'none'): GpioLine {
      const sysfsLine = chipBase + line;
      let gpio: OnoffGpio;
      try {
        // 'low' opens an output already driven low: no glitch pulse on the step line.
        gpio = new mod.Gpio(sysfsLine, direction === 'out' ? 'low' : 'in', direction === 'in' ? edge : undefined);
      } catch (err) {
        throw new Error(`GPIO: cannot open BCM ${line} (sysfs ${sysfsLine} = base ${chipBase} + ${line}): ${(err as Error).message}`);
      }
      return {
        line,
        write: (v) => gpio.writeSync(v),
        read: () => gpio.readSync(),
        watch: (cb) => gpio.watch((err, value) => { if (!err) cb(value); }),
        unwatchAll: () => gpio.unwatchAll(),
        // Outputs stay exported at their last level: unexporting turns them into floating
        // inputs, and a floating STEP or ENABLE input on the driver board moves or frees the motor.
        release: () => {
          gpio.unwatchAll();
          if (direction === 'in') gpio.unexport();
        },
      };
    },
  };
}
