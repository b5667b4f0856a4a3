// Shutter speeds as cameras spell them ("1/250", "2.5", "30", "30\"", "1/3s", "bulb") and the
// mapping from a requested exposure in seconds to the nearest value the camera offers. "Nearest"
// is measured in stops (log2), which is how exposure error matters.

export type ShutterValue = number | 'bulb';

export function parseShutter(text: string): ShutterValue | null {
  const s = text.trim().toLowerCase().replace(/(s|sec|"|'')$/, '').trim();
  if (s === 'bulb' || s === 'b') return 'bulb';
  const frac = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (frac) {
    const v = Number(frac[1]) / Number(frac[2]);
    return Number.isFinite(v) && v > 0 ? v : null;
  }
  // Some bodies write 1.5 seconds as 1"5 or 1,5.
  const alt = /^(\d+)[",](\d+)$/.exec(s);
  if (alt) return Number(`${alt[1]}.${alt[2]}`);
  if (/^\d+(?:\.\d+)?$/.test(s)) {
    const v = Number(s);
    return v > 0 ? v : null;
  }
  return null;
}

export interface ShutterChoice {
  /** The camera's own spelling, sent back verbatim when setting it. */
  text: string;
  seconds: number;
}

export interface ShutterPlan {
  /** Choice to set (the camera's text), e.g. "1/250" or "bulb". */
  text: string;
  bulb: boolean;
  /** Exposure the frame will really get. */
  seconds: number;
}

export function shutterChoices(choices: readonly string[]): { timed: ShutterChoice[]; bulb: string | null } {
  const timed: ShutterChoice[] = [];
  let bulb: string | null = null;
  for (const text of choices) {
    const v = parseShutter(text);
    if (v === 'bulb') bulb ??= text;
    else if (v !== null) timed.push({ text, seconds: v });
  }
  timed.sort((a, b) => a.seconds - b.seconds);
  return { timed, bulb };
}

// Past the longest timed speed by more than a sixth of a stop, bulb (where offered) is closer.
const BULB_MARGIN = 2 ** (1 / 6);

export function planShutter(choices: readonly string[], seconds: number, device = 'camera'): ShutterPlan {
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new Error(`${device}: exposure ${seconds} s must be a positive number`);
  const { timed, bulb } = shutterChoices(choices);
  const longest = timed[timed.length - 1];
  if (bulb && (!longest || seconds > longest.seconds * BULB_MARGIN)) return { text: bulb, bulb: true, seconds };
  if (!longest) {
    throw new Error(`${device}: the camera offers no shutter speeds it can set (choices: ${choices.join(', ') || 'none'}); set the mode dial to M`);
  }
  let best = timed[0];
  let bestErr = Infinity;
  for (const c of timed) {
    const err = Math.abs(Math.log2(c.seconds / seconds));
    // Strictly less: on a tie the shorter exposure wins (clipping highlights is worse than noise).
    if (err < bestErr - 1e-9) {
      best = c;
      bestErr = err;
    }
  }
  return { text: best.text, bulb: false, seconds: best.seconds };
}
