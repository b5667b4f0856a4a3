// Float32 .npy written and re-read in row strips, so a focus map never has to be whole in memory.
// (Format: NumPy NEP 1, version 1.0, little-endian '<f4', C order.) Written to a temp name and renamed
// into place by `finish()`.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { tempPathFor } from '../../lib/atomic.js';

export function npyHeader(shape: readonly number[], descr = '<f4'): Buffer {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const pre = 10; // magic(6) + version(2) + header len(2)
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const buf = Buffer.alloc(total);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(total - pre, 8);
  buf.write(dict, pre, 'latin1');
  return buf;
}

export class NpyRowFile {
  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    readonly width: number,
    readonly height: number,
    readonly dataOffset: number,
  ) {}

  static async create(path: string, width: number, height: number): Promise<NpyRowFile> {
    const tmp = tempPathFor(path);
    const fh = await open(tmp, 'w+');
    const header = npyHeader([height, width]);
    await fh.write(header, 0, header.length, 0);
    return new NpyRowFile(path, tmp, fh, width, height, header.length);
  }

  async writeRows(y0: number, data: Float32Array): Promise<void> {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.fh.write(buf, 0, buf.length, this.dataOffset + y0 * this.width * 4);
  }

  /** Rows y0..y0+rows-1 (clamped reads are the caller's job). */
  async readRows(y0: number, rows: number, into?: Float32Array): Promise<Float32Array> {
    const out = into && into.length === rows * this.width ? into : new Float32Array(rows * this.width);
    const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    await this.fh.read(buf, 0, buf.length, this.dataOffset + y0 * this.width * 4);
    return out;
  }

  async finish(): Promise<void> {
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
    await unlink(this.tmp).catch(() => {});
  }
}

/** Read a float32 2-D .npy fully (tests, small maps). */
export async function readNpyF32(path: string): Promise<{ shape: number[]; data: Float32Array }> {
  const { readFile } = await import('node:fs/promises');
  const buf = await readFile(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const hlen = buf[6] === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = buf[6] === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!header.includes("'<f4'")) throw new Error(`${path}: not float32`);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const off = hstart + hlen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length));
  return { shape, data };
}
