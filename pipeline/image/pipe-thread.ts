// Decoder output read by a thread of its own. A decoder's stdout through a node stream is read on the
// main thread's event loop, so while that thread computes (a kernel band) nothing is read and the
// decoders stall on their full 64 KiB pipes; the HDR merge then decodes and computes in turn instead
// of at once. Here a decoder writes into a FIFO whose read end a worker drains with blocking reads,
// straight into the caller's shared buffer (the kernels' WebAssembly memory): the main thread only
// posts "read n bytes of fd into here" and is free until the reply.
//
// The FIFO is only a way to get a pipe with a blocking read end (node has no pipe()). FIFOs are made
// by `mkfifo` (coreutils; without it the callers keep the stream reader) a few at a time in a private
// temp dir, reused (a FIFO's pipe is new each time it is opened afresh) and removed at exit: no data
// ever touches the disk. The write end goes to the decoder as its stdout and is closed here; every fd
// is close-on-exec (libuv), so the decoder holds the only writer and its exit is the reader's end of
// file.
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { commandOnPath } from './commands.js';

export interface FifoPair {
  /** Blocking read end (for the reader thread). */
  readFd: number;
  /** Write end, to hand to the decoder as stdout and close once it is spawned. */
  writeFd: number;
  /**
   * A non-blocking read end of the same pipe, for this thread to poll a few bytes (a PNM header)
   * before the pipe thread has started; -1 once closed.
   */
  pollFd: number;
  /** The FIFO, back to the pool once both ends are closed. */
  path: string;
}

let fifos: { dir: string; free: string[]; made: number } | null = null;
let fifosBroken = false;

function takeFifoPath(): string | null {
  if (fifosBroken) return null;
  try {
    if (!fifos) {
      const dir = mkdtempSync(join(tmpdir(), 'skyrig-pipes-'));
      fifos = { dir, free: [], made: 0 };
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    if (fifos.free.length === 0) {
      // Four at a time: one process (≈ 3 ms) serves a bracket of four.
      const paths = Array.from({ length: 4 }, () => join(fifos!.dir, `p${++fifos!.made}`));
      const made = spawnSync('mkfifo', ['-m', '600', ...paths], { stdio: 'ignore' });
      if (made.error || made.status !== 0) throw made.error ?? new Error(`mkfifo exit ${made.status}`);
      fifos.free.push(...paths.reverse());
    }
    return fifos.free.pop()!;
  } catch {
    fifosBroken = true;
    return null;
  }
}

/**
 * A pipe with a blocking read end, or null where no FIFO can be made (no mkfifo, a read-only temp
 * dir): the caller then reads the decoder through a stream as before.
 */
export function openFifoPair(): FifoPair | null {
  const path = takeFifoPath();
  if (!path) return null;
  // Opening a FIFO blocks until the other end is open, except a non-blocking read open; with that one
  // held, the write open and then the blocking read open return at once.
  const pair: FifoPair = { readFd: -1, writeFd: -1, pollFd: -1, path };
  try {
    pair.pollFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    pair.writeFd = openSync(path, constants.O_WRONLY);
    pair.readFd = openSync(path, constants.O_RDONLY);
    return pair;
  } catch {
    closeFifoPair(pair);
    return null;
  }
}

/** F_SETPIPE_SZ (Linux), and the size asked for: the default pipe-max-size, what any user may set. */
const F_SETPIPE_SZ = 1031;
const PIPE_BYTES = 1 << 20;

/**
 * The command that runs `command args` with its stdin or stdout pipe enlarged from 64 KiB to 1 MiB:
 * through perl (Debian's perl-base is always installed), which sets the size and execs the program.
 * A FIFO of 64 KiB between a decoder writing a row at a time and a reader thread made ≈ 14 000
 * context switches a 24 MP frame; a 1 MiB one a tenth of that. Without perl, or off Linux, the
 * command as given (the pipe keeps its size; nothing else changes).
 */
export function withBigPipe(command: string, args: string[], end: 'stdin' | 'stdout'): { command: string; args: string[] } {
  if (process.platform !== 'linux' || !commandOnPath('perl')) return { command, args };
  const script = `fcntl(${end.toUpperCase()}, ${F_SETPIPE_SZ}, ${PIPE_BYTES}); exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!\\n"`;
  return { command: 'perl', args: ['-e', script, command, ...args] };
}

/** Close what is still open of the pair and give its FIFO back. */
export function closeFifoPair(f: FifoPair): void {
  const open = f.readFd >= 0 || f.writeFd >= 0 || f.pollFd >= 0;
  for (const fd of [f.readFd, f.writeFd, f.pollFd]) {
    if (fd < 0) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  if (open) fifos?.free.push(f.path);
  f.readFd = -1;
  f.writeFd = -1;
  f.pollFd = -1;
}

/** Close the pair's non-blocking read end (the pipe stays open through readFd). */
function closePollFd(f: FifoPair): void {
  if (f.pollFd < 0) return;
  try {
    closeSync(f.pollFd);
  } catch {
    // already closed
  }
  f.pollFd = -1;
}

/** A pipe read shorter than this is followed by a nap of NAP_MS before the next (see WORKER_SOURCE). */
const SHORT_READ = 65536;
const NAP_MS = 0.1;

// The worker: requests in the order posted. A read goes on until `length` bytes or end of file (0 from
// read), a write until every byte is written; each answers with the count, or with the error's
// message (EPIPE when an encoder died: node ignores SIGPIPE). Requests that arrive together (every
// frame's strip) are served as one batch and answered in one message: one wake-up of the caller, not
// one per frame.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readSync, writeSync } = require('node:fs');
const nap = new Int32Array(new SharedArrayBuffer(4));
const queue = [];
let scheduled = false;
function serve({ id, op, fd, buffer, offset, length, position }) {
  const view = new Uint8Array(buffer);
  let done = 0;
  try {
    while (done < length) {
      const at = position === null ? null : position + done;
      const n = op === 'write' ? writeSync(fd, view, offset + done, length - done, at) : readSync(fd, view, offset + done, length - done, at);
      if (n === 0) break;
      done += n;
      // A short read from a pipe: let the writer fill it a while rather than wake for every row it writes.
      if (op === 'read' && position === null && n < ${SHORT_READ} && done < length) Atomics.wait(nap, 0, 0, ${NAP_MS});
    }
    return { id, got: done };
  } catch (err) {
    return { id, got: done, error: (err && err.message) || String(err) };
  }
}
function drain() {
  scheduled = false;
  const replies = [];
  while (queue.length) replies.push(serve(queue.shift()));
  parentPort.postMessage(replies);
}
parentPort.on('message', (m) => {
  queue.push(m);
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
});`;

export interface PipeThread {
  /**
   * Read `length` bytes of `fd` into `into` (a view on a SharedArrayBuffer) from `into[0]` on, at file
   * offset `position` (default: the current one, as for a pipe); resolves with the bytes read (fewer
   * only at end of file). Requests are served in the order made.
   */
  read(fd: number, into: Uint8Array, length: number, position?: number | null): Promise<number>;
  /** Write the first `length` bytes of `from` (a view on a SharedArrayBuffer) to `fd`; resolves once all are written. */
  write(fd: number, from: Uint8Array, length: number): Promise<number>;
}

interface Pending {
  resolve: (got: number) => void;
  reject: (err: Error) => void;
}

let shared: { worker: Worker; pending: Map<number, Pending>; dead: boolean } | null = null;
let requestId = 0;

/**
 * The process's pipe-reading thread, started on first use and kept (unreferenced while idle, so it
 * never holds the process open): a long-running agent starts it once. A worker that dies fails its
 * pending reads and is replaced on the next call.
 */
export function pipeThread(): PipeThread {
  if (!shared || shared.dead) {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    const state = { worker, pending: new Map<number, Pending>(), dead: false };
    const failAll = (err: Error) => {
      state.dead = true;
      for (const p of state.pending.values()) p.reject(err);
      state.pending.clear();
    };
    worker.on('error', (err) => failAll(new Error(`pipe reader thread: ${err.message}`)));
    worker.on('exit', (code) => failAll(new Error(`pipe reader thread exited (code ${code})`)));
    worker.on('message', (replies: Array<{ id: number; got: number; error?: string }>) => {
      for (const m of replies) {
        const p = state.pending.get(m.id);
        state.pending.delete(m.id);
        if (!p) continue;
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.got);
      }
      if (state.pending.size === 0) worker.unref();
    });
    worker.unref();
    shared = state;
  }
  const state = shared;
  const ask = (op: 'read' | 'write', fd: number, view: Uint8Array, length: number, position: number | null) => {
    if (!(view.buffer instanceof SharedArrayBuffer)) return Promise.reject(new Error(`pipe thread ${op}s need a SharedArrayBuffer view`));
    if (length > view.length) return Promise.reject(new Error(`${length} bytes do not fit a ${view.length}-byte buffer`));
    if (state.dead) return Promise.reject(new Error('pipe reader thread is gone'));
    const id = ++requestId;
    return new Promise<number>((resolve, reject) => {
      state.pending.set(id, { resolve, reject });
      state.worker.ref();
      state.worker.postMessage({ id, op, fd, buffer: view.buffer, offset: view.byteOffset, length, position });
    });
  };
  return {
    read: (fd, into, length, position = null) => ask('read', fd, into, length, position),
    write: (fd, from, length) => ask('write', fd, from, length, null),
  };
}

/**
 * Exact-count reads of one FIFO through the pipe thread, with the small peek/take/skip queue the PNM
 * header parser needs. `readInto` lands the bytes straight in a shared buffer (no copy on this thread).
 */
export class ThreadPipeReader {
  private lead = new Uint8Array(0);
  private scratch = new Uint8Array(new SharedArrayBuffer(4096));
  private ended = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly fifo: FifoPair,
    private readonly thread: PipeThread = pipeThread(),
  ) {}

  get buffered(): number {
    return this.lead.length;
  }

  private readFd(into: Uint8Array, length: number): Promise<number> {
    if (this.closed) return Promise.reject(new Error('pipe is closed'));
    const p = this.thread.read(this.fifo.readFd, into, length);
    this.inFlight = p.catch(() => {});
    return p;
  }

  /**
   * Wait until at least n bytes are queued or the pipe ended; returns how many are available (≤ n).
   * Polled on this thread while the pair's non-blocking end is open (the header: the pipe thread may
   * still be starting, ≈ 25 ms), else read by the pipe thread.
   */
  async fill(n: number): Promise<number> {
    while (this.lead.length < n && !this.ended && this.fifo.pollFd >= 0) {
      const part = new Uint8Array(n - this.lead.length);
      let got: number;
      try {
        got = readSync(this.fifo.pollFd, part, 0, part.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      if (got === 0) this.ended = true;
      this.append(part.subarray(0, got));
    }
    while (this.lead.length < n && !this.ended) {
      const want = n - this.lead.length;
      if (this.scratch.length < want) this.scratch = new Uint8Array(new SharedArrayBuffer(want));
      const got = await this.readFd(this.scratch, want);
      if (got < want) this.ended = true;
      this.append(this.scratch.subarray(0, got));
    }
    return Math.min(n, this.lead.length);
  }

  private append(bytes: Uint8Array): void {
    const next = new Uint8Array(this.lead.length + bytes.length);
    next.set(this.lead);
    next.set(bytes, this.lead.length);
    this.lead = next;
  }

  peek(n: number): Uint8Array {
    return this.lead.subarray(0, n);
  }

  take(n: number, dst: Uint8Array): void {
    dst.set(this.lead.subarray(0, n));
    this.lead = this.lead.subarray(n);
  }

  skip(n: number): void {
    this.lead = this.lead.subarray(n);
  }

  /** n bytes into dst (queued bytes first, the rest read by the thread straight into it); returns the count (< n only at end of file). */
  async readInto(n: number, dst: Uint8Array): Promise<number> {
    // Rows from here on: the pipe thread's alone.
    closePollFd(this.fifo);
    if (!(dst.buffer instanceof SharedArrayBuffer)) {
      const got = await this.fill(n);
      this.take(got, dst);
      return got;
    }
    const queued = Math.min(n, this.lead.length);
    this.take(queued, dst);
    if (queued === n || this.ended) return queued;
    const got = await this.readFd(dst.subarray(queued), n - queued);
    if (got < n - queued) this.ended = true;
    return queued + got;
  }

  /** Close the read end once no read is pending (the caller ends the writer first: its exit ends the read). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.inFlight;
    this.closed = true;
    closeFifoPair(this.fifo);
  }
}
