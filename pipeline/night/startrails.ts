// Star trails: the running maximum of the included night frames, kept on disk as one uint16 plane
// (W×H×channels, little-endian, no header) plus a journal of changes since the plane was written.
//
// Crash safety: a "plane" update reads strips of the current plane (a or b) with the journal applied,
// takes the max with the frame's strip and writes the other plane; the night state JSON then flips
// `current` (and empties the journal) atomically. A "journal" update appends only the samples the
// frame raised — (index delta varint, uint16 value), in index order — at the journal's recorded end;
// the state then records the segment's length. Bytes past the recorded end and the spare plane are
// never read, so a kill at any point leaves the recorded state whole. Memory: one strip plus a 16 KB
// buffer per journal segment (at most rewrite_every − 1 of them).
//
// Card wear: a plane update writes 2·W·H·channels bytes; a journal update ≈ 3–4 bytes per raised
// sample, which in a maximum stack falls like 1/n through the night. `rewrite_every` N rewrites the
// plane on every Nth included frame (1 = always, no journal).
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

/** What the night state records about the accumulator. */
export interface StarTrailsDisk {
  current: Buffer2 | null;
  /** Byte lengths of the journal segments written since `current` was (in order). */
  journal: number[];
}

export function bufferPath(dir: string, which: Buffer2): string {
  return join(dir, `startrails-${which}.u16`);
}

export function journalPath(dir: string): string {
  return join(dir, 'startrails.journal');
}

export function other(which: Buffer2 | null): Buffer2 {
  return which === 'a' ? 'b' : 'a';
}

const CHUNK = 1 << 16;
/** Read buffer per journal segment: rewrite_every of them can be open at once. */
const CURSOR_CHUNK = 1 << 14;

/** Reads one journal segment forward, applying its entries to strips as they go by. */
class SegmentCursor {
  private buf = Buffer.alloc(CURSOR_CHUNK);
  private len = 0;
  private at = 0;
  private pos: number;
  private index = -1;
  private value = 0;
  private have = false;

  constructor(private readonly fh: FileHandle, start: number, private readonly end: number) {
    this.pos = start;
  }

  private async fill(): Promise<void> {
    if (this.len - this.at >= 8 || this.pos >= this.end) return;
    this.buf.copy(this.buf, 0, this.at, this.len);
    this.len -= this.at;
    this.at = 0;
    const want = Math.min(CURSOR_CHUNK - this.len, this.end - this.pos);
    const { bytesRead } = await this.fh.read(this.buf, this.len, want, this.pos);
    if (bytesRead < want) throw new Error(`star trails journal ended at byte ${this.pos + bytesRead}`);
    this.len += bytesRead;
    this.pos += bytesRead;
  }

  /** Parse the next entry from the buffer (fill() first when fewer than 8 bytes are buffered). */
  private step(): void {
    if (this.at >= this.len) {
      this.have = false;
      return;
    }
    let delta = 0;
    let shift = 1;
    for (;;) {
      const b = this.buf[this.at++]!;
      delta += (b & 0x7f) * shift;
      if (b < 0x80) break;
      shift *= 128;
    }
    this.index += delta;
    this.value = this.buf[this.at]! | (this.buf[this.at + 1]! << 8);
    this.at += 2;
    this.have = true;
  }

  async start(): Promise<void> {
    await this.fill();
    this.step();
  }

  /** Apply entries with lo ≤ index < hi to acc (acc[0] is sample lo). */
  async apply(lo: number, hi: number, acc: Uint16Array): Promise<void> {
    while (this.have && this.index < hi) {
      if (this.index >= lo) acc[this.index - lo] = this.value;
      if (this.len - this.at < 8) await this.fill();
      this.step();
    }
  }
}

/** The accumulator as it stands (plane + journal), read strip by strip in order. */
class PlaneReader {
  private constructor(private readonly plane: FileHandle | null, private readonly journal: FileHandle | null, private readonly cursors: SegmentCursor[]) {}

  static async open(dir: string, disk: StarTrailsDisk): Promise<PlaneReader> {
    const plane = disk.current ? await open(bufferPath(dir, disk.current), 'r') : null;
    let journal: FileHandle | null = null;
    const cursors: SegmentCursor[] = [];
    try {
      if (disk.journal.length) {
        journal = await open(journalPath(dir), 'r');
        let off = 0;
        for (const len of disk.journal) {
          const c = new SegmentCursor(journal, off, off + len);
          await c.start();
          cursors.push(c);
          off += len;
        }
      }
    } catch (err) {
      await plane?.close();
      await journal?.close();
      throw err;
    }
    return new PlaneReader(plane, journal, cursors);
  }

  /** Samples [lo, lo + acc.length) into acc; strips must come in increasing order. */
  async read(lo: number, acc: Uint16Array): Promise<void> {
    if (this.plane) await readFully(this.plane, new Uint8Array(acc.buffer, acc.byteOffset, acc.length * 2), lo * 2);
    else acc.fill(0);
    for (const c of this.cursors) await c.apply(lo, lo + acc.length, acc);
  }

  async close(): Promise<void> {
    await this.plane?.close().catch(() => {});
    await this.journal?.close().catch(() => {});
  }
}

/** Appends one journal segment through a 64 KB buffer. */
class SegmentWriter {
  private buf = Buffer.alloc(CHUNK);
  private len = 0;
  private last = -1;
  written = 0;

  constructor(private readonly fh: FileHandle, private readonly start: number) {}

  /** Buffer one entry; true when the buffer wants a flush() before the next. */
  push(index: number, value: number): boolean {
    let d = index - this.last;
    this.last = index;
    while (d >= 0x80) {
      this.buf[this.len++] = (d % 128) | 0x80;
      d = Math.floor(d / 128);
    }
    this.buf[this.len++] = d;
    this.buf[this.len++] = value & 0xff;
    this.buf[this.len++] = value >> 8;
    return this.len > CHUNK - 8;
  }

  async flush(): Promise<void> {
    let off = 0;
    while (off < this.len) off += (await this.fh.write(this.buf, off, this.len - off, this.start + this.written + off)).bytesWritten;
    this.written += this.len;
    this.len = 0;
  }
}

/** One frame's update of the accumulator: feed every strip in order, then commit or discard. */
export class StarTrailsUpdate {
  private u16 = new Uint16Array(0);
  private rowsDone = 0;
  /** Bytes this update wrote (plane or journal segment): the card wear of the frame. */
  bytesWritten = 0;

  private constructor(
    private readonly g: PlaneGeometry,
    private readonly disk: StarTrailsDisk,
    private readonly reader: PlaneReader,
    private readonly out: FileHandle,
    readonly mode: 'plane' | 'journal',
    private readonly segment: SegmentWriter | null,
  ) {}

  /** mode 'plane' rewrites the spare plane; 'journal' appends the raised samples (needs a plane). */
  static async begin(dir: string, g: PlaneGeometry, disk: StarTrailsDisk, mode: 'plane' | 'journal'): Promise<StarTrailsUpdate> {
    if (mode === 'journal' && !disk.current) mode = 'plane';
    const reader = await PlaneReader.open(dir, disk);
    try {
      if (mode === 'plane') return new StarTrailsUpdate(g, disk, reader, await open(bufferPath(dir, other(disk.current)), 'w'), mode, null);
      const jp = journalPath(dir);
      const fh = await open(jp, 'r+').catch(() => open(jp, 'w+'));
      const start = disk.journal.reduce((a, b) => a + b, 0);
      return new StarTrailsUpdate(g, disk, reader, fh, mode, new SegmentWriter(fh, start));
    } catch (err) {
      await reader.close();
      throw err;
    }
  }

  async strip(data: Float32Array, y0: number, rows: number): Promise<void> {
    const n = rows * this.g.width * this.g.channels;
    if (this.u16.length < n) this.u16 = new Uint16Array(n);
    const acc = this.u16.subarray(0, n);
    const lo = y0 * this.g.width * this.g.channels;
    await this.reader.read(lo, acc);
    if (this.segment) {
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        const q = v > 0 ? (v < 1 ? Math.round(v * 65535) : 65535) : 0;
        if (q > acc[i]! && this.segment.push(lo + i, q)) await this.segment.flush();
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        const q = v > 0 ? (v < 1 ? Math.round(v * 65535) : 65535) : 0;
        if (q > acc[i]!) acc[i] = q;
      }
      const bytes = new Uint8Array(acc.buffer, acc.byteOffset, n * 2);
      let off = 0;
      while (off < bytes.length) off += (await this.out.write(bytes, off, bytes.length - off, lo * 2 + off)).bytesWritten;
      this.bytesWritten += bytes.length;
    }
    this.rowsDone += rows;
  }

  /** Flush to disk; returns what the state must record for the update to count. */
  async commit(): Promise<StarTrailsDisk> {
    if (this.rowsDone !== this.g.height) throw new Error(`star trails update got ${this.rowsDone} of ${this.g.height} rows`);
    if (this.segment) await this.segment.flush();
    await this.out.datasync();
    await this.close();
    if (!this.segment) return { current: other(this.disk.current), journal: [] };
    this.bytesWritten = this.segment.written;
    return { current: this.disk.current, journal: [...this.disk.journal, this.segment.written] };
  }

  async close(): Promise<void> {
    await this.reader.close();
    await this.out.close().catch(() => {});
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

/** Iterate the accumulator (plane + journal) by strips as floats 0..1. */
async function eachStrip(dir: string, disk: StarTrailsDisk, g: PlaneGeometry, fn: (data: Float32Array, rows: number) => Promise<void> | void): Promise<void> {
  const reader = await PlaneReader.open(dir, disk);
  try {
    const rowSamples = g.width * g.channels;
    const stripRows = Math.max(1, Math.min(g.height, Math.floor((1 << 20) / rowSamples)));
    const u16 = new Uint16Array(stripRows * rowSamples);
    const f = new Float32Array(stripRows * rowSamples);
    for (let y0 = 0; y0 < g.height; y0 += stripRows) {
      const rows = Math.min(stripRows, g.height - y0);
      const n = rows * rowSamples;
      await reader.read(y0 * rowSamples, u16.subarray(0, n));
      for (let i = 0; i < n; i++) f[i] = u16[i]! / 65535;
      await fn(f.subarray(0, n), rows);
    }
  } finally {
    await reader.close();
  }
}

/** The accumulator as it stands, whole (tests, tools). */
export async function readStarTrails(dir: string, disk: StarTrailsDisk, g: PlaneGeometry): Promise<Float32Array> {
  const out = new Float32Array(g.width * g.height * g.channels);
  let at = 0;
  await eachStrip(dir, disk, g, (data) => {
    out.set(data, at);
    at += data.length;
  });
  return out;
}

/** The exact maximum as 16-bit FITS and a stretched JPEG for people. */
export async function renderStarTrails(dir: string, disk: StarTrailsDisk, fitsOut: string, jpegOut: string, g: PlaneGeometry, displayReferred: boolean, cards: Record<string, string | number>): Promise<void> {
  const hist = new Histogram();
  const fits = await openFitsRowSink(fitsOut, g.width, g.height, g.channels, 16, cards);
  try {
    await eachStrip(dir, disk, g, async (data, rows) => {
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
    await eachStrip(dir, disk, g, async (data, rows) => {
      for (let i = 0; i < data.length; i++) data[i] = applyStretch(stretch, data[i]!);
      await jpeg.writeRows(data, rows);
    });
    await jpeg.finish();
  } catch (err) {
    await jpeg.abort();
    throw err;
  }
}
