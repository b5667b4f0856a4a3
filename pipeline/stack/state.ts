// The saved stack: one binary file, written to a temp name, fsynced, then renamed over the
// old one, so a crash or power cut leaves either the old state or the new one, never half.
// Layout: "SKYSTK02" | u32 LE JSON length | JSON | float32 buffers in the JSON's order | CRC-32
// (u32 LE) of everything before it. CRC-32 rather than a cryptographic hash: it catches torn and
// bit-rotted files at a fraction of the cost on hundreds of MB saved after every frame.
// A file that fails any check is reported as corrupt, never half-used.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { namingPath, tempPathFor } from '../../lib/atomic.js';

const MAGIC = Buffer.from('SKYSTK02', 'latin1');

export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

export interface StateBuffer {
  name: string;
  data: Float32Array;
}

export async function writeState(path: string, json: unknown, buffers: StateBuffer[]): Promise<void> {
  const meta = { ...(json as object), buffers: buffers.map((b) => ({ name: b.name, length: b.data.length })) };
  const jbuf = Buffer.from(JSON.stringify(meta), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(jbuf.length);
  let crc = 0;
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    for (const part of [MAGIC, len, jbuf, ...buffers.map((b) => new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength))]) {
      crc = crc32(part, crc);
      await fh.write(part);
    }
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(crc >>> 0);
    await fh.write(tail);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw namingPath(err, path);
  }
}

export async function readState<T>(path: string): Promise<{ json: T; buffers: Map<string, Float32Array> }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new StateError(`${path}: ${e.code === 'ENOENT' ? 'no saved stack state' : e.message}`);
  }
  const bad = (why: string) => new StateError(`${path}: corrupt stack state (${why})`);
  if (bytes.length < MAGIC.length + 4 + 4 || !bytes.subarray(0, 8).equals(MAGIC)) throw bad('bad header');
  const body = bytes.subarray(0, bytes.length - 4);
  if ((crc32(body) >>> 0) !== bytes.readUInt32LE(bytes.length - 4)) throw bad('checksum mismatch');
  const jlen = bytes.readUInt32LE(8);
  if (12 + jlen > body.length) throw bad('bad length');
  let json: T & { buffers: { name: string; length: number }[] };
  try {
    json = JSON.parse(bytes.subarray(12, 12 + jlen).toString('utf8'));
  } catch {
    throw bad('unreadable metadata');
  }
  const buffers = new Map<string, Float32Array>();
  let off = 12 + jlen;
  for (const b of json.buffers ?? []) {
    const n = b.length * 4;
    if (off + n > body.length) throw bad(`buffer ${b.name} cut short`);
    // Copy into an aligned buffer (the file offset need not be a multiple of 4).
    const arr = new Float32Array(b.length);
    new Uint8Array(arr.buffer).set(body.subarray(off, off + n));
    buffers.set(b.name, arr);
    off += n;
  }
  if (off !== body.length) throw bad('trailing bytes');
  return { json, buffers };
}
