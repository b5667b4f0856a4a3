// Native streaming PNG decoder (non-interlaced, 8/16-bit; grey, RGB, palette, with or without alpha):
// IDAT bytes are fed into a zlib inflate stream with backpressure and rows are unfiltered one at a
// time, so memory is two rows plus a few MB of buffers. pngtopam holds the whole image (143 MB for a
// 6000×4000 16-bit RGB frame), hence this. Interlaced and 1/2/4-bit PNGs go to pngtopam instead.
import { open, type FileHandle } from 'node:fs/promises';
import { createInflate, type Inflate, type ZlibOptions } from 'node:zlib';
import { StreamByteReader } from './byte-queue.js';
import { ImageFormatError } from './types.js';
import { batchArray } from './strip.js';
import type { RowBatch, RowSource } from './formats.js';

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  /** Offset of the first chunk after IHDR. */
  next: number;
}

const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function parsePngIhdr(head: Buffer, path: string): PngInfo {
  if (head.length < 33 || !head.subarray(0, 8).equals(SIG)) throw new ImageFormatError(path, 'not a PNG file');
  if (head.subarray(12, 16).toString('latin1') !== 'IHDR') throw new ImageFormatError(path, 'PNG without IHDR');
  return {
    width: head.readUInt32BE(16),
    height: head.readUInt32BE(20),
    bitDepth: head[24]!,
    colorType: head[25]!,
    interlace: head[28]!,
    next: 33,
  };
}

/** Can the native decoder handle it? (otherwise pngtopam) */
export function pngStreamable(info: PngInfo): boolean {
  return info.interlace === 0 && (info.bitDepth === 8 || (info.bitDepth === 16 && info.colorType !== 3)) && [0, 2, 3, 4, 6].includes(info.colorType);
}

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** PNG row unfiltering (filter types 0–4) in place on `cur` with the previous row `prev`. */
export function unfilterRow(filter: number, cur: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = cur.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) cur[i] = (cur[i]! + cur[i - bpp]!) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) cur[i] = (cur[i]! + prev[i]!) & 255;
      return;
    case 3:
      for (let i = 0; i < bpp; i++) cur[i] = (cur[i]! + (prev[i]! >> 1)) & 255;
      for (let i = bpp; i < n; i++) cur[i] = (cur[i]! + ((cur[i - bpp]! + prev[i]!) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < bpp; i++) cur[i] = (cur[i]! + prev[i]!) & 255;
      for (let i = bpp; i < n; i++) {
        const a = cur[i - bpp]!;
        const b = prev[i]!;
        const c = prev[i - bpp]!;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        cur[i] = (cur[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return;
    default:
      throw new Error(`bad PNG filter type ${filter}`);
  }
}

export async function openPngRowSource(path: string, info: PngInfo, opts: { grayscale?: boolean } = {}): Promise<RowSource> {
  const fh: FileHandle = await open(path, 'r');
  // A 1 MB write-ahead lets file reads and inflate (both on the libuv pool) overlap instead of
  // ping-ponging one 64 KB piece at a time.
  const inflate: Inflate = createInflate({ chunkSize: 512 << 10, writableHighWaterMark: 1 << 20 } as ZlibOptions);
  const reader = new StreamByteReader(inflate, 1 << 20);
  const spp = SAMPLES[info.colorType]!;
  const bytesPerSample = info.bitDepth / 8;
  const bpp = spp * bytesPerSample;
  const stride = info.width * bpp;
  const colour = info.colorType === 2 || info.colorType === 6 || info.colorType === 3;
  let palette: Uint8Array | null = null;
  let closed = false;
  let paletteReady!: () => void;
  const havePalette = new Promise<void>((r) => (paletteReady = r));

  let wakeFeeder = () => {};
  // Feed IDAT payloads into inflate; a full inflate buffer (reader paused) blocks us on 'drain'.
  const feeder = (async () => {
    let pos = info.next;
    const hdr = Buffer.alloc(8);
    // A small pool of input buffers, each reused once inflate's write callback says it is consumed:
    // no per-piece garbage (which otherwise shows up as tens of MB of RSS before the GC runs).
    const free: Buffer[] = Array.from({ length: 4 }, () => Buffer.alloc(256 << 10));
    let freed: (() => void) | null = null;
    const takeBuffer = async (): Promise<Buffer | null> => {
      while (!free.length) {
        if (closed) return null;
        await new Promise<void>((r) => (freed = r));
      }
      return free.pop()!;
    };
    wakeFeeder = () => {
      const f = freed;
      freed = null;
      f?.();
    };
    const giveBack = (b: Buffer) => {
      free.push(b);
      const f = freed;
      freed = null;
      f?.();
    };
    try {
      for (;;) {
        if (closed) return;
        const { bytesRead } = await fh.read(hdr, 0, 8, pos);
        if (bytesRead < 8) throw new ImageFormatError(path, 'truncated PNG (file ends before IEND)');
        const len = hdr.readUInt32BE(0);
        const type = hdr.subarray(4, 8).toString('latin1');
        pos += 8;
        if (type === 'IEND') {
          paletteReady();
          inflate.end();
          return;
        }
        if (type === 'PLTE' || type === 'IDAT') {
          let left = len;
          let p = pos;
          const plte: Buffer[] = [];
          while (left > 0) {
            if (closed) return;
            const buf = await takeBuffer();
            if (!buf || closed) return;
            const k = Math.min(left, buf.length);
            const { bytesRead: got } = await fh.read(buf, 0, k, p);
            if (got < k) throw new ImageFormatError(path, `truncated PNG (${type} chunk cut off)`);
            const piece = buf.subarray(0, k);
            if (type === 'PLTE') {
              plte.push(Buffer.from(piece));
              giveBack(buf);
            } else if (!inflate.write(piece, () => giveBack(buf))) {
              // destroyed already (close() raced us): its 'close' event is gone, do not wait for it
              if (closed || inflate.destroyed) return;
              await new Promise<void>((r) => {
                const done = () => {
                  inflate.off('drain', done);
                  inflate.off('close', done);
                  r();
                };
                inflate.once('drain', done);
                inflate.once('close', done); // destroyed by close(): stop waiting
              });
            }
            left -= k;
            p += k;
          }
          if (type === 'PLTE') palette = new Uint8Array(Buffer.concat(plte));
          else paletteReady(); // palette always precedes IDAT
        }
        pos += len + 4; // data + CRC
      }
    } catch (err) {
      paletteReady();
      if (!closed) inflate.destroy(err instanceof ImageFormatError ? err : new ImageFormatError(path, (err as Error).message));
    }
  })();

  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  let y = 0;
  const channels = opts.grayscale ? 1 : colour ? 3 : 1;
  const fail = (err: unknown) =>
    err instanceof ImageFormatError ? err : new ImageFormatError(path, `corrupt PNG data (${(err as Error).message.split('\n')[0]})`);

  const close = async () => {
    if (closed) return;
    closed = true;
    inflate.destroy();
    wakeFeeder();
    await feeder.catch(() => {});
    await fh.close();
  };

  return {
    path,
    width: info.width,
    height: info.height,
    channels,
    bitDepth: info.bitDepth === 16 ? 16 : 8,
    meta: {},
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (y >= info.height) return null;
      if (closed) throw new ImageFormatError(path, 'row source is closed');
      const rows = Math.max(1, Math.min(Math.floor(maxRows), info.height - y));
      const need = rows * (stride + 1);
      let got: number;
      try {
        if (info.colorType === 3) {
          await havePalette;
          if (!palette) throw new ImageFormatError(path, 'palette PNG without PLTE');
        }
        got = await reader.fill(need);
      } catch (err) {
        await close();
        throw fail(err);
      }
      if (got < need) {
        await close();
        throw new ImageFormatError(path, `truncated PNG data (row ${y + Math.floor(got / (stride + 1))} of ${info.height})`);
      }
      const data = batchArray(rows * info.width * channels, into);
      const fb = new Uint8Array(1);
      for (let r = 0; r < rows; r++) {
        reader.take(1, fb);
        reader.take(stride, cur);
        try {
          unfilterRow(fb[0]!, cur, prev, bpp);
        } catch (err) {
          await close();
          throw fail(err);
        }
        convertRow(cur, info, palette, data, r * info.width * channels, channels);
        const t = prev;
        prev = cur;
        cur = t;
      }
      y += rows;
      if (y >= info.height) await close(); // IDAT may carry trailing bytes; nothing more to read
      return { y0: y - rows, rows, data };
    },
    close,
  };
}

function convertRow(row: Uint8Array, info: PngInfo, palette: Uint8Array | null, out: Float32Array, o: number, channels: number): void {
  const w = info.width;
  const spp = SAMPLES[info.colorType]!;
  const is16 = info.bitDepth === 16;
  const inv = is16 ? 1 / 65535 : 1 / 255;
  const grey = info.colorType === 0 || info.colorType === 4;
  // fast paths: every sample kept in order (grey or RGB without alpha)
  if ((grey && spp === 1 && channels === 1) || (info.colorType === 2 && channels === 3)) {
    const n = w * spp;
    if (is16) for (let i = 0, j = 0; i < n; i++, j += 2) out[o + i] = ((row[j]! << 8) | row[j + 1]!) * inv;
    else for (let i = 0; i < n; i++) out[o + i] = row[i]! * inv;
    return;
  }
  const s = is16 ? (i: number) => (row[2 * i]! << 8) | row[2 * i + 1]! : (i: number) => row[i]!;
  for (let x = 0; x < w; x++) {
    let r: number, g: number, b: number;
    if (info.colorType === 3) {
      const k = row[x]! * 3;
      r = palette![k] ?? 0;
      g = palette![k + 1] ?? 0;
      b = palette![k + 2] ?? 0;
    } else if (grey) {
      r = g = b = s(x * spp);
    } else {
      r = s(x * spp);
      g = s(x * spp + 1);
      b = s(x * spp + 2);
    }
    if (channels === 1) {
      out[o + x] = grey ? r * inv : (0.2126 * r + 0.7152 * g + 0.0722 * b) * inv;
    } else {
      out[o + 3 * x] = r * inv;
      out[o + 3 * x + 1] = g * inv;
      out[o + 3 * x + 2] = b * inv;
    }
  }
}
