// Streaming box-filter resize: source strips in, a small output image (preview / timelapse size) out.
// Each output pixel averages the source pixels it covers (nearest when enlarging), so memory is the
// output image plus the caller's strip, whatever the source size.
import { createImage, type ImageF32 } from '../image/types.js';

function spans(src: number, out: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(out);
  const end = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const s = Math.min(src - 1, Math.floor((o * src) / out));
    start[o] = s;
    end[o] = Math.max(s + 1, Math.min(src, Math.floor(((o + 1) * src) / out)));
  }
  return { start, end };
}

export class StripScaler {
  private readonly xs: { start: Int32Array; end: Int32Array };
  private readonly ys: { start: Int32Array; end: Int32Array };
  private readonly out: ImageF32;
  /** First output row that may still receive source rows. */
  private oyFirst = 0;

  constructor(readonly srcW: number, readonly srcH: number, readonly channels: number, readonly outW: number, readonly outH: number, bitDepth: 8 | 16 | 32) {
    this.xs = spans(srcW, outW);
    this.ys = spans(srcH, outH);
    this.out = createImage(outW, outH, channels, bitDepth);
    this.rowSums = new Float32Array(outW * channels);
    if (outW <= srcW) {
      this.xmap = new Int32Array(srcW);
      for (let ox = 0; ox < outW; ox++) for (let x = this.xs.start[ox]!; x < this.xs.end[ox]!; x++) this.xmap[x] = ox;
    }
  }

  /** Source column → output column when shrinking (the spans then partition the row). */
  private readonly xmap: Int32Array | null = null;

  add(strip: Float32Array, y0: number, rows: number): void {
    const C = this.channels;
    const { start: ys, end: ye } = this.ys;
    const d = this.out.data;
    const rowLen = this.srcW * C;
    for (let r = 0; r < rows; r++) {
      const y = y0 + r;
      while (this.oyFirst < this.outH && ye[this.oyFirst]! <= y) this.oyFirst++;
      let binned = false;
      for (let oy = this.oyFirst; oy < this.outH && ys[oy]! <= y; oy++) {
        if (y >= ye[oy]!) continue;
        // bin the source row once (horizontal sums per output column), then add it to each output row
        if (!binned) {
          this.binRow(strip, r * rowLen);
          binned = true;
        }
        const ob = oy * this.outW * C;
        const row = this.rowSums;
        for (let i = 0; i < this.outW * C; i++) d[ob + i]! += row[i]!;
      }
    }
  }

  private readonly rowSums: Float32Array;

  private binRow(strip: Float32Array, base: number): void {
    const C = this.channels;
    const row = this.rowSums;
    row.fill(0);
    if (this.xmap) {
      // shrinking: the source columns partition into the output columns, one pass over the row
      const xmap = this.xmap;
      if (C === 1) for (let x = 0; x < this.srcW; x++) row[xmap[x]!]! += strip[base + x]!;
      else for (let x = 0; x < this.srcW; x++) for (let c = 0, o = xmap[x]! * C, i = base + x * C; c < C; c++) row[o + c]! += strip[i + c]!;
      return;
    }
    const { start: xs, end: xe } = this.xs;
    for (let ox = 0; ox < this.outW; ox++) {
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let x = xs[ox]!; x < xe[ox]!; x++) sum += strip[base + x * C + c]!;
        row[ox * C + c] = sum;
      }
    }
  }

  /** The averaged output (call once, after the last strip). */
  result(): ImageF32 {
    const C = this.channels;
    const d = this.out.data;
    for (let oy = 0; oy < this.outH; oy++) {
      const hy = this.ys.end[oy]! - this.ys.start[oy]!;
      for (let ox = 0; ox < this.outW; ox++) {
        const inv = 1 / (hy * (this.xs.end[ox]! - this.xs.start[ox]!));
        for (let c = 0; c < C; c++) d[(oy * this.outW + ox) * C + c]! *= inv;
      }
    }
    return this.out;
  }
}

/** Output size for a width: aspect kept, both sides even (H.264 4:2:0 needs even sizes). */
export function scaledSize(srcW: number, srcH: number, width: number, even = false): [number, number] {
  let w = Math.max(1, Math.round(width));
  let h = Math.max(1, Math.round((w * srcH) / srcW));
  if (even) {
    w = Math.max(2, w - (w % 2));
    h = Math.max(2, h - (h % 2));
  }
  return [w, h];
}
