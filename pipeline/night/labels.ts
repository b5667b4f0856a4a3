// Text labels on preview and timelapse frames (time, exposure, gain, sky level, station) with the
// plots' 5×7 bitmap font, on a translucent dark box in the configured corner.
import { drawText, fillRect, textWidth } from '../image/plot.js';
import { GLYPH_H } from '../image/plot-font.js';
import type { ImageF32 } from '../image/types.js';
import type { LabelCorner, NightFrameInput } from './types.js';

function fmtExposure(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s >= 1) return `${Number(s.toFixed(s >= 10 ? 0 : 1))} S`;
  return `1/${Math.round(1 / s)} S`;
}

export function labelLines(frame: NightFrameInput, station: string): string[] {
  const t = frame.timestamp;
  const time = Number.isNaN(t.getTime()) ? '-' : t.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  const parts = [`EXP ${fmtExposure(frame.exposureS)}`];
  if (frame.gain !== null && Number.isFinite(frame.gain)) parts.push(`GAIN ${Number(frame.gain.toFixed(2))}`);
  const sky = Number.isFinite(frame.skyLevel) ? `SKY ${frame.skyLevel.toFixed(3)}` : null;
  return [station, time, parts.join('  '), ...(sky ? [sky] : [])];
}

/** Draw `lines` into an RGB image (3 channels) in `corner`; scale 1 = 5×7-pixel glyphs. */
export function drawLabels(img: ImageF32, lines: string[], corner: LabelCorner, scale: number): void {
  if (img.channels !== 3) throw new Error('drawLabels: needs an RGB image');
  // shrink the text until the box fits the frame (small timelapse widths), never below 1
  let s = Math.max(1, Math.round(scale));
  while (s > 1 && Math.max(...lines.map((l) => textWidth(l, s))) + 10 * s > img.width) s--;
  const lineH = (GLYPH_H + 3) * s;
  const pad = 3 * s;
  const w = Math.max(...lines.map((l) => textWidth(l, s))) + 2 * pad;
  const h = lines.length * lineH - 3 * s + 2 * pad;
  const margin = 2 * s;
  const x0 = corner.endsWith('left') ? margin : img.width - w - margin;
  const y0 = corner.startsWith('top') ? margin : img.height - h - margin;
  fillRect(img, x0, y0, w, h, [0, 0, 0], 0.55);
  lines.forEach((line, i) => drawText(img, x0 + pad, y0 + pad + i * lineH, line, [1, 1, 1], s));
}
