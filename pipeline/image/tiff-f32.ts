// Float32 TIFF written natively by strips: baseline little-endian TIFF, uncompressed, chunky,
// SampleFormat=3 (IEEE float), the layout OpenCV, tifffile, libvips/sharp and GIMP all read. The size
// is known up front, so the IFD and strip tables go first and rows are appended as they come.
import { openAtomicRowSink } from './file-sink.js';
import { RowCounter } from './sink-check.js';
import type { RowSink } from './formats.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Tag {
  tag: number;
  type: 3 | 4; // SHORT | LONG
  values: number[];
}

/** Header + IFD + out-of-line tag data for a float32 image; returns the bytes and rows per strip. */
export function encodeTiffF32Header(width: number, height: number, channels: number): { bytes: Buffer; rowsPerStrip: number } {
  const rowBytes = width * channels * 4;
  // ~64 KB strips: small enough for readers that load a strip at a time, few enough for short tables.
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(65536 / rowBytes)));
  const strips = Math.ceil(height / rowsPerStrip);
  const tags: Tag[] = [
    { tag: 256, type: 4, values: [width] },
    { tag: 257, type: 4, values: [height] },
    { tag: 258, type: 3, values: new Array<number>(channels).fill(32) },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [channels >= 3 ? 2 : 1] },
    { tag: 273, type: 4, values: new Array<number>(strips).fill(0) },
    { tag: 277, type: 3, values: [channels] },
    { tag: 278, type: 4, values: [rowsPerStrip] },
    { tag: 279, type: 4, values: Array.from({ length: strips }, (_, i) => Math.min(rowsPerStrip, height - i * rowsPerStrip) * rowBytes) },
    { tag: 284, type: 3, values: [1] },
    { tag: 339, type: 3, values: new Array<number>(channels).fill(3) },
  ];
  if (channels === 2 || channels === 4) tags.push({ tag: 338, type: 3, values: [2] }); // ExtraSamples: unassociated alpha
  tags.sort((a, b) => a.tag - b.tag);
  const ifdOffset = 8;
  const ifdSize = 2 + tags.length * 12 + 4;
  let extra = ifdOffset + ifdSize;
  const extraOffsets = new Map<Tag, number>();
  for (const t of tags) {
    const size = t.values.length * (t.type === 3 ? 2 : 4);
    if (size > 4) {
      extraOffsets.set(t, extra);
      extra += size + (size & 1);
    }
  }
  const dataOffset = extra;
  const offsets = tags.find((t) => t.tag === 273)!;
  for (let i = 0; i < strips; i++) offsets.values[i] = dataOffset + i * rowsPerStrip * rowBytes;
  if (dataOffset + rowBytes * height > 0xffffffff) throw new Error(`float TIFF of ${width}x${height}x${channels} exceeds 4 GB`);

  const buf = Buffer.alloc(dataOffset);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(ifdOffset, 4);
  buf.writeUInt16LE(tags.length, ifdOffset);
  tags.forEach((t, i) => {
    const e = ifdOffset + 2 + i * 12;
    buf.writeUInt16LE(t.tag, e);
    buf.writeUInt16LE(t.type, e + 2);
    buf.writeUInt32LE(t.values.length, e + 4);
    const at = extraOffsets.get(t);
    const put = (pos: number, v: number) => (t.type === 3 ? buf.writeUInt16LE(v, pos) : buf.writeUInt32LE(v, pos));
    if (at === undefined) t.values.forEach((v, k) => put(e + 8 + k * (t.type === 3 ? 2 : 4), v));
    else {
      buf.writeUInt32LE(at, e + 8);
      t.values.forEach((v, k) => put(at + k * (t.type === 3 ? 2 : 4), v));
    }
  });
  buf.writeUInt32LE(0, ifdOffset + 2 + tags.length * 12); // no next IFD
  return { bytes: buf, rowsPerStrip };
}

export async function openTiffF32RowSink(path: string, width: number, height: number, channels: number): Promise<RowSink> {
  const counter = new RowCounter(path, width, height, channels);
  const { bytes } = encodeTiffF32Header(width, height, channels);
  const rowBytes = width * channels * 4;
  return openAtomicRowSink(counter, bytes, {
    async writeStrip(file, data, rows, y0) {
      const n = rows * width * channels;
      // little-endian hosts (x86, ARM) write the floats as they are; we await the write, so no copy
      let buf: Buffer;
      if (HOST_LE) buf = Buffer.from(data.buffer, data.byteOffset, n * 4);
      else {
        buf = Buffer.alloc(n * 4);
        for (let i = 0; i < n; i++) buf.writeFloatLE(data[i]!, i * 4);
      }
      await file.write(buf, bytes.length + y0 * rowBytes);
    },
  });
}
