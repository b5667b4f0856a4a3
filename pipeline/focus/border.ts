// Border extension shared by every neighbourhood kernel: the same three modes focus_response offers.
export type BorderMode = 'reflect' | 'replicate' | 'constant';

export const BORDER_MODES: readonly BorderMode[] = ['reflect', 'replicate', 'constant'];

/**
 * Map a coordinate that may lie outside 0..n-1 to an inside one, or -1 for 'constant' (zero).
 * 'reflect' is reflect-101 (OpenCV's default: the edge pixel is not repeated).
 */
export function borderIndex(i: number, n: number, mode: BorderMode): number {
  if (i >= 0 && i < n) return i;
  if (mode === 'constant') return -1;
  if (mode === 'replicate' || n === 1) return i < 0 ? 0 : n - 1;
  const period = 2 * n - 2;
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - k;
  return k;
}

/** Index table for columns -pad..n-1+pad, so inner loops do no branching on borders. */
export function borderTable(n: number, pad: number, mode: BorderMode): Int32Array {
  const t = new Int32Array(n + 2 * pad);
  for (let i = 0; i < t.length; i++) t[i] = borderIndex(i - pad, n, mode);
  return t;
}

export function parseBorderMode(value: string, field = '--border'): BorderMode {
  if ((BORDER_MODES as readonly string[]).includes(value)) return value as BorderMode;
  throw new Error(`${field}: expected one of ${BORDER_MODES.join('|')}, got '${value}'`);
}
