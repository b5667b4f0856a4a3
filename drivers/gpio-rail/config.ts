// gpio-rail:// URL → rail configuration. Pins are BCM numbers; units are microstep pulses unless
// the parameter name ends in _mm (then steps_per_mm converts). Errors name the parameter.

export interface RailConfig {
  /** BCM line numbers. */
  step: number;
  dir: number;
  enable: number | null;
  limit: number | null;
  /** Level the limit line reads while the switch is pressed. */
  limitActive: 0 | 1;
  /** Level of the enable line that enables the driver (A4988/DRV8825/TMC: low). */
  enableActive: 0 | 1;
  invertDir: boolean;
  /** Microsteps per full step set on the driver's MS pins (informational for the mm conversion). */
  microsteps: number;
  /** Full steps per mm of travel (lead screw pitch × 200 / mm-per-turn), or null when unknown. */
  stepsPerMm: number | null;
  /** Cruise speed, pulses/s. */
  speed: number;
  /** Acceleration, pulses/s². */
  accel: number;
  /** Speed the ramp starts from and ends at, pulses/s. */
  startSpeed: number;
  /** Homing speed, pulses/s. */
  homeSpeed: number;
  /** Pulses to back off the switch after homing. */
  homeBackoff: number;
  /** Soft limits, pulses. */
  min: number;
  max: number;
  /** Step pulse high time, µs (DRV8825 needs ≥ 1.9). */
  pulseUs: number;
  /** Keep the driver enabled between moves (holding torque, no microstep snap). */
  hold: boolean;
  /** Home on connect when a limit switch is wired. */
  homeOnConnect: boolean;
  /** sysfs line offset added to BCM numbers; null = detect (512 on Pi 4, 571 on Pi 5 with 6.6 kernels). */
  chipBase: number | null;
}

const KNOWN = new Set([
  'step', 'dir', 'enable', 'limit', 'limit_active', 'enable_active', 'invert_dir', 'microsteps', 'steps_per_mm',
  'speed', 'speed_mm', 'accel', 'accel_mm', 'start_speed', 'home_speed', 'home_backoff', 'min', 'max', 'min_mm',
  'max_mm', 'pulse_us', 'hold', 'home', 'chip_base',
]);

export function parseRailUrl(url: URL): RailConfig {
  const where = `gpio-rail URL ${url.href}`;
  const q = url.searchParams;
  for (const key of q.keys()) {
    if (!KNOWN.has(key)) throw new Error(`${where}: unknown parameter "${key}" (known: ${[...KNOWN].join(', ')})`);
  }
  const num = (key: string, opts: { int?: boolean; min?: number; positive?: boolean } = {}): number | null => {
    const raw = q.get(key);
    if (raw === null || raw === '') return null;
    const v = Number(raw);
    if (!Number.isFinite(v)) throw new Error(`${where}: ${key}=${raw} is not a number`);
    if (opts.int && !Number.isInteger(v)) throw new Error(`${where}: ${key}=${raw} must be an integer`);
    if (opts.positive && v <= 0) throw new Error(`${where}: ${key}=${raw} must be > 0`);
    if (opts.min !== undefined && v < opts.min) throw new Error(`${where}: ${key}=${raw} must be ≥ ${opts.min}`);
    return v;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const raw = q.get(key);
    if (raw === null || raw === '') return dflt;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new Error(`${where}: ${key}=${raw} must be 0 or 1`);
  };
  const level = (key: string, dflt: 0 | 1): 0 | 1 => {
    const raw = q.get(key);
    if (raw === null || raw === '') return dflt;
    if (raw === 'low' || raw === '0') return 0;
    if (raw === 'high' || raw === '1') return 1;
    throw new Error(`${where}: ${key}=${raw} must be low or high`);
  };
  const pin = (key: string): number | null => num(key, { int: true, min: 0 });

  const step = pin('step');
  const dir = pin('dir');
  if (step === null) throw new Error(`${where}: step=<BCM pin> is required (e.g. gpio-rail://?step=17&dir=27)`);
  if (dir === null) throw new Error(`${where}: dir=<BCM pin> is required (e.g. gpio-rail://?step=17&dir=27)`);
  const enable = pin('enable');
  const limit = pin('limit');
  const used = [step, dir, enable, limit].filter((p): p is number => p !== null);
  if (new Set(used).size !== used.length) throw new Error(`${where}: step, dir, enable and limit must be different pins`);

  const microsteps = num('microsteps', { int: true, positive: true }) ?? 1;
  const stepsPerMm = num('steps_per_mm', { positive: true });
  const pulsesPerMm = stepsPerMm === null ? null : stepsPerMm * microsteps;
  const mm = (key: string): number | null => {
    const v = num(key);
    if (v === null) return null;
    if (pulsesPerMm === null) throw new Error(`${where}: ${key} needs steps_per_mm`);
    return v * pulsesPerMm;
  };
  const either = (pulsesKey: string, mmKey: string): number | null => {
    const a = num(pulsesKey);
    const b = mm(mmKey);
    if (a !== null && b !== null) throw new Error(`${where}: give ${pulsesKey} or ${mmKey}, not both`);
    return a ?? b;
  };

  const speed = either('speed', 'speed_mm') ?? 400 * microsteps;
  const accel = either('accel', 'accel_mm') ?? 2 * speed;
  if (speed <= 0) throw new Error(`${where}: speed must be > 0`);
  if (accel <= 0) throw new Error(`${where}: accel must be > 0`);
  const startSpeed = num('start_speed', { positive: true }) ?? Math.min(speed, Math.max(50, Math.sqrt(2 * accel)));
  if (startSpeed > speed) throw new Error(`${where}: start_speed=${startSpeed} is above speed=${speed}`);
  const minPos = either('min', 'min_mm') ?? 0;
  const maxPos = either('max', 'max_mm') ?? 1_000_000;
  if (!(maxPos > minPos)) throw new Error(`${where}: max (${maxPos}) must be above min (${minPos})`);
  const homeRaw = q.get('home');
  if (homeRaw !== null && homeRaw !== 'connect' && homeRaw !== 'never') {
    throw new Error(`${where}: home=${homeRaw} must be connect or never`);
  }
  if (homeRaw === 'connect' && limit === null) throw new Error(`${where}: home=connect needs limit=<BCM pin>`);

  return {
    step,
    dir,
    enable,
    limit,
    limitActive: level('limit_active', 0),
    enableActive: level('enable_active', 0),
    invertDir: bool('invert_dir', false),
    microsteps,
    stepsPerMm,
    speed,
    accel,
    startSpeed,
    homeSpeed: num('home_speed', { positive: true }) ?? Math.min(speed, Math.max(startSpeed, speed / 4)),
    homeBackoff: num('home_backoff', { int: true, min: 0 }) ?? 10 * microsteps,
    min: Math.round(minPos),
    max: Math.round(maxPos),
    pulseUs: num('pulse_us', { positive: true }) ?? 2,
    hold: bool('hold', true),
    homeOnConnect: homeRaw === 'connect',
    chipBase: num('chip_base', { int: true, min: 0 }),
  };
}

/** Name of the state file: one per step/dir pin pair, so two rails on one Pi keep separate positions. */
export function railStateName(cfg: RailConfig): string {
  return `gpio-rail-step${cfg.step}-dir${cfg.dir}.json`;
}
