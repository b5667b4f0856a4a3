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
