// The simulated rig: what a camera and focuser on the same optics share — the clock, the temperature,
// the focuser mechanics (motor count vs optical position, backlash) and therefore the defocus the camera
// sees. One SimRig per `sim://<rig>` name, kept in DriverContext.shared under `sim:<rig>`.
import SunCalc from 'suncalc';
import type { DriverContext } from '../drivers/context.js';
import { DeviceError } from '../drivers/types.js';
import { PARAM_SPECS, bool0, num0, parseSimUrl, rigName, str0, type ParamValue, type ParsedParams, type PsfName } from './params.js';
import { depthOfFocusSteps, fwhmAt, hfrAt, type DefocusModel } from './psf.js';

export interface RigConfig {
  seed: number;
  focusBest: number;
  focusMin: number;
  focusMax: number;
  /** Simulated clock start; null = wall clock. */
  start: Date | null;
  lat: number | null;
  lon: number | null;
  tempStartC: number;
  tempDriftPerHour: number;
  /** Best-focus shift per °C of ambient temperature change (steps/°C). */
  tempCoeff: number;
  /** Clock advance per capture (s) regardless of exposure; null = exposure + readout. */
  timeStepS: number | null;
  psf: PsfName;
  defocus: DefocusModel;
  /** Day scene: best-focus offset of the nearest ground (steps); 0 = everything at infinity. */
  nearFocus: number;
  /** Day scene: relative image scale change per step of defocus (focus breathing). */
  breathing: number;
}

export const RIG_DEFAULTS = {
  seed: 1,
  focusBest: 1000,
  focusMin: 0,
  focusMax: 2000,
  tempStartC: 10,
  tempDriftPerHour: -1,
  tempCoeff: 0,
  fwhm: 2.8,
  defocusBlur: 0.05,
};

export function rigConfigFrom(p: ParsedParams): RigConfig {
  const start = p.get('start');
  const lat = p.get('lat');
  const lon = p.get('lon');
  return {
    seed: num0(p, 'seed', RIG_DEFAULTS.seed),
    focusBest: num0(p, 'focus_best', RIG_DEFAULTS.focusBest),
    focusMin: num0(p, 'focus_min', RIG_DEFAULTS.focusMin),
    focusMax: num0(p, 'focus_max', RIG_DEFAULTS.focusMax),
    start: start instanceof Date ? start : null,
    lat: typeof lat === 'number' ? lat : null,
    lon: typeof lon === 'number' ? lon : null,
    tempStartC: num0(p, 'temp', RIG_DEFAULTS.tempStartC),
    tempDriftPerHour: num0(p, 'temp_drift', RIG_DEFAULTS.tempDriftPerHour),
    tempCoeff: num0(p, 'temp_coeff', RIG_DEFAULTS.tempCoeff),
    timeStepS: typeof p.get('time_step') === 'number' ? (p.get('time_step') as number) : null,
    psf: str0(p, 'psf', 'gaussian'),
    defocus: { fwhmInFocusPx: num0(p, 'fwhm', RIG_DEFAULTS.fwhm), blurPxPerStep: num0(p, 'defocus_blur', RIG_DEFAULTS.defocusBlur) },
    nearFocus: num0(p, 'near_focus', 0),
    breathing: num0(p, 'breathing', 0),
  };
}

export interface FocuserMechanics {
  backlash: number;
  speed: number;
}

export class SimRig {
  readonly name: string;
  readonly config: RigConfig;
  /** Rig-level parameters as given in the URL that created the rig (to detect conflicts). */
  private readonly given: Map<string, ParamValue>;
  private readonly startedAtMs: number;
  private simNowMs: number | null;
  private frameCounter = 0;

  /** Motor step count: what the focuser reports. */
  motorPosition: number;
  /** Where the optics actually are; differs from motorPosition by up to the backlash. */
  opticalPosition: number;
  mechanics: FocuserMechanics = { backlash: 0, speed: 2000 };
  focuserAttached = false;
  /** The move in progress (one motor, whichever focuser device drives it). */
  moving: AbortController | null = null;

  constructor(name: string, params: ParsedParams) {
    this.name = name;
    this.config = rigConfigFrom(params);
    const c = this.config;
    const where = `sim://${name}`;
    if (c.focusMin >= c.focusMax) throw new DeviceError('invalid', where, `focus_min=${c.focusMin} must be below focus_max=${c.focusMax}`);
    if (c.focusBest < c.focusMin || c.focusBest > c.focusMax) {
      throw new DeviceError('invalid', where, `focus_best=${c.focusBest} outside focus_min..focus_max (${c.focusMin}..${c.focusMax})`);
    }
    if ((c.lat === null) !== (c.lon === null)) throw new DeviceError('invalid', where, 'lat and lon must be given together');
    if (c.timeStepS !== null && !c.start) throw new DeviceError('invalid', where, 'time_step needs a simulated clock: add start= (ISO time)');
    this.given = new Map([...params].filter(([k]) => PARAM_SPECS[k]?.scope === 'rig'));
    this.startedAtMs = c.start ? c.start.getTime() : Date.now();
    this.simNowMs = c.start ? c.start.getTime() : null;
    this.motorPosition = Math.round(c.focusBest);
    this.opticalPosition = this.motorPosition;
  }

  /** A second device on the same rig may repeat rig-level parameters, but not contradict them. */
  checkCompatible(params: ParsedParams): void {
    for (const [k, v] of params) {
      if (PARAM_SPECS[k]?.scope !== 'rig') continue;
      const merged = rigConfigFrom(new Map([...this.given, [k, v]]));
      if (JSON.stringify(merged) === JSON.stringify(this.config)) continue;
      const show = (x: ParamValue | undefined) => (x === undefined ? 'the default' : x instanceof Date ? x.toISOString() : String(x));
      throw new DeviceError(
        'invalid',
        `sim://${this.name}`,
        `${k}=${show(v)} conflicts with ${k}=${show(this.given.get(k))} already used by this rig (give rig-level parameters once, or the same on both devices)`,
      );
    }
  }

  // ---- clock -------------------------------------------------------------------------------------

  /** Simulated time when `start` was given (advances with exposures and moves), else the wall clock. */
  now(): Date {
    return new Date(this.simNowMs ?? Date.now());
  }

  get simulatedClock(): boolean {
    return this.simNowMs !== null;
  }

  advanceClock(seconds: number): void {
    if (this.simNowMs !== null) this.simNowMs += Math.round(seconds * 1000);
  }

  /** After a capture: `time_step` when set (a compressed night: one step per frame), else exposure + readout. */
  advanceAfterCapture(exposureAndReadoutS: number): void {
    this.advanceClock(this.config.timeStepS ?? exposureAndReadoutS);
  }

  minutesSinceStart(at = this.now()): number {
    return (at.getTime() - this.startedAtMs) / 60000;
  }

  hoursSinceStart(at = this.now()): number {
    return (at.getTime() - this.startedAtMs) / 3.6e6;
  }

  ambientTemperature(at = this.now()): number {
    return this.config.tempStartC + this.config.tempDriftPerHour * this.hoursSinceStart(at);
  }

  /** Sun altitude in degrees at the site, or null when lat/lon are not set. */
  sunAltitudeDeg(at = this.now()): number | null {
    if (this.config.lat === null || this.config.lon === null) return null;
    return (SunCalc.getPosition(at, this.config.lat, this.config.lon).altitude * 180) / Math.PI;
  }

  nextFrameIndex(): number {
    return this.frameCounter++;
  }

  /** Frames captured so far (the next frame's index). */
  get framesCaptured(): number {
    return this.frameCounter;
  }

  // ---- optics truth ------------------------------------------------------------------------------

  /** Optical position of best focus now (moves with temperature when temp_coeff is set). */
  bestFocus(at = this.now()): number {
    return this.config.focusBest + this.config.tempCoeff * (this.ambientTemperature(at) - this.config.tempStartC);
  }

  /** Signed distance of the optics from best focus (steps). */
  defocusSteps(at = this.now()): number {
    return this.opticalPosition - this.bestFocus(at);
  }

  /** Defocus within which stars stay within √2 of their best FWHM (steps). */
  get depthOfFocusSteps(): number {
    return depthOfFocusSteps(this.config.defocus);
  }

  /** Expected star FWHM / HFR (px) at a defocus (default: now): the V-curve truth. */
  fwhmAt(defocusSteps = this.defocusSteps()): number {
    return fwhmAt(this.config.defocus, defocusSteps);
  }

  /** Day scene magnification at a defocus (1 without focus breathing). */
  scaleAt(defocusSteps = this.defocusSteps()): number {
    return 1 + this.config.breathing * defocusSteps;
  }

  hfrAt(defocusSteps = this.defocusSteps()): number {
    return hfrAt(this.config.defocus, defocusSteps, this.config.psf);
  }

  // ---- focuser mechanics -------------------------------------------------------------------------

  /**
   * Drive the motor to `target`. A dead band of `backlash` steps sits between motor and optics: moving
   * out (increasing) the optics trail the motor by the full band, moving in they sit at the motor count.
   * So optics = motor after an inward approach, motor − backlash after an outward one, and a reversal
   * spends its first `backlash` steps taking up slack without moving the optics.
   */
  driveMotorTo(target: number): void {
    const b = this.mechanics.backlash;
    this.motorPosition = target;
    if (this.opticalPosition < target - b) this.opticalPosition = target - b;
    else if (this.opticalPosition > target) this.opticalPosition = target;
  }
}

export function getOrCreateRig(url: URL, ctx: DriverContext): { rig: SimRig; params: ParsedParams } {
  const params = parseSimUrl(url);
  const name = rigName(url);
  const key = `sim:${name}`;
  const existing = ctx.shared.get(key);
  if (existing instanceof SimRig) {
    existing.checkCompatible(params);
    return { rig: existing, params };
  }
  const rig = new SimRig(name, params);
  ctx.shared.set(key, rig);
  return { rig, params };
}

export { bool0, num0, str0 };
