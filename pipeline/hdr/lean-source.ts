// A decoder-process row source that holds almost nothing: the merge keeps N of these open at once,
// so per-source buffering is what makes memory grow with the number of exposures. The general row
// source (pipeline/image/decoder-source.ts) lets up to 4 MB of decoded bytes queue per decoder —
// 36 MB for a 9-frame bracket. Here the stream stays in paused mode and only the bytes asked for are
// pulled (the kernel pipe, 64 KiB, is the decoder's only slack), and rows are decoded straight into the
// caller's buffer, so no per-read arrays pile up for the garbage collector either.
// Same decoders, same damage rules (DecoderSpec from row-source.ts).
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { DJPEG, PNGTOPAM, TIFFTOPNM, sniffImageKind } from '../image/row-source.js';
import type { DecoderSpec } from '../image/decoder-source.js';
import { parsePnmHeader, pnmBytesPerSample, pnmToFloat, type PnmHeader } from '../image/pnm.js';
import { ImageFormatError } from '../image/types.js';
import type { RowBatch, RowSource } from '../image/rows.js';

export interface LeanRowSource extends RowSource {
  /** Decode the next `rows` rows into dst at element offset `offset` (exactly `rows`, or throws). */
  readRowsInto(rows: number, dst: Float32Array, offset?: number): Promise<void>;
  /** 256 (8-bit) or 65536 (16-bit) when rows can be read as raw integer codes, else null. */
  readonly codeLevels: 256 | 65536 | null;
  /** The next `rows` rows as raw codes (no float conversion), valid until the next read. */
  readRowsCodes(rows: number): Promise<Uint8Array | Uint16Array>;
}

/** Pulls exact byte counts from a paused stream. */
class PullReader {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  constructor(private readonly stream: Readable) {
    // A permanent 'readable' listener keeps the stream in pull mode, and tells child_process the
    // stream is in use: otherwise it resumes "unused" stdout when the decoder exits and the last
    // rows flow away unread.
    const notify = () => {
      const w = this.wake;
      this.wake = null;
      w?.();
    };
    stream.on('readable', notify);
    stream.on('end', () => {
      this.ended = true;
      notify();
    });
    stream.on('close', notify);
    stream.on('error', (err) => {
      this.failure = err;
      notify();
    });
  }
  /** Resolve once n bytes are queued (or the stream ended); returns the bytes available (≤ n). */
  async fill(n: number): Promise<number> {
    while (this.queued < n) {
      if (this.failure) throw this.failure;
      const c = this.stream.read() as Buffer | null;
      if (c) {
        this.chunks.push(c);
        this.queued += c.length;
        continue;
      }
      if (this.ended || this.stream.destroyed) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.failure) throw this.failure;
    return Math.min(n, this.queued);
  }
  peek(n: number): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] ?? Buffer.alloc(0)).subarray(0, n);
  }
  take(n: number, dst: Uint8Array): void {
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      dst.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.queued -= n;
  }
  skip(n: number): void {
    this.take(n, new Uint8Array(n));
  }
}

function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /premature|corrupt|error|invalid|not a|cannot|unsupported|bad/i.test(l)) ?? lines[0] ?? '';
}

export async function openLeanDecoderSource(path: string, spec: DecoderSpec): Promise<LeanRowSource> {
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: NodeJS.ErrnoException | null = null;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      spawnError = err;
      resolve({ code: -1, signal: null });
    });
  });
  const reader = new PullReader(child.stdout!);
  let closed = false;
  const fail = (what: string) => new ImageFormatError(path, what);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill('SIGKILL');
    child.stdout!.destroy();
    await exited;
  };
  const judge = (exit: { code: number | null; signal: NodeJS.Signals | null } | null): ImageFormatError | null => {
    if (spawnError) return fail(spawnError.code === 'ENOENT' ? `${spec.command} not found (apt-get install -y ${spec.aptPackage})` : `${spec.command}: ${spawnError.message}`);
    if (spec.fatalStderr?.test(stderr)) return fail(`${spec.command}: ${firstLine(stderr)}`);
    if (exit && !closed) {
      if (exit.signal) return fail(`${spec.command} killed by ${exit.signal}`);
      if (exit.code !== 0 && !(spec.warningExitCodes ?? []).includes(exit.code ?? -1)) return fail(`${spec.command}: ${firstLine(stderr) || `exit code ${exit.code}`}`);
    }
    return null;
  };
  let header: PnmHeader | null = null;
  try {
    for (let want = 64; !header; want *= 2) {
      const got = await reader.fill(want);
      header = parsePnmHeader(reader.peek(got));
      if (header) reader.skip(header.headerBytes);
      else if (got < want) throw judge(await exited) ?? fail(`${spec.command}: ${firstLine(stderr) || 'no image data'}`);
    }
  } catch (err) {
    await kill();
    throw err instanceof ImageFormatError ? err : fail(`${spec.command}: ${(err as Error).message}`);
  }
  const h = header;
  const channels = h.depth === 2 || h.depth === 4 ? h.depth - 1 : h.depth;
  const rowBytes = h.width * h.depth * pnmBytesPerSample(h);
  let y = 0;
  let scratch = new Uint8Array(0);

  /** Pull the next `rows` rows' bytes into `scratch`; returns the byte count. */
  const pull = async (rows: number): Promise<number> => {
    if (closed) throw fail('row source is closed');
    if (y + rows > h.height) throw fail(`asked for rows ${y}..${y + rows} of ${h.height}`);
    const need = rows * rowBytes;
    let got: number;
    try {
      const early = judge(null);
      if (early) throw early;
      got = await reader.fill(need);
    } catch (err) {
      await kill();
      throw err instanceof ImageFormatError ? err : fail(`${spec.command}: ${(err as Error).message}`);
    }
    if (got < need || y + rows >= h.height) {
      // Last rows (or a short stream): read to EOF and hand them out only once the decoder has exited cleanly.
      try {
        if (got === need) await reader.fill(need + 1);
      } catch (err) {
        await kill();
        throw fail(`${spec.command}: ${(err as Error).message}`);
      }
      const bad = judge(await exited);
      if (bad) {
        await kill();
        throw bad;
      }
      if (got < need) throw fail(`${spec.command}: truncated output (row ${y + Math.floor(got / rowBytes)} of ${h.height})`);
    }
    if (scratch.length < need) scratch = new Uint8Array(need);
    reader.take(need, scratch);
    y += rows;
    return need;
  };

  const readRowsInto = async (rows: number, dst: Float32Array, offset = 0): Promise<void> => {
    await pull(rows);
    pnmToFloat(h, scratch, rows * h.width, offset === 0 ? dst : dst.subarray(offset), channels);
  };

  const codeLevels = (h.depth === 1 || h.depth === 3) && (h.maxval === 255 || h.maxval === 65535) ? (h.maxval === 255 ? 256 : 65536) : null;
  let codes16 = new Uint16Array(0);
  const readRowsCodes = async (rows: number): Promise<Uint8Array | Uint16Array> => {
    if (!codeLevels) throw fail('raw codes need 8- or 16-bit samples without alpha');
    const need = await pull(rows);
    if (codeLevels === 256) return scratch.subarray(0, need);
    const n = need >> 1;
    if (codes16.length < n) codes16 = new Uint16Array(n);
    for (let i = 0; i < n; i++) codes16[i] = (scratch[2 * i]! << 8) | scratch[2 * i + 1]!;
    return codes16.subarray(0, n);
  };

  return {
    path,
    width: h.width,
    height: h.height,
    channels,
    bitDepth: h.maxval > 255 ? 16 : 8,
    meta: {},
    readRowsInto,
    codeLevels,
    readRowsCodes,
    async readRows(maxRows: number): Promise<RowBatch | null> {
      if (y >= h.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), h.height - y));
      const data = new Float32Array(rows * h.width * channels);
      const y0 = y;
      await readRowsInto(rows, data);
      return { y0, rows, data };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await kill();
    },
  };
}

/** JPEG, PNG and TIFF through the lean source; anything else (FITS, RAW, …) through openRowSource. */
export async function openLeanRowSource(path: string, fallback: (path: string) => Promise<RowSource>): Promise<RowSource> {
  const kind = await sniffImageKind(path);
  if (kind === 'jpeg') return openLeanDecoderSource(path, DJPEG(path));
  if (kind === 'png') return openLeanDecoderSource(path, PNGTOPAM(path));
  if (kind === 'tiff') return openLeanDecoderSource(path, TIFFTOPNM(path));
  return fallback(path);
}

export function hasReadInto(s: RowSource): s is LeanRowSource {
  return typeof (s as Partial<LeanRowSource>).readRowsInto === 'function';
}
