// The keogram's sampling line as a per-row tap table: which line samples need which pixels of a row,
// with their bilinear weights. Frames stream by rows, and a line at any angle needs rows all over the
// frame, so the samples are accumulated while the rows pass (no frame in memory).
//
// Geometry: the line runs through `centre` (default the image centre, (W−1)/2, (H−1)/2). At angle 0
// it is the image's vertical through the centre, top of the frame (north on an all-sky camera mounted
// north-up) at the top of the keogram. angle_deg turns it clockwise as seen in the image: at 90° the
// keogram's top comes from the right edge. `band` samples (1 px apart, across the line) are averaged.

export interface KeogramLine {
  /** Line samples = keogram height. */
  length: number;
  /** Taps of image row y are rowStart[y] .. rowStart[y+1]-1. */
  rowStart: Int32Array;
  tapSample: Int32Array;
  tapX: Int32Array;
  tapW: Float32Array;
}

export function keogramLine(width: number, height: number, angleDeg: number, centre?: [number, number] | null, band = 1): KeogramLine {
  const [cx, cy] = centre ?? [(width - 1) / 2, (height - 1) / 2];
  if (!(cx >= 0 && cx <= width - 1 && cy >= 0 && cy <= height - 1)) {
    throw new Error(`keogram.centre: (${cx}, ${cy}) is outside the ${width}×${height} frame`);
  }
  const a = (angleDeg * Math.PI) / 180;
  // direction of travel from the keogram's top to its bottom; snap tiny float residue to 0
  const snap = (v: number) => (Math.abs(v) < 1e-12 ? 0 : v);
  const dx = snap(-Math.sin(a));
  const dy = snap(Math.cos(a));
  const nx = dy; // across the line
  const ny = -dx;
  // t range keeping centre + t·d inside [0, W−1] × [0, H−1]
  let tmin = -Infinity;
  let tmax = Infinity;
  const clip = (c: number, d: number, hi: number) => {
    if (d === 0) return;
    const t0 = (0 - c) / d;
    const t1 = (hi - c) / d;
    tmin = Math.max(tmin, Math.min(t0, t1));
    tmax = Math.min(tmax, Math.max(t0, t1));
  };
  clip(cx, -dx, width - 1);
  clip(cy, -dy, height - 1);
  // the keogram's top is centre − t·d for the largest t; walk from tmax down so row 0 is the top
  const n = Math.floor(tmax - tmin + 1e-9) + 1;
  const b = Math.max(1, Math.round(band));
  const taps: { y: number; k: number; x: number; w: number }[] = [];
  for (let k = 0; k < n; k++) {
    const t = tmax - k;
    for (let s = 0; s < b; s++) {
      const o = s - (b - 1) / 2;
      const px = Math.min(width - 1, Math.max(0, cx - t * dx + o * nx));
      const py = Math.min(height - 1, Math.max(0, cy - t * dy + o * ny));
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const fx = px - x0;
      const fy = py - y0;
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      const add = (x: number, y: number, w: number) => {
        if (w > 1e-9) taps.push({ y, k, x, w: w / b });
      };
      add(x0, y0, (1 - fx) * (1 - fy));
      add(x1, y0, fx * (1 - fy));
      add(x0, y1, (1 - fx) * fy);
      add(x1, y1, fx * fy);
    }
  }
  taps.sort((p, q) => p.y - q.y || p.k - q.k);
  const rowStart = new Int32Array(height + 1);
  for (const tp of taps) rowStart[tp.y + 1]!++;
  for (let y = 0; y < height; y++) rowStart[y + 1]! += rowStart[y]!;
  return {
    length: n,
    rowStart,
    tapSample: Int32Array.from(taps, (tp) => tp.k),
    tapX: Int32Array.from(taps, (tp) => tp.x),
    tapW: Float32Array.from(taps, (tp) => tp.w),
  };
}

/** Accumulate rows y0..y0+rows of a strip into `acc` (length·channels sums). */
export function sampleStrip(line: KeogramLine, strip: Float32Array, width: number, channels: number, y0: number, rows: number, acc: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const y = y0 + r;
    const base = r * width * channels;
    for (let i = line.rowStart[y]!; i < line.rowStart[y + 1]!; i++) {
      const src = base + line.tapX[i]! * channels;
      const dst = line.tapSample[i]! * channels;
      const w = line.tapW[i]!;
      for (let c = 0; c < channels; c++) acc[dst + c]! += w * strip[src + c]!;
    }
  }
}
