// Star trails: the running maximum of the included night frames, kept on disk as one uint16 plane
// (W×H×channels, little-endian, no header). Crash safety by double buffering: a frame's update reads
// strips of the current buffer (a or b), takes the max with the frame's strip and writes the other
// buffer; the night state JSON then flips `current` atomically. A kill at any point leaves `current`
// whole. Memory: one strip. Cost: the plane is rewritten per included frame (2·W·H·channels bytes).
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { openRowSink } from '../image/row-sink.js';
import { openFitsRowSink } from '../image/fits-sink.js';
import { Histogram, applyStretch, fitStretch } from './stretch.js';

export type Buffer2 = 'a' | 'b';

export interface PlaneGeometry {
  width: number;
  height: number;
  channels: number;
}

export function bufferPath(dir: string, which: Buffer2): string {
  return join(dir, `startrails-${which}.u16`);
}

export function other(which: Buffer2 | null): Buffer2 {
  return which === 'a' ? 'b' : 'a';
}

/** One frame's update of the accumulator: feed every strip in order, then commit or discard. */
export class StarTrailsUpdate {
  private constructor(
    private readonly g: PlaneGeometry,
    private readonly cur: FileHandle | null,
    private readonly next: FileHandle,
    readonly target: Buffer2,
  ) {}

  private u16 = new Uint16Array(0);
  private rowsDone = 0;

  static async begin(dir: string, g: PlaneGeometry, current: Buffer2 | null): Promise<StarTrailsUpdate> {
    const target = other(current);
    const cur = current ? await open(bufferPath(dir, current), 'r') : null;
    try {
      const next = await open(bufferPath(dir, target), 'w');
      return new StarTrailsUpdate(g, cur, next, target);
    } catch (err) {
      await cur?.close();
      throw err;
    }
  }

  async strip(data: Float32Array, y0: number, rows: number): Promise<void> {
    const n = rows * this.g.width * this.g.channels;
    if (this.u16.length < n) this.u16 = new Uint16Array(n);
    const acc = this.u16.subarray(0, n);
    const bytes = new Uint8Array(acc.buffer, acc.byteOffset, n * 2);
    const pos = y0 * this.g.width * this.g.channels * 2;
    if (this.cur) {
      await readFully(this.cur, bytes, pos);
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        const q = v > 0 ? (v < 1 ? Math.round(v * 65535) : 65535) : 0;
        if (q > acc[i]!) acc[i] = q;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        acc[i] = v > 0 ? (v < 1 ? Math.round(v * 65535) : 65535) : 0;
      }
    }
    let off = 0;
    while (off < bytes.length) off += (await this.next.write(bytes, off, bytes.length - off, pos + off)).bytesWritten;
    this.rowsDone += rows;
  }

  /** Flush the new buffer to disk; the caller then records `target` as current in its state. */
  async commit(): Promise<Buffer2> {
    if (this.rowsDone !== this.g.height) throw new Error(`star trails update got ${this.rowsDone} of ${this.g.height} rows`);
    await this.next.datasync();
    await this.close();
    return this.target;
  }

  async close(): Promise<void> {
    await this.cur?.close().catch(() => {});
    await this.next.close().catch(() => {});
  }
}

async function readFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new Error(`star trails buffer ended at byte ${position + off}`);
    off += bytesRead;
  }
}

/** Iterate the accumulator by strips as floats 0..1. */
async function eachStrip(path: string, g: PlaneGeometry, fn: (data: Float32Array, rows: number) => Promise<void> | void): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const rowSamples = g.width * g.channels;
    const stripRows = Math.max(1, Math.min(g.height, Math.floor((1 << 20) / rowSamples)));
    const u16 = new Uint16Array(stripRows * rowSamples);
    const f = new Float32Array(stripRows * rowSamples);
    for (let y0 = 0; y0 < g.height; y0 += stripRows) {
      const rows = Math.min(stripRows, g.height - y0);
      const n = rows * rowSamples;
      await readFully(fh, new Uint8Array(u16.buffer, 0, n * 2), y0 * rowSamples * 2);
      for (let i = 0; i < n; i++) f[i] = u16[i]! / 65535;
      await fn(f.subarray(0, n), rows);
    }
  } finally {
    await fh.close();
  }
}

/** The exact maximum as 16-bit FITS and a stretched JPEG for people. */
export async function renderStarTrails(acc: string, fitsOut: string, jpegOut: string, g: PlaneGeometry, displayReferred: boolean, cards: Record<string, string | number>): Promise<void> {
  const hist = new Histogram();
  const fits = await openFitsRowSink(fitsOut, g.width, g.height, g.channels, 16, cards);
  try {
    await eachStrip(acc, g, async (data, rows) => {
      hist.add(data, data.length, 1, 7);
      await fits.writeRows(data, rows);
    });
    await fits.finish();
  } catch (err) {
    await fits.abort();
    throw err;
  }
  const stretch = fitStretch(hist, displayReferred);
  const jpeg = await openRowSink(jpegOut, { width: g.width, height: g.height, channels: g.channels, format: 'jpeg', quality: 90 });
  try {
    await eachStrip(acc, g, async (data, rows) => {
      for (let i = 0; i < data.length; i++) data[i] = applyStretch(stretch, data[i]!);
      await jpeg.writeRows(data, rows);
    });
    await jpeg.finish();
  } catch (err) {
    await jpeg.abort();
    throw err;
  }
}
