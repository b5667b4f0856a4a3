// Radiance .hdr (RGBE): shared-exponent encoding of linear radiance, new-style run-length scanlines
// (what Radiance, OpenCV, Photoshop and GIMP write and read). Pure codecs over bytes, a row sink that
// appends scanlines, and a whole-image reader.
import { open, readFile } from 'node:fs/promises';
import { batchArray, grayStrip } from './strip.js';
import type { RowBatch, RowSource } from './formats.js';
import { openAtomicRowSink } from './file-sink.js';
import { RowCounter } from './sink-check.js';
import type { RowSink } from './formats.js';
import { ImageFormatError, type ImageF32 } from './types.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** 2^k for k in −160..160 at POW2[k + 160]. */
const POW2 = Float64Array.from({ length: 321 }, (_, i) => 2 ** (i - 160));

/**
 * Encode `width` pixels (RGB floats, or mono replicated) to RGBE quadruples. frexp comes from the
 * float's exponent bits instead of log2/pow per pixel (~3× faster on a 24 MP radiance map); the bytes
 * equal the textbook frexp encoder (test/helpers/rgbe-reference.ts, checked in hdr-debevec.test.ts).
 */
export function encodeRgbe(src: Float32Array, offset: number, channels: number, width: number, out: Uint8Array): void {
  for (let x = 0, s = offset, o = 0; x < width; x++, s += channels, o += 4) {
    let r = src[s]!;
    let g = channels >= 3 ? src[s + 1]! : r;
    let b = channels >= 3 ? src[s + 2]! : r;
    if (r !== r || g !== g || b !== b) {
      // NaN anywhere: black, as the reference encoder does.
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    if (!(r > 0)) r = 0;
    if (!(g > 0)) g = 0;
    if (!(b > 0)) b = 0;
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    f32[0] = v;
    const E = (u32[0]! >>> 23) & 255;
    // E = 0: zero or below 1e-38; E = 255: infinity/NaN.
    if (E === 0 || E === 255 || !(v > 1e-32)) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    const e = E - 126; // v = m·2^e, m in [0.5, 1)
    if (e > 127) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 255;
      continue;
    }
    if (e < -128) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    const scale = POW2[8 - e + 160]!; // 256·m / v
    const R = (r * scale) | 0;
    const G = (g * scale) | 0;
    const B = (b * scale) | 0;
    out[o] = R > 255 ? 255 : R;
    out[o + 1] = G > 255 ? 255 : G;
    out[o + 2] = B > 255 ? 255 : B;
    out[o + 3] = e + 128;
  }
}

/** Decode RGBE quadruples to RGB floats (Radiance's centre-of-bin +0.5 convention). */
export function decodeRgbe(src: Uint8Array, offset: number, width: number, dst: Float32Array, dstOffset: number): void {
  for (let x = 0, s = offset, o = dstOffset; x < width; x++, s += 4, o += 3) {
    const e = src[s + 3]!;
    if (e === 0) {
      dst[o] = dst[o + 1] = dst[o + 2] = 0;
      continue;
    }
    const f = 2 ** (e - 136);
    dst[o] = (src[s]! + 0.5) * f;
    dst[o + 1] = (src[s + 1]! + 0.5) * f;
    dst[o + 2] = (src[s + 2]! + 0.5) * f;
  }
}

const MINRUN = 4;

/** New-style RLE of one scanline of RGBE quadruples (width 8..32767); returns bytes written into out. */
export function rleScanline(rgbe: Uint8Array, width: number, out: Uint8Array): number {
  let o = 0;
  out[o++] = 2;
  out[o++] = 2;
  out[o++] = width >> 8;
  out[o++] = width & 255;
  for (let c = 0; c < 4; c++) {
    const at = (i: number) => rgbe[i * 4 + c]!;
    let i = 0;
    while (i < width) {
      // find the next run of at least MINRUN equal bytes
      let runStart = i;
      let runLen = 0;
      while (runStart < width) {
        runLen = 1;
        while (runLen < 127 && runStart + runLen < width && at(runStart + runLen) === at(runStart)) runLen++;
        if (runLen >= MINRUN) break;
        runStart += runLen;
      }
      // literals up to the run, in packets of ≤128
      while (i < runStart) {
        const n = Math.min(128, runStart - i);
        out[o++] = n;
        for (let k = 0; k < n; k++) out[o++] = at(i + k);
        i += n;
      }
      if (runStart < width && runLen >= MINRUN) {
        out[o++] = 128 + runLen;
        out[o++] = at(runStart);
        i = runStart + runLen;
      }
    }
  }
  return o;
}

export function radianceHeader(width: number, height: number): Buffer {
  return Buffer.from(`#?RADIANCE\n# skyrig\nFORMAT=32-bit_rle_rgbe\n\n-Y ${height} +X ${width}\n`, 'latin1');
}

/** Row sink for .hdr: scanlines are appended in order (new-style RLE when 8 ≤ width ≤ 32767, flat otherwise). */
export async function openRadianceRowSink(path: string, width: number, height: number, channels: number): Promise<RowSink> {
  const counter = new RowCounter(path, width, height, channels);
  if (channels !== 1 && channels !== 3) throw new Error(`${path}: .hdr needs 1 or 3 channels, got ${channels}`);
  const header = radianceHeader(width, height);
  let pos = header.length;
  const rgbe = new Uint8Array(width * 4);
  const rle = width >= 8 && width <= 0x7fff;
  let buf = new Uint8Array(0);
  return openAtomicRowSink(counter, header, {
    async writeStrip(file, data, rows) {
      // worst case RLE grows a scanline by 4 + 4·ceil(width/128) bytes; the buffer is reused across strips
      const worst = rows * (width * 4 + 8 + 4 * Math.ceil(width / 128));
      if (buf.length < worst) buf = new Uint8Array(worst);
      let n = 0;
      for (let r = 0; r < rows; r++) {
        encodeRgbe(data, r * width * channels, channels, width, rgbe);
        if (rle) n += rleScanline(rgbe, width, buf.subarray(n));
        else {
          buf.set(rgbe, n);
          n += rgbe.length;
        }
      }
      await file.write(buf.subarray(0, n), pos);
      pos += n;
    },
    placeEncoded(length) {
      // Scanlines as writeStrip encodes them (the Debevec kernel's rgbeRows): appended in order.
      const at = pos;
      pos += length;
      return at;
    },
  });
}

export interface RadianceHeader {
  width: number;
  height: number;
  /** Byte offset of the first scanline. */
  dataOffset: number;
  exposure: number;
}

/** Parse the text header and resolution line; only the standard -Y H +X W orientation is accepted. */
export function parseRadianceHeader(bytes: Uint8Array, path: string): RadianceHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 65536));
  if (b.subarray(0, 2).toString('latin1') !== '#?') throw new ImageFormatError(path, 'not a Radiance file (no #? line)');
  const blank = b.indexOf('\n\n', 0, 'latin1');
  if (blank < 0) throw new ImageFormatError(path, 'truncated Radiance header');
  const text = b.subarray(0, blank).toString('latin1');
  let exposure = 1;
  for (const line of text.split('\n')) {
    if (line.startsWith('FORMAT=') && line !== 'FORMAT=32-bit_rle_rgbe') throw new ImageFormatError(path, `unsupported ${line}`);
    const m = /^EXPOSURE=\s*([0-9.eE+-]+)/.exec(line);
    if (m) exposure *= Number(m[1]);
  }
  const eol = b.indexOf('\n', blank + 2, 'latin1');
  if (eol < 0) throw new ImageFormatError(path, 'truncated Radiance header');
  const res = /^-Y (\d+) \+X (\d+)$/.exec(b.subarray(blank + 2, eol).toString('latin1').trim());
  if (!res) throw new ImageFormatError(path, 'unsupported Radiance orientation (need -Y H +X W)');
  return { height: Number(res[1]), width: Number(res[2]), dataOffset: eol + 1, exposure };
}

/**
 * Decode one scanline starting at bytes[pos] into quadruples; returns the next position.
 * Handles new-style RLE and flat scanlines (old-style RLE repeat codes too).
 */
export function decodeScanline(bytes: Uint8Array, pos: number, width: number, rgbe: Uint8Array, path: string): number {
  const short = () => new ImageFormatError(path, 'truncated Radiance data');
  if (pos + 4 > bytes.length) throw short();
  if (width >= 8 && width <= 0x7fff && bytes[pos] === 2 && bytes[pos + 1] === 2 && (bytes[pos + 2]! & 0x80) === 0) {
    if (((bytes[pos + 2]! << 8) | bytes[pos + 3]!) !== width) throw new ImageFormatError(path, 'Radiance scanline width mismatch');
    pos += 4;
    for (let c = 0; c < 4; c++) {
      let x = 0;
      while (x < width) {
        if (pos >= bytes.length) throw short();
        let n = bytes[pos++]!;
        if (n > 128) {
          n -= 128;
          if (x + n > width || pos >= bytes.length) throw new ImageFormatError(path, 'bad Radiance run length');
          const v = bytes[pos++]!;
          for (let k = 0; k < n; k++) rgbe[(x + k) * 4 + c] = v;
        } else {
          if (n === 0 || x + n > width) throw new ImageFormatError(path, 'bad Radiance run length');
          if (pos + n > bytes.length) throw short();
          for (let k = 0; k < n; k++) rgbe[(x + k) * 4 + c] = bytes[pos++]!;
        }
        x += n;
      }
    }
    return pos;
  }
  // flat (or old-style RLE: 1,1,1,count repeats the previous pixel)
  let shift = 0;
  for (let x = 0; x < width; ) {
    if (pos + 4 > bytes.length) throw short();
    if (bytes[pos] === 1 && bytes[pos + 1] === 1 && bytes[pos + 2] === 1 && x > 0) {
      const n = bytes[pos + 3]! << shift;
      if (x + n > width) throw new ImageFormatError(path, 'bad Radiance run length');
      for (let k = 0; k < n; k++) rgbe.copyWithin((x + k) * 4, (x - 1) * 4, x * 4);
      x += n;
      shift += 8;
    } else {
      rgbe.set(bytes.subarray(pos, pos + 4), x * 4);
      x++;
      shift = 0;
    }
    pos += 4;
  }
  return pos;
}

/** Whole-image reader (tests, small files): linear RGB floats, EXPOSURE not applied (in meta). */
export async function readRadiance(path: string): Promise<ImageF32 & { exposure: number }> {
  const bytes = await readFile(path);
  const h = parseRadianceHeader(bytes, path);
  const data = new Float32Array(h.width * h.height * 3);
  const rgbe = new Uint8Array(h.width * 4);
  let pos = h.dataOffset;
  for (let y = 0; y < h.height; y++) {
    pos = decodeScanline(bytes, pos, h.width, rgbe, path);
    decodeRgbe(rgbe, 0, h.width, data, y * h.width * 3);
  }
  return { width: h.width, height: h.height, channels: 3, bitDepth: 32, data, exposure: h.exposure };
}

/** Row source over a .hdr file: scanlines decoded as they are read (a window of ~1 MB of the file). */
export async function openRadianceRowSource(path: string, opts: { grayscale?: boolean } = {}): Promise<RowSource> {
  const fh = await open(path, 'r');
  let h: RadianceHeader;
  try {
    const head = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    h = parseRadianceHeader(head.subarray(0, bytesRead), path);
  } catch (err) {
    await fh.close();
    throw err;
  }
  // a scanline is at most 4 + width·4 + one count byte per ≤128-byte literal run per component
  const maxLine = 4 + h.width * 4 + 4 * Math.ceil(h.width / 128) + 16;
  let win = Buffer.alloc(Math.max(1 << 20, 2 * maxLine));
  let winStart = h.dataOffset; // file offset of win[0]
  let winLen = 0;
  let eof = false;
  const rgbe = new Uint8Array(h.width * 4);
  let y = 0;
  let closed = false;
  const refill = async (pos: number) => {
    // keep the unread tail, read more after it
    const used = pos - winStart;
    win.copy(win, 0, used, winLen);
    winLen -= used;
    winStart = pos;
    if (win.length - winLen < maxLine) win = Buffer.concat([win, Buffer.alloc(maxLine)]);
    const { bytesRead } = await fh.read(win, winLen, win.length - winLen, winStart + winLen);
    if (bytesRead === 0) eof = true;
    winLen += bytesRead;
  };
  let pos = h.dataOffset;
  return {
    path,
    width: h.width,
    height: h.height,
    channels: opts.grayscale ? 1 : 3,
    bitDepth: 32,
    meta: { EXPOSURE: h.exposure },
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (y >= h.height) return null;
      if (closed) throw new ImageFormatError(path, 'row source is closed');
      const rows = Math.max(1, Math.min(Math.floor(maxRows), h.height - y));
      const rgb = opts.grayscale ? new Float32Array(rows * h.width * 3) : batchArray(rows * h.width * 3, into);
      for (let r = 0; r < rows; r++) {
        if (pos + maxLine > winStart + winLen && !eof) await refill(pos);
        const view = win.subarray(0, winLen);
        pos = winStart + decodeScanline(view, pos - winStart, h.width, rgbe, path);
        decodeRgbe(rgbe, 0, h.width, rgb, r * h.width * 3);
      }
      y += rows;
      return { y0: y - rows, rows, data: opts.grayscale ? grayStrip(rgb, rows * h.width, 3) : rgb };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}
