// Interval scheduler: each enabled job with `every` becomes due at fixed steps from agent start
// (no drift from run durations); a due job whose `when` (night/day) does not hold is skipped until its
// next step. The scheduler only decides; the agent's queue runs jobs one at a time per camera.
// Long periods (`every: 30d`) are kept as due dates and the timer is re-armed in chunks of at most
// MAX_TIMER_CHUNK_MS, since Node's setTimeout overflows past 2^31-1 ms (it then fires after 1 ms).
import type { JobConfig } from '../config/schema.js';

export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const realClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Longest single timer the scheduler arms; a later due date is reached by re-arming. */
export const MAX_TIMER_CHUNK_MS = 24 * 3_600_000;

export interface SchedulerDeps {
  clock: Clock;
  /** Whether the job's `when` holds now. */
  allowed(job: JobConfig, at: Date): boolean;
  /** Called when a job is due and allowed. */
  trigger(job: JobConfig): void;
  onSkip?(job: JobConfig, reason: string): void;
}

export class Scheduler {
  private readonly next = new Map<string, number>();
  private timer: { cancel(): void } | null = null;
  private stopped = true;

  constructor(private readonly jobs: JobConfig[], private readonly deps: SchedulerDeps) {}

  start(): void {
    this.stopped = false;
    const t0 = this.deps.clock.now().getTime();
    // First run right away for every scheduled job: a restarted station should not wait an interval.
    for (const job of this.scheduled()) this.next.set(job.name, t0);
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** When each scheduled job next becomes due. */
  upcoming(): { job: string; at: Date }[] {
    return [...this.next.entries()].map(([job, at]) => ({ job, at: new Date(at) }));
  }

  private scheduled(): JobConfig[] {
    return this.jobs.filter((j) => j.enabled && j.every !== undefined && j.every > 0);
  }

  private arm(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now().getTime();
    let soonest = Infinity;
    for (const v of this.next.values()) soonest = Math.min(soonest, v);
    if (soonest === Infinity) return;
    this.timer = this.deps.clock.setTimeout(() => this.tick(), Math.min(MAX_TIMER_CHUNK_MS, Math.max(0, soonest - now)));
  }

  private tick(): void {
    if (this.stopped) return;
    const nowDate = this.deps.clock.now();
    const now = nowDate.getTime();
    for (const job of this.scheduled()) {
      const due = this.next.get(job.name)!;
      if (due > now) continue;
      // Next step on the fixed grid strictly after now (skips missed steps after a long job).
      const every = job.every!;
      this.next.set(job.name, due + Math.max(1, Math.ceil((now - due + 1) / every)) * every);
      if (this.deps.allowed(job, nowDate)) this.deps.trigger(job);
      else this.deps.onSkip?.(job, `not ${job.when} now`);
    }
    this.arm();
  }
}
