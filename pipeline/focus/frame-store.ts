// Each frame of a bracket decoded once. The fusion walks the frame band by band, every frame per
// band (and the depth map's max map twice per band); decoding a JPEG up to a band's rows each time
// cost most of a big stack. Here each frame is decoded once, in parallel, to its 8/16-bit codes
// (what readRegion would produce, so the stack is bit-identical), and kept
//   - nowhere, when every frame is read exactly once anyway (one band, one pass): decode on demand;
//   - in memory, when all frames' codes fit beside the band's working set;
//   - else in one spill file beside the output (`<out>.spill.tmp-<pid>-<rand>`: the agent's
//     crash-leftover rule removes it after a kill), written once (frame k's rows contiguous at
//     k × frame bytes) and read back by band with positional reads; removed when the stack ends.
// Alignment warps stay per band (reading the source rows from the store): spilling warped floats
// would write 2–4× the bytes to the SD card.
import { open, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { namingPath, tempPathFor } from '../../lib/atomic.js';
import { ImageFormatError } from '../image/types.js';
import { openFrame, type FrameInfo, type Rect } from './frames.js';
import { alloc, type FloatBits, type Plane } from './pyramid.js';

export type FrameStoreKind = 'direct' | 'memory' | 'file';

export interface FrameStore {
  readonly kind: FrameStoreKind;
  /** Bytes written to the spill file (0 unless `file`). */
  readonly bytesWritten: number;
  /** Frame k's rectangle as floats 0..1 (interleaved channels), as frames.ts readRegion gives it. */
  region(k: number, r: Rect, bits: FloatBits): Promise<Plane>;
  /**
   * Frame k's codes of full rows [y, y + h) into `dst` (exactly h rows of W·C codes, 8-bit or 16-bit in
   * this host's order: as decoded) — e.g. straight into the pyramid kernels' memory, with no float copy.
   */
  codesInto(k: number, y: number, h: number, dst: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Bytes of frame `info`'s decoded codes. */
export function frameCodeBytes(info: FrameInfo): number {
  return info.width * info.height * info.channels * (info.is16 ? 2 : 1);
}

/** The whole frame's codes, decoded by sharp exactly as frames.ts readRegion decodes a region. */
export async function decodeFrameCodes(info: FrameInfo): Promise<Buffer> {
  const c = info.channels;
  try {
    const s = (await openFrame(info.path, { failOn: 'truncated', limitInputPixels: false }))
      .removeAlpha()
      .toColourspace(info.is16 ? (c === 1 ? 'grey16' : 'rgb16') : c === 1 ? 'b-w' : 'srgb');
    const { data, info: o } = await s.raw({ depth: info.is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    if (o.width !== info.width || o.height !== info.height || o.channels !== c) throw new Error(`decoded ${o.width}×${o.height}×${o.channels}, expected ${info.width}×${info.height}×${c}`);
    return data;
  } catch (err) {
    if (err instanceof ImageFormatError) throw err;
    throw new ImageFormatError(info.path, `cannot decode: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** Bytes of one full row of frame `info`'s codes. */
function rowBytesOf(info: FrameInfo): number {
  return info.width * info.channels * (info.is16 ? 2 : 1);
}

function checkRows(info: FrameInfo, y: number, h: number, dst: Uint8Array): void {
  if (!(y >= 0 && h >= 1 && y + h <= info.height)) throw new Error(`${info.path}: rows ${y}..${y + h} outside the frame's ${info.height}`);
  if (dst.length !== h * rowBytesOf(info)) throw new Error(`${info.path}: ${dst.length} bytes for ${h} rows of ${rowBytesOf(info)}`);
}

/** Codes of rows [r.y, r.y + r.h), columns [r.x, r.x + r.w) → floats 0..1. `codes` starts at row r.y. */
export function codesToPlane(codes: Uint8Array, info: FrameInfo, r: Rect, bits: FloatBits): Plane {
  const c = info.channels;
  const out = alloc(bits, r.w * r.h * c);
  const full = r.x === 0 && r.w === info.width;
  if (info.is16) {
    const u = new Uint16Array(codes.buffer, codes.byteOffset, codes.byteLength >> 1);
    for (let y = 0; y < r.h; y++) {
      const s = (y * info.width + r.x) * c, o = y * r.w * c, n = r.w * c;
      for (let i = 0; i < n; i++) out[o + i] = u[s + i]! / 65535;
    }
  } else if (full) {
    const n = r.w * r.h * c;
    for (let i = 0; i < n; i++) out[i] = codes[i]! / 255;
  } else {
    for (let y = 0; y < r.h; y++) {
      const s = (y * info.width + r.x) * c, o = y * r.w * c, n = r.w * c;
      for (let i = 0; i < n; i++) out[o + i] = codes[s + i]! / 255;
    }
  }
  return { w: r.w, h: r.h, c, data: out };
}

export interface FrameStoreSpec {
  infos: FrameInfo[];
  /** Output path: the spill file goes beside it. */
  out: string;
  /** How many times each frame is read (bands × passes); 1 = decode on demand. */
  readsPerFrame: number;
  /** Bytes that may hold codes in memory beside the band's working set. */
  memoryBytes: number;
  /** Frames decoded at once (each holds its codes until written). */
  parallel: number;
  /** Force a kind (tests). */
  kind?: FrameStoreKind;
  onDecoded?: (k: number) => void;
}

export async function openFrameStore(spec: FrameStoreSpec): Promise<FrameStore> {
  const { infos } = spec;
  const sizes = infos.map(frameCodeBytes);
  const total = sizes.reduce((a, b) => a + b, 0);
  const kind: FrameStoreKind = spec.kind ?? (spec.readsPerFrame <= 1 ? 'direct' : total <= spec.memoryBytes ? 'memory' : 'file');
  if (kind === 'direct') {
    return {
      kind,
      bytesWritten: 0,
      async region(k, r, bits) {
        const info = infos[k]!;
        const codes = await decodeFrameCodes(info);
        const rowBytes = rowBytesOf(info);
        return codesToPlane(codes.subarray(r.y * rowBytes, (r.y + r.h) * rowBytes), info, r, bits);
      },
      async codesInto(k, y, h, dst) {
        const info = infos[k]!;
        checkRows(info, y, h, dst);
        const codes = await decodeFrameCodes(info);
        dst.set(codes.subarray(y * rowBytesOf(info), (y + h) * rowBytesOf(info)));
      },
      close: async () => {},
    };
  }
  const offsets: number[] = [];
  sizes.reduce((at, s) => (offsets.push(at), at + s), 0);
  const held: Buffer[] = [];
  let fh: FileHandle | null = null;
  let path = '';
  let written = 0;
  if (kind === 'file') {
    path = tempPathFor(`${spec.out}.spill`);
    const dir = dirname(spec.out);
    const fs = await statfs(dir).catch(() => null);
    const free = fs ? fs.bavail * fs.bsize : Infinity;
    // 64 MB kept for the output and everything else on the card.
    if (free < total + 64 * 2 ** 20) throw new Error(`focus stack: the decoded frames need ${Math.ceil(total / 2 ** 20)} MB of disk in ${dir} (${Math.floor(free / 2 ** 20)} MB free): free space there, or raise --memory-limit to keep them in memory`);
    fh = await open(path, 'w+');
  }
  const close = async () => {
    held.length = 0;
    if (fh) {
      await fh.close().catch(() => {});
      fh = null;
      await unlink(path).catch(() => {});
    }
  };
  try {
    let next = 0;
    const worker = async () => {
      for (let k = next++; k < infos.length; k = next++) {
        const codes = await decodeFrameCodes(infos[k]!);
        if (fh) {
          try {
            await fh.write(codes, 0, codes.length, offsets[k]!);
          } catch (err) {
            throw namingPath(err, path);
          }
          written += codes.length;
        } else held[k] = codes;
        spec.onDecoded?.(k);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(spec.parallel, infos.length)) }, worker));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    kind,
    get bytesWritten() {
      return written;
    },
    async region(k, r, bits) {
      const info = infos[k]!;
      const rowBytes = rowBytesOf(info);
      if (!fh) return codesToPlane(held[k]!.subarray(r.y * rowBytes, (r.y + r.h) * rowBytes), info, r, bits);
      const buf = Buffer.allocUnsafe(r.h * rowBytes);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offsets[k]! + r.y * rowBytes);
      if (bytesRead !== buf.length) throw new Error(`${path}: spill file short (${bytesRead} of ${buf.length} bytes at frame ${k + 1})`);
      return codesToPlane(buf, info, r, bits);
    },
    async codesInto(k, y, h, dst) {
      const info = infos[k]!;
      checkRows(info, y, h, dst);
      const rowBytes = rowBytesOf(info);
      if (!fh) {
        dst.set(held[k]!.subarray(y * rowBytes, (y + h) * rowBytes));
        return;
      }
      const { bytesRead } = await fh.read(dst, 0, dst.length, offsets[k]! + y * rowBytes);
      if (bytesRead !== dst.length) throw new Error(`${path}: spill file short (${bytesRead} of ${dst.length} bytes at frame ${k + 1})`);
    },
    close,
  };
}
