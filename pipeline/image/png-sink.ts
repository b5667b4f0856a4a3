// In-process 8-bit PNG writer (grey, RGB or palette) for rows the caller already holds as bytes.
// Each strip is filtered here (one PNG filter for the whole image) and handed to node:zlib, whose
// deflate runs on libuv's thread pool: the caller computes the next strip while this one is
// compressed (one strip in flight), with no encoder process and no float → PNM conversion.
// Used where a pipeline paints its pictures as bytes (the focus map); openRowSink's png8/png16 (pnmtopng)
// stays what every other pipeline writes.
//
// Z_RLE (run-length matches only) with the Sub/Up filters costs a quarter of pnmtopng -compression 3's
// CPU on 24 MP pictures, for files within a few % of its size; the pixels are the same.
import { once } from 'node:events';
import { constants as Z, crc32, createDeflate, type Deflate } from 'node:zlib';
import { namingPath } from '../../lib/atomic.js';
import { AtomicFile } from './file-sink.js';
import { RowCounter } from './sink-check.js';

export type PngFilter = 'none' | 'sub' | 'up';

export interface PngSinkOptions {
  width: number;
  height: number;
  /** 1 (grey, or palette indices with `palette`) or 3 (RGB). */
  channels: 1 | 3;
  /** RGB triples (≤ 256 entries): rows are then palette indices. */
  palette?: Uint8Array;
  /** PNG filter of every row (default: sub for RGB, up for palette, none for grey). */
  filter?: PngFilter;
  /** zlib strategy (default 'rle') and level (default 1; 'rle' ignores the level). */
  strategy?: 'default' | 'rle' | 'filtered';
  level?: number;
}

export interface PngSink {
  /** `rows` rows of width × channels bytes (palette: indices), filtered here. The sink copies what it keeps. */
  writeRows(bytes: Uint8Array, rows: number): Promise<void>;
  /**
   * `rows` rows already filtered with this sink's filter (PNG scanlines: the filter byte, then the
   * filtered row; e.g. from a WebAssembly kernel). The sink copies them.
   */
  writeScanlines(scan: Uint8Array, rows: number): Promise<void>;
  /** Check every row arrived, write the last chunks and rename the temp file into place. */
  finish(): Promise<void>;
  /** Stop, delete the temp file; the destination is untouched. */
  abort(): Promise<void>;
}

const FILTER_CODE: Record<PngFilter, number> = { none: 0, sub: 1, up: 2 };
/** IDAT chunks of about this many compressed bytes. */
const IDAT_BYTES = 1 << 20;
/** Compressed bytes queued for the disk before a strip waits for them (a slow card throttles the caller). */
const WRITE_BEHIND = 8 << 20;

/**
 * Filter `rows` rows (stride bytes each, bpp bytes per pixel) of `src` into `out` (rows × (1 +
 * stride): the filter byte, then the row). `prev` is the row above the first (null: the image's top).
 */
export function pngFilterRows(src: Uint8Array, rows: number, stride: number, bpp: number, filter: PngFilter, prev: Uint8Array | null, out: Uint8Array): void {
  const code = FILTER_CODE[filter];
  for (let r = 0; r < rows; r++) {
    const s = r * stride;
    const o = r * (stride + 1) + 1;
    out[o - 1] = code;
    if (filter === 'none') {
      out.set(src.subarray(s, s + stride), o);
    } else if (filter === 'sub') {
      for (let i = 0; i < bpp; i++) out[o + i] = src[s + i]!;
      for (let i = bpp; i < stride; i++) out[o + i] = src[s + i]! - src[s + i - bpp]!;
    } else {
      const above = r > 0 ? src.subarray(s - stride, s) : prev;
      if (!above) out.set(src.subarray(s, s + stride), o);
      else for (let i = 0; i < stride; i++) out[o + i] = src[s + i]! - above[i]!;
    }
  }
}

function chunk(type: string, data: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  b.set(data, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return b;
}

export async function openPngSink(path: string, o: PngSinkOptions): Promise<PngSink> {
  const { width, height, channels, palette } = o;
  if (channels !== 1 && channels !== 3) throw new Error(`${path}: PNG sink needs 1 or 3 channels, got ${channels}`);
  if (palette && (channels !== 1 || palette.length % 3 !== 0 || palette.length === 0 || palette.length > 768)) throw new Error(`${path}: a palette is 1..256 RGB triples over 1-channel indices`);
  const counter = new RowCounter(path, width, height, channels);
  const stride = width * channels;
  const filter = o.filter ?? (channels === 3 ? 'sub' : palette ? 'up' : 'none');
  const strategy = o.strategy === 'default' ? Z.Z_DEFAULT_STRATEGY : o.strategy === 'filtered' ? Z.Z_FILTERED : Z.Z_RLE;
  const file = await AtomicFile.create(path);
  let pos = 0;
  let written = 0;
  let writing: Promise<void> = Promise.resolve();
  let failure: Error | null = null;
  const put = (buf: Uint8Array) => {
    const at = pos;
    pos += buf.length;
    writing = writing.then(async () => {
      await file.write(buf, at);
      written = at + buf.length;
    });
    writing.catch((err: Error) => (failure ??= err));
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = palette ? 3 : channels === 3 ? 2 : 0;
  put(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...(palette ? [chunk('PLTE', palette)] : [])]));

  const deflate: Deflate = createDeflate({ level: o.level ?? 1, strategy, memLevel: 9, chunkSize: 256 << 10 });
  let out: Buffer[] = [];
  let outBytes = 0;
  const flushIdat = () => {
    if (outBytes === 0) return;
    put(chunk('IDAT', out.length === 1 ? out[0]! : Buffer.concat(out, outBytes)));
    out = [];
    outBytes = 0;
  };
  deflate.on('data', (b: Buffer) => {
    out.push(b);
    outBytes += b.length;
    if (outBytes >= IDAT_BYTES) flushIdat();
  });
  deflate.on('error', (err: Error) => (failure ??= err));
  const ended = once(deflate, 'end');
  ended.catch(() => {});

  let done = false;
  let inFlight: Promise<void> = Promise.resolve();
  let lastRow: Uint8Array | null = null;
  const fail = (err: unknown) => namingPath(err, path);

  const abort = async () => {
    done = true;
    deflate.destroy();
    await writing.catch(() => {});
    await file.discard();
  };

  const check = async (n: number, rows: number, need: number, what: string) => {
    if (done) throw new Error(`${path}: sink already finished or aborted`);
    try {
      counter.addRows(rows);
      if (n < need) throw new Error(`${what} got ${n} bytes for ${rows} rows of ${stride}`);
      if (failure) throw failure;
    } catch (err) {
      await abort();
      throw fail(err);
    }
  };
  // Strip buffers come back when zlib has consumed them: two or three serve a whole image.
  const spare: Buffer[] = [];
  const stripBuffer = (n: number) => {
    const i = spare.findIndex((b) => b.length >= n);
    return (i >= 0 ? spare.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(n)).subarray(0, n);
  };
  const deflateStrip = async (scan: Buffer) => {
    // One strip compressing while the caller makes the next: wait for the previous one only.
    const previous = inFlight;
    const whole = Buffer.from(scan.buffer); // stripBuffer's own allocation, whole
    const consumed = (err?: Error | null) => {
      if (!err && spare.length < 3) spare.push(whole);
    };
    inFlight = deflate.write(scan, consumed) ? Promise.resolve() : once(deflate, 'drain').then(() => {});
    inFlight.catch(() => {});
    try {
      await previous;
      if (pos - written > WRITE_BEHIND) await writing;
      if (failure) throw failure;
    } catch (err) {
      await abort();
      throw fail(err);
    }
  };

  return {
    async writeRows(bytes, rows) {
      await check(bytes.length, rows, rows * stride, 'writeRows');
      const scan = stripBuffer(rows * (stride + 1));
      pngFilterRows(bytes, rows, stride, channels, filter, lastRow, scan);
      if (filter === 'up') lastRow = bytes.slice((rows - 1) * stride, rows * stride);
      await deflateStrip(scan);
    },
    async writeScanlines(scan, rows) {
      await check(scan.length, rows, rows * (stride + 1), 'writeScanlines');
      const own = stripBuffer(rows * (stride + 1));
      own.set(scan.subarray(0, rows * (stride + 1)));
      await deflateStrip(own);
    },
    async finish() {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      try {
        counter.complete();
        await inFlight;
        deflate.end();
        await ended;
        flushIdat();
        put(chunk('IEND', new Uint8Array(0)));
        await writing;
        if (failure) throw failure;
        done = true;
        await file.commit();
      } catch (err) {
        await abort();
        throw fail(err);
      }
    },
    abort,
  };
}
