// A camera response curve g(z) = ln exposure for code z, per channel, and its files: JSON and an
// asi_core-compatible .npz (`response` float32 (256, C), `metadata` JSON string).
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic.js';
import { LEVELS } from './debevec.js';
import { decodeNpz, encodeNpz, type NpyValue } from '../image/npy.js';

export interface ResponseMetadata {
  method: 'debevec';
  channels: number;
  samples: number;
  technique: string;
  smoothness: number;
  /** μ of the third-difference rows (absent in files written before it existed: 0). */
  ripple?: number;
  weight: string;
  lowClip: number;
  highClip: number;
  seed: number;
  groups: string[];
  exposures: number[];
  lnERange: [number, number];
  camera?: string;
  date: string;
  monotonicRepairs: number[];
  [key: string]: unknown;
}

export interface CameraResponse {
  channels: number;
  /** g(z) for code z and channel c at [z·channels + c] — the (256, C) array of the .npz. */
  g: Float32Array;
  metadata: Partial<ResponseMetadata> & Record<string, unknown>;
}

/**
 * The members of an asi_core response .npz as np.savez(response=float32 array, metadata=json.dumps(...))
 * stores them: float arrays (float64 read as float32) and 0-d strings. The zip/.npy codec is
 * pipeline/image/npy.ts; this only maps to and from that view.
 */
export type ResponseNpzMember = { dtype: '<f4'; shape: number[]; data: Float32Array } | { dtype: 'str'; shape: []; value: string };

export function encodeResponseNpz(members: Record<string, ResponseNpzMember>): Buffer {
  return encodeNpz(Object.fromEntries(Object.entries(members).map(([k, m]) => [k, m.dtype === 'str' ? m.value : { data: m.data, shape: m.shape }])));
}

export function decodeResponseNpz(buf: Uint8Array, name = 'npz'): Record<string, ResponseNpzMember> {
  const out: Record<string, ResponseNpzMember> = {};
  for (const [k, v] of Object.entries(decodeNpz(buf, name))) out[k] = responseMember(v, `${name}:${k}.npy`);
  return out;
}

function responseMember(v: NpyValue, name: string): ResponseNpzMember {
  if (v.fortranOrder) throw new Error(`${name}: fortran-order arrays are not supported`);
  if (Array.isArray(v.data)) return { dtype: 'str', shape: [], value: v.data[0] ?? '' };
  if (v.data instanceof Float32Array) return { dtype: '<f4', shape: v.shape, data: v.data };
  if (v.data instanceof Float64Array) return { dtype: '<f4', shape: v.shape, data: Float32Array.from(v.data) };
  throw new Error(`${name}: dtype ${v.dtype} not supported (float32/float64/str)`);
}

export function responseChannel(r: CameraResponse, c: number): Float64Array {
  const out = new Float64Array(LEVELS);
  for (let z = 0; z < LEVELS; z++) out[z] = r.g[z * r.channels + c]!;
  return out;
}

export async function saveResponse(path: string, r: CameraResponse): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npz') {
    const buf = encodeResponseNpz({
      response: { dtype: '<f4', shape: [LEVELS, r.channels], data: r.g },
      metadata: { dtype: 'str', shape: [], value: JSON.stringify(r.metadata) },
    });
    await writeFileAtomic(path, buf);
  } else if (ext === '.json') {
    const rows: number[][] = [];
    for (let z = 0; z < LEVELS; z++) rows.push(Array.from(r.g.subarray(z * r.channels, (z + 1) * r.channels), (v) => +v.toPrecision(8)));
    await writeFileAtomic(path, JSON.stringify({ response: rows, metadata: r.metadata }, null, 1) + '\n');
  } else throw new Error(`${path}: response file must end in .json or .npz`);
}

export async function loadResponse(path: string): Promise<CameraResponse> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${path}: cannot read response file (${e.code === 'ENOENT' ? 'no such file' : e.message})`);
  }
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.npz') {
      const z = decodeResponseNpz(buf, path);
      const resp = z.response;
      if (!resp || resp.dtype !== '<f4') throw new Error('no float `response` array');
      const shape = resp.shape.length === 1 ? [resp.shape[0]!, 1] : resp.shape;
      if (shape.length !== 2 || shape[0] !== LEVELS) throw new Error(`response shape (${resp.shape.join(', ')}) is not (256, C)`);
      const meta = z.metadata && z.metadata.dtype === 'str' ? (JSON.parse(z.metadata.value) as Record<string, unknown>) : {};
      return checked({ channels: shape[1]!, g: resp.data, metadata: meta }, path);
    }
    const j = JSON.parse(buf.toString('utf8')) as { response?: unknown; metadata?: Record<string, unknown> };
    if (!Array.isArray(j.response) || j.response.length !== LEVELS) throw new Error('`response` must be 256 rows');
    const rows = j.response as unknown[];
    const channels = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : 1;
    const g = new Float32Array(LEVELS * channels);
    rows.forEach((row, z) => {
      const vals = Array.isArray(row) ? row : [row];
      if (vals.length !== channels) throw new Error(`response row ${z} has ${vals.length} values, expected ${channels}`);
      vals.forEach((v, c) => (g[z * channels + c] = Number(v)));
    });
    return checked({ channels, g, metadata: j.metadata ?? {} }, path);
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.startsWith(path) ? msg : `${path}: bad response file: ${msg}`);
  }
}

function checked(r: CameraResponse, path: string): CameraResponse {
  for (let i = 0; i < r.g.length; i++) if (!Number.isFinite(r.g[i]!)) throw new Error(`${path}: response has a non-finite value at code ${Math.floor(i / r.channels)}`);
  return r;
}

/**
 * Global ln-radiance range for a set of exposure times: the darkest value a pixel can report is
 * min g − ln(longest t), the brightest max g − ln(shortest t). Used to normalise 16-bit PNG output
 * the same way across a whole night (asi_core's global range).
 */
export function lnERange(r: CameraResponse, exposuresS: number[]): [number, number] {
  if (exposuresS.length === 0) throw new Error('global range: no exposure times');
  let gmin = Infinity;
  let gmax = -Infinity;
  for (const v of r.g) {
    if (v < gmin) gmin = v;
    if (v > gmax) gmax = v;
  }
  const tmin = Math.min(...exposuresS);
  const tmax = Math.max(...exposuresS);
  return [gmin - Math.log(tmax), gmax - Math.log(tmin)];
}
