// The night session of an all-sky station: opened by the first frame after the sun goes below the
// night altitude, fed one frame at a time, closed at dawn (products finished, a `night` run logged
// with its products, results published). Its state is one small JSON file in the job's state folder,
// written atomically after every change, so a restart (kill -9, power cut, reboot) continues the same
// night: the products resume from their own saved progress, and frames that were logged for the
// night but never reached the products (killed in between) are added on reopen — no column is lost.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSharp } from '../../lib/sharp.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import type { Logger } from '../../lib/log.js';
import type { LoggedFrameRow, Metrics, RunLog } from '../runlog/types.js';
import type { NightAddResult, NightFrameInput, NightProductsConfig, NightProductsHandle, NightSummary, OpenNightProducts } from './types.js';

/** The stats key that ties a frame row to its night (value: the night's date). */
export const NIGHT_STAT = 'night';

export interface NightPublish {
  state(patch: Record<string, unknown>): void;
  imageAs?(kind: string, jpeg: Buffer): void;
  resultAs?(kind: string, payload: Record<string, unknown>): void;
}

export interface NightSessionDeps {
  stateDir: string;
  productsRoot: string;
  runlog: RunLog;
  log: Logger;
  publish: NightPublish;
  open: OpenNightProducts;
  config: NightProductsConfig;
  jobName: string | null;
  ffmpegPath?: string;
  /** A night frame with at least this many stars counts as clear. */
  clearMinStars: number;
  /** Largest edge of the keogram / star-trails previews published over MQTT. */
  previewSize?: number;
}

interface SessionFile {
  open: { night: string; dir: string; openedAt: string; darkGapReported: boolean } | null;
  lastClosed: string | null;
}

export interface NightClosed {
  runId: number;
  night: string;
  summary: NightSummary;
  clearFraction: number | null;
  darkestSky: number | null;
}

/**
 * The date a night is filed under: the local (solar, from the longitude) date of its evening, so the
 * frames after midnight belong to the night that began the evening before.
 */
export function nightDateOf(at: Date, longitudeDeg: number): string {
  const localMs = at.getTime() + (longitudeDeg / 15) * 3.6e6;
  return new Date(localMs - 12 * 3.6e6).toISOString().slice(0, 10);
}

export function frameInputOf(row: LoggedFrameRow): NightFrameInput {
  const n = (k: string): number | null => (typeof row.stats[k] === 'number' ? (row.stats[k] as number) : null);
  return { path: row.path, timestamp: new Date(row.capturedAt), exposureS: row.exposureS, gain: row.gain, skyLevel: n('sky_level') ?? 0, stars: n('stars') };
}

export class NightSession {
  private state: SessionFile;
  private products: NightProductsHandle | null = null;
  private readonly file: string;

  private constructor(private readonly d: NightSessionDeps, state: SessionFile) {
    this.state = state;
    this.file = join(d.stateDir, 'night.json');
  }

  static async load(d: NightSessionDeps): Promise<NightSession> {
    const file = join(d.stateDir, 'night.json');
    let state: SessionFile = { open: null, lastClosed: null };
    if (existsSync(file)) {
      try {
        state = { ...state, ...(JSON.parse(await readFile(file, 'utf8')) as SessionFile) };
      } catch (err) {
        d.log.warn('night session state unreadable; starting without an open night', { file, error: err });
      }
    }
    return new NightSession(d, state);
  }

  /** The open night's date, or null. */
  get openNight(): string | null {
    return this.state.open?.night ?? null;
  }

  get lastClosed(): string | null {
    return this.state.lastClosed;
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(this.state));
  }

  private frames(night: string): LoggedFrameRow[] {
    if (!this.d.runlog.framesWithStat) throw new Error('night session: the run log cannot list frames by night');
    return this.d.runlog.framesWithStat(NIGHT_STAT, night);
  }

  /**
   * Whether a frame of `night` belongs to an open session: opens it (closing a stale one first) unless
   * it has already been closed (dawn came and the sun is still below the opening altitude).
   */
  async accepts(night: string, at: Date): Promise<boolean> {
    if (this.state.lastClosed === night && this.state.open?.night !== night) return false;
    if (this.state.open && this.state.open.night !== night) {
      this.d.log.warn('night left open (no dawn frame); closing it now', { night: this.state.open.night });
      await this.close(at);
    }
    if (!this.state.open) {
      const dir = join(this.d.productsRoot, 'night', night);
      this.state.open = { night, dir, openedAt: at.toISOString(), darkGapReported: false };
      await this.save();
      this.d.log.info('night opened', { night, dir });
      this.d.publish.state({ night_open: true, night_date: night });
    }
    return true;
  }

  /**
   * The open night's products, opened (and resumed) on first use. Frames logged for this night before
   * the last stop but not yet in the products (killed between the frame row and the product update)
   * are added first, in order — all but `currentId`, the frame the caller is about to add.
   */
  private async handle(currentId?: number): Promise<NightProductsHandle> {
    const open = this.state.open;
    if (!open) throw new Error('night session: no night is open');
    if (this.products) return this.products;
    const products = await this.d.open(open.dir, this.d.config, { log: this.d.log, ffmpegPath: this.d.ffmpegPath });
    const missing = this.frames(open.night).slice(products.framesAdded).filter((r) => r.id !== currentId);
    if (products.framesAdded > 0 || missing.length) this.d.log.info('night resumed', { night: open.night, frames: products.framesAdded, catching_up: missing.length });
    for (const row of missing) {
      const added = await products.add(frameInputOf(row));
      this.d.runlog.updateFrame(row.id, { stats: { keogram_column: added.keogramColumn, startrails: added.startrails, caught_up: true } });
    }
    this.products = products;
    return products;
  }

  /** Add the frame that was just logged (its row already tagged with this night). */
  async add(frame: NightFrameInput, frameId: number): Promise<NightAddResult> {
    return (await this.handle(frameId)).add(frame);
  }

  async preview(frame: NightFrameInput, width: number): Promise<Buffer> {
    return (await this.handle()).renderPreview(frame, width);
  }

  /** Once per night: true the first time (the caller logs the gap), false after. */
  async darkGapFirstTime(): Promise<boolean> {
    if (!this.state.open || this.state.open.darkGapReported) return false;
    this.state.open.darkGapReported = true;
    await this.save();
    return true;
  }

  /** Dawn: finish the products from the night's logged frames, log a `night` run, publish. */
  async close(at: Date, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<NightClosed | null> {
    const open = this.state.open;
    if (!open) return null;
    const { runlog, log, publish } = this.d;
    const rows = this.frames(open.night);
    const runId = runlog.beginRun('night', { night: open.night, dir: open.dir, frames: rows.length, trigger: 'dawn' });
    let summary: NightSummary;
    try {
      const products = await this.handle();
      summary = await products.finish(rows.map(frameInputOf), opts);
    } catch (err) {
      const message = (err as Error).message;
      const aborted = opts.signal?.aborted ?? false;
      runlog.finishRun(runId, aborted ? 'aborted' : 'failed', { error: message, metrics: { frames: rows.length } });
      publish.resultAs?.('night', { run_id: runId, night: open.night, status: aborted ? 'aborted' : 'failed', error: message });
      this.products = null;
      // A stop (SIGTERM) leaves the night open for the next start to finish; a failure closes it —
      // retrying on every daytime frame could not do better and would log a failed run each time.
      if (!aborted) {
        this.state = { open: null, lastClosed: open.night };
        await this.save();
        publish.state({ night_open: false });
      }
      throw err;
    }
    const stars = rows.map((r) => r.stats.stars).filter((s): s is number => typeof s === 'number');
    const clearFraction = stars.length ? stars.filter((s) => s >= this.d.clearMinStars).length / stars.length : null;
    const sky = rows.map((r) => r.stats.sky_brightness).filter((s): s is number => typeof s === 'number' && Number.isFinite(s));
    const darkestSky = sky.length ? Math.min(...sky) : null;
    const metrics: Metrics = {
      night: open.night,
      frames: summary.frames,
      logged_frames: rows.length,
      startrails_frames: summary.startrailsFrames,
      excluded: summary.excluded,
      clear_fraction: clearFraction === null ? null : round(clearFraction, 3),
      darkest_sky: darkestSky === null ? null : round(darkestSky, 3),
      timelapse_seconds: summary.timelapseSeconds ?? null,
      errors: summary.errors.length,
    };
    const kinds: [keyof NightSummary & ('keogram' | 'startrails' | 'timelapse'), string][] = [['keogram', 'keogram'], ['startrails', 'startrails'], ['timelapse', 'timelapse']];
    for (const [field, kind] of kinds) {
      const path = summary[field];
      if (path) runlog.addProduct(runId, { kind, path, metrics });
    }
    for (const e of summary.errors) runlog.addEvent('warn', `night ${open.night}: ${e}`, {}, runId);
    const produced = kinds.some(([f]) => summary[f]);
    runlog.finishRun(runId, produced || rows.length === 0 ? 'ok' : 'failed', { metrics, ...(summary.errors.length ? { error: summary.errors.join('; ') } : {}) });
    for (const kind of ['keogram', 'startrails'] as const) {
      const path = summary[kind];
      if (!path) continue;
      try {
        publish.imageAs?.(kind, await jpegPreview(path, this.d.previewSize ?? 1024));
      } catch (err) {
        log.warn('night preview not published', { kind, path, error: err });
      }
    }
    publish.resultAs?.('night', {
      run_id: runId,
      status: 'ok',
      night: open.night,
      timelapse: summary.timelapse ?? null,
      keogram: summary.keogram ?? null,
      startrails: summary.startrails ?? null,
      ...metrics,
      errors: summary.errors,
    });
    publish.state({
      night_open: false,
      night_date: open.night,
      night_frames: summary.frames,
      night_clear_fraction: metrics.clear_fraction,
      night_darkest_sky: metrics.darkest_sky,
    });
    log.info('night closed', { night: open.night, run: runId, frames: summary.frames, clear_fraction: metrics.clear_fraction, errors: summary.errors.length });
    this.state = { open: null, lastClosed: open.night };
    this.products = null;
    await this.save();
    return { runId, night: open.night, summary, clearFraction, darkestSky };
  }
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** A small JPEG of a product image for MQTT (the publisher caps the bytes further). */
async function jpegPreview(path: string, size: number): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(path, { limitInputPixels: false }).resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
}
