// Row sink through an encoder process reading PNM on stdin (cjpeg, pnmtopng). stdin writes await
// 'drain', so a slow encoder throttles the producer instead of queueing the frame in our heap.
import { open, rename, unlink } from 'node:fs/promises';
import { tempPathFor } from '../../lib/atomic.js';
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

export async function openEncoderSink(path: string, width: number, height: number, channels: number, spec: EncoderSpec): Promise<RowSink> {
  if (channels !== 1 && channels !== 3) throw new Error(`${path}: ${spec.command} sink needs 1 or 3 channels, got ${channels}`);
  const counter = new RowCounter(path, width, height, channels);
  const tmp = tempPathFor(path);
  const out = await open(tmp, 'w');
  let tool: ToolChild;
  try {
    tool = spawnTool(spec.command, spec.args, ['pipe', out.fd, 'pipe']);
  } catch (err) {
    await out.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await out.close(); // the child holds its own copy of the descriptor
  const { child, exited } = tool;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const stdin = child.stdin!;
  let pipeError: Error | null = null;
  stdin.on('error', (err) => (pipeError = err)); // EPIPE when the encoder died; reported via its exit
  let done = false;
  /** writeEncoded's last write, still draining into the encoder's pipe. */
  let behind: Promise<void> = Promise.resolve();

  const failure = async (): Promise<Error> => {
    const exit = await exited;
    const se = exit.spawnError;
    if (se) return new Error(`${path}: ${se.code === 'ENOENT' ? missingToolMessage(spec.command, spec.aptPackage) : se.message}`);
    const line = stderr.split('\n').map((l) => l.trim()).find(Boolean);
    return new Error(`${path}: ${spec.command} failed: ${line ?? (pipeError ? pipeError.message : `exit ${exit.code ?? exit.signal}`)}`);
  };

  const write = (buf: Uint8Array) =>
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
    });

  const abort = async () => {
    if (done) return;
    done = true;
    if (child.exitCode === null && child.signalCode === null && !tool.spawnError()) child.kill('SIGKILL');
    stdin.destroy();
    await exited;
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
      stdin.end();
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
