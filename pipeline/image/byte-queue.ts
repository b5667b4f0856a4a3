// A bounded reader over a Readable: callers ask for exactly n bytes; the stream is paused while more
// than `highWater` bytes wait, so a fast producer (a decoder process) blocks on its pipe instead of
// filling our heap.
import type { Readable } from 'node:stream';

export class StreamByteReader {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private paused = false;

  constructor(private readonly stream: Readable, private highWater = 1 << 20) {
    stream.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.queued += c.length;
      if (this.queued >= this.highWater && !this.paused) {
        this.paused = true;
        stream.pause();
      }
      this.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', (err) => {
      this.failure = err;
      this.notify();
    });
  }

  /** Stop throttling (used at the end, so the stream can reach EOF and the producer can exit). */
  unthrottle(): void {
    this.highWater = Infinity;
    this.resumeIfLow();
  }

  get buffered(): number {
    return this.queued;
  }

  get atEnd(): boolean {
    return this.ended && this.queued === 0;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private resumeIfLow(): void {
    if (this.paused && this.queued < this.highWater) {
      this.paused = false;
      this.stream.resume();
    }
  }

  /** Wait until at least n bytes are queued or the stream ended; returns how many are available (≤ n). */
  async fill(n: number): Promise<number> {
    // A request bigger than the high-water mark raises it, or we would deadlock paused.
    if (n > this.highWater) this.highWater = n;
    while (this.queued < n && !this.ended) {
      if (this.failure) throw this.failure;
      this.resumeIfLow();
      await new Promise<void>((r) => (this.wake = r));
    }
    if (this.failure) throw this.failure;
    return Math.min(n, this.queued);
  }

  /** Look at the first n queued bytes (n ≤ buffered) without consuming them. */
  peek(n: number): Buffer {
    if (this.chunks.length && this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  /** Move n queued bytes (n ≤ buffered) into dst. */
  take(n: number, dst: Uint8Array): void {
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      dst.set(k === c.length ? c : c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.queued -= n;
    this.resumeIfLow();
  }

  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        left -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.queued -= n;
    this.resumeIfLow();
  }
}

/**
 * A reader that reads ahead nothing: the stream stays in paused mode and only the bytes asked for are
 * pulled, so the kernel pipe (64 KiB) is the producer's only slack. For callers that keep many
 * decoders open at once (the HDR merge), where a per-stream queue would grow memory with their number.
 */
export class PullByteReader {
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
