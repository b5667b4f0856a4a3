// Trapezoidal speed ramp (triangular when the move is too short to reach cruise speed). Pure:
// given the pulse index, the planned speed before that pulse. Constant acceleration means
// v² = v0² + 2·a·n after n pulses, on the way up and, mirrored, on the way down.

export interface RampProfile {
  /** Cruise speed, pulses/s. */
  speed: number;
  /** Acceleration, pulses/s². */
  accel: number;
  /** Speed at the first and last pulse, pulses/s. */
  startSpeed: number;
}

/** Planned speed (pulses/s) for pulse `i` (0-based) of a move of `total` pulses. */
export function rampSpeed(i: number, total: number, p: RampProfile): number {
  const fromEdge = Math.max(0, Math.min(i, total - 1 - i));
  return Math.min(p.speed, Math.sqrt(p.startSpeed * p.startSpeed + 2 * p.accel * fromEdge));
}

/** Interval (ns) between pulse i-1 and pulse i; the first pulse goes out without waiting. */
export function rampIntervalNs(i: number, total: number, p: RampProfile): number {
  if (i <= 0) return 0;
  return 1e9 / rampSpeed(i, total, p);
}

/** Pulses needed to decelerate from `speed` to the start speed. */
export function stoppingPulses(speed: number, p: RampProfile): number {
  return Math.max(0, Math.ceil((speed * speed - p.startSpeed * p.startSpeed) / (2 * p.accel)));
}

/** Total planned duration of a move, seconds (for timeouts and progress). */
export function rampDurationS(total: number, p: RampProfile): number {
  let ns = 0;
  for (let i = 1; i < total; i++) ns += rampIntervalNs(i, total, p);
  return ns / 1e9;
}
