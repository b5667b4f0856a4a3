// One rpicam-still process: collects stdout/stderr (tail-capped), enforces a deadline and honours
// an AbortSignal. Stopping is SIGTERM, then SIGKILL after a grace period, because a process stuck
// in the kernel camera stack may ignore the first; the promise settles only once the process is
// gone, so the camera is free again when the caller sees the error.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why we stopped it, when we did. */
  stopped?: 'timeout' | 'aborted';
  durationMs: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  onSpawn?: (pid: number | undefined) => void;
}

const TAIL = 256 * 1024;

function appendTail(acc: string, chunk: Buffer): string {
  const next = acc + chunk.toString('utf8');
  return next.length > TAIL ? next.slice(next.length - TAIL) : next;
}

export function runProcess(bin: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let stdout = '';
    let stderr = '';
    let stopped: RunResult['stopped'];
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(bin, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // attached before anything else can run (a missing binary is 'error' on the next tick)
    child.on('error', (err) => {
      cleanup();
      reject(err);
    });
    options.onSpawn?.(child.pid);
    child.stdout.on('data', (c: Buffer) => (stdout = appendTail(stdout, c)));
    child.stderr.on('data', (c: Buffer) => (stderr = appendTail(stderr, c)));

    const stop = (why: NonNullable<RunResult['stopped']>) => {
      if (stopped || child.exitCode !== null || child.signalCode !== null) return;
      stopped = why;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 2000);
    };
    const deadline = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onAbort = () => stop('aborted');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const cleanup = () => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('close', (code, signal) => {
      cleanup();
      resolve({ code, signal, stdout, stderr, stopped, durationMs: Date.now() - started });
    });
  });
}
