// What every driver factory gets: passed in, never imported as a singleton.
import type { Logger } from '../lib/log.js';
import type { GpioChip } from './types.js';

export interface DriverContext {
  log: Logger;
  /** Writable directory for driver state that must survive restarts (rail position). */
  stateDir: string;
  /** Shared objects keyed by name, e.g. one simulated rig shared by its camera and focuser. */
  shared: Map<string, unknown>;
  /** GPIO chip to use; defaults to onoff's sysfs chip on a Pi. Tests pass the fake chip. */
  gpioChip?: GpioChip;
}

export function createDriverContext(partial: Partial<DriverContext> & Pick<DriverContext, 'log' | 'stateDir'>): DriverContext {
  return { shared: new Map(), ...partial };
}
