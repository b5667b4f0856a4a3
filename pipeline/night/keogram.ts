// Keogram storage and rendering. Each frame's line samples are one column record appended to
// `keogram.raw` (float64 capture time in ms, then length×channels uint16 LE); the column count lives
// in the night state JSON, so a record written before a crash but not yet counted is simply
// overwritten by the next frame. Rendering reads the records strip by strip (one positioned read per
// column per strip of keogram rows) and writes a PNG with an hour axis along the bottom.
import { open, type FileHandle } from 'node:fs/promises';
import { openRowSink } from '../image/row-sink.js';
import { drawText, fillRect, textWidth } from '../image/plot.js';
import { GLYPH_H } from '../image/plot-font.js';
import { createImage } from '../image/types.js';
import { Histogram, applyStretch, fitStretch } from './stretch.js';

export interface KeogramGeometry {
  /** Samples along the line (the keogram's height). */
  length: number;
  channels: number;
}

export function columnBytes(g: KeogramGeometry): number {
  return 8 + g.length * g.channels * 2;
}

/** Encode one column (sums already divided: values 0..1) into its record. */
export function encodeColumn(g: KeogramGeometry, timeMs: number, values: Float64Array): Buffer {
  const buf = Buffer.alloc(columnBytes(g));
  buf.writeDoubleLE(timeMs, 0);
  for (let i = 0; i < g.length * g.channels; i++) {
    const v = values[i]!;
    buf.writeUInt16LE(v > 0 ? (v < 1 ? Math.round(v * 65535) : 65535) : 0, 8 + 2 * i);
  }
  return buf;
}

export async function writeColumn(path: string, g: KeogramGeometry, index: number, record: Buffer): Promise<void> {
  const fh = await open(path, index === 0 ? 'w' : 'r+');
  try {
    await fh.write(record, 0, record.length, index * columnBytes(g));
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Raw column values (for tests and tools): column c, sample k, channel ch → 0..1. */
export async function readKeogramColumns(path: string, g: KeogramGeometry, columns: number): Promise<{ times: number[]; values: Float32Array[] }> {
  const fh = await open(path, 'r');
  try {
    const times: number[] = [];
    const values: Float32Array[] = [];
    const buf = Buffer.alloc(columnBytes(g));
    for (let c = 0; c < columns; c++) {
      await readFully(fh, buf, c * buf.length);
      times.push(buf.readDoubleLE(0));
      const v = new Float32Array(g.length * g.channels);
      for (let i = 0; i < v.length; i++) v[i] = buf.readUInt16LE(8 + 2 * i) / 65535;
      values.push(v);
    }
    return { times, values };
  } finally {
    await fh.close();
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number, length = buf.length): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off);
    if (bytesRead === 0) throw new Error(`unexpected end of keogram data at byte ${position + off}`);
    off += bytesRead;
  }
}

/** Where the hour changes: [column, hour label] in time order (UTC). */
export function hourTicks(times: ArrayLike<number>): [number, string][] {
  const ticks: [number, string][] = [];
  for (let c = 1; c < times.length; c++) {
    const h0 = Math.floor(times[c - 1]! / 3_600_000);
    const h1 = Math.floor(times[c]! / 3_600_000);
    if (h1 > h0) ticks.push([c, String(new Date(h1 * 3_600_000).getUTCHours()).padStart(2, '0')]);
  }
  return ticks;
}

/**
 * Render `columns` columns as an RGB PNG: the keogram (stretched unless `displayReferred`), then an
 * axis band with a tick and the UTC hour where each hour starts.
 */
export async function renderKeogram(raw: string, out: string, g: KeogramGeometry, columns: number, displayReferred: boolean): Promise<{ width: number; height: number }> {
  if (columns < 1) throw new Error(`${out}: no keogram columns yet`);
  const rec = columnBytes(g);
  const C = g.channels;
  const fh = await open(raw, 'r');
  try {
    // pass 1: capture times and the histogram for the stretch
    const times = new Float64Array(columns);
    const hist = new Histogram();
    const col = Buffer.alloc(rec);
    const vals = new Float32Array(g.length * C);
    for (let c = 0; c < columns; c++) {
      await readFully(fh, col, c * rec);
      times[c] = col.readDoubleLE(0);
      for (let i = 0; i < vals.length; i++) vals[i] = col.readUInt16LE(8 + 2 * i) / 65535;
      hist.add(vals);
    }
    const stretch = fitStretch(hist, displayReferred);
    const scale = columns >= 400 ? 2 : 1;
    const axisH = GLYPH_H * scale + 12;
    const width = columns;
    const height = g.length + axisH;
    const sink = await openRowSink(out, { width, height, channels: 3, format: 'png8' });
    try {
      const stripRows = Math.max(1, Math.min(g.length, Math.floor((1 << 20) / (columns * C))));
      const seg = Buffer.alloc(stripRows * C * 2);
      const strip = new Float32Array(stripRows * width * 3);
      for (let y0 = 0; y0 < g.length; y0 += stripRows) {
        const rows = Math.min(stripRows, g.length - y0);
        for (let c = 0; c < columns; c++) {
          await readFully(fh, seg, c * rec + 8 + y0 * C * 2, rows * C * 2);
          for (let r = 0; r < rows; r++) {
            const o = (r * width + c) * 3;
            for (let ch = 0; ch < 3; ch++) strip[o + ch] = applyStretch(stretch, seg.readUInt16LE(2 * (r * C + (C === 1 ? 0 : ch))) / 65535);
          }
        }
        await sink.writeRows(strip.subarray(0, rows * width * 3), rows);
      }
      const axis = createImage(width, axisH, 3, 8);
      const fg: [number, number, number] = [0.9, 0.9, 0.9];
      // "UTC" at the left edge, then each hour label where it does not overlap the previous one
      const utc = 'UTC';
      let freeFrom = textWidth(utc, scale) + 1 <= width ? textWidth(utc, scale) + 4 * scale : 0;
      if (freeFrom) drawText(axis, 1, 7, utc, [0.6, 0.6, 0.6], scale);
      for (const [c, label] of hourTicks(times)) {
        fillRect(axis, c, 0, 1, 5, fg);
        const lx = Math.round(c - textWidth(label, scale) / 2);
        if (lx >= freeFrom && lx + textWidth(label, scale) <= width) {
          drawText(axis, lx, 7, label, fg, scale);
          freeFrom = lx + textWidth(label, scale) + 4 * scale;
        }
      }
      await sink.writeRows(axis.data, axisH);
      await sink.finish();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    return { width, height };
  } finally {
    await fh.close();
  }
}
