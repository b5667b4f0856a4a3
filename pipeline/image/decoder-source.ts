// Row source over a decoder process that writes PNM/PAM to stdout (djpeg, tifftopnm, dcraw, pngtopam).
// Backpressure: StreamByteReader pauses stdout, the pipe fills and the decoder blocks, so at most a few
// MB of decoded rows sit in our heap whatever the frame size. Decoders that only warn about damage
// (djpeg exits 2 after "Premature end of JPEG file" and pads with grey) are turned into errors:
// stderr is checked on every read and the exit status before the last rows are handed out.
import { spawn, type ChildProcess } from 'node:child_process';
import { StreamByteReader } from './byte-queue.js';
import { parsePnmHeader, pnmBytesPerSample, pnmToFloat, type PnmHeader } from './pnm.js';
import { ImageFormatError, type ImageMeta } from './types.js';
import { batchArray } from './strip.js';
import type { RowBatch, RowSource } from './rows.js';

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

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Live children, so tests (and shutdown paths) can check nothing is left behind. */
export const liveDecoders = new Set<ChildProcess>();

function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /premature|corrupt|error|invalid|not a|cannot|unsupported|bad/i.test(l)) ?? lines[0] ?? '';
}

export async function openDecoderSource(path: string, spec: DecoderSpec, opts: { grayscale?: boolean; meta?: ImageMeta } = {}): Promise<RowSource> {
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveDecoders.add(child);
  let stderr = '';
  let spawnError: Error | null = null;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      liveDecoders.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      spawnError = err;
      liveDecoders.delete(child);
      resolve({ code: -1, signal: null });
    });
  });
  const reader = new StreamByteReader(child.stdout!);
  let closed = false;

  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill('SIGKILL');
    child.stdout!.destroy();
    await exited;
  };

  const failure = (what: string) => new ImageFormatError(path, what);
  const decoderFailure = (exit: Exit | null): ImageFormatError | null => {
    if (spawnError) {
      const e = spawnError as NodeJS.ErrnoException;
      return failure(e.code === 'ENOENT' ? `${spec.command} not found (apt-get install -y ${spec.aptPackage})` : `${spec.command}: ${e.message}`);
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
    throw err;
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

  const inChannels = header.depth === 2 || header.depth === 4 ? header.depth - 1 : header.depth;
  const channels = opts.grayscale ? 1 : inChannels;
  const bytesPerPixel = header.depth * pnmBytesPerSample(header);
  const rowBytes = header.width * bytesPerPixel;
  let y = 0;
  let scratch = new Uint8Array(0);

  const source: RowSource = {
    path,
    width: header.width,
    height: header.height,
    channels,
    bitDepth: header.maxval > 255 ? 16 : 8,
    meta: opts.meta ?? {},
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (closed) throw failure('row source is closed');
      if (y >= header.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), header.height - y));
      const need = rows * rowBytes;
      let got: number;
      try {
        const early = decoderFailure(null);
        if (early) throw early;
        got = await reader.fill(need);
      } catch (err) {
        await kill();
        throw err instanceof ImageFormatError ? err : failure(`${spec.command}: ${(err as Error).message}`);
      }
      const last = y + rows >= header.height;
      if (got < need || last) {
        // Last rows (or a short stream): only hand them out once the decoder has exited cleanly.
        reader.unthrottle();
        const exit = await exited;
        const bad = decoderFailure(exit);
        if (bad) {
          await kill();
          throw bad;
        }
        if (got < need) throw failure(`${spec.command}: truncated output (row ${y + Math.floor(got / rowBytes)} of ${header.height})`);
      }
      if (scratch.length < need) scratch = new Uint8Array(need);
      reader.take(need, scratch);
      const data = batchArray(rows * header.width * channels, into);
      pnmToFloat(header, scratch, rows * header.width, data, channels);
      const batch = { y0: y, rows, data };
      y += rows;
      return batch;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await kill();
    },
  };
  return source;
}
