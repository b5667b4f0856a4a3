// Backlash compensation, for every focuser backend, in this one place. Gear and lead-screw slack
// means the optics stop somewhere different depending on which way the motor last turned; so every
// move ends with its final approach from the same direction. A move against that direction first
// overshoots by `steps`, then comes back.
import type { Focuser, FocuserLimits, MoveOptions } from './types.js';

export interface BacklashOptions {
  /** Overshoot in focuser steps; 0 disables compensation. */
  steps: number;
  /** Direction of the final approach: 'out' = increasing position, 'in' = decreasing. */
  approach: 'in' | 'out';
}

export interface BacklashFocuser extends Focuser {
  readonly inner: Focuser;
  readonly backlash: BacklashOptions;
}

export function withBacklash(focuser: Focuser, options: BacklashOptions): BacklashFocuser {
  if (!Number.isInteger(options.steps) || options.steps < 0) {
    throw new Error(`backlash: steps must be a whole number ≥ 0, got ${options.steps}`);
  }
  if (options.approach !== 'in' && options.approach !== 'out') {
    throw new Error(`backlash: approach must be "in" or "out", got ${String(options.approach)}`);
  }
  const sign = options.approach === 'out' ? 1 : -1;
  let limits: FocuserLimits | null = null;

  return {
    inner: focuser,
    backlash: { ...options },
    get url() {
      return focuser.url;
    },
    connect: () => focuser.connect(),
    disconnect: () => focuser.disconnect(),
    position: () => focuser.position(),
    abort: () => focuser.abort(),
    limits: () => focuser.limits(),
    isMoving: () => focuser.isMoving(),
    temperature: () => focuser.temperature(),
    async moveTo(target: number, moveOptions?: MoveOptions): Promise<number> {
      const from = await focuser.position();
      const travel = target - from;
      // Moving along the approach direction already ends with the right side of the slack engaged.
      if (options.steps === 0 || travel === 0 || Math.sign(travel) === sign) return focuser.moveTo(target, moveOptions);
      limits ??= await focuser.limits();
      // Overshoot past the target against the approach, clamped to the travel the focuser has.
      let overshoot = target - sign * options.steps;
      overshoot = Math.min(limits.max, Math.max(limits.min, overshoot));
      if (overshoot !== target) await focuser.moveTo(overshoot, moveOptions);
      return focuser.moveTo(target, moveOptions);
    },
  };
}
