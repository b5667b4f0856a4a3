// The night's timelapse: each logged frame decoded by strips, scaled to the configured width while it
// streams, stretched and labelled, then piped as raw RGB24 into ffmpeg (libx264, yuv420p) with
// backpressure: one small frame in memory at a time, never a folder of temporary JPEGs.
import { spawn, type ChildProcess } from 'node:child_process';
import { rename, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { tempPathFor } from '../../lib/atomic.js';
import type { Logger } from '../../lib/log.js';
import { openRowSource } from '../image/rows.js';
import { renderDisplayFrame, toRgb24 } from './frame-pass.js';
import { scaledSize } from './scale.js';
import type { NightFrameInput, NightProductsConfig } from './types.js';

export const FFMPEG_HINT = 'apt-get install -y ffmpeg';

/** Resolves when `ffmpeg -version` runs; rejects with one line naming the package when it cannot start. */
export async function checkFfmpeg(ffmpegPath = 'ffmpeg'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-version'], { stdio: 'ignore' });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(err.code === 'ENOENT' ? `ffmpeg not found at "${ffmpegPath}" (${FFMPEG_HINT})` : `ffmpeg: ${err.message}`));
    });
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg -version exited ${code} (${FFMPEG_HINT})`))));
  });
}

export interface TimelapseOptions {
  config: NightProductsConfig;
  ffmpegPath?: string;
  log: Logger;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface TimelapseResult {
  frames: number;
  skipped: number;
  seconds: number;
  width: number;
  height: number;
}

export async function buildTimelapse(frames: NightFrameInput[], out: string, o: TimelapseOptions): Promise<TimelapseResult> {
  const { fps, width, crf } = o.config.timelapse;
  if (!frames.length) throw new Error('timelapse: no frames');
  await checkFfmpeg(o.ffmpegPath);
  // output size from the first frame that opens
  let size: [number, number] | null = null;
  for (const f of frames) {
    const src = await openRowSource(f.path).catch(() => null);
    if (!src) continue;
    size = scaledSize(src.width, src.height, Math.min(width, src.width), true);
    await src.close();
    break;
  }
  if (!size) throw new Error('timelapse: none of the frames could be decoded');
  const [w, h] = size;
  const tmp = tempPathFor(out);
  const enc = startEncoder(o.ffmpegPath ?? 'ffmpeg', ['-y', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', tmp]);
  const buf = Buffer.alloc(w * h * 3);
  let written = 0;
  let skipped = 0;
  try {
    for (let i = 0; i < frames.length; i++) {
      if (o.signal?.aborted) throw new Error('timelapse: aborted');
      const f = frames[i]!;
      let img;
      try {
        img = await renderDisplayFrame(f, w, o.config, { size: [w, h] });
      } catch (err) {
        skipped++;
        o.log.warn('timelapse: frame skipped', { path: f.path, error: (err as Error).message });
        o.onProgress?.(i + 1, frames.length);
        continue;
      }
      await enc.write(toRgb24(img, buf));
      written++;
      o.onProgress?.(i + 1, frames.length);
    }
    if (!written) throw new Error('timelapse: none of the frames could be decoded');
    await enc.end();
    await rename(tmp, out);
  } catch (err) {
    await enc.kill();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  o.log.info('timelapse written', { path: basename(out), frames: written, skipped });
  return { frames: written, skipped, seconds: written / fps, width: w, height: h };
}

interface Encoder {
  write(buf: Buffer): Promise<void>;
  end(): Promise<void>;
  kill(): Promise<void>;
}

function startEncoder(cmd: string, args: string[]): Encoder {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  let spawnError: NodeJS.ErrnoException | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve({ code: -1, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const stdin = child.stdin!;
  stdin.on('error', () => {}); // EPIPE when ffmpeg died: reported through its exit status
  const failure = async (): Promise<Error> => {
    const exit = await exited;
    const se = spawnError as NodeJS.ErrnoException | null;
    if (se) return new Error(se.code === 'ENOENT' ? `ffmpeg not found at "${cmd}" (${FFMPEG_HINT})` : `ffmpeg: ${se.message}`);
    const line = stderr.split('\n').map((l) => l.trim()).find(Boolean);
    return new Error(`ffmpeg failed: ${line ?? `exit ${exit.code ?? exit.signal}`}`);
  };
  return {
    async write(buf) {
      if (stdin.destroyed || spawnError) throw await failure();
      if (stdin.write(buf)) return;
      const ok = await new Promise<boolean>((resolve) => {
        const onDrain = () => { stdin.off('close', onClose); resolve(true); };
        const onClose = () => { stdin.off('drain', onDrain); resolve(false); };
        stdin.once('drain', onDrain);
        stdin.once('close', onClose);
      });
      if (!ok) throw await failure();
    },
    async end() {
      stdin.end();
      const exit = await exited;
      if (exit.code !== 0 || spawnError) throw await failure();
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill('SIGKILL');
      stdin.destroy();
      await exited;
    },
  };
}
