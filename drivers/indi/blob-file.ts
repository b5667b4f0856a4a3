// One BLOB decoded straight to a file while its base64 text streams in: base64 → (zlib inflate for
// ".z" formats) → file. Memory stays at a few socket chunks whatever the frame size; write() reports
// back-pressure so the client can pause the socket while the disk catches up.
import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createInflate, type Inflate } from 'node:zlib';
import { Base64Error, Base64StreamDecoder } from './base64.js';
import type { BlobStartInfo } from './types.js';

export interface BlobSink {
  /** Feed base64 text; returns false when the caller should wait for drain() before feeding more. */
  write(base64: string): boolean;
  drain(): Promise<void>;
  /** All text fed: flush, close and check sizes. */
  end(): Promise<BlobResult>;
  /** Stop and remove whatever was written. */
  abort(reason: Error): void;
}

export interface BlobResult extends BlobStartInfo {
  /** File holding the decoded (and inflated) BLOB. */
  path: string;
  /** Format as stored: ".fits.z" arrives as ".fits". */
  storedFormat: string;
  /** Bytes written to the file. */
  bytes: number;
  /** Decoded bytes beyond `len` that were dropped (see push()). */
  excessBytes: number;
}

export class BlobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobError';
  }
}

/** Sanity bound for BLOBs that announce no length: the largest sensors give ~250 MB frames. */
export const MAX_BLOB_BYTES = 4 * 1024 ** 3;

export function isZlibFormat(format: string): boolean {
  return format.endsWith('.z');
}

export function createBlobFileSink(info: BlobStartInfo, path: string): BlobSink {
  const decoder = new Base64StreamDecoder();
  const file: WriteStream = createWriteStream(path);
  const inflate: Inflate | null = isZlibFormat(info.format) ? createInflate() : null;
  let bytes = 0;
  let failure: Error | null = null;
  let finished = false;
  const label = `BLOB ${info.device}.${info.vector}.${info.element}`;

  const fail = (err: Error) => {
    if (failure) return;
    failure = err instanceof BlobError ? err : new BlobError(`${label}: ${err.message}`, { cause: err });
    inflate?.destroy();
    file.destroy();
  };
  file.on('error', (err) => fail(new BlobError(`${label}: writing ${path}: ${err.message}`, { cause: err })));
  if (inflate) {
    inflate.on('error', (err) => fail(new BlobError(`${label}: zlib data invalid: ${err.message}`, { cause: err })));
    inflate.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // A stream that inflates past the announced size is broken (or a zip bomb): stop writing now.
      if (info.size && bytes > info.size) return fail(new BlobError(`${label}: inflates past the announced size=${info.size}`));
      if (!file.write(chunk)) inflate.pause();
    });
    file.on('drain', () => inflate.resume());
  }
  // The file is opened asynchronously: unlink only after the stream has closed, or the open recreates it.
  const discard = async (): Promise<void> => {
    inflate?.destroy();
    if (!file.closed) {
      const closed = new Promise<void>((resolve) => file.once('close', () => resolve()));
      file.destroy();
      await closed;
    }
    await unlink(path).catch(() => {});
  };
  const target = (): { write(b: Buffer): boolean } => inflate ?? { write: (b: Buffer) => ((bytes += b.length), file.write(b)) };

  let kept = 0;
  let excess = 0;
  const push = (decoded: Buffer): boolean => {
    if (decoded.length === 0) return true;
    if (decoder.decodedBytes > MAX_BLOB_BYTES) throw new BlobError(`${label}: larger than ${MAX_BLOB_BYTES} bytes, refused`);
    // INDI 1.9 drivers send fpack'd frames as their whole memory buffer with len = the bytes that
    // count: keep len bytes, decode (and so validate) the rest, drop it.
    let part = decoded;
    if (info.len !== undefined && kept + part.length > info.len) {
      const room = Math.max(0, info.len - kept);
      excess += part.length - room;
      part = part.subarray(0, room);
    }
    kept += part.length;
    return part.length === 0 ? true : target().write(part);
  };

  return {
    write(base64) {
      if (failure) return true;
      try {
        return push(decoder.push(base64)) && !file.writableNeedDrain && !inflate?.writableNeedDrain;
      } catch (err) {
        fail(err instanceof Base64Error ? new BlobError(`${label}: ${err.message}`) : (err as Error));
        return true;
      }
    },
    async drain() {
      if (inflate && !failure) await waitDrain(inflate);
      if (!failure) await waitDrain(file);
    },
    async end() {
      if (!failure) {
        try {
          push(decoder.end());
        } catch (err) {
          fail(err instanceof Base64Error ? new BlobError(`${label}: ${err.message}`) : (err as Error));
        }
      }
      if (!failure) {
        try {
          await closeStreams(inflate, file);
        } catch (err) {
          fail(err as Error);
        }
      }
      finished = true;
      if (!failure) failure = checkSizes(label, info, decoder, bytes, inflate !== null);
      if (failure) {
        await discard();
        throw failure;
      }
      const storedFormat = inflate ? info.format.slice(0, -2) : info.format;
      return { ...info, path, storedFormat, bytes, excessBytes: excess };
    },
    abort(reason) {
      if (finished) return;
      fail(reason);
      void discard();
    },
  };
}

function waitDrain(stream: WriteStream | Inflate): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function closeStreams(inflate: Inflate | null, file: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    file.once('error', reject);
    inflate?.once('error', reject);
    file.once('finish', () => {
      finished = true;
      resolve();
    });
    // fail() destroys the streams without an error event: don't wait forever for 'finish'.
    file.once('close', () => {
      if (!finished) reject(new Error('file closed before all data was written'));
    });
    if (inflate) {
      inflate.once('end', () => file.end());
      inflate.end();
    } else {
      file.end();
    }
  });
}

function checkSizes(label: string, info: BlobStartInfo, decoder: Base64StreamDecoder, bytes: number, inflated: boolean): BlobError | null {
  if (info.enclen !== undefined && decoder.encodedChars !== info.enclen) {
    return new BlobError(`${label}: got ${decoder.encodedChars} base64 characters, enclen says ${info.enclen} (truncated?)`);
  }
  if (info.len !== undefined && decoder.decodedBytes < info.len) {
    return new BlobError(`${label}: got ${decoder.decodedBytes} bytes, len says ${info.len} (truncated?)`);
  }
  // size is the uncompressed size: it must match what was inflated, or what was written when there is
  // no len to go by. (For formats we store compressed, e.g. .fits.fz, it says nothing about the file.)
  if (info.size !== undefined && info.size > 0 && (inflated || info.len === undefined) && bytes !== info.size) {
    return new BlobError(`${label}: ${bytes} bytes after decoding, size says ${info.size}`);
  }
  if (bytes === 0) return new BlobError(`${label}: empty BLOB`);
  return null;
}
