// Codec child processes (djpeg, cjpeg, pngtopam, pnmtopng, tifftopnm, dcraw_emu): spawned with their
// 'error' and 'close' listeners attached in the same tick, before any await, so a missing program
// (spawn ENOENT, emitted on the next tick) is a rejected promise for the one job, never an unhandled
// 'error' event that takes the process down.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/** Live children, so tests (and shutdown paths) can check nothing is left behind. */
export const liveDecoders = new Set<ChildProcess>();

export interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn failure (ENOENT: not installed, EACCES …), if the program never ran. */
  spawnError: NodeJS.ErrnoException | null;
}

export interface ToolChild {
  child: ChildProcess;
  /** Settles once: on 'close', or on 'error' when the program could not be started. */
  exited: Promise<ToolExit>;
  /** The spawn failure so far (set on the tick after spawn when the program is missing). */
  spawnError(): NodeJS.ErrnoException | null;
}

export function spawnTool(command: string, args: string[], stdio: StdioOptions): ToolChild {
  const child = spawn(command, args, { stdio });
  let spawnError: NodeJS.ErrnoException | null = null;
  liveDecoders.add(child);
  const exited = new Promise<ToolExit>((resolve) => {
    child.once('close', (code, signal) => {
      liveDecoders.delete(child);
      resolve({ code, signal, spawnError });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      liveDecoders.delete(child);
      resolve({ code: -1, signal: null, spawnError: err });
    });
  });
  // EPIPE on a stdin the tool closed (it died, or never started): reported through its exit instead.
  child.stdin?.on('error', () => {});
  return { child, exited, spawnError: () => spawnError };
}

/** The one line for a tool that is not installed, naming the apt package that brings it. */
export function missingToolMessage(command: string, aptPackage: string): string {
  return `${command} not found (apt-get install -y ${aptPackage})`;
}
