// Just enough TIFF/DNG reading to describe what rpicam-still wrote: which IFD holds the raw CFA
// image (rpicam-still puts a small RGB thumbnail in IFD0 and the mosaic in a SubIFD), its size,
// bits, Bayer order, black and white levels. Random reads through a file handle, never the whole
// file; the mosaic itself is read only on request (readDngMosaic).
import { open, type FileHandle } from 'node:fs/promises';

export interface DngInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  samplesPerPixel: number;
  /** 32803 = CFA mosaic, 34892 = linear raw, 2 = RGB. */
  photometric: number;
  compression: number;
  /** 'RGGB' etc. from CFAPattern, when the raw IFD is a 2×2 CFA. */
  bayer?: string;
  /** Largest value a pixel can hold (DNG WhiteLevel; 2^bits − 1 when absent). */
  whiteLevel: number;
  blackLevel: number[];
  /** Bits the values really use: 10/12 on a Pi 4 (WhiteLevel 1023/4095), 16 on a Pi 5 (PiSP). */
  significantBits: number;
  make?: string;
  model?: string;
  uniqueCameraModel?: string;
  software?: string;
  stripOffsets: number[];
  stripByteCounts: number[];
  rowsPerStrip: number;
  littleEndian: boolean;
}

const T = {
  NewSubFileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  Make: 271,
  Model: 272,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  Software: 305,
  SubIFDs: 330,
  CFARepeatPatternDim: 33421,
  CFAPattern: 33422,
  UniqueCameraModel: 50708,
  BlackLevel: 50714,
  WhiteLevel: 50717,
} as const;

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Ifd = Map<number, (number | string)[]>;

class TiffReader {
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly le: boolean,
    private readonly path: string,
  ) {}

  async bytes(pos: number, len: number): Promise<Buffer> {
    if (pos < 0 || len < 0 || pos + len > this.size) throw new Error(`${this.path}: truncated DNG (needs bytes ${pos}..${pos + len}, file has ${this.size})`);
    const buf = Buffer.alloc(len);
    await this.fh.read(buf, 0, len, pos);
    return buf;
  }

  async readInto(target: Uint8Array, at: number, len: number, pos: number): Promise<void> {
    if (pos < 0 || pos + len > this.size) throw new Error(`${this.path}: truncated DNG (needs bytes ${pos}..${pos + len}, file has ${this.size})`);
    const { bytesRead } = await this.fh.read(target, at, len, pos);
    if (bytesRead !== len) throw new Error(`${this.path}: short read at ${pos} (${bytesRead} of ${len} bytes)`);
  }

  u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }
  u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  private value(b: Buffer, o: number, type: number): number {
    switch (type) {
      case 1:
      case 7:
        return b[o];
      case 6:
        return b.readInt8(o);
      case 3:
        return this.u16(b, o);
      case 8:
        return this.le ? b.readInt16LE(o) : b.readInt16BE(o);
      case 4:
      case 13:
        return this.u32(b, o);
      case 9:
        return this.le ? b.readInt32LE(o) : b.readInt32BE(o);
      case 5: {
        const d = this.u32(b, o + 4);
        return d ? this.u32(b, o) / d : 0;
      }
      case 10: {
        const n = this.le ? b.readInt32LE(o) : b.readInt32BE(o);
        const d = this.le ? b.readInt32LE(o + 4) : b.readInt32BE(o + 4);
        return d ? n / d : 0;
      }
      case 11:
        return this.le ? b.readFloatLE(o) : b.readFloatBE(o);
      case 12:
        return this.le ? b.readDoubleLE(o) : b.readDoubleBE(o);
      default:
        return NaN;
    }
  }

  async ifd(offset: number): Promise<{ entries: Ifd; next: number }> {
    const countBuf = await this.bytes(offset, 2);
    const count = this.u16(countBuf, 0);
    if (count === 0 || count > 4096) throw new Error(`${this.path}: not a DNG (IFD at ${offset} has ${count} entries)`);
    const body = await this.bytes(offset + 2, count * 12 + 4);
    const entries: Ifd = new Map();
    for (let i = 0; i < count; i++) {
      const o = i * 12;
      const tag = this.u16(body, o);
      const type = this.u16(body, o + 2);
      const n = this.u32(body, o + 4);
      const size = TYPE_SIZE[type];
      if (!size || n > 1 << 20) continue; // unknown type or absurd count: skip the tag, keep the rest
      const total = size * n;
      const data = total <= 4 ? body.subarray(o + 8, o + 12) : await this.bytes(this.u32(body, o + 8), total);
      if (type === 2) {
        entries.set(tag, [data.subarray(0, total).toString('latin1').replace(/\0[\s\S]*$/, '')]);
      } else {
        const vals: number[] = [];
        for (let k = 0; k < n; k++) vals.push(this.value(data, k * size, type));
        entries.set(tag, vals);
      }
    }
    return { entries, next: this.u32(body, count * 12) };
  }
}

const CFA_COLOURS = ['R', 'G', 'B', 'C', 'M', 'Y', 'W'];

function first(ifd: Ifd, tag: number): number | undefined {
  const v = ifd.get(tag)?.[0];
  return typeof v === 'number' ? v : undefined;
}
function text(ifd: Ifd, tag: number): string | undefined {
  const v = ifd.get(tag)?.[0];
  return typeof v === 'string' ? v.trim() : undefined;
}
function nums(ifd: Ifd, tag: number): number[] {
  return (ifd.get(tag) ?? []).filter((v): v is number => typeof v === 'number');
}

async function withReader<T>(path: string, fn: (r: TiffReader) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new Error(`${path}: not a DNG (${size} bytes)`);
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    const order = head.toString('latin1', 0, 2);
    if (order !== 'II' && order !== 'MM') throw new Error(`${path}: not a DNG/TIFF (no II/MM byte order mark)`);
    const r = new TiffReader(fh, size, order === 'II', path);
    if (r.u16(head, 2) !== 42) throw new Error(`${path}: not a DNG/TIFF (magic ${r.u16(head, 2)}, expected 42)`);
    return await fn(r);
  } finally {
    await fh.close();
  }
}

export async function readDngInfo(path: string): Promise<DngInfo> {
  return withReader(path, async (r) => {
    const head = await r.bytes(4, 4);
    const ifds: Ifd[] = [];
    const seen = new Set<number>();
    const queue: number[] = [r.u32(head, 0)];
    // IFD chain plus SubIFDs, breadth first, with a guard against offset loops.
    while (queue.length && ifds.length < 16) {
      const off = queue.shift()!;
      if (!off || seen.has(off)) continue;
      seen.add(off);
      const { entries, next } = await r.ifd(off);
      ifds.push(entries);
      queue.push(...nums(entries, T.SubIFDs));
      if (next) queue.push(next);
    }
    const ifd0 = ifds[0];
    const isRaw = (i: Ifd) => (first(i, T.NewSubFileType) ?? 0) === 0 && [32803, 34892].includes(first(i, T.Photometric) ?? 0);
    const area = (i: Ifd) => (first(i, T.ImageWidth) ?? 0) * (first(i, T.ImageLength) ?? 0);
    const raw = ifds.filter(isRaw).sort((a, b) => area(b) - area(a))[0];
    if (!raw) throw new Error(`${path}: no raw (CFA) image in this DNG`);
    const width = first(raw, T.ImageWidth) ?? 0;
    const height = first(raw, T.ImageLength) ?? 0;
    const bitsPerSample = first(raw, T.BitsPerSample) ?? 0;
    if (!width || !height || !bitsPerSample) throw new Error(`${path}: raw IFD lacks width, height or BitsPerSample`);
    const dim = nums(raw, T.CFARepeatPatternDim);
    const pattern = nums(raw, T.CFAPattern);
    const bayer =
      dim[0] === 2 && dim[1] === 2 && pattern.length === 4 && pattern.every((p) => p >= 0 && p < CFA_COLOURS.length)
        ? pattern.map((p) => CFA_COLOURS[p]).join('')
        : undefined;
    const whiteLevel = first(raw, T.WhiteLevel) ?? 2 ** bitsPerSample - 1;
    return {
      width,
      height,
      bitsPerSample,
      samplesPerPixel: first(raw, T.SamplesPerPixel) ?? 1,
      photometric: first(raw, T.Photometric) ?? 0,
      compression: first(raw, T.Compression) ?? 1,
      bayer,
      whiteLevel,
      blackLevel: nums(raw, T.BlackLevel),
      significantBits: Math.max(1, Math.ceil(Math.log2(whiteLevel + 1))),
      make: text(ifd0, T.Make) ?? text(raw, T.Make),
      model: text(ifd0, T.Model) ?? text(raw, T.Model),
      uniqueCameraModel: text(ifd0, T.UniqueCameraModel),
      software: text(ifd0, T.Software),
      stripOffsets: nums(raw, T.StripOffsets),
      stripByteCounts: nums(raw, T.StripByteCounts),
      rowsPerStrip: first(raw, T.RowsPerStrip) ?? height,
      littleEndian: r.le,
    };
  });
}

/** The mosaic as 16-bit samples (uncompressed 16-bit DNGs, which is what rpicam-still writes). */
export async function readDngMosaic(path: string, info?: DngInfo): Promise<{ info: DngInfo; data: Uint16Array }> {
  const dng = info ?? (await readDngInfo(path));
  if (dng.compression !== 1) throw new Error(`${path}: compressed DNG (compression ${dng.compression}) is not supported; rpicam-still writes uncompressed`);
  if (dng.bitsPerSample !== 16 || dng.samplesPerPixel !== 1) throw new Error(`${path}: expected a 16-bit single-sample mosaic, found ${dng.bitsPerSample}-bit × ${dng.samplesPerPixel}`);
  const expected = dng.width * dng.height * 2;
  const have = dng.stripByteCounts.reduce((a, b) => a + b, 0);
  if (dng.stripOffsets.length !== dng.stripByteCounts.length || have < expected) {
    throw new Error(`${path}: truncated DNG (raw strips hold ${have} bytes, ${dng.width}×${dng.height}×16 bit needs ${expected})`);
  }
  return withReader(path, async (r) => {
    const data = new Uint16Array(dng.width * dng.height);
    // Read the strips straight into the sample array: no intermediate buffer, no per-sample copy.
    const bytes = new Uint8Array(data.buffer);
    let at = 0;
    for (let s = 0; s < dng.stripOffsets.length && at < expected; s++) {
      const len = Math.min(dng.stripByteCounts[s], expected - at);
      await r.readInto(bytes, at, len, dng.stripOffsets[s]);
      at += len;
    }
    if (dng.littleEndian !== HOST_LITTLE_ENDIAN) Buffer.from(data.buffer).swap16();
    return { info: dng, data };
  });
}
