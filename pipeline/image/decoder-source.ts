// Row source over a decoder process that writes PNM/PAM to stdout (djpeg, tifftopnm, dcraw, pngtopam).
// Backpressure: StreamByteReader pauses stdout, the pipe fills and the decoder blocks, so at most a few
// MB of decoded rows sit in our heap whatever the frame size. openPullDecoderSource reads ahead nothing
// at all (PullByteReader) and also hands out rows into the caller's buffer or as raw codes: for callers
// that keep many decoders open at once (the HDR merge). Decoders that only warn about damage
// (djpeg exits 2 after "Premature end of JPEG file" and pads with grey) are turned into errors:
// stderr is checked on every read and the exit status before the last rows are handed out.
import { closeSync } from 'node:fs';
import { missingToolMessage, spawnTool, type ToolExit } from './children.js';
import { PullByteReader, StreamByteReader } from './byte-queue.js';
import { closeFifoPair, openFifoPair, ThreadPipeReader, withBigPipe } from './pipe-thread.js';
import { parsePnmHeader, pnmBytesPerSample, pnmToFloat, type PnmHeader } from './pnm.js';
import { ImageFormatError, type ImageMeta } from './types.js';
import { batchArray } from './strip.js';
import type { DirectRowSource, RowBatch, RowSource } from './formats.js';
export type { DirectRowSource } from './formats.js';

export interface DecoderSpec {
  command: string;
  args: string[];
  /** apt package to name when the command is missing. */
  aptPackage: string;
  /** stderr text that makes the decode fail even when the decoder carries on (e.g. truncation warnings). */
  fatalStderr?: RegExp;
  /** Exit codes that only mean "warnings" (judged by fatalStderr instead). */
  warningExitCodes?: number[];
}

type Exit = ToolExit;

export { liveDecoders } from './children.js';

function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /premature|corrupt|error|invalid|not a|cannot|unsupported|bad/i.test(l)) ?? lines[0] ?? '';
}

/** Rows as the decoder wrote them: the next `rows` rows' bytes land in `scratch` (valid until the next pull). */
interface DecoderStream {
  header: PnmHeader;
  /** Channels as stored, alpha dropped. */
  channels: number;
  /** Rows handed out so far. */
  readonly y: number;
  readonly closed: boolean;
  readonly scratch: Uint8Array;
  /** The next `rows` rows' bytes into `into` when given (no scratch copy), else into scratch. */
  pull(rows: number, into?: Uint8Array): Promise<number>;
  close(): Promise<void>;
  failure(what: string): ImageFormatError;
}

async function startDecoder(path: string, spec: DecoderSpec, readAhead: 'buffered' | 'pull' | 'thread'): Promise<DecoderStream> {
  // 'thread': stdout is a FIFO drained by the pipe thread (pipe-thread.ts); without FIFOs, 'pull'.
  const fifo = readAhead === 'thread' ? openFifoPair() : null;
  let tool: ReturnType<typeof spawnTool>;
  try {
    if (fifo) {
      const run = withBigPipe(spec.command, spec.args, 'stdout');
      tool = spawnTool(run.command, run.args, ['ignore', fifo.writeFd, 'pipe']);
    } else tool = spawnTool(spec.command, spec.args, ['ignore', 'pipe', 'pipe']);
  } catch (err) {
    if (fifo) closeFifoPair(fifo);
    throw err;
  }
  const { child, exited, spawnError: spawnFailure } = tool;
  if (fifo) {
    // The child has its own copy: ours must go, or the reader never sees the end of the pipe.
    closeSync(fifo.writeFd);
    fifo.writeFd = -1;
  }
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const reader = fifo ? new ThreadPipeReader(fifo) : readAhead === 'buffered' ? new StreamByteReader(child.stdout!) : new PullByteReader(child.stdout!);
  /**
   * Before the last rows are handed out the decoder must have exited: let the stream run to EOF
   * (a paused pull stream is read one byte past the rows, which reaches the end).
   */
  const toEnd = async (need: number, got: number): Promise<void> => {
    if (reader instanceof StreamByteReader) reader.unthrottle();
    else if (reader instanceof ThreadPipeReader) {
      if (got === need) await reader.fill(1);
    } else if (got === need) await reader.fill(need + 1);
  };
  let closed = false;

  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnFailure()) child.kill('SIGKILL');
    child.stdout?.destroy();
    await exited;
    // The writer is gone, so a pending thread read has ended: the FIFO can be closed and reused.
    if (reader instanceof ThreadPipeReader) await reader.close();
  };

  const failure = (what: string) => new ImageFormatError(path, what);
  const decoderFailure = (exit: Exit | null): ImageFormatError | null => {
    const e = spawnFailure();
    if (e) {
      return failure(e.code === 'ENOENT' ? missingToolMessage(spec.command, spec.aptPackage) : `${spec.command}: ${e.message}`);
    }
    if (spec.fatalStderr && spec.fatalStderr.test(stderr)) return failure(`${spec.command}: ${firstLine(stderr)}`);
    if (exit && !closed) {
      if (exit.signal) return failure(`${spec.command} killed by ${exit.signal}`);
      if (exit.code !== 0 && !(spec.warningExitCodes ?? []).includes(exit.code ?? -1)) {
        return failure(`${spec.command}: ${firstLine(stderr) || `exit code ${exit.code}`}`);
      }
    }
    return null;
  };

  let header: PnmHeader;
  try {
    header = await readHeader();
  } catch (err) {
    await kill();
    throw err instanceof ImageFormatError ? err : failure(`${spec.command}: ${(err as Error).message}`);
  }

  async function readHeader(): Promise<PnmHeader> {
    for (let want = 64; ; want *= 2) {
      const got = await reader.fill(want);
      let h: PnmHeader | null;
      try {
        h = parsePnmHeader(reader.peek(got));
      } catch (err) {
        throw failure(`${spec.command}: ${(err as Error).message}`);
      }
      if (h) {
        reader.skip(h.headerBytes);
        return h;
      }
      if (got < want) {
        // stdout ended before a header: the decoder failed; its exit status says why.
        const exit = await exited;
        throw decoderFailure(exit) ?? failure(`${spec.command}: ${firstLine(stderr) || 'no image data'}`);
      }
    }
  }

  const rowBytes = header.width * header.depth * pnmBytesPerSample(header);
  let y = 0;
  let scratch: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  const sharedScratch = (n: number) => {
    if (scratch.length < n) scratch = new Uint8Array(new SharedArrayBuffer(n));
    return scratch;
  };

  const pull = async (rows: number, into?: Uint8Array): Promise<number> => {
    if (closed) throw failure('row source is closed');
    if (y + rows > header.height) throw failure(`asked for rows ${y}..${y + rows} of ${header.height}`);
    const need = rows * rowBytes;
    let got: number;
    // The thread reader lands the rows in `into` (or scratch) at once; the others queue them until take.
    const direct = reader instanceof ThreadPipeReader;
    const dst = into ?? (direct ? sharedScratch(need) : null);
    if (dst && dst.length < need) throw failure(`${need} bytes of rows do not fit a ${dst.length}-byte buffer`);
    try {
      const early = decoderFailure(null);
      if (early) throw early;
      got = direct ? await reader.readInto(need, dst!) : await reader.fill(need);
    } catch (err) {
      await kill();
      throw err instanceof ImageFormatError ? err : failure(`${spec.command}: ${(err as Error).message}`);
    }
    if (got < need || y + rows >= header.height) {
      // Last rows (or a short stream): only hand them out once the decoder has exited cleanly.
      try {
        await toEnd(need, got);
      } catch (err) {
        await kill();
        throw failure(`${spec.command}: ${(err as Error).message}`);
      }
      const bad = decoderFailure(await exited);
      if (bad) {
        await kill();
        throw bad;
      }
      if (got < need) throw failure(`${spec.command}: truncated output (row ${y + Math.floor(got / rowBytes)} of ${header.height})`);
    }
    if (!direct) {
      if (into) reader.take(need, into);
      else {
        if (scratch.length < need) scratch = new Uint8Array(need);
        reader.take(need, scratch);
      }
    }
    y += rows;
    return need;
  };

  return {
    header,
    channels: header.depth === 2 || header.depth === 4 ? header.depth - 1 : header.depth,
    get y() {
      return y;
    },
    get closed() {
      return closed;
    },
    get scratch() {
      return scratch;
    },
    pull,
    async close() {
      if (closed) return;
      closed = true;
      await kill();
    },
    failure,
  };
}

export async function openDecoderSource(path: string, spec: DecoderSpec, opts: { grayscale?: boolean; meta?: ImageMeta } = {}): Promise<RowSource> {
  const d = await startDecoder(path, spec, 'buffered');
  const { header } = d;
  const channels = opts.grayscale ? 1 : d.channels;
  return {
    path,
    width: header.width,
    height: header.height,
    channels,
    bitDepth: header.maxval > 255 ? 16 : 8,
    meta: opts.meta ?? {},
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (d.closed) throw d.failure('row source is closed');
      if (d.y >= header.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), header.height - d.y));
      const y0 = d.y;
      await d.pull(rows);
      const data = batchArray(rows * header.width * channels, into);
      pnmToFloat(header, d.scratch, rows * header.width, data, channels);
      return { y0, rows, data };
    },
    close: () => d.close(),
  };
}

/**
 * The decoder source with no read-ahead (see PullByteReader) and direct/raw-code reads. `thread`: the
 * decoder's output is read by the pipe thread (pipe-thread.ts), so a read asked for before a long
 * computation proceeds during it, straight into the caller's buffer when that is shared memory.
 */
export async function openPullDecoderSource(path: string, spec: DecoderSpec, reader: 'pull' | 'thread' = 'pull'): Promise<DirectRowSource> {
  const d = await startDecoder(path, spec, reader);
  const { header: h, channels } = d;

  const readRowsInto = async (rows: number, dst: Float32Array, offset = 0): Promise<void> => {
    await d.pull(rows);
    pnmToFloat(h, d.scratch, rows * h.width, offset === 0 ? dst : dst.subarray(offset), channels);
  };

  const codeLevels = (h.depth === 1 || h.depth === 3) && (h.maxval === 255 || h.maxval === 65535) ? (h.maxval === 255 ? 256 : 65536) : null;
  let codes16 = new Uint16Array(0);
  const readRowsCodes = async (rows: number): Promise<Uint8Array | Uint16Array> => {
    if (!codeLevels) throw d.failure('raw codes need 8- or 16-bit samples without alpha');
    const need = await d.pull(rows);
    const bytes = d.scratch;
    if (codeLevels === 256) return bytes.subarray(0, need);
    const n = need >> 1;
    if (codes16.length < n) codes16 = new Uint16Array(n);
    for (let i = 0; i < n; i++) codes16[i] = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
    return codes16.subarray(0, n);
  };
  // Straight into the caller's buffer (e.g. a kernel's shared memory): 8-bit codes are taken from the
  // pipe's chunks with no scratch copy, 16-bit ones byte-swapped from scratch into it.
  const readRowsCodesInto = async (rows: number, dst: Uint8Array | Uint16Array): Promise<number> => {
    if (!codeLevels) throw d.failure('raw codes need 8- or 16-bit samples without alpha');
    if ((codeLevels === 256) !== (dst instanceof Uint8Array)) throw d.failure(`raw ${codeLevels === 256 ? 8 : 16}-bit codes asked for into a ${dst instanceof Uint8Array ? 8 : 16}-bit buffer`);
    if (dst instanceof Uint8Array) return d.pull(rows, dst);
    const need = await d.pull(rows);
    const bytes = d.scratch;
    const n = need >> 1;
    if (dst.length < n) throw d.failure(`${n} codes of rows do not fit a ${dst.length}-sample buffer`);
    for (let i = 0; i < n; i++) dst[i] = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
    return n;
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
    readRowsCodesInto,
    async readRows(maxRows: number): Promise<RowBatch | null> {
      if (d.y >= h.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), h.height - d.y));
      const data = new Float32Array(rows * h.width * channels);
      const y0 = d.y;
      await readRowsInto(rows, data);
      return { y0, rows, data };
    },
    close: () => d.close(),
  };
}
