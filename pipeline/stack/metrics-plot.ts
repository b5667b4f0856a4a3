// The per-frame figures as a picture: HFR/FWHM, star count, sky level and star signal against
// frame number, accepted frames as lines, refused ones as red dots (so clouds, a focus slip, haze
// or the odd ISO frame are seen at a glance). Written beside the stack as `<name>-frames.png`.
import { plotChart, PALETTE, type Series } from '../image/plot.js';
import { createImage, type ImageF32 } from '../image/types.js';
import type { FrameResult } from './types.js';

const RED: [number, number, number] = [0.84, 0.15, 0.16];

const PANEL_HEIGHT = 280;

export function plotFrameMetrics(records: readonly FrameResult[], width = 900): ImageF32 {
  const charts = panelCharts(records, width);
  const out = createImage(width, PANEL_HEIGHT * charts.length, 3, 8);
  charts.forEach((draw, k) => out.data.set(draw().data.subarray(0, width * PANEL_HEIGHT * 3), k * width * PANEL_HEIGHT * 3));
  return out;
}

/**
 * The same picture as 8-bit samples (writeImage's rounding of plotFrameMetrics), drawn a panel at a
 * time: no float image of the whole plot (12 MB at 900 px), which is redrawn after every frame.
 */
export function plotFrameMetricsBytes(records: readonly FrameResult[], width = 900): { width: number; height: number; channels: 3; data: Buffer } {
  const charts = panelCharts(records, width);
  const n = width * PANEL_HEIGHT * 3;
  const out = Buffer.alloc(n * charts.length);
  charts.forEach((draw, k) => {
    const d = draw().data;
    for (let i = 0; i < n; i++) {
      const v = d[i]!;
      out[k * n + i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
    }
  });
  return { width, height: PANEL_HEIGHT * charts.length, channels: 3, data: out };
}

/** One drawing function per panel (each makes its chart when called). */
function panelCharts(records: readonly FrameResult[], width: number): Array<() => ImageF32> {
  const panels: { title: string; y: string; pick: (r: FrameResult) => number[]; names: string[] }[] = [
    { title: 'Star size per frame', y: 'px', pick: (r) => [r.hfr, r.fwhm], names: ['HFR', 'FWHM'] },
    { title: 'Stars detected', y: 'stars', pick: (r) => [r.stars], names: ['stars'] },
    { title: 'Sky background', y: '% of full scale', pick: (r) => [r.background * 100], names: ['sky'] },
    { title: 'Star signal (same stars vs the reference)', y: 'ratio', pick: (r) => [r.signal], names: ['signal'] },
  ];
  const ph = PANEL_HEIGHT;
  return panels.map((p) => () => {
    const series: Series[] = [];
    const acc = records.filter((r) => r.accepted);
    const rej = records.filter((r) => !r.accepted && r.status !== 'pending');
    p.names.forEach((name, i) => {
      const pts = acc.map((r) => [r.seq, p.pick(r)[i]!] as const).filter(([, v]) => Number.isFinite(v));
      if (pts.length) series.push({ name, x: pts.map((q) => q[0]), y: pts.map((q) => q[1]), color: PALETTE[(i + 2) % PALETTE.length], kind: 'both', pointRadius: 2 });
    });
    const bad = rej.map((r) => [r.seq, p.pick(r)[0]!] as const).filter(([, v]) => Number.isFinite(v));
    if (bad.length) series.push({ name: 'refused', x: bad.map((q) => q[0]), y: bad.map((q) => q[1]), color: RED, kind: 'scatter', pointRadius: 4 });
    if (!series.length) series.push({ x: [0], y: [0], kind: 'scatter', pointRadius: 0 });
    return plotChart(series, { width, height: ph, title: p.title, xLabel: 'frame', yLabel: p.y, legend: series.length > 1 });
  });
}
