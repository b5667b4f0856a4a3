// "No dark for this frame" said once per gap (frame size, gain or ISO, temperature to the degree), not
// once per frame of a night: with a bias and any dark of that gain every exposure can be scaled, so a
// gap is a missing gain or temperature whatever the exposure (auto-exposure changes it every frame).
import type { Logger } from '../../lib/log.js';
import type { DarkQuery } from './types.js';

export interface GapReporter {
  /** Report a frame without a matching dark; returns true when this gap is new (was logged now). */
  missing(q: DarkQuery): boolean;
  /** Gaps reported so far, one line each. */
  readonly gaps: string[];
}

export function gapLine(q: DarkQuery): string {
  const set = q.gain !== null ? `gain ${q.gain}` : q.iso != null ? `ISO ${q.iso}` : 'default gain';
  const temp = q.temperatureC === null ? 'temperature unknown' : `${q.temperatureC.toFixed(1)} °C`;
  return `no dark for ${q.exposureS} s ${set} at ${temp} (${q.width}×${q.height}); frames go uncalibrated — run skyrig darks capture at this gain and temperature`;
}

export function createGapReporter(log: Logger): GapReporter {
  const seen = new Set<string>();
  const gaps: string[] = [];
  return {
    gaps,
    missing(q) {
      const key = `${q.width}x${q.height}x${q.channels}|${q.gain ?? ''}|${q.iso ?? ''}|${q.temperatureC === null ? 'na' : Math.round(q.temperatureC)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      const line = gapLine(q);
      gaps.push(line);
      log.warn(line, { exposure_s: q.exposureS, gain: q.gain, temperature_c: q.temperatureC });
      return true;
    },
  };
}
