// The simulated focuser: a motor step count with limits, speed and a backlash dead band, driving the
// optical position the rig's camera defocuses by. With realtime=1 moves take |Δ|/speed seconds and can
// be aborted midway; otherwise they are instant but still advance the rig's simulated clock.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DriverContext } from '../drivers/context.js';
import { DeviceError, type Focuser, type FocuserLimits, type MoveOptions } from '../drivers/types.js';
import { bool0 } from './params.js';
import { getOrCreateRig, type SimRig } from './rig.js';

export const DEFAULT_DEAD_BAND = 40;
export const DEFAULT_SPEED = 2000;
const TICK_MS = 20;

export class SimFocuser implements Focuser {
  readonly url: string;
  readonly rig: SimRig;
  readonly realtime: boolean;
  private connected = false;

  constructor(url: URL, ctx: DriverContext) {
    this.url = url.href;
    const { rig, params } = getOrCreateRig(url, ctx);
    this.rig = rig;
    this.realtime = bool0(params, 'realtime', false);
    // A focuser device is a view on the rig's one motor: a re-created device (the agent drops and
    // reopens devices after a failure) finds the motor where the last one left it.
    const firstAttach = !rig.focuserAttached;
    const deadBand = params.get('dead_band');
    const speed = params.get('speed');
    if (firstAttach || deadBand !== undefined || speed !== undefined) {
      rig.mechanics = {
        backlash: typeof deadBand === 'number' ? deadBand : firstAttach ? DEFAULT_DEAD_BAND : rig.mechanics.backlash,
        speed: typeof speed === 'number' ? speed : firstAttach ? DEFAULT_SPEED : rig.mechanics.speed,
      };
    }
    const start = params.get('position');
    if (typeof start === 'number' && firstAttach) {
      const { focusMin, focusMax } = rig.config;
      if (start < focusMin || start > focusMax) throw new DeviceError('invalid', this.url, `position=${start} outside focus_min..focus_max (${focusMin}..${focusMax})`);
      // Settled from an inward approach: optics at the motor count.
      rig.motorPosition = Math.round(start);
      rig.opticalPosition = rig.motorPosition;
    }
    rig.focuserAttached = true;
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.rig.moving?.abort();
    this.connected = false;
  }

  async position(): Promise<number> {
    return this.rig.motorPosition;
  }

  /** Where the optics really are (truth for tests; a real focuser cannot tell). */
  opticalPosition(): number {
    return this.rig.opticalPosition;
  }

  async limits(): Promise<FocuserLimits> {
    return { min: this.rig.config.focusMin, max: this.rig.config.focusMax };
  }

  async isMoving(): Promise<boolean> {
    return this.rig.moving !== null;
  }

  async temperature(): Promise<number | null> {
    return Math.round(this.rig.ambientTemperature() * 100) / 100;
  }

  async abort(): Promise<void> {
    this.rig.moving?.abort();
  }

  async moveTo(position: number, options: MoveOptions = {}): Promise<number> {
    if (!this.connected) throw new DeviceError('disconnected', this.url, 'not connected (call connect() first)');
    if (this.rig.moving) throw new DeviceError('busy', this.url, 'already moving');
    if (!Number.isFinite(position)) throw new DeviceError('invalid', this.url, `target position ${position} is not a number`);
    const target = Math.round(position);
    const { focusMin, focusMax } = this.rig.config;
    if (target < focusMin || target > focusMax) {
      throw new DeviceError('limit', this.url, `target ${target} outside limits ${focusMin}..${focusMax}`);
    }
    if (options.signal?.aborted) throw new DeviceError('aborted', this.url, 'move aborted before it started');
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.rig.moving = ctl;
    const from = this.rig.motorPosition;
    const speed = this.rig.mechanics.speed;
    try {
      if (!this.realtime) {
        this.rig.driveMotorTo(target);
        this.rig.advanceClock(Math.abs(target - from) / speed);
        return target;
      }
      const t0 = Date.now();
      const dir = Math.sign(target - from);
      for (;;) {
        const elapsed = (Date.now() - t0) / 1000;
        const travelled = Math.min(Math.abs(target - from), Math.floor(elapsed * speed));
        this.rig.driveMotorTo(from + dir * travelled);
        if (this.rig.motorPosition === target) return target;
        if (options.timeoutMs !== undefined && Date.now() - t0 >= options.timeoutMs) {
          throw new DeviceError('timeout', this.url, `move to ${target} timed out after ${options.timeoutMs} ms at ${this.rig.motorPosition}`);
        }
        try {
          await sleep(TICK_MS, undefined, { signal: ctl.signal });
        } catch {
          throw new DeviceError('aborted', this.url, `move to ${target} aborted at ${this.rig.motorPosition}`);
        }
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.rig.moving = null;
    }
  }
}
