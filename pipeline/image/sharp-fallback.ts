// Where a codec program (djpeg, cjpeg, pngtopam, pnmtopng, tifftopnm) is not installed, JPEG/PNG/TIFF
// frames are decoded and encoded whole through sharp instead, so a laptop with no apt tools still runs
// the demo. What is lost is fixed-memory streaming: the whole frame sits in memory (as 8/16-bit codes,
// not floats), so only frames within images.fallback_megasamples are taken; a bigger one fails its
// job with one line naming the program and its apt package. One warning per process says so.
import { rename, unlink } from 'node:fs/promises';
import { loadSharp } from '../../lib/sharp.js';
import type { OutputInfo } from 'sharp';
import { tempPathFor } from '../../lib/atomic.js';
import { missingToolMessage } from './children.js';
import { commandOnPath } from './commands.js';
import type { DirectRowSource, RowBatch, RowSink } from './formats.js';
import { imageLimits } from './limits.js';
import { RowCounter } from './sink-check.js';
import { batchArray, grayStrip } from './strip.js';
import { ImageFormatError } from './types.js';

export interface CodecTool {
  command: string;
  aptPackage: string;
}

/** Every codec program the streaming paths use, with the package that brings it. */
export const CODEC_TOOLS: readonly CodecTool[] = [
  { command: 'djpeg', aptPackage: 'libjpeg-turbo-progs' },
  { command: 'cjpeg', aptPackage: 'libjpeg-turbo-progs' },
  { command: 'pngtopam', aptPackage: 'netpbm' },
  { command: 'pnmtopng', aptPackage: 'netpbm' },
  { command: 'tifftopnm', aptPackage: 'netpbm' },
];

type Warn = (message: string) => void;
let warn: Warn = (m) => process.stderr.write(`warning: ${m}\n`);
let warned = false;

/** Where the one fallback warning goes (the agent passes its logger); returns the previous sink. */
export function setFallbackWarning(w: Warn): Warn {
  const prev = warn;
  warn = w;
  return prev;
}

/** Tests: let the next fallback warn again. */
export function resetFallbackWarning(): void {
  warned = false;
}

function warnOnce(): void {
  if (warned) return;
  warned = true;
  const missing = CODEC_TOOLS.filter((t) => !commandOnPath(t.command));
  const packages = [...new Set(missing.map((t) => t.aptPackage))];
  const budget = imageLimits().fallbackMaxSamples / 1e6;
  warn(
    `image tools not installed: ${missing.map((t) => t.command).join(', ')} — JPEG/PNG/TIFF frames are decoded and encoded whole through sharp ` +
      `instead (no fixed-memory streaming: memory grows with the frame; frames over ${budget} M samples fail); apt-get install -y ${packages.join(' ')}`,
  );
}

/** Is `tool` missing (so the fallback applies)? */
export function toolMissing(tool: { command: string }): boolean {
  return !commandOnPath(tool.command);
}

/** The budget check: refuse with the missing program's line when the frame is too big to hold whole. */
function checkBudget(path: string, tool: CodecTool, width: number, height: number, channels: number): void {
  const samples = width * height * channels;
  const max = imageLimits().fallbackMaxSamples;
  if (samples > max) {
    throw new ImageFormatError(
      path,
      `${missingToolMessage(tool.command, tool.aptPackage)}; without it frames are held whole, up to ${max / 1e6} M samples (images.fallback_megasamples), and this one is ${width}×${height}×${channels}`,
    );
  }
}

/**
 * A whole-frame sharp decode served by rows, with the decoder source's direct/raw-code reads, for a
 * JPEG/PNG/TIFF whose decoder program is missing. `claimed` is the header's size (checked first).
 */
export async function openSharpFallbackSource(
  path: string,
  tool: CodecTool,
  claimed: { width: number; height: number; channels: number | null },
  opts: { grayscale?: boolean } = {},
): Promise<DirectRowSource> {
  checkBudget(path, tool, claimed.width, claimed.height, Math.min(claimed.channels ?? 3, 3));
  warnOnce();
  let codes: Uint8Array | Uint16Array;
  let info: OutputInfo;
  try {
    const sharp = await loadSharp();
    const s = sharp(path, { failOn: 'truncated', limitInputPixels: false });
    const m = await s.metadata();
    const is16 = m.depth === 'ushort' || m.depth === 'short';
    const mono = (m.channels ?? 3) <= 2;
    // as readWithSharp: 16-bit needs a 16-bit colourspace, 8-bit grey must be asked for
    const p = (is16 ? s.toColourspace(mono ? 'grey16' : 'rgb16') : mono ? s.toColourspace('b-w') : s).removeAlpha();
    const r = await p.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    info = r.info;
    if (is16) {
      const u16 = new Uint16Array(r.data.length >> 1);
      new Uint8Array(u16.buffer).set(r.data.subarray(0, u16.length * 2)); // sharp's buffer may be unaligned
      codes = u16;
    } else codes = r.data;
  } catch (err) {
    throw new ImageFormatError(path, `cannot decode: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const { width, height } = info;
  const stored = info.channels;
  const channels = opts.grayscale && stored >= 3 ? 1 : stored;
  const rowLen = width * stored;
  const scale = codes instanceof Uint16Array ? 1 / 65535 : 1 / 255;
  let y = 0;
  let closed = false;

  const take = (rows: number): number => {
    if (closed) throw new ImageFormatError(path, 'row source is closed');
    if (y + rows > height) throw new ImageFormatError(path, `asked for rows ${y}..${y + rows} of ${height}`);
    const start = y * rowLen;
    y += rows;
    return start;
  };
  const toFloat = (start: number, rows: number, dst: Float32Array): void => {
    const n = rows * rowLen;
    if (channels === stored) {
      for (let i = 0; i < n; i++) dst[i] = codes[start + i]! * scale;
    } else {
      const rgb = new Float32Array(n);
      for (let i = 0; i < n; i++) rgb[i] = codes[start + i]! * scale;
      dst.set(grayStrip(rgb, rows * width, stored));
    }
  };

  return {
    path,
    width,
    height,
    channels,
    bitDepth: codes instanceof Uint16Array ? 16 : 8,
    meta: {},
    codeLevels: channels === stored && (stored === 1 || stored === 3) ? (codes instanceof Uint16Array ? 65536 : 256) : null,
    async readRowsInto(rows, dst, offset = 0) {
      toFloat(take(rows), rows, offset === 0 ? dst : dst.subarray(offset));
    },
    async readRowsCodes(rows) {
      const start = take(rows);
      return codes.subarray(start, start + rows * rowLen);
    },
    async readRows(maxRows, into): Promise<RowBatch | null> {
      if (closed) throw new ImageFormatError(path, 'row source is closed');
      if (y >= height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), height - y));
      const y0 = y;
      const data = batchArray(rows * width * channels, into);
      toFloat(take(rows), rows, data);
      return { y0, rows, data };
    },
    async close() {
      closed = true;
      codes = new Uint8Array(0); // let the frame go even if the caller keeps the source object
    },
  };
}

export interface FallbackSinkOptions {
  format: 'jpeg' | 'png8' | 'png16';
  quality?: number;
  /** Runs on the finished temp file before the rename (e.g. insert an EXIF segment). */
  finalize?: (tmpPath: string) => Promise<void>;
}

/**
 * A row sink that gathers the frame as 8/16-bit codes and encodes it through sharp at finish(), for
 * JPEG/PNG products whose encoder program (cjpeg, pnmtopng) is missing. Nothing is on disk until
 * finish(), which writes a temp name and renames; any failure removes the temp file.
 */
export function openSharpFallbackSink(path: string, tool: CodecTool, width: number, height: number, channels: number, o: FallbackSinkOptions): RowSink {
  if (channels !== 1 && channels !== 3) throw new Error(`${path}: ${tool.command} sink needs 1 or 3 channels, got ${channels}`);
  const counter = new RowCounter(path, width, height, channels);
  checkBudget(path, tool, width, height, channels);
  warnOnce();
  const wide = o.format === 'png16';
  let codes: Uint8Array | Uint16Array | null = wide ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  const max = wide ? 65535 : 255;
  const done = () => {
    codes = null;
  };
  return {
    async writeRows(data, rows) {
      if (!codes) throw new Error(`${path}: sink already finished or aborted`);
      const y0 = counter.add(data, rows);
      const n = rows * width * channels;
      const off = y0 * width * channels;
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        codes[off + i] = v <= 0 ? 0 : v >= 1 ? max : Math.round(v * max);
      }
    },
    async finish() {
      if (!codes) throw new Error(`${path}: sink already finished or aborted`);
      const frame = codes;
      done();
      counter.complete();
      const tmp = tempPathFor(path);
      try {
        const sharp = await loadSharp();
        let s = sharp(frame, { raw: { width, height, channels: channels as 1 | 3 }, limitInputPixels: false });
        if (wide) s = s.toColourspace(channels === 1 ? 'grey16' : 'rgb16');
        s = o.format === 'jpeg' ? s.jpeg({ quality: o.quality ?? 90, mozjpeg: false }) : s.png({ compressionLevel: 3 });
        await s.toFile(tmp);
        await o.finalize?.(tmp);
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
    async abort() {
      done();
    },
  };
}
