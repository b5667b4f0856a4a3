// INDI focuser behind the Focuser interface: ABS_FOCUS_POSITION where offered, else FOCUS_MOTION +
// REL_FOCUS_POSITION with the position tracked here. A move is done when the driver's vector leaves
// Busy; Alert is an error. Backlash is not handled here: drivers/backlash.ts wraps any Focuser.
import type { Logger } from '../../lib/log.js';
import { DeviceError, type Focuser, type FocuserLimits, type MoveOptions } from '../types.js';
import type { IndiClient } from './client.js';
import { ensureDeviceConnected } from './device.js';
import type { ClientLease } from './shared.js';
import type { IndiVector } from './types.js';

const ABS = 'ABS_FOCUS_POSITION';
const REL = 'REL_FOCUS_POSITION';
const ABORT = 'FOCUS_ABORT_MOTION';
/** How long abort() waits for FOCUS_ABORT_MOTION to be defined before treating it as absent. */
const ABORT_DEFINE_WAIT_MS = 1500;

export interface IndiFocuserOptions {
  /** Longest a move may take when the caller gives no timeout. */
  moveTimeoutMs?: number;
}

export class IndiFocuser implements Focuser {
  private readonly client: IndiClient;
  private readonly moveTimeoutMs: number;
  /** Relative-only focusers: position counted from where we found it at connect. */
  private relPosition = 0;
  private moving: { cancel(err: Error): void } | null = null;

  constructor(
    readonly url: string,
    private readonly device: string,
    private readonly lease: ClientLease,
    private readonly log: Logger,
    options: IndiFocuserOptions = {},
  ) {
    this.client = lease.client;
    this.moveTimeoutMs = options.moveTimeoutMs ?? 120_000;
  }

  async connect(): Promise<void> {
    await ensureDeviceConnected(this.client, this.device);
    // Drivers define their motion properties right after CONNECT.
    const wait = { timeoutMs: 10_000 };
    await this.client.waitForAnyVector(this.device, [ABS, REL], wait).catch((err: unknown) => {
      if (err instanceof DeviceError && err.code === 'timeout') throw new DeviceError('invalid', this.device, `device offers neither ${ABS} nor ${REL} (not a focuser?)`);
      throw err;
    });
  }

  async disconnect(): Promise<void> {
    this.moving?.cancel(new DeviceError('aborted', this.device, 'focuser disconnected'));
    await this.lease.release();
  }

  async position(): Promise<number> {
    await this.ready();
    const abs = this.client.number(this.device, ABS, 'FOCUS_ABSOLUTE_POSITION');
    return abs ?? this.relPosition;
  }

  async limits(): Promise<FocuserLimits> {
    await this.ready();
    const el = this.client.vector(this.device, ABS)?.elements.get('FOCUS_ABSOLUTE_POSITION');
    const maxTravel = this.client.number(this.device, 'FOCUS_MAX', 'FOCUS_MAX_VALUE');
    if (!el) {
      // Relative-only: positions count from where the focuser was at connect, so travel either way.
      const span = maxTravel ?? Number.MAX_SAFE_INTEGER;
      return { min: -span, max: span };
    }
    const min = el.min ?? 0;
    const max = maxTravel ?? el.max ?? Number.MAX_SAFE_INTEGER;
    return { min, max: el.max !== undefined ? Math.min(max, el.max) : max };
  }

  async isMoving(): Promise<boolean> {
    await this.ready();
    return this.client.vector(this.device, ABS)?.state === 'Busy' || this.client.vector(this.device, REL)?.state === 'Busy';
  }

  async temperature(): Promise<number | null> {
    await this.ready();
    return this.client.number(this.device, 'FOCUS_TEMPERATURE', 'TEMPERATURE') ?? null;
  }

  async abort(): Promise<void> {
    await this.ready();
    const c = this.client;
    const d = this.device;
    const moving = this.moving;
    // Drivers define FOCUS_ABORT_MOTION in the same burst as the motion properties, but right after
    // connect it may still be on its way: give it a moment before concluding it is not offered.
    const abortVector = c.vector(d, ABORT) ?? (await c.waitForVector(d, ABORT, { timeoutMs: ABORT_DEFINE_WAIT_MS }).catch(() => null));
    if (abortVector) {
      c.setVector(d, ABORT, { ABORT: true });
      moving?.cancel(new DeviceError('aborted', d, 'move aborted'));
      return;
    }
    // No abort property (indi_simulator_focus 1.9, some DIY drivers). Nothing moving: nothing to stop.
    const busy = c.vector(d, ABS)?.state === 'Busy' || c.vector(d, REL)?.state === 'Busy';
    if (!busy && !moving) {
      this.log.info('INDI focuser not moving; nothing to abort', { device: d });
      return;
    }
    // Moving: asking an absolute focuser for the position it reports now stops it where it is.
    const here = c.number(d, ABS, 'FOCUS_ABSOLUTE_POSITION');
    if (typeof here !== 'number') throw new DeviceError('invalid', d, `cannot stop this move: the driver offers no ${ABORT} and no ${ABS}`);
    this.log.warn(`INDI focuser has no ${ABORT}; stopping by re-targeting the current position`, { device: d, position: here });
    c.setVector(d, ABS, { FOCUS_ABSOLUTE_POSITION: here });
    moving?.cancel(new DeviceError('aborted', d, 'move aborted'));
  }

  async moveTo(target: number, options: MoveOptions = {}): Promise<number> {
    const d = this.device;
    if (!Number.isFinite(target)) throw new DeviceError('invalid', d, `target position must be a number, got ${target}`);
    if (this.moving) throw new DeviceError('busy', d, 'a move is already running');
    await this.ready();
    const position = Math.round(target);
    const { min, max } = await this.limits();
    if (position < min || position > max) throw new DeviceError('limit', d, `target ${position} outside ${min}..${max}`);
    const timeoutMs = options.timeoutMs ?? this.moveTimeoutMs;
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort();
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let cancelled: Error | null = null;
    this.moving = {
      cancel: (err) => {
        cancelled ??= err;
        controller.abort();
      },
    };
    try {
      if (this.client.vector(d, ABS)) return await this.moveAbsolute(position, timeoutMs, controller.signal);
      return await this.moveRelative(position, timeoutMs, controller.signal);
    } catch (err) {
      if (cancelled && (cancelled as DeviceError).code !== 'aborted') throw cancelled;
      if (cancelled || (err instanceof DeviceError && err.code === 'aborted')) {
        // Stop the motor, not just the waiting, and say where it stopped.
        if (!cancelled) await this.stopQuietly();
        throw new DeviceError('aborted', d, `move to ${position} aborted at ${await this.settledPosition()}`);
      }
      if (err instanceof DeviceError && err.code === 'timeout') await this.stopQuietly();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort);
      this.moving = null;
    }
  }

  private async moveAbsolute(position: number, timeoutMs: number, signal: AbortSignal): Promise<number> {
    const d = this.device;
    if (this.client.number(d, ABS, 'FOCUS_ABSOLUTE_POSITION') === position && this.client.vector(d, ABS)!.state !== 'Busy') return position;
    // A stale Ok (a poll sent before the driver read our request) must not end the wait: accept Ok once
    // the driver went Busy, or when it reports the target.
    const v = await this.client.setVectorAndWait(d, ABS, { FOCUS_ABSOLUTE_POSITION: position }, {
      timeoutMs,
      signal,
      accept: (vec: IndiVector, sawBusy: boolean) => sawBusy || vec.elements.get('FOCUS_ABSOLUTE_POSITION')?.value === position,
    });
    const reached = v.elements.get('FOCUS_ABSOLUTE_POSITION')?.value;
    if (typeof reached !== 'number') throw new DeviceError('invalid', d, `${ABS} reports no position`);
    this.log.debug('INDI focuser moved', { device: d, target: position, reached });
    return reached;
  }

  private async moveRelative(position: number, timeoutMs: number, signal: AbortSignal): Promise<number> {
    const d = this.device;
    const delta = position - this.relPosition;
    if (delta === 0) return position;
    const motion = this.client.vector(d, 'FOCUS_MOTION');
    if (motion) {
      const inward = delta < 0;
      if (motion.elements.get('FOCUS_INWARD')?.value !== inward) {
        await this.client.setVectorAndWait(d, 'FOCUS_MOTION', { FOCUS_INWARD: inward, FOCUS_OUTWARD: !inward }, { timeoutMs: 10_000, signal });
      }
    } else if (delta < 0) {
      throw new DeviceError('invalid', d, 'relative-only focuser without FOCUS_MOTION cannot move inward');
    }
    const steps = Math.abs(delta);
    await this.client.setVectorAndWait(d, REL, { FOCUS_RELATIVE_POSITION: steps }, {
      timeoutMs,
      signal,
      accept: (vec: IndiVector, sawBusy: boolean) => sawBusy || vec.elements.get('FOCUS_RELATIVE_POSITION')?.value === steps,
    });
    this.relPosition = position;
    return position;
  }

  /** Position once the driver has stopped reporting Busy (bounded wait), for abort messages. */
  private async settledPosition(): Promise<number | string> {
    const c = this.client;
    if (!c.vector(this.device, ABS)) return this.relPosition;
    const v = await c.waitForVectorState(this.device, ABS, (x) => x.state !== 'Busy', `${ABS} to stop`, { timeoutMs: 3000 }).catch(() => c.vector(this.device, ABS));
    const p = v?.elements.get('FOCUS_ABSOLUTE_POSITION')?.value;
    return typeof p === 'number' ? p : '?';
  }

  private async stopQuietly(): Promise<void> {
    try {
      if (this.client.connected && this.client.vector(this.device, ABORT)) this.client.setVector(this.device, ABORT, { ABORT: true });
    } catch (err) {
      this.log.warn('INDI focuser abort failed', { device: this.device, err: (err as Error).message });
    }
  }

  private async ready(): Promise<void> {
    const c = this.client;
    if (!c.connected) await c.connect();
    const on = c.value(this.device, 'CONNECTION', 'CONNECT') === true;
    if (on && (c.vector(this.device, ABS) || c.vector(this.device, REL))) return;
    await this.connect();
  }
}
