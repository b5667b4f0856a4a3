// Row sink through an encoder process reading PNM on stdin (cjpeg, pnmtopng). stdin writes await
// 'drain', so a slow encoder throttles the producer instead of queueing the frame in our heap.
// `threaded`: stdin is a FIFO the pipe thread writes (pipe-thread.ts), so the pipe is fed while this
// thread computes the next strip (node's stream writes wait for its event loop).
import { closeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { closeFifoPair, openFifoPair, pipeThread, withBigPipe, type FifoPair } from './pipe-thread.js';
import { tempPathFor } from '../../lib/atomic.js';
import type { Writable } from 'node:stream';
import { missingToolMessage, spawnTool, type ToolChild } from './children.js';
import { floatToPnm, pnmHeaderText } from './pnm.js';
import type { RowSink } from './formats.js';
import { RowCounter } from './sink-check.js';

export interface EncoderSpec {
  command: string;
  args: string[];
  aptPackage: string;
  bytesPerSample: 1 | 2;
  /** Runs on the finished temp file before the rename (e.g. insert an EXIF segment). */
  finalize?: (tmpPath: string) => Promise<void>;
}

export async function openEncoderSink(path: string, width: number, height: number, channels: number, spec: EncoderSpec, opts: { threaded?: boolean } = {}): Promise<RowSink> {
  if (channels !== 1 && channels !== 3) throw new Error(`${path}: ${spec.command} sink needs 1 or 3 channels, got ${channels}`);
  const counter = new RowCounter(path, width, height, channels);
  const tmp = tempPathFor(path);
  const out = await open(tmp, 'w');
  // Without FIFOs (no mkfifo), the stream as before.
  const fifo = opts.threaded ? openFifoPair() : null;
  let tool: ToolChild;
  try {
    if (fifo) {
      const run = withBigPipe(spec.command, spec.args, 'stdin');
      tool = spawnTool(run.command, run.args, [fifo.readFd, out.fd, 'pipe']);
    } else tool = spawnTool(spec.command, spec.args, ['pipe', out.fd, 'pipe']);
  } catch (err) {
    await out.close();
    if (fifo) closeFifoPair(fifo);
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await out.close(); // the child holds its own copy of the descriptor
  if (fifo) {
    // Likewise the FIFO's read ends: with ours closed, the encoder's exit fails a pending write (EPIPE).
    closeSync(fifo.readFd);
    closeSync(fifo.pollFd);
    fifo.readFd = -1;
    fifo.pollFd = -1;
  }
  const { child, exited } = tool;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const input = fifo ? threadInput(fifo) : streamInput(child.stdin!);
  let done = false;
  /** writeEncoded's last write, still draining into the encoder's pipe. */
  let behind: Promise<void> = Promise.resolve();

  const failure = async (): Promise<Error> => {
    const exit = await exited;
    const se = exit.spawnError;
    if (se) return new Error(`${path}: ${se.code === 'ENOENT' ? missingToolMessage(spec.command, spec.aptPackage) : se.message}`);
    const line = stderr.split('\n').map((l) => l.trim()).find(Boolean);
    const pipeError = input.error();
    return new Error(`${path}: ${spec.command} failed: ${line ?? (pipeError ? pipeError.message : `exit ${exit.code ?? exit.signal}`)}`);
  };

  const write = (buf: Uint8Array) => input.write(buf);

  const abort = async () => {
    if (done) return;
    done = true;
    if (child.exitCode === null && child.signalCode === null && !tool.spawnError()) child.kill('SIGKILL');
    await exited;
    await input.destroy();
    await unlink(tmp).catch(() => {});
  };

  try {
    await write(Buffer.from(pnmHeaderText(width, height, channels, spec.bytesPerSample === 2 ? 65535 : 255), 'latin1'));
  } catch {
    const err = await failure();
    await abort();
    throw err;
  }

  return {
    async writeRows(data: Float32Array, rows: number): Promise<void> {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      counter.add(data, rows);
      const n = rows * width * channels;
      const buf = new Uint8Array(n * spec.bytesPerSample);
      floatToPnm(data, n, spec.bytesPerSample, buf);
      try {
        await write(buf);
      } catch {
        const err = await failure();
        await abort();
        throw err;
      }
    },
    async writeEncoded(bytes: Uint8Array, rows: number): Promise<void> {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      try {
        counter.addRows(rows);
        if (bytes.length !== rows * width * channels * spec.bytesPerSample) throw new Error(`${path}: writeEncoded got ${bytes.length} bytes for ${rows} rows`);
      } catch (err) {
        await abort();
        throw err;
      }
      // The encoder works on this strip while the caller computes the next: wait only for the
      // previous strip to have drained into the pipe (one strip queued at most).
      const previous = behind;
      behind = write(bytes);
      behind.catch(() => {});
      try {
        await previous;
      } catch {
        const err = await failure();
        await abort();
        throw err;
      }
    },
    async finish(): Promise<void> {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      try {
        await behind;
      } catch {
        const err = await failure();
        await abort();
        throw err;
      }
      try {
        counter.complete();
      } catch (err) {
        await abort();
        throw err;
      }
      input.end();
      const exit = await exited;
      if (exit.code !== 0 || exit.spawnError) {
        const err = await failure();
        await abort();
        throw err;
      }
      done = true;
      try {
        await spec.finalize?.(tmp);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
      await rename(tmp, path);
    },
    abort,
  };
}

/** The encoder's stdin: bytes in order, each write resolving once its bytes are in the pipe. */
interface EncoderInput {
  write(buf: Uint8Array): Promise<void>;
  /** End of input (after the last write resolved). */
  end(): void;
  /** Drop the input (the encoder is already killed). */
  destroy(): Promise<void>;
  /** What failed a write (EPIPE …), if anything. */
  error(): Error | null;
}

function streamInput(stdin: Writable): EncoderInput {
  let pipeError: Error | null = null;
  stdin.on('error', (err) => (pipeError = err)); // EPIPE when the encoder died; reported via its exit
  return {
    write: (buf) =>
      new Promise<void>((resolve, reject) => {
        if (stdin.destroyed || pipeError) {
          reject(new Error('encoder input closed'));
          return;
        }
        // The write callback says the bytes reached the pipe. An encoder that has read its whole image
        // may exit (closing the pipe) before 'drain' fires: that is success, not "input closed".
        let flushed = false;
        if (stdin.write(buf, (err) => { if (!err) flushed = true; })) resolve();
        else {
          const onDrain = () => { stdin.off('close', onClose); resolve(); };
          const onClose = () => {
            stdin.off('drain', onDrain);
            if (flushed) resolve();
            else reject(new Error('encoder input closed'));
          };
          stdin.once('drain', onDrain);
          stdin.once('close', onClose);
        }
      }),
    end: () => stdin.end(),
    destroy: async () => {
      stdin.destroy();
    },
    error: () => pipeError,
  };
}

function threadInput(fifo: FifoPair): EncoderInput {
  const thread = pipeThread();
  let pipeError: Error | null = null;
  let last: Promise<unknown> = Promise.resolve();
  const close = () => {
    if (fifo.writeFd >= 0) closeFifoPair(fifo);
  };
  return {
    write(buf) {
      if (fifo.writeFd < 0 || pipeError) return Promise.reject(new Error('encoder input closed'));
      // Bytes outside shared memory (the header, writeRows' strips) are copied into a buffer of their own.
      const view = buf.buffer instanceof SharedArrayBuffer ? buf : new Uint8Array(new SharedArrayBuffer(buf.length));
      if (view !== buf) view.set(buf);
      const p = thread.write(fifo.writeFd, view, view.length).then(
        () => {},
        (err: Error) => {
          pipeError ??= err;
          throw new Error('encoder input closed');
        },
      );
      last = p.catch(() => {});
      return p;
    },
    end: close,
    async destroy() {
      // The encoder is gone, so a pending write has failed (EPIPE) or finished: then the end can close.
      await last;
      close();
    },
    error: () => pipeError,
  };
}
