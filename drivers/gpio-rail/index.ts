// gpio-rail:// → a GpioRail. The GPIO chip is ctx.gpioChip when given (tests: the fake chip),
// otherwise onoff over sysfs, loaded only now.
import type { DriverContext } from '../context.js';
import { parseRailUrl, railStateName } from './config.js';
import { createOnoffChip } from './onoff-chip.js';
import { GpioRail } from './rail.js';
import { railStateStore } from './state.js';

export { GpioRail } from './rail.js';
export { parseRailUrl, type RailConfig } from './config.js';

export async function createGpioRail(url: URL, ctx: DriverContext): Promise<GpioRail> {
  const config = parseRailUrl(url);
  const given = ctx.gpioChip;
  return new GpioRail(url.href, config, {
    chip: async () => given ?? (await createOnoffChip({ base: config.chipBase })),
    store: railStateStore(ctx.stateDir, railStateName(config)),
    log: ctx.log.child({ device: 'gpio-rail' }),
  });
}
