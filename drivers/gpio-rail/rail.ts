// A stepper focus rail on GPIO (A4988 / DRV8825 / TMC in step/dir mode): ramped moves, optional
// limit switch at the min end used for homing, soft limits, position persisted across restarts,
// abort with a controlled deceleration. Backlash is not handled here (drivers/backlash.ts).
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from '../../lib/log.js';
import { DeviceError } from '../types.js';
import type { Focuser, FocuserLimits, GpioChip, GpioLine, MoveOptions } from '../types.js';
import type { RailConfig } from './config.js';
import { runPulseTrain, type PulseTrainResult } from './pulser.js';
import { rampIntervalNs, stoppingPulses, type RampProfile } from './ramp.js';
import type { RailStateStore } from './state.js';

// Direction setup time before the first step edge: DRV8825 650 ns, A4988 200 ns; 5 µs covers all.
const DIR_SETUP_NS = 5_000n;

interface OpenLines {
  step: GpioLine;
  dir: GpioLine;
  enable: GpioLine | null;
  limit: GpioLine | null;
}

export interface GpioRailDeps {
  chip: () => Promise<GpioChip>;
  store: RailStateStore;
  log: Logger;
}

export class GpioRail implements Focuser {
  private lines: OpenLines | null = null;
  private pos = 0;
  private homed = false;
  private moving: Promise<unknown> | null = null;
  private stopReason: 'abort' | 'timeout' | null = null;
  private enabled = false;
  private readonly lockPath: string;

  constructor(
    readonly url: string,
    readonly config: RailConfig,
    private readonly deps: GpioRailDeps,
  ) {
    this.lockPath = `${deps.store.path}.lock`;
  }

  async connect(): Promise<void> {
    if (this.lines) return;
    // Never touch the lines while another process is pulsing them.
    const mover = await this.liveLockHolder();
    if (mover !== null) throw new DeviceError('busy', this.url, `process ${mover} is moving this rail (skyrig focuser --abort stops it)`);
    const chip = await this.deps.chip();
    const opened: GpioLine[] = [];
    const open = (line: number, dir: 'in' | 'out', edge?: 'both') => {
      try {
        const l = chip.open(line, dir, edge);
        opened.push(l);
        return l;
      } catch (err) {
        for (const l of opened) l.release();
        throw new DeviceError('not-found', this.url, (err as Error).message, { cause: err });
      }
    };
    const c = this.config;
    const step = open(c.step, 'out');
    const dir = open(c.dir, 'out');
    const enable = c.enable === null ? null : open(c.enable, 'out');
    const limit = c.limit === null ? null : open(c.limit, 'in', 'both');
    step.write(0);
    this.lines = { step, dir, enable, limit };
    this.setEnabled(c.hold);

    const saved = await this.deps.store.load();
    if (!saved) {
      this.pos = 0;
      this.homed = false;
      this.deps.log.warn('gpio-rail: no saved position, assuming 0; home the rail or move it to a known place', { state: this.deps.store.path });
    } else {
      this.pos = saved.position;
      this.homed = saved.homed && !saved.moving;
      if (saved.moving) {
        this.deps.log.warn('gpio-rail: the last move was interrupted (process died mid-move); position is approximate, home the rail', {
          position: saved.position,
        });
        await this.persist();
      }
    }
    if (c.homeOnConnect) await this.home();
  }

  async disconnect(): Promise<void> {
    if (!this.lines) return;
    if (this.moving) await this.abort();
    // hold: the driver stays enabled after we let go (the lines keep their levels), so the rotor
    // keeps its microstep position between `skyrig focuser` runs.
    if (!this.config.hold) this.setEnabled(false);
    const { step, dir, enable, limit } = this.lines;
    for (const l of [step, dir, enable, limit]) l?.release();
    this.lines = null;
  }

  async position(): Promise<number> {
    return this.pos;
  }

  async limits(): Promise<FocuserLimits> {
    return { min: this.config.min, max: this.config.max };
  }

  async isMoving(): Promise<boolean> {
    return this.moving !== null;
  }

  async temperature(): Promise<number | null> {
    return null;
  }

  isHomed(): boolean {
    return this.homed;
  }

  /** Position in mm from min, when steps_per_mm is configured. */
  positionMm(): number | null {
    const c = this.config;
    return c.stepsPerMm === null ? null : (this.pos - c.min) / (c.stepsPerMm * c.microsteps);
  }

  async moveTo(target: number, options: MoveOptions = {}): Promise<number> {
    const lines = this.requireLines();
    if (!Number.isFinite(target)) throw new DeviceError('invalid', this.url, `target position ${target} is not a number`);
    const goal = Math.round(target);
    const { min, max } = this.config;
    if (goal < min || goal > max) {
      throw new DeviceError('limit', this.url, `position ${goal} is outside the soft limits ${min}..${max}`);
    }
    const delta = goal - this.pos;
    if (delta === 0) return this.pos;
    if (delta < 0 && this.limitPressed(lines)) {
      throw new DeviceError('limit', this.url, `limit switch is closed at position ${this.pos}; move out or home the rail`);
    }
    const c = this.config;
    const result = await this.run(delta, { speed: c.speed, accel: c.accel, startSpeed: c.startSpeed }, options);
    if (result.reason === 'halted') {
      const expected = this.pos;
      this.pos = c.min - c.homeBackoff;
      this.homed = true;
      await this.persist();
      throw new DeviceError('limit', this.url,
        `limit switch closed at counted position ${expected} while moving to ${goal}; position re-synced to ${this.pos} (the switch)`);
    }
    return this.pos;
  }

  /** Drive toward the switch at homing speed until it closes, back off, call that position `min`. */
  async home(options: MoveOptions = {}): Promise<number> {
    const lines = this.requireLines();
    const c = this.config;
    if (!lines.limit) throw new DeviceError('invalid', this.url, 'homing needs a limit switch (limit=<BCM pin> in the URL)');
    const constant: RampProfile = { speed: c.homeSpeed, accel: c.accel, startSpeed: c.homeSpeed };
    if (this.limitPressed(lines)) {
      // Already on the switch: step off it first so the edge we home on is the same every time.
      const off = await this.run(c.homeBackoff * 4 + 1, constant, options);
      if (this.limitPressed(lines)) {
        throw new DeviceError('limit', this.url, `limit switch still closed after moving ${off.emitted} pulses away from it (check limit_active)`);
      }
    }
    const span = Math.ceil((c.max - c.min) * 1.1) + 4 * c.homeBackoff + 100;
    const seek = await this.run(-span, constant, options);
    if (seek.reason !== 'halted') {
      this.homed = false;
      await this.persist();
      throw new DeviceError('limit', this.url, `limit switch not reached after ${seek.emitted} pulses toward it (wiring or limit_active?)`);
    }
    this.pos = c.min - c.homeBackoff;
    if (c.homeBackoff > 0) await this.run(c.homeBackoff, constant, options);
    this.pos = c.min;
    this.homed = true;
    await this.persist();
    this.deps.log.info('gpio-rail: homed', { position: this.pos });
    return this.pos;
  }

  async abort(): Promise<void> {
    if (this.moving) {
      this.stopReason ??= 'abort';
      await this.moving.catch(() => {});
      return;
    }
    await this.abortOtherProcess();
  }

  private requireLines(): OpenLines {
    if (!this.lines) throw new DeviceError('disconnected', this.url, 'rail is not connected (call connect() first)');
    if (this.moving) throw new DeviceError('busy', this.url, 'rail is already moving');
    return this.lines;
  }

  private limitPressed(lines: OpenLines): boolean {
    return lines.limit !== null && lines.limit.read() === this.config.limitActive;
  }

  private setEnabled(on: boolean): void {
    const en = this.lines?.enable;
    this.enabled = on;
    if (!en) return;
    const active = this.config.enableActive;
    en.write(on ? active : ((1 - active) as 0 | 1));
  }

  /** One ramped pulse train of |delta| pulses; resolves with why it ended, throws on abort/timeout. */
  private async run(delta: number, profile: RampProfile, options: MoveOptions): Promise<PulseTrainResult> {
    const lines = this.lines!;
    const sign = delta > 0 ? 1 : -1;
    const work = this.runInner(lines, sign, Math.abs(delta), profile, options);
    this.moving = work;
    try {
      return await work;
    } finally {
      this.moving = null;
    }
  }

  private async runInner(lines: OpenLines, sign: 1 | -1, total: number, profile: RampProfile, options: MoveOptions): Promise<PulseTrainResult> {
    const c = this.config;
    this.stopReason = null;
    const onAbort = () => (this.stopReason ??= 'abort');
    if (options.signal?.aborted) throw new DeviceError('aborted', this.url, `move aborted before it started (position ${this.pos})`);
    await this.takeLock();
    try {
      await this.persist(true);
    } catch (err) {
      await rm(this.lockPath, { force: true });
      throw new DeviceError('io', this.url, `cannot save the rail position before moving: ${(err as Error).message}`, { cause: err });
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // An abort that arrived while we took the lock and saved the position has no event left to fire.
    if (options.signal?.aborted) onAbort();
    const timer = options.timeoutMs ? setTimeout(() => (this.stopReason ??= 'timeout'), options.timeoutMs) : null;
    let result: PulseTrainResult;
    try {
      if (!this.enabled) {
        this.setEnabled(true);
        await new Promise((r) => setTimeout(r, 2)); // driver wake-up (DRV8825: 1 ms)
      }
      const positiveLevel: 0 | 1 = c.invertDir ? 0 : 1;
      lines.dir.write(sign > 0 ? positiveLevel : ((1 - positiveLevel) as 0 | 1));
      const settle = process.hrtime.bigint() + DIR_SETUP_NS;
      while (process.hrtime.bigint() < settle);
      const limit = lines.limit;
      result = await runPulseTrain({
        step: lines.step,
        total,
        intervalNs: (i, n) => rampIntervalNs(i, n, profile),
        pulseNs: c.pulseUs * 1000,
        // Only a move toward the switch can be stopped by it.
        halt: sign < 0 && limit ? () => limit.read() === c.limitActive : undefined,
        stopRequested: () => this.stopReason !== null,
        stoppingPulses: (v) => stoppingPulses(v, profile),
        reramp: { startSpeed: profile.startSpeed, accel: profile.accel },
        onPulse: () => {
          this.pos += sign;
        },
      });
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (!c.hold) this.setEnabled(false);
      await this.persist();
      await rm(this.lockPath, { force: true });
    }
    if (result.reason === 'stopped') {
      const why = this.stopReason === 'timeout' ? 'timeout' : 'aborted';
      const what = why === 'timeout' ? `move timed out after ${options.timeoutMs} ms` : 'move aborted';
      throw new DeviceError(why, this.url, `${what}; stopped at position ${this.pos}`);
    }
    return result;
  }

  private async persist(moving = false): Promise<void> {
    await this.deps.store.save({ position: this.pos, homed: this.homed, moving });
  }

  /** Exclusive move lock (pid inside): two processes never pulse the same rail at once. */
  private async takeLock(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(this.lockPath, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return; // unwritable state dir: persist() reports it
        const holder = await this.liveLockHolder();
        if (holder !== null) throw new DeviceError('busy', this.url, `process ${holder} is moving this rail (skyrig focuser --abort stops it)`);
        await rm(this.lockPath, { force: true }); // stale: its process is gone
      }
    }
  }

  /** Pid of another live process holding the move lock, or null. */
  private async liveLockHolder(): Promise<number | null> {
    const pid = Number((await readFile(this.lockPath, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  /** `skyrig focuser --abort` runs in another process: signal the one that is moving the rail. */
  private async abortOtherProcess(): Promise<void> {
    const pid = await this.liveLockHolder();
    if (pid === null) {
      await rm(this.lockPath, { force: true }); // none, or a stale lock of a dead process
      return;
    }
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      return;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const still = await readFile(this.lockPath, 'utf8').catch(() => null);
      if (still === null) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new DeviceError('timeout', this.url, `process ${pid} moving the rail did not stop within 10 s`);
  }
}
