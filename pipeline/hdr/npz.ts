// Minimal .npy/.npz for the response file: float32 arrays and a 0-d unicode string, the way
// `np.savez(path, response=..., metadata=json.dumps(...))` stores them, so numpy loads ours and we
// load numpy's (stored or deflated members).
import { crc32, inflateRawSync } from 'node:zlib';

export type NpyArray = { dtype: '<f4'; shape: number[]; data: Float32Array } | { dtype: 'str'; shape: []; value: string };

function npyHeader(descr: string, shape: number[]): Buffer {
  const shapeStr = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1')]);
}

export function encodeNpy(arr: NpyArray): Buffer {
  if (arr.dtype === '<f4') {
    const body = Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
    return Buffer.concat([npyHeader('<f4', arr.shape), body]);
  }
  const cps = Array.from(arr.value, (ch) => ch.codePointAt(0)!);
  const body = Buffer.alloc(Math.max(1, cps.length) * 4);
  cps.forEach((cp, i) => body.writeUInt32LE(cp, i * 4));
  return Buffer.concat([npyHeader(`<U${Math.max(1, cps.length)}`, []), body]);
}

export function decodeNpy(buf: Buffer, name = 'npy'): NpyArray {
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${name}: not a .npy array`);
  const major = buf[6]!;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shapeM) throw new Error(`${name}: unreadable .npy header`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${name}: fortran-order arrays are not supported`);
  const shape = shapeM[1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(hstart + hlen);
  const count = shape.reduce((a, b) => a * b, 1);
  if (descr.startsWith('<U')) {
    const n = Number(descr.slice(2));
    let s = '';
    for (let i = 0; i < n; i++) {
      const cp = body.readUInt32LE(i * 4);
      if (cp === 0) break;
      s += String.fromCodePoint(cp);
    }
    return { dtype: 'str', shape: [], value: s };
  }
  const data = new Float32Array(count);
  if (descr === '<f4') for (let i = 0; i < count; i++) data[i] = body.readFloatLE(i * 4);
  else if (descr === '<f8') for (let i = 0; i < count; i++) data[i] = body.readDoubleLE(i * 8);
  else throw new Error(`${name}: dtype ${descr} not supported (float32/float64/str)`);
  return { dtype: '<f4', shape, data };
}

/** Zip (stored, no compression) of `<name>.npy` members. */
export function encodeNpz(arrays: Record<string, NpyArray>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [key, arr] of Object.entries(arrays)) {
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const data = encodeNpy(arr);
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0, 6);
    lh.writeUInt16LE(0, 8); // stored
    lh.writeUInt32LE(0x00210000, 10); // 1980-01-01 00:00
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0, 8);
    ch.writeUInt16LE(0, 10);
    ch.writeUInt32LE(0x00210000, 12);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, data);
    centrals.push(ch, name);
    offset += 30 + name.length + data.length;
  }
  const central = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(arrays).length, 8);
  end.writeUInt16LE(Object.keys(arrays).length, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, central, end]);
}

export function decodeNpz(buf: Buffer, name = 'npz'): Record<string, NpyArray> {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${name}: not a zip/npz file (truncated?)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: Record<string, NpyArray> = {};
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${name}: corrupt zip directory`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nlen = buf.readUInt16LE(p + 28);
    const elen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const loff = buf.readUInt32LE(p + 42);
    const member = buf.toString('utf8', p + 46, p + 46 + nlen);
    const dstart = loff + 30 + buf.readUInt16LE(loff + 26) + buf.readUInt16LE(loff + 28);
    const raw = buf.subarray(dstart, dstart + csize);
    if (raw.length < csize) throw new Error(`${name}: truncated member ${member}`);
    const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
    if (!data) throw new Error(`${name}: zip method ${method} not supported`);
    out[member.replace(/\.npy$/, '')] = decodeNpy(data, `${name}:${member}`);
    p += 46 + nlen + elen + clen;
  }
  return out;
}
