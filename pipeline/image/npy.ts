// NumPy .npy (format v1.0) and .npz (zip of .npy, stored) so products load with np.load like the
// Python tools they replace (focus_response filter/KDE arrays, asi_core response.npz with a JSON
// `metadata` string). Also a row writer, so a 6000×4000 float map never has to sit whole in memory.
import { readFile } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { writeFileAtomic } from '../../lib/atomic.js';
import { AtomicFile } from './file-sink.js';

export type NpyDtype = '<f4' | '<f8' | '|u1' | '|i1' | '<u2' | '<i2' | '<u4' | '<i4' | '|b1';
export type NpyArray = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface NpyEntry {
  data: NpyArray;
  shape: number[];
  /** Defaults from the array type ('<f4' for Float32Array, '|u1' for Uint8Array, …). */
  dtype?: NpyDtype;
}

/** What readNpy returns: numeric data, or a string for numpy unicode ('<U') arrays. */
export interface NpyValue {
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  data: NpyArray | string[];
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function dtypeOf(a: NpyArray): NpyDtype {
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  if (a instanceof Uint8Array) return '|u1';
  if (a instanceof Int8Array) return '|i1';
  if (a instanceof Uint16Array) return '<u2';
  if (a instanceof Int16Array) return '<i2';
  if (a instanceof Uint32Array) return '<u4';
  return '<i4';
}

function shapeText(shape: number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The 10-byte preamble plus dict header, padded with spaces to a multiple of 64 bytes, ending in \n. */
export function npyHeader(dtype: string, shape: number[]): Buffer {
  for (const d of shape) if (!(Number.isInteger(d) && d >= 0)) throw new Error(`npy: bad shape ${shapeText(shape)}`);
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText(shape)}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  if (total - 10 > 0xffff) throw new Error('npy: header too long for format 1.0');
  const buf = Buffer.alloc(total, 0x20);
  MAGIC.copy(buf, 0);
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(total - 10, 8);
  buf.write(dict, 10, 'latin1');
  buf[total - 1] = 0x0a;
  return buf;
}

// x86 and ARM are little-endian, so typed-array bytes are already '<'; on a big-endian host swap.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(a: NpyArray): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (HOST_LE || a.BYTES_PER_ELEMENT === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += w) for (let k = 0; k < w; k++) out[i + k] = bytes[i + w - 1 - k]!;
  return out;
}

function checkCount(entry: NpyEntry, name: string): void {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  if (n !== entry.data.length) throw new Error(`${name}: shape ${shapeText(entry.shape)} holds ${n} values, data has ${entry.data.length}`);
}

export function encodeNpy(entry: NpyEntry, name = 'npy'): Buffer {
  checkCount(entry, name);
  const header = npyHeader(entry.dtype ?? dtypeOf(entry.data), entry.shape);
  return Buffer.concat([header, littleEndianBytes(entry.data)]);
}

/** A numpy unicode array ('<Un', UTF-32LE): one string gives a 0-d array, so np.load(f)['k'].item() is it. */
export function encodeNpyStrings(values: string | string[]): Buffer {
  const list = typeof values === 'string' ? [values] : values;
  const shape = typeof values === 'string' ? [] : [list.length];
  const cps = list.map((s) => Array.from(s).map((c) => c.codePointAt(0)!));
  const width = Math.max(1, ...cps.map((c) => c.length));
  const body = Buffer.alloc(list.length * width * 4);
  cps.forEach((c, i) => c.forEach((cp, k) => body.writeUInt32LE(cp, (i * width + k) * 4)));
  return Buffer.concat([npyHeader(`<U${width}`, shape), body]);
}

export async function writeNpy(path: string, data: NpyArray, shape: number[], dtype?: NpyDtype): Promise<void> {
  await writeFileAtomic(path, encodeNpy({ data, shape, dtype }, path));
}

export function decodeNpy(bytes: Uint8Array, name = 'npy'): NpyValue {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw new Error(`${name}: not a .npy file`);
  const major = b[6]!;
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  if (b.length < hstart + hlen) throw new Error(`${name}: truncated .npy header`);
  const dict = b.subarray(hstart, hstart + hlen).toString(major >= 3 ? 'utf8' : 'latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*True/.test(dict);
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(dict);
  if (!descr || !shapeM) throw new Error(`${name}: malformed .npy header`);
  const shape = shapeM[1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, c) => a * c, 1);
  const start = hstart + hlen;
  const u = /^[<|=]U(\d+)$/.exec(descr);
  if (u) {
    const width = Number(u[1]);
    if (b.length < start + count * width * 4) throw new Error(`${name}: truncated .npy data`);
    const strings: string[] = [];
    for (let i = 0; i < count; i++) {
      const cps: number[] = [];
      for (let k = 0; k < width; k++) {
        const cp = b.readUInt32LE(start + (i * width + k) * 4);
        if (cp === 0) break;
        cps.push(cp);
      }
      strings.push(String.fromCodePoint(...cps));
    }
    return { dtype: descr, shape, fortranOrder: fortran, data: strings };
  }
  const ctor = ({
    '<f4': Float32Array, '<f8': Float64Array, '|u1': Uint8Array, '|i1': Int8Array, '|b1': Uint8Array,
    '<u2': Uint16Array, '<i2': Int16Array, '<u4': Uint32Array, '<i4': Int32Array,
  } as Record<string, { new (n: number): NpyArray; BYTES_PER_ELEMENT: number }>)[descr];
  if (!ctor) throw new Error(`${name}: unsupported dtype ${descr}`);
  const nbytes = count * ctor.BYTES_PER_ELEMENT;
  if (b.length < start + nbytes) throw new Error(`${name}: truncated .npy data (${b.length - start} of ${nbytes} bytes)`);
  const out = new ctor(count);
  const view = new Uint8Array(out.buffer);
  view.set(b.subarray(start, start + nbytes));
  if (!HOST_LE && ctor.BYTES_PER_ELEMENT > 1) view.set(littleEndianBytes(out));
  return { dtype: descr, shape, fortranOrder: fortran, data: out };
}

export async function readNpy(path: string): Promise<NpyValue> {
  return decodeNpy(await readFile(path), path);
}

// --- .npz: a zip of <name>.npy members -----------------------------------------------------------

export type NpzMember = NpyEntry | string | string[];

function dosDateTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((Math.max(1980, d.getFullYear()) - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** Build a stored (uncompressed) zip; np.load reads it like np.savez output. */
export function encodeNpz(members: Record<string, NpzMember>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const { time, date } = dosDateTime(new Date());
  for (const [key, m] of Object.entries(members)) {
    const data = typeof m === 'string' || Array.isArray(m) ? encodeNpyStrings(m) : encodeNpy(m, key);
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const crc = crc32(data);
    if (data.length >= 0xffffffff || offset >= 0xffffffff) throw new Error('npz: member too large for a zip without zip64');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(0, 10);
    cd.writeUInt16LE(time, 12);
    cd.writeUInt16LE(date, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(cd, name);
    offset += local.length + name.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = Object.keys(members).length;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

export async function writeNpz(path: string, members: Record<string, NpzMember>): Promise<void> {
  await writeFileAtomic(path, encodeNpz(members));
}

/** Read every member of an .npz (stored or deflated, as np.savez / np.savez_compressed write). */
export function decodeNpz(bytes: Uint8Array, name = 'npz'): Record<string, NpyValue> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${name}: not a zip/npz file (no end of central directory)`);
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  const out: Record<string, NpyValue> = {};
  for (let i = 0; i < count; i++) {
    if (b.readUInt32LE(p) !== 0x02014b50) throw new Error(`${name}: corrupt zip central directory`);
    const method = b.readUInt16LE(p + 10);
    const csize = b.readUInt32LE(p + 20);
    const nlen = b.readUInt16LE(p + 28);
    const xlen = b.readUInt16LE(p + 30);
    const clen = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    const member = b.subarray(p + 46, p + 46 + nlen).toString('utf8');
    p += 46 + nlen + xlen + clen;
    const lnlen = b.readUInt16LE(local + 26);
    const lxlen = b.readUInt16LE(local + 28);
    const start = local + 30 + lnlen + lxlen;
    const raw = b.subarray(start, start + csize);
    if (raw.length < csize) throw new Error(`${name}: truncated member ${member}`);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${name}: member ${member} uses zip method ${method}`);
    out[member.replace(/\.npy$/, '')] = decodeNpy(data, `${name}:${member}`);
  }
  return out;
}

export async function readNpz(path: string): Promise<Record<string, NpyValue>> {
  return decodeNpz(await readFile(path), path);
}

/** Write a big 2-D/3-D array row by row (shape[0] rows); atomic like every product. */
export interface NpyRowWriter {
  writeRows(data: NpyArray, rows: number): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export async function openNpyRowWriter(path: string, shape: number[], dtype: NpyDtype = '<f4'): Promise<NpyRowWriter> {
  if (shape.length < 1) throw new Error(`${path}: row writer needs at least one dimension`);
  const header = npyHeader(dtype, shape);
  const rowLen = shape.slice(1).reduce((a, b) => a * b, 1);
  const file = await AtomicFile.create(path);
  let pos = 0;
  let rowsDone = 0;
  let done = false;
  await file.write(header, 0);
  pos = header.length;
  return {
    async writeRows(data, rows) {
      if (done) throw new Error(`${path}: writer already finished or aborted`);
      if (dtypeOf(data) !== dtype && !(dtype === '|b1' && data instanceof Uint8Array)) throw new Error(`${path}: data is ${dtypeOf(data)}, file is ${dtype}`);
      if (data.length < rows * rowLen) throw new Error(`${path}: ${data.length} values for ${rows} rows of ${rowLen}`);
      if (rowsDone + rows > shape[0]!) throw new Error(`${path}: more rows than shape[0] = ${shape[0]}`);
      const bytes = littleEndianBytes(data.subarray(0, rows * rowLen) as NpyArray);
      await file.write(bytes, pos);
      pos += bytes.length;
      rowsDone += rows;
    },
    async finish() {
      if (done) throw new Error(`${path}: writer already finished or aborted`);
      done = true;
      if (rowsDone !== shape[0]) {
        await file.discard();
        throw new Error(`${path}: only ${rowsDone} of ${shape[0]} rows written`);
      }
      await file.commit();
    },
    async abort() {
      done = true;
      await file.discard();
    },
  };
}
