// Step pulse generation on a GPIO line with honest timing. Node timers jitter by a millisecond or
// more, so short intervals are busy-waited against process.hrtime; pulses go out in batches of a
// few milliseconds, then the loop yields so abort requests and edge callbacks get through.
// Each interval is measured from the pulse that really went out: a late pulse (a yield that
// overran, a GC pause) makes that one interval longer, and the schedule never "catches up" by
// squeezing later intervals — a shorter interval than planned is what makes a stepper skip.
import type { GpioLine } from '../types.js';

export interface PulseTrainOptions {
  step: GpioLine;
  total: number;
  /** Planned interval (ns) before pulse i of a train of `total` pulses (i ≥ 1). */
  intervalNs: (i: number, total: number) => number;
  /** High time of each pulse, ns. */
  pulseNs: number;
  /** Checked right before each pulse; true stops the train at once (limit switch closed). */
  halt?: () => boolean;
  /** Checked after each pulse; when true the train decelerates over `stoppingPulses(speed)` and ends. */
  stopRequested?: () => boolean;
  stoppingPulses?: (speedPerS: number) => number;
  /** Called after each pulse has gone out (position accounting). */
  onPulse?: (i: number) => void;
  /** Busy-wait at most this long before yielding to the event loop. Default 8 ms. */
  batchNs?: number;
  /** Waits longer than this sleep on a timer and busy-wait only the last `wakeEarlyNs`. Default 4 ms. */
  sleepAboveNs?: number;
  wakeEarlyNs?: number;
  /** When given, filled with each pulse's lateness against its planned time, ns. */
  lateness?: number[];
  /**
   * After a stall (a gap the motor may have stopped in: the process was descheduled), do not jump
   * back to the planned speed; ramp up again from `startSpeed` with `accel`. A stepper asked to
   * resume at cruise speed from standstill stalls and loses steps.
   */
  reramp?: { startSpeed: number; accel: number };
  /** Filled with the number of stalls that forced a re-ramp. */
  stats?: { rerampCount: number };
}

export interface PulseTrainResult {
  emitted: number;
  reason: 'done' | 'halted' | 'stopped';
}

const now = () => process.hrtime.bigint();
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function busyUntil(t: bigint): void {
  while (now() < t);
}

export async function runPulseTrain(o: PulseTrainOptions): Promise<PulseTrainResult> {
  const batchNs = BigInt(o.batchNs ?? 8_000_000);
  const sleepAboveNs = BigInt(o.sleepAboveNs ?? 4_000_000);
  const wakeEarlyNs = BigInt(o.wakeEarlyNs ?? 1_500_000);
  const pulseNs = BigInt(Math.max(0, Math.round(o.pulseNs)));
  let total = o.total;
  let stopping = false;
  let batchStart = now();
  // Each edge happens somewhere inside write(1): between `before` and `after`. The next interval
  // is counted from `after` (so it is never shorter than planned, whatever froze us inside the
  // write), stalls are detected from `before` (so a freeze during the write counts as a gap).
  let lastBefore = 0n;
  let lastAfter = 0n;
  let emitted = 0;
  // Speed ceiling after a stall, pulses/s; Infinity when running to plan.
  let cap = Infinity;
  const stallNs = o.reramp ? BigInt(Math.round(2e9 / o.reramp.startSpeed)) : 0n;

  for (let i = 0; i < total; i++) {
    let target: bigint;
    let plannedNs = 0n;
    if (i === 0) {
      if (o.stopRequested?.()) return { emitted: 0, reason: 'stopped' };
      target = now();
    } else {
      let planned = o.intervalNs(i, total);
      if (cap !== Infinity && o.reramp) {
        planned = Math.max(planned, 1e9 / cap);
        cap = Math.sqrt(cap * cap + 2 * o.reramp.accel);
        if (1e9 / cap <= o.intervalNs(i, total)) cap = Infinity; // caught up with the plan
      }
      plannedNs = BigInt(Math.round(planned));
      target = lastAfter + plannedNs;
      const wait = target - now();
      if (wait > sleepAboveNs) {
        await sleepMs(Number(wait - wakeEarlyNs) / 1e6);
        batchStart = now();
      } else if (now() - batchStart > batchNs) {
        await yieldToLoop();
        batchStart = now();
      }
      busyUntil(target);
    }
    if (o.halt?.()) return { emitted, reason: 'halted' };
    const t = now();
    // Stalled (a gap long enough for the rotor to stop, and well past the plan): this pulse starts
    // a fresh ramp.
    const gap = t - lastBefore;
    if (o.reramp && i > 0 && gap > stallNs && gap > 2n * plannedNs) {
      cap = o.reramp.startSpeed;
      if (o.stats) o.stats.rerampCount++;
    }
    const before = now();
    o.step.write(1);
    const after = now();
    busyUntil(after + pulseNs);
    o.step.write(0);
    if (o.lateness && i > 0) o.lateness.push(Number(before - target));
    lastBefore = before;
    lastAfter = after;
    emitted++;
    o.onPulse?.(i);
    if (!stopping && o.stopRequested?.()) {
      stopping = true;
      const speed = i === 0 ? 0 : 1e9 / o.intervalNs(i, total);
      const more = o.stoppingPulses ? o.stoppingPulses(speed) : 0;
      total = Math.min(total, i + 1 + more);
      if (total === i + 1) return { emitted, reason: 'stopped' };
    }
  }
  return { emitted, reason: stopping && emitted < o.total ? 'stopped' : 'done' };
}
