// NightProducts: the night's keogram, star trails and timelapse, built frame by frame.
//
// Contract (the `allsky` job and `skyrig night build` call it):
// - open(dir, config, deps) resumes whatever state `dir` holds (night-state.json + keogram.raw +
//   startrails-{a,b}.u16), so a reboot or kill -9 continues the night where it was.
// - add(frame) streams the frame once by strips (memory: one strip, whatever the frame size or the
//   number of frames): a keogram column sampled along the configured line, and the star-trails running
//   maximum if the sky is dark enough. Progress is on disk before add() resolves. It never throws:
//   a frame that cannot be decoded (or has another size, or is not later than the last frame) is
//   skipped for the products and the reason returned and logged.
// - renderPreview(frame, width): a labelled, stretched JPEG of one frame.
// - finish(frames): renders keogram.png, startrails.jpg (+ startrails.fits, the exact maximum) and
//   timelapse.mp4 from the frame list (the logged frames). Each product fails alone: errors[] gets one
//   line per failure (e.g. ffmpeg missing, naming the apt package) and the others are still made.
import { join } from 'node:path';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { loadSharp } from '../../lib/sharp.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { openRowSource, type RowSource } from '../image/rows.js';
import { renderDisplayFrame, SkyMeter, streamRows } from './frame-pass.js';
import { keogramLine, sampleStrip, type KeogramLine } from './keogram-line.js';
import { columnBytes, encodeColumn, readKeogramColumns, renderKeogram, writeColumn, type KeogramGeometry } from './keogram.js';
import { readStarTrails, renderStarTrails, StarTrailsUpdate, type StarTrailsDisk } from './startrails.js';
import { buildTimelapse } from './timelapse.js';
import type { AddResult, NightFrameInput, NightProductsConfig, NightProductsDeps, NightSummary } from './types.js';

export type { NightFrameInput, NightProductsConfig, NightSummary, RowCalibrator, AddResult } from './types.js';

const STATE = 'night-state.json';
const KEOGRAM_RAW = 'keogram.raw';

interface NightState {
  version: 1;
  framesAdded: number;
  startrailsFrames: number;
  excluded: number;
  skipped: number;
  lastTimeMs: number | null;
  firstTimeMs: number | null;
  /** Size of the night's frames, fixed by the first one. */
  frame: { width: number; height: number; channels: number; displayReferred: boolean } | null;
  /** The line the keogram was started with (a config change mid-night cannot mix two lines). */
  keogram: { angle_deg: number; centre: [number, number] | null; band_px: number; length: number; columns: number } | null;
  startrails: StarTrailsDisk;
}

function emptyState(): NightState {
  return { version: 1, framesAdded: 0, startrailsFrames: 0, excluded: 0, skipped: 0, lastTimeMs: null, firstTimeMs: null, frame: null, keogram: null, startrails: { current: null, journal: [] } };
}

export const NIGHT_FILES = {
  state: STATE,
  keogramRaw: KEOGRAM_RAW,
  keogram: 'keogram.png',
  startrails: 'startrails.jpg',
  startrailsFits: 'startrails.fits',
  timelapse: 'timelapse.mp4',
  summary: 'night-summary.json',
};

/** The star-trails rule (docs/allsky.md): too bright or too few stars → excluded. */
export function startrailsVerdict(config: NightProductsConfig['startrails'], sky: number, stars: number | null | undefined): string | null {
  if (!Number.isFinite(sky)) return 'sky level unknown';
  if (sky > config.max_sky_level) return `sky level ${sky.toFixed(3)} > max_sky_level ${config.max_sky_level}`;
  if (config.min_stars != null && stars != null && stars < config.min_stars) return `${stars} stars < min_stars ${config.min_stars}`;
  return null;
}

export class NightProducts {
  private line: KeogramLine | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string, readonly config: NightProductsConfig, private readonly deps: NightProductsDeps, private state: NightState) {}

  static async open(dir: string, config: NightProductsConfig, deps: NightProductsDeps): Promise<NightProducts> {
    await mkdir(dir, { recursive: true });
    let state = emptyState();
    const text = await readFile(join(dir, STATE), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw new Error(`${join(dir, STATE)}: ${err.message}`);
    });
    if (text !== null) {
      try {
        const s = JSON.parse(text) as NightState;
        if (s.version !== 1 || typeof s.framesAdded !== 'number') throw new Error('not a night state (version 1)');
        state = s;
      } catch (err) {
        throw new Error(`${join(dir, STATE)}: ${(err as Error).message}; move it away to start the night afresh`);
      }
      deps.log.info('night products resumed', { dir, frames: state.framesAdded, startrailsFrames: state.startrailsFrames });
    }
    const k = state.keogram;
    if (k && (k.angle_deg !== config.keogram.angle_deg || (k.band_px ?? 1) !== (config.keogram.band_px ?? 1) || JSON.stringify(k.centre ?? null) !== JSON.stringify(config.keogram.centre ?? null))) {
      deps.log.warn('keogram line changed in the config mid-night: keeping the one this night started with', { angle_deg: k.angle_deg, centre: k.centre });
    }
    return new NightProducts(dir, config, deps, state);
  }

  /** Forget everything in `dir` (the CLI's fresh rebuild). */
  static async reset(dir: string): Promise<void> {
    for (const f of [STATE, KEOGRAM_RAW, 'startrails-a.u16', 'startrails-b.u16', 'startrails.journal']) await rm(join(dir, f), { force: true });
  }

  get framesAdded(): number {
    return this.state.framesAdded;
  }

  get startrailsFrames(): number {
    return this.state.startrailsFrames;
  }

  get keogramColumns(): number {
    return this.state.keogram?.columns ?? 0;
  }

  /** The stored keogram columns as values 0..1 (tests, tools). */
  async readKeogram(): Promise<{ length: number; channels: number; times: number[]; values: Float32Array[] }> {
    const k = this.state.keogram;
    if (!k || !this.state.frame) return { length: 0, channels: 0, times: [], values: [] };
    const g = { length: k.length, channels: this.state.frame.channels };
    return { ...g, ...(await readKeogramColumns(join(this.dir, KEOGRAM_RAW), g, k.columns)) };
  }

  /** The committed star-trails maximum (plane + journal) as values 0..1, whole (tests, tools). */
  async readStarTrails(): Promise<Float32Array | null> {
    const s = this.state;
    return s.frame && s.startrails.current ? readStarTrails(this.dir, s.startrails, s.frame) : null;
  }

  /** Plane rewrite or journal append for the next included frame (config startrails.rewrite_every). */
  private updateMode(s: NightState): 'plane' | 'journal' {
    const every = this.config.startrails.rewrite_every ?? 1;
    if (every <= 1 || !s.frame || !s.startrails.current) return 'plane';
    const planeBytes = s.frame.width * s.frame.height * s.frame.channels * 2;
    const journalBytes = s.startrails.journal.reduce((a, b) => a + b, 0);
    // Early in the night a frame raises a large share of the samples (the share falls like 1/n): when
    // the journal with one more segment like the last would pass half a plane, rewrite the plane.
    const last = s.startrails.journal.at(-1) ?? 0;
    return s.startrails.journal.length + 1 >= every || journalBytes + last > planeBytes / 2 ? 'plane' : 'journal';
  }

  add(frame: NightFrameInput): Promise<AddResult> {
    const run = this.queue.then(() => this.addNow(frame));
    this.queue = run.catch(() => {});
    return run;
  }

  private async addNow(frame: NightFrameInput): Promise<AddResult> {
    const log = this.deps.log;
    const skip = (reason: string): AddResult => {
      log.warn('night frame skipped for the products', { path: frame.path, reason });
      return { keogramColumn: null, startrails: 'excluded', reason, skipped: true, skyLevel: frame.skyLevel };
    };
    const t = frame.timestamp.getTime();
    if (!Number.isFinite(t)) return skip('no valid timestamp');
    if (this.state.lastTimeMs !== null && t <= this.state.lastTimeMs) {
      // a restart re-offering a frame (or a clock step back): never counted twice
      return { ...skip(`not later than the last frame added (${new Date(this.state.lastTimeMs).toISOString()})`), alreadyAdded: true };
    }
    const next = structuredClone(this.state);
    let update: StarTrailsUpdate | null = null;
    let src: RowSource | null = null;
    try {
      src = await openRowSource(frame.path);
      const fr = next.frame ?? { width: src.width, height: src.height, channels: src.channels, displayReferred: src.bitDepth === 8 };
      if (src.width !== fr.width || src.height !== fr.height || src.channels !== fr.channels) {
        await src.close();
        next.skipped++;
        await this.commitState(next);
        return skip(`${src.width}×${src.height}×${src.channels} differs from the night's ${fr.width}×${fr.height}×${fr.channels}`);
      }
      next.frame = fr;
      const kcfg = this.config.keogram;
      let acc: Float64Array | null = null;
      let line: KeogramLine | null = null;
      if (kcfg.enabled || next.keogram) {
        if (!next.keogram) {
          const band = kcfg.band_px ?? 1;
          const line = keogramLine(fr.width, fr.height, kcfg.angle_deg, kcfg.centre, band);
          next.keogram = { angle_deg: kcfg.angle_deg, centre: kcfg.centre ?? null, band_px: band, length: line.length, columns: 0 };
        }
        // the line is cached only once a frame of this size is committed (below)
        line = this.line ?? keogramLine(fr.width, fr.height, next.keogram.angle_deg, next.keogram.centre, next.keogram.band_px);
        acc = new Float64Array(line.length * fr.channels);
      }
      let verdict = startrailsVerdict(this.config.startrails, frame.skyLevel, frame.stars);
      const measure = !Number.isFinite(frame.skyLevel);
      const meter = measure ? new SkyMeter(fr.width, fr.height, fr.channels) : null;
      if (this.config.startrails.enabled && (measure || verdict === null)) {
        update = await StarTrailsUpdate.begin(this.dir, fr, next.startrails, this.updateMode(next));
      }
      // nothing needs the pixels (keogram off, frame already judged too bright): no decode
      if (!acc && !meter && !update) await src.close();
      else await streamRows(src, frame, async (data, y0, rows) => {
        if (acc && line) sampleStrip(line, data, fr.width, fr.channels, y0, rows, acc);
        meter?.add(data, y0, rows);
        if (update) await update.strip(data, y0, rows);
      });
      const sky = meter ? meter.median() : frame.skyLevel;
      if (meter) verdict = startrailsVerdict(this.config.startrails, sky, frame.stars);
      let keogramColumn: number | null = null;
      if (acc && next.keogram) {
        const g: KeogramGeometry = { length: next.keogram.length, channels: fr.channels };
        keogramColumn = next.keogram.columns;
        await writeColumn(join(this.dir, KEOGRAM_RAW), g, keogramColumn, encodeColumn(g, t, acc));
        next.keogram.columns++;
      }
      let startrails: 'added' | 'excluded' = 'excluded';
      let bytesWritten = 0;
      if (update && verdict === null) {
        next.startrails = await update.commit();
        bytesWritten = update.bytesWritten;
        next.startrailsFrames++;
        startrails = 'added';
      } else {
        await update?.close();
        if (this.config.startrails.enabled) next.excluded++;
      }
      update = null;
      next.framesAdded++;
      next.lastTimeMs = t;
      next.firstTimeMs ??= t;
      await this.commitState(next);
      if (line) this.line = line;
      log.debug('night frame added', { path: frame.path, keogramColumn, startrails, sky });
      return { keogramColumn, startrails, ...(verdict && this.config.startrails.enabled ? { reason: verdict } : {}), skyLevel: sky, startrailsBytes: bytesWritten };
    } catch (err) {
      await update?.close();
      await src?.close().catch(() => {}); // safe after the end too: kills a decoder left mid-frame
      this.state.skipped++;
      await this.commitState(this.state).catch(() => {});
      return skip((err as Error).message);
    }
  }

  private async commitState(next: NightState): Promise<void> {
    await writeFileAtomic(join(this.dir, STATE), JSON.stringify(next));
    this.state = next;
  }

  /** A labelled, stretched JPEG of one frame, `width` pixels wide (never enlarged). */
  async renderPreview(frame: NightFrameInput, width: number): Promise<Buffer> {
    const img = await renderDisplayFrame(frame, width, this.config);
    const bytes = Buffer.alloc(img.width * img.height * 3);
    for (let i = 0; i < bytes.length; i++) {
      const v = img.data[i]!;
      bytes[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
    }
    const sharp = await loadSharp();
    return sharp(bytes, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  }

  async finish(frames: NightFrameInput[], opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<NightSummary> {
    await this.queue;
    const s = this.state;
    const log = this.deps.log;
    const summary: NightSummary = { frames: s.framesAdded, startrailsFrames: s.startrailsFrames, excluded: s.excluded, skipped: s.skipped, errors: [] };
    const fail = (product: string, err: unknown) => {
      const msg = (err as Error).message;
      const line = msg.startsWith(`${product}:`) ? msg : `${product}: ${msg}`;
      summary.errors.push(line);
      log.error('night product failed', { product, error: line });
    };
    if (this.config.keogram.enabled) {
      if (s.keogram && s.frame && s.keogram.columns > 0) {
        const out = join(this.dir, NIGHT_FILES.keogram);
        try {
          await renderKeogram(join(this.dir, KEOGRAM_RAW), out, { length: s.keogram.length, channels: s.frame.channels }, s.keogram.columns, s.frame.displayReferred);
          summary.keogram = out;
        } catch (err) {
          fail('keogram', err);
        }
      } else fail('keogram', new Error('no frames were added'));
    }
    if (this.config.startrails.enabled && s.frame) {
      if (s.startrails.current && s.startrailsFrames > 0) {
        const jpg = join(this.dir, NIGHT_FILES.startrails);
        const fits = join(this.dir, NIGHT_FILES.startrailsFits);
        try {
          const cards: Record<string, string | number> = { NCOMBINE: s.startrailsFrames, COMBINE: 'max', STATION: this.config.station };
          if (s.firstTimeMs !== null) cards['DATE-BEG'] = new Date(s.firstTimeMs).toISOString().slice(0, 23);
          if (s.lastTimeMs !== null) cards['DATE-END'] = new Date(s.lastTimeMs).toISOString().slice(0, 23);
          await renderStarTrails(this.dir, s.startrails, fits, jpg, s.frame, s.frame.displayReferred, cards);
          summary.startrails = jpg;
          summary.startrailsFits = fits;
        } catch (err) {
          fail('startrails', err);
        }
      } else log.info('star trails: no frame was dark enough', { excluded: s.excluded });
    }
    if (this.config.timelapse.enabled) {
      const out = join(this.dir, NIGHT_FILES.timelapse);
      try {
        const r = await buildTimelapse(frames, out, { config: this.config, ffmpegPath: this.deps.ffmpegPath, log, signal: opts.signal, onProgress: opts.onProgress });
        summary.timelapse = out;
        summary.timelapseSeconds = r.seconds;
        summary.timelapseFrames = r.frames;
      } catch (err) {
        fail('timelapse', err);
      }
    }
    await writeFileAtomic(join(this.dir, NIGHT_FILES.summary), JSON.stringify(summary, null, 2)).catch((err: Error) => fail('summary', err));
    return summary;
  }
}

/** Bytes one included frame writes to the card (accumulator plane + keogram column), for docs/bench. */
export function bytesPerFrame(width: number, height: number, channels: number, keogramLength: number): { startrails: number; keogram: number } {
  return { startrails: width * height * channels * 2, keogram: columnBytes({ length: keogramLength, channels }) };
}
