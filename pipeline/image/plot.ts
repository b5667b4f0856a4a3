// Tiny raster plotting into an RGB ImageF32 (write it with writeImage(path.png)): line/scatter charts
// with axes, ticks, title and legend (response curves, V-curves), and heat maps with overlays (focus
// maps). No plotting library: a few primitives and a 5×7 bitmap font.
import { GLYPH_ADVANCE, GLYPH_H, glyph } from './plot-font.js';
import { createImage, type ImageF32 } from './types.js';

export type RGB = [number, number, number];

export const PALETTE: RGB[] = [
  [0.84, 0.15, 0.16], // red
  [0.17, 0.63, 0.17], // green
  [0.12, 0.47, 0.71], // blue
  [1.0, 0.5, 0.05], // orange
  [0.58, 0.4, 0.74], // purple
  [0.55, 0.34, 0.29], // brown
  [0.2, 0.2, 0.2], // dark grey
];

// --- primitives ---------------------------------------------------------------------------------

export function fillRect(img: ImageF32, x0: number, y0: number, w: number, h: number, color: RGB, alpha = 1): void {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(img.width, Math.floor(x0 + w));
  const yb = Math.min(img.height, Math.floor(y0 + h));
  for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) blend(img, x, y, color, alpha);
}

function blend(img: ImageF32, x: number, y: number, color: RGB, alpha: number): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = (y * img.width + x) * 3;
  const d = img.data;
  d[i] = d[i]! * (1 - alpha) + color[0] * alpha;
  d[i + 1] = d[i + 1]! * (1 - alpha) + color[1] * alpha;
  d[i + 2] = d[i + 2]! * (1 - alpha) + color[2] * alpha;
}

/** Antialiased-enough thick line: discs stamped along the segment. */
export function drawLine(img: ImageF32, x0: number, y0: number, x1: number, y1: number, color: RGB, thickness = 1): void {
  const len = Math.hypot(x1 - x0, y1 - y0);
  const steps = Math.max(1, Math.ceil(len * 2));
  const r = thickness / 2;
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    const x = x0 + (x1 - x0) * t;
    const y = y0 + (y1 - y0) * t;
    if (thickness <= 1) blend(img, Math.round(x), Math.round(y), color, 1);
    else fillDisc(img, x, y, r, color);
  }
}

export function fillDisc(img: ImageF32, cx: number, cy: number, r: number, color: RGB): void {
  for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
    for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
      const d = Math.hypot(x - cx, y - cy);
      const cover = Math.max(0, Math.min(1, r + 0.5 - d));
      if (cover > 0) blend(img, x, y, color, cover);
    }
  }
}

export function textWidth(text: string, scale = 1): number {
  return text.length ? (text.length * GLYPH_ADVANCE - 1) * scale : 0;
}

/** Draw text with its top-left corner at (x, y); `vertical` rotates it 90° counter-clockwise. */
export function drawText(img: ImageF32, x: number, y: number, text: string, color: RGB, scale = 1, vertical = false): void {
  let pen = 0;
  for (const ch of text) {
    const rows = glyph(ch);
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (!((rows[gy]! >> (4 - gx)) & 1)) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = (pen + gx) * scale + sx;
            const py = gy * scale + sy;
            if (vertical) blend(img, Math.round(x + py), Math.round(y - px), color, 1);
            else blend(img, Math.round(x + px), Math.round(y + py), color, 1);
          }
        }
      }
    }
    pen += GLYPH_ADVANCE;
  }
}

// --- axes ---------------------------------------------------------------------------------------

/** "Nice" tick positions (1, 2, 5 × 10^k) covering [min, max] with about `target` ticks. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [];
  if (max <= min) return [min];
  const raw = (max - min) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const count = (st: number) => Math.floor(max / st + 1e-9) - Math.ceil(min / st - 1e-9) + 1;
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  // Rounding the step up can leave a single tick inside a narrow range (26.7..33.7 → just 30):
  // take finer steps until there are at least two.
  if (count(step) < 2) step = [5, 2, 1, 0.5, 0.2, 0.1].map((f) => f * mag).find((st) => st < step && count(st) >= 2) ?? step;
  const ticks: number[] = [];
  // multiply rather than accumulate, so 0.1-steps do not drift into 0.30000000000000004
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Number((k * step).toFixed(Math.min(20, digits))));
  return ticks;
}

export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

export interface Series {
  name?: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: RGB;
  /** Default 'line'. */
  kind?: 'line' | 'scatter' | 'both';
  lineWidth?: number;
  pointRadius?: number;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  xRange?: [number, number];
  yRange?: [number, number];
  /** Vertical markers (best focus, chosen exposure…). */
  markers?: { x: number; color?: RGB; label?: string }[];
  legend?: boolean;
  background?: RGB;
}

/** Render line/scatter series into a new RGB image with axes, ticks, labels, title and legend. */
export function plotChart(series: Series[], o: ChartOptions = {}): ImageF32 {
  const W = o.width ?? 800;
  const H = o.height ?? 500;
  const img = createImage(W, H, 3, 8);
  const bg = o.background ?? [1, 1, 1];
  fillRect(img, 0, 0, W, H, bg);
  const fg: RGB = [0.1, 0.1, 0.1];
  const grid: RGB = [0.88, 0.88, 0.88];
  const scale = W >= 600 ? 2 : 1;
  const charH = GLYPH_H * scale;

  const finite = (a: ArrayLike<number>) => Array.from(a).filter(Number.isFinite);
  const xs = series.flatMap((s) => finite(s.x)).concat((o.markers ?? []).map((m) => m.x));
  const ys = series.flatMap((s) => finite(s.y));
  let [xmin, xmax] = o.xRange ?? [Math.min(...xs), Math.max(...xs)];
  let [ymin, ymax] = o.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!Number.isFinite(xmin) || !Number.isFinite(xmax)) [xmin, xmax] = [0, 1];
  if (!Number.isFinite(ymin) || !Number.isFinite(ymax)) [ymin, ymax] = [0, 1];
  if (xmax === xmin) [xmin, xmax] = [xmin - 1, xmax + 1];
  if (ymax === ymin) [ymin, ymax] = [ymin - 1, ymax + 1];
  if (!o.yRange) {
    const pad = (ymax - ymin) * 0.05;
    ymin -= pad;
    ymax += pad;
  }
  const yTicks = niceTicks(ymin, ymax, Math.max(3, Math.floor(H / 90)));
  const xTicks = niceTicks(xmin, xmax, Math.max(3, Math.floor(W / 110)));
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const yLabels = yTicks.map((v) => formatTick(v, yStep));

  const left = 12 + (o.yLabel ? charH + 8 : 0) + Math.max(...yLabels.map((l) => textWidth(l, scale)), 0) + 8;
  const top = 10 + (o.title ? charH + 12 : 0);
  const bottom = H - (12 + charH + 8 + (o.xLabel ? charH + 8 : 0));
  const right = W - 16;
  const px = (x: number) => left + ((x - xmin) / (xmax - xmin)) * (right - left);
  const py = (y: number) => bottom - ((y - ymin) / (ymax - ymin)) * (bottom - top);

  for (const v of yTicks) fillRect(img, left, Math.round(py(v)), right - left, 1, grid);
  for (const v of xTicks) fillRect(img, Math.round(px(v)), top, 1, bottom - top, grid);
  fillRect(img, left, top, 1, bottom - top + 1, fg);
  fillRect(img, left, bottom, right - left + 1, 1, fg);
  yTicks.forEach((v, i) => {
    const y = Math.round(py(v));
    fillRect(img, left - 5, y, 5, 1, fg);
    drawText(img, left - 8 - textWidth(yLabels[i]!, scale), y - charH / 2, yLabels[i]!, fg, scale);
  });
  for (const v of xTicks) {
    const x = Math.round(px(v));
    const label = formatTick(v, xStep);
    fillRect(img, x, bottom + 1, 1, 5, fg);
    drawText(img, x - textWidth(label, scale) / 2, bottom + 9, label, fg, scale);
  }
  if (o.title) drawText(img, (W - textWidth(o.title, scale)) / 2, 10, o.title, fg, scale);
  if (o.xLabel) drawText(img, (left + right - textWidth(o.xLabel, scale)) / 2, H - 8 - charH, o.xLabel, fg, scale);
  if (o.yLabel) drawText(img, 10, (top + bottom + textWidth(o.yLabel, scale)) / 2, o.yLabel, fg, scale, true);

  // Boxes already taken (marker labels), so the legend can keep clear of them.
  const taken: [number, number, number, number][] = [];
  for (const m of o.markers ?? []) {
    const x = Math.round(px(m.x));
    const c = m.color ?? [0.5, 0.5, 0.5];
    for (let y = top; y < bottom; y += 6) fillRect(img, x, y, 1, 3, c);
    if (m.label) {
      // Right of the line, or left of it when it would run off the plot.
      const tw = textWidth(m.label, scale);
      const lx = x + 4 + tw > right ? x - 4 - tw : x + 4;
      drawText(img, lx, top + 4, m.label, c, scale);
      taken.push([lx, top + 4, tw, charH]);
    }
  }

  series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length]!;
    const kind = s.kind ?? 'line';
    const n = Math.min(s.x.length, s.y.length);
    if (kind !== 'scatter') {
      let prev: [number, number] | null = null;
      for (let i = 0; i < n; i++) {
        const x = s.x[i]!;
        const y = s.y[i]!;
        if (!Number.isFinite(x) || !Number.isFinite(y)) {
          prev = null;
          continue;
        }
        const p: [number, number] = [px(x), py(y)];
        if (prev) drawLine(img, prev[0], prev[1], p[0], p[1], color, s.lineWidth ?? 2);
        prev = p;
      }
    }
    if (kind !== 'line') {
      for (let i = 0; i < n; i++) {
        if (Number.isFinite(s.x[i]!) && Number.isFinite(s.y[i]!)) fillDisc(img, px(s.x[i]!), py(s.y[i]!), s.pointRadius ?? 3, color);
      }
    }
  });

  const named = series.map((s, i) => ({ s, i })).filter(({ s }) => s.name);
  if ((o.legend ?? true) && named.length) {
    const lw = Math.max(...named.map(({ s }) => textWidth(s.name!, scale))) + 40;
    const lh = named.length * (charH + 6) + 8;
    // The corner whose box hides the fewest data points and no marker label (top right on a tie).
    const pts: [number, number][] = [];
    for (const sr of series) for (let i = 0; i < Math.min(sr.x.length, sr.y.length); i++) if (Number.isFinite(sr.x[i]!) && Number.isFinite(sr.y[i]!)) pts.push([px(sr.x[i]!), py(sr.y[i]!)]);
    const corners: [number, number][] = [[right - lw - 8, top + 8], [left + 8, top + 8], [right - lw - 8, bottom - lh - 8], [left + 8, bottom - lh - 8]];
    const hidden = ([cx, cy]: [number, number]) => {
      let n = 0;
      for (const [x, y] of pts) if (x >= cx - 4 && x <= cx + lw + 4 && y >= cy - 4 && y <= cy + lh + 4) n++;
      for (const [tx, ty, tw, th] of taken) if (tx < cx + lw && tx + tw > cx && ty < cy + lh && ty + th > cy) n += 1e6;
      return n;
    };
    let [lx, ly] = corners[0]!;
    let best = hidden(corners[0]!);
    for (const c of corners.slice(1)) { const h = hidden(c); if (h < best) { best = h; [lx, ly] = c; } }
    fillRect(img, lx, ly, lw, lh, bg, 0.9);
    fillRect(img, lx, ly, lw, 1, fg);
    fillRect(img, lx, ly + lh, lw, 1, fg);
    fillRect(img, lx, ly, 1, lh, fg);
    fillRect(img, lx + lw, ly, 1, lh + 1, fg);
    named.forEach(({ s, i }, k) => {
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      const y = ly + 6 + k * (charH + 6);
      if ((s.kind ?? 'line') === 'scatter') fillDisc(img, lx + 16, y + charH / 2, 3, color);
      else fillRect(img, lx + 6, y + charH / 2 - 1, 20, 3, color);
      drawText(img, lx + 32, y, s.name!, fg, scale);
    });
  }
  return img;
}

// --- heat maps ----------------------------------------------------------------------------------

// matplotlib's perceptually uniform maps sampled at 11 points (linear in between)
const MAPS: Record<'inferno' | 'viridis', string[]> = {
  inferno: ['000004', '160b39', '420a68', '6a176e', '932667', 'bc3754', 'dd513a', 'f37819', 'fca50a', 'f6d746', 'fcffa4'],
  viridis: ['440154', '482475', '414487', '355f8d', '2a788e', '21918c', '22a884', '44bf70', '7ad151', 'bddf26', 'fde725'],
};
const MAP_RGB: Record<string, RGB[]> = Object.fromEntries(
  Object.entries(MAPS).map(([k, hex]) => [k, hex.map((h) => [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255) as RGB)]),
);

export type Colormap = 'inferno' | 'viridis';

export function colormapAt(t: number, map: Colormap = 'inferno'): RGB {
  const stops = MAP_RGB[map]!;
  const v = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(v));
  const f = v - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Colour a scalar map (width×height values); range defaults to the finite min..max. */
export function heatmap(values: ArrayLike<number>, width: number, height: number, colormap: Colormap = 'inferno', range?: [number, number]): ImageF32 {
  if (values.length < width * height) throw new Error(`heatmap: ${values.length} values for ${width}×${height}`);
  let [lo, hi] = range ?? [Infinity, -Infinity];
  if (!range) {
    for (let i = 0; i < width * height; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  }
  const img = createImage(width, height, 3, 8);
  colorizeStrip(values, width * height, [lo, hi], colormap, img.data);
  return img;
}

/** Colour `n` scalar values into RGB (out gets 3n floats), for heat maps written strip by strip. */
export function colorizeStrip(values: ArrayLike<number>, n: number, range: [number, number], colormap: Colormap = 'inferno', out: Float32Array = new Float32Array(n * 3)): Float32Array {
  const [lo, hi] = range;
  const span = hi > lo ? hi - lo : 1;
  const lut = lutFor(colormap);
  for (let i = 0; i < n; i++) {
    const k = Math.round(((values[i]! - lo) / span) * 255);
    const c = lut[Number.isFinite(k) ? Math.max(0, Math.min(255, k)) : 0]!;
    out[i * 3] = c[0];
    out[i * 3 + 1] = c[1];
    out[i * 3 + 2] = c[2];
  }
  return out;
}

const luts = new Map<Colormap, RGB[]>();
function lutFor(map: Colormap): RGB[] {
  let lut = luts.get(map);
  if (!lut) {
    lut = Array.from({ length: 256 }, (_, k) => colormapAt(k / 255, map));
    luts.set(map, lut);
  }
  return lut;
}

/** A prepared heat-map overlay, applied to base strips of any height (frames too big to hold whole). */
export interface HeatOverlay {
  /** Blend rows y0..y0+rows of the base (1 or 3 channels, `width` wide) into RGB. */
  apply(base: Float32Array, baseChannels: number, y0: number, rows: number, out?: Float32Array): Float32Array;
}

/**
 * Prepare an overlay of `map` (an RGB heat image, or a 1-channel scalar map coloured with `colormap`)
 * on a base of width×height; the map is resampled bilinearly when its size differs (downsampled maps).
 * alpha: the map's opacity, or 'value' to use the normalised scalar value per pixel.
 */
export function prepareHeatOverlay(map: ImageF32, width: number, height: number, alpha: number | 'value' = 0.5, colormap: Colormap = 'inferno'): HeatOverlay {
  let scalar: Float32Array | null = null;
  let colour = map;
  if (map.channels === 1) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of map.data) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const span = hi > lo ? hi - lo : 1;
    scalar = map.data.map((v) => (Number.isFinite(v) ? (v - lo) / span : 0));
    colour = heatmap(scalar, map.width, map.height, colormap, [0, 1]);
  } else if (map.channels !== 3) throw new Error(`overlayHeatmap: map needs 1 or 3 channels, got ${map.channels}`);
  const sx = map.width / width;
  const sy = map.height / height;
  const sample = (src: Float32Array, ch: number, c: number, fx: number, fy: number) => {
    const x0 = Math.max(0, Math.min(map.width - 1, Math.floor(fx)));
    const y0 = Math.max(0, Math.min(map.height - 1, Math.floor(fy)));
    const x1 = Math.min(map.width - 1, x0 + 1);
    const y1 = Math.min(map.height - 1, y0 + 1);
    const ax = Math.max(0, Math.min(1, fx - x0));
    const ay = Math.max(0, Math.min(1, fy - y0));
    const at = (x: number, y: number) => src[(y * map.width + x) * ch + c]!;
    return (at(x0, y0) * (1 - ax) + at(x1, y0) * ax) * (1 - ay) + (at(x0, y1) * (1 - ax) + at(x1, y1) * ax) * ay;
  };
  return {
    apply(base, baseChannels, y0, rows, out: Float32Array = new Float32Array(rows * width * 3)) {
      for (let r = 0; r < rows; r++) {
        const fy = (y0 + r + 0.5) * sy - 0.5;
        for (let x = 0; x < width; x++) {
          const fx = (x + 0.5) * sx - 0.5;
          const a = alpha === 'value' ? (scalar ? sample(scalar, 1, 0, fx, fy) : 0.5) : alpha;
          const p = r * width + x;
          for (let c = 0; c < 3; c++) {
            const b = baseChannels >= 3 ? base[p * baseChannels + c]! : base[p * baseChannels]!;
            out[p * 3 + c] = b * (1 - a) + sample(colour.data, 3, c, fx, fy) * a;
          }
        }
      }
      return out;
    },
  };
}

/**
 * Blend a heat map over a whole picture (see prepareHeatOverlay; for big frames apply that to strips
 * from a row source and write them to a row sink instead).
 */
export function overlayHeatmap(base: ImageF32, map: ImageF32, alpha: number | 'value' = 0.5, colormap: Colormap = 'inferno'): ImageF32 {
  const out = createImage(base.width, base.height, 3, 8);
  prepareHeatOverlay(map, base.width, base.height, alpha, colormap).apply(base.data, base.channels, 0, base.height, out.data);
  return out;
}
