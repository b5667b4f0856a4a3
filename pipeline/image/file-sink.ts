// A temp file written by positioned writes and renamed into place on commit (deleted on discard):
// the storage under the native row sinks (FITS, float TIFF, Radiance .hdr), and the sink lifecycle
// they share.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { tempPathFor } from '../../lib/atomic.js';
import type { RowCounter } from './sink-check.js';
import type { RowSink } from './formats.js';

export class AtomicFile {
  private constructor(readonly path: string, readonly tmp: string, private fh: FileHandle | null) {}

  static async create(path: string): Promise<AtomicFile> {
    const tmp = tempPathFor(path);
    const fh = await open(tmp, 'w');
    return new AtomicFile(path, tmp, fh);
  }

  async write(buf: Uint8Array, position: number): Promise<void> {
    if (!this.fh) throw new Error(`${this.path}: file already closed`);
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, position + off);
      off += bytesWritten;
    }
  }

  /** The parts one after another from `position`, in one writev (more only if the kernel writes short). */
  async writev(parts: readonly Uint8Array[], position: number): Promise<void> {
    if (!this.fh) throw new Error(`${this.path}: file already closed`);
    let rest = parts.filter((p) => p.length > 0);
    let at = position;
    while (rest.length) {
      const { bytesWritten } = await this.fh.writev(rest, at);
      at += bytesWritten;
      // Drop what was written; a part written in half continues from its middle.
      let n = bytesWritten;
      while (rest.length && n >= rest[0]!.length) n -= rest.shift()!.length;
      if (n > 0) rest = [rest[0]!.subarray(n), ...rest.slice(1)];
    }
  }

  async commit(): Promise<void> {
    const fh = this.fh;
    if (!fh) throw new Error(`${this.path}: file already closed`);
    this.fh = null;
    try {
      await fh.sync();
      await fh.close();
      await rename(this.tmp, this.path);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(this.tmp).catch(() => {});
      throw err;
    }
  }

  async discard(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => {});
    await unlink(this.tmp).catch(() => {});
  }
}

/** How one native format lays a strip into its file; the sink lifecycle is openAtomicRowSink's. */
export interface StripWriter {
  /** Encode and write `rows` rows starting at image row y0 (already validated and counted). */
  writeStrip(file: AtomicFile, data: Float32Array, rows: number, y0: number): Promise<void>;
  /**
   * Optional, for RowSink.writeEncoded/writeEncodedParts: where `length` bytes (`rows` rows already in
   * the file's encoding, starting at image row y0) go in the file; the writer advances its own
   * position past them.
   */
  placeEncoded?(length: number, rows: number, y0: number): number;
  /** Last bytes before the rename (e.g. FITS block padding). */
  beforeCommit?(file: AtomicFile): Promise<void>;
}

const WRITE_BEHIND = 2;

/**
 * The row sink every native writer shares: header first, strips through `strips`, the temp file
 * renamed on finish() only when every row arrived, and deleted on abort() or on any failure.
 */
export async function openAtomicRowSink(counter: RowCounter, header: Uint8Array, strips: StripWriter): Promise<RowSink> {
  const { path } = counter;
  const file = await AtomicFile.create(path);
  let done = false;
  try {
    await file.write(header, 0);
  } catch (err) {
    await file.discard();
    throw err;
  }
  // writeEncoded's writes behind the caller: positioned writes of buffers the sink owns, at most
  // WRITE_BEHIND in flight (a slow disk throttles the producer instead of queueing the image).
  const inFlight: Promise<void>[] = [];
  const drain = async () => {
    const all = inFlight.splice(0);
    const r = await Promise.allSettled(all);
    const bad = r.find((x) => x.status === 'rejected');
    if (bad) throw (bad as PromiseRejectedResult).reason;
  };
  const abort = async () => {
    done = true;
    await Promise.allSettled(inFlight.splice(0));
    await file.discard();
  };
  const placeEncoded = strips.placeEncoded?.bind(strips);
  return {
    ...(placeEncoded
      ? {
          async writeEncoded(bytes: Uint8Array, rows: number) {
            if (done) throw new Error(`${path}: sink already finished or aborted`);
            try {
              const at = placeEncoded(bytes.length, rows, counter.addRows(rows));
              const w = file.write(bytes, at);
              w.catch(() => {}); // reported by the await below or by finish()
              inFlight.push(w);
              if (inFlight.length > WRITE_BEHIND) await inFlight.shift();
            } catch (err) {
              await abort();
              throw err;
            }
          },
          async writeEncodedParts(parts: readonly Uint8Array[], rows: number) {
            if (done) throw new Error(`${path}: sink already finished or aborted`);
            try {
              let length = 0;
              for (const part of parts) length += part.length;
              const at = placeEncoded(length, rows, counter.addRows(rows));
              // Written before it resolves (the parts are the caller's memory), after the writes behind.
              await drain();
              await file.writev(parts, at);
            } catch (err) {
              await abort();
              throw err;
            }
          },
        }
      : {}),
    async writeRows(data, rows) {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      const y0 = counter.add(data, rows);
      try {
        await strips.writeStrip(file, data, rows, y0);
      } catch (err) {
        await abort();
        throw err;
      }
    },
    async finish() {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      try {
        counter.complete();
        await drain();
        await strips.beforeCommit?.(file);
        done = true;
        await file.commit();
      } catch (err) {
        await abort();
        throw err;
      }
    },
    abort,
  };
}
