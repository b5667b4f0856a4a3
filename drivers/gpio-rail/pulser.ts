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
  let lastPulse = 0n;
  let emitted = 0;

  for (let i = 0; i < total; i++) {
    let target: bigint;
    if (i === 0) {
      if (o.stopRequested?.()) return { emitted: 0, reason: 'stopped' };
      target = now();
    } else {
      target = lastPulse + BigInt(Math.round(o.intervalNs(i, total)));
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
    o.step.write(1);
    const sent = now();
    busyUntil(sent + pulseNs);
    o.step.write(0);
    if (o.lateness && i > 0) o.lateness.push(Number(sent - target));
    lastPulse = sent;
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
