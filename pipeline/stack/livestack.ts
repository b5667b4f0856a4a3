// LiveStacker: one frame at a time — load, calibrate, debayer, measure, judge, align to one
// reference, warp, accumulate — then write the master FITS, the stretched preview, the per-frame
// metrics and the saved state. Memory is the accumulators plus one frame in flight, whatever the
// number of frames. The pieces live beside it: types.ts (shapes), judge.ts (star signal, detector),
// accumulate.ts (alignment choice, accumulation), products.ts (what is written), persist.ts (state).
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic.js';
import { releaseGarbage } from '../image/gc.js';
import { isFitsPath, toGray } from '../image/read.js';
import { readFitsHeader } from '../image/fits.js';
import { encodePreviewJpeg } from '../image/write.js';
import type { ImageF32, ImageMeta } from '../image/types.js';
import { calibrate, CalibrationError, checkCalibration } from '../calib/apply.js';
import { bayerPatternFromCards, debayerImage } from '../image/debayer.js';
import { loadFrame, type LoadedFrame } from '../calib/load.js';
import { summarizeStars, type Star } from '../stars/detect.js';
import { withApertureFlux } from '../stars/photometry.js';
import { identity, invert, summarize, type Mat3 } from './align/transform.js';
import { warpBilinear } from './align/warp.js';
import { createAccumulator, type Accumulator, type StackMethod } from './methods.js';
import { CONDITION_CODES, frameQuality, judgeFrame, judgeMutually, judgeSignal, referenceScore, type FrameQuality } from './quality.js';
import { StateError } from './state.js';
import { autoStretch } from './stretch.js';
import { accumulate, alignFrame, channelStats, isIdentity } from './accumulate.js';
import { clipPeak, detectForStack, heldRelFlux, matchReference } from './judge.js';
import { archiveProducts, metricsPaths, outputPath, writeMaster, writeMetrics, writeMetricsPlot, encodePreview, stretchPreview, type ProductNames, type StackTotals } from './products.js';
import { loadStackState, restoreAccumulators, saveStackState } from './persist.js';
import { isRamDir } from './disk-io.js';
import { createStackKernels, type StackKernels } from '../kernels/stack-wasm.js';
import type { FrameResult, LiveStackOptions, PendingFrame, PushInput, SavedState } from './types.js';

export type { AlignMode, FrameResult, LiveStackOptions, PushInput } from './types.js';
export { matchReference } from './judge.js';

const HISTORY_MAX = 200;


export class LiveStacker {
  readonly opts: Required<Pick<LiveStackOptions, 'outDir' | 'outputName' | 'methods' | 'kappa' | 'align' | 'model' | 'reference' | 'previewFormat' | 'previewMaxSize' | 'stateDir'>> & LiveStackOptions;
  private accs: Accumulator[] = [];
  private geom: { width: number; height: number; channels: number; bitDepth: 8 | 16 | 32 } | null = null;
  private refStars: Star[] | null = null;
  private refGray: ImageF32 | null = null;
  private refPath: string | null = null;
  private frameCount = 0;
  private stackIndex = 1;
  private exposureTotal = 0;
  private dateBeg: string | null = null;
  private dateEnd: string | null = null;
  private seq = 0;
  private history: FrameQuality[] = [];
  private records: FrameResult[] = [];
  private processed = new Set<string>();
  private pending: PendingFrame[] = [];
  private warpBuf: ImageF32 | null = null;
  /** Sky level per channel of the reference frame: sigma clipping compares frames offset to it. */
  private refBackground: number[] | null = null;
  /** Peak from which a reference star counts as clipped (see matchReference). */
  private refClip = Infinity;
  /** Consecutive frames refused for a conditions reason (for relearnAfter). */
  private refusedRun: FrameQuality[] = [];
  /** Set when conditions changed: the next accepted frame archives the current stack and starts a new one. */
  private closeStack = false;
  /** Detector of this stack, chosen on its first frame (see detect()). */
  private smoothedDetection: boolean | null = null;
  /** Accepted frames since the last checkpoint, and when it was (see LiveStackOptions.saveEveryFrames). */
  private sinceCheckpoint = 0;
  private checkpointAt = Date.now();
  /** Files taken after the saved state, read from the journal on reload (see catchUp). */
  private replay: string[] = [];
  /** Bytes this stacker wrote, by product kind (SD-card wear figures). */
  readonly bytesByKind: Record<string, number> = {};
  /** The frame in flight came from memory (push({ image })): no file can replay it after a crash. */
  private memoryInput = false;
  /** WASM kernels for this stack's mono geometry (undefined: not tried yet; null: plain TS). */
  private kernels: StackKernels | null | undefined = undefined;
  /** The previews' encode and write in flight (see save). */
  private previewWrite: Promise<void> | null = null;

  constructor(opts: LiveStackOptions) {
    this.opts = {
      outputName: 'stack',
      methods: ['sigma'],
      kappa: 3,
      align: 'star',
      model: 'similarity',
      reference: 'first',
      previewFormat: 'jpg',
      previewMaxSize: 2048,
      stateDir: join(opts.outDir, '.livestack'),
      // Options passed as undefined keep their defaults.
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as LiveStackOptions),
    };
    if (!this.opts.methods.length) throw new Error('no stacking method');
  }

  get statePath(): string {
    return join(this.opts.stateDir, 'livestack.state');
  }

  /** Files pushed since the state was saved, one path a line (fsynced: a power cut keeps it). */
  get journalPath(): string {
    return join(this.opts.stateDir, 'livestack.journal');
  }

  /** Total bytes this stacker wrote (products, state, journal, held frames). */
  get bytesWritten(): number {
    return Object.values(this.bytesByKind).reduce((a, b) => a + b, 0);
  }

  /** True when the state dir is on tmpfs/ramfs: no card wear, but a power cut or reboot loses the state. */
  get stateOnTmpfs(): boolean {
    return isRamDir(this.opts.stateDir);
  }

  private addBytes(kind: string, bytes: number): void {
    this.bytesByKind[kind] = (this.bytesByKind[kind] ?? 0) + bytes;
  }

  /** Frames stacked in the current stack. */
  get count(): number {
    return this.frameCount;
  }

  get results(): readonly FrameResult[] {
    return this.records;
  }

  /** True once a file has a verdict or is held for the warm-up (watch mode must not take it again). */
  hasProcessed(path: string): boolean {
    const name = basename(path);
    return this.processed.has(name) || this.pending.some((p) => basename(p.path) === name);
  }

  /** Frames held for the warm-up, not stacked yet. */
  get heldCount(): number {
    return this.pending.length;
  }

  /** Restore a saved stack (throws StateError naming the file when it is missing or corrupt). */
  static async reload(opts: LiveStackOptions): Promise<LiveStacker> {
    const s = new LiveStacker(opts);
    const { json, buffers } = await loadStackState(s.statePath, s.opts.methods);
    s.geom = { width: json.width, height: json.height, channels: json.channels, bitDepth: json.bitDepth };
    s.frameCount = json.frameCount;
    s.stackIndex = json.stackIndex;
    s.exposureTotal = json.exposureTotal;
    s.dateBeg = json.dateBeg;
    s.dateEnd = json.dateEnd;
    s.seq = json.seq;
    s.refStars = json.refStars;
    s.refPath = json.refPath;
    s.history = json.history;
    s.records = json.records;
    s.processed = new Set(json.processed);
    s.pending = json.pending;
    s.refBackground = json.refBackground ?? null;
    s.refusedRun = json.refusedRun ?? [];
    s.closeStack = json.closeStack ?? false;
    s.refClip = json.refClip ?? Infinity;
    s.smoothedDetection = json.smoothedDetection ?? null;
    const len = json.width * json.height * json.channels;
    if (json.frameCount > 0) {
      s.createAccumulators();
      restoreAccumulators(s.statePath, s.accs, buffers, len);
      const rg = buffers.get('refGray');
      if (rg) s.refGray = { width: json.width, height: json.height, channels: 1, bitDepth: 32, data: rg };
    }
    const journal = await readFile(s.journalPath, 'utf8').catch(() => '');
    s.replay = [...new Set(journal.split('\n').filter((l) => l && !s.hasProcessed(l)))];
    return s;
  }

  /** Files taken after the last saved state (from the journal) that are not in the stack yet. */
  get unsaved(): readonly string[] {
    return this.replay.filter((p) => !this.hasProcessed(p));
  }

  /**
   * After reload: stack again the files pushed after the last checkpoint (a crash or kill lost
   * them from the state, not from the spool). Files gone since are skipped.
   */
  async catchUp(): Promise<FrameResult[]> {
    const out: FrameResult[] = [];
    for (const p of this.unsaved) {
      if (!(await stat(p).then((st) => st.isFile(), () => false))) continue;
      out.push(await this.push(p));
    }
    this.replay = [];
    return out;
  }

  private createAccumulators(): void {
    const g = this.geom!;
    const len = g.width * g.height * g.channels;
    const k = this.kernelsFor(g.width, g.height, g.channels);
    this.accs = this.opts.methods.map((m) => createAccumulator(m, len, g.channels, { kappa: this.opts.kappa, planes: m === 'sigma' ? k?.sigma ?? undefined : undefined }));
  }

  private result(base: Partial<FrameResult> & { seq: number; path: string }): FrameResult {
    return {
      status: 'rejected', accepted: false, reason: null, code: null, stars: 0, hfr: NaN, fwhm: NaN, background: NaN, noise: NaN, signal: NaN,
      shiftX: NaN, shiftY: NaN, shift: NaN, rotationDeg: NaN, residual: NaN, inliers: 0, rejectedPixels: 0,
      stackIndex: this.stackIndex, frameCount: this.frameCount, exposureS: 0, date: null, ms: {}, ...base,
    };
  }

  private async record(r: FrameResult, name: string, q?: FrameQuality): Promise<FrameResult> {
    if (r.status !== 'pending') {
      if (r.accepted) this.refusedRun = [];
      else if (q && r.code && CONDITION_CODES.has(r.code)) r.reason = `${r.reason ?? ''}${this.noteRefusal({ ...q, relFlux: r.signal })}`;
      this.records.push(r);
      this.processed.add(name);
      // A refused frame changes only the metrics; the state catches up at the next accepted frame.
      if (!r.accepted) await this.writeMetrics().catch(() => {});
      this.opts.onResult?.(r);
    }
    return r;
  }

  /** Stack one frame (a file path or an image in memory). Never throws for a bad frame: it is refused with a reason. */
  async push(input: PushInput): Promise<FrameResult> {
    try {
      const r = await this.pushFrame(input);
      // Refused frames do not checkpoint the stack, but a night of clouds still saves the state on
      // time (their verdicts), so the journal to re-read after a crash stays short.
      if (r.status === 'rejected' && this.frameCount > 0 && Date.now() - this.checkpointAt >= (this.opts.saveEveryS ?? 600) * 1000) {
        if (this.sinceCheckpoint > 0) await this.writeMasters(false);
        await this.saveState();
      }
      return r;
    } finally {
      // The frame's buffers are garbage now: collect them so the peak stays flat over a long night.
      releaseGarbage();
    }
  }

  private async pushFrame(input: PushInput): Promise<FrameResult> {
    if (typeof input === 'string') await this.journal(input);
    this.memoryInput = typeof input !== 'string';
    const seq = ++this.seq;
    const t0 = performance.now();
    const ms: Record<string, number> = {};
    const path = typeof input === 'string' ? input : input.name ?? `image#${seq}`;
    const name = basename(path);
    let frame: LoadedFrame;
    try {
      frame = typeof input === 'string'
        ? await this.load(input)
        : { path, image: { ...input.image, data: Float32Array.from(input.image.data) }, bayer: input.bayer ?? null, exposureS: input.exposureS ?? null, date: input.date ?? null, iso: metaNumber(input.meta, 'ISOSPEED', 'ISO'), gain: metaNumber(input.meta, 'GAIN'), meta: input.meta ?? {} };
    } catch (err) {
      return this.record(this.result({ seq, path, reason: oneLine(err), code: 'input', ms }), name);
    }
    ms.load = performance.now() - t0;
    const exposureS = frame.exposureS ?? this.opts.defaultExposureS ?? 0;
    const date = frame.date ? frame.date.toISOString() : null;
    // Calibration geometry errors are configuration errors, not frame errors: let them throw.
    let t = performance.now();
    const img = await this.prepare(frame, path, exposureS);
    ms.calibrate = performance.now() - t;
    if (this.geom && (img.width !== this.geom.width || img.height !== this.geom.height || img.channels !== this.geom.channels)) {
      return this.record(this.result({ seq, path, exposureS, date, code: 'input', ms,
        reason: `${path}: ${img.width}×${img.height}×${img.channels} differs from the stack's ${this.geom.width}×${this.geom.height}×${this.geom.channels}` }), name);
    }
    if (this.geom && img.bitDepth !== this.geom.bitDepth && frame.image.bitDepth !== 32) {
      return this.record(this.result({ seq, path, exposureS, date, code: 'input', ms,
        reason: `${path}: ${img.bitDepth}-bit differs from the stack's ${this.geom.bitDepth}-bit frames` }), name);
    }
    t = performance.now();
    const gray = img.channels === 1 ? img : toGray(img);
    const found = this.detect(gray);
    const det = { ...found, stars: withApertureFlux(gray, found.stars, summarizeStars(found.stars).fwhm, found.background.sigma) };
    let max = 0;
    for (let i = 0; i < gray.data.length; i++) { const v = gray.data[i]!; if (v > max) max = v; }
    const q = frameQuality(summarizeStars(det.stars), det.background, max, det.stars, { iso: frame.iso, gain: frame.gain });
    ms.detect = performance.now() - t;
    const base = { seq, path, exposureS, date, stars: q.stars, hfr: q.hfr, fwhm: q.fwhm, background: q.background, noise: q.noise, ms };
    const verdict = judgeFrame(q, this.history, this.opts.align === 'star', this.opts.rejection);
    if (!verdict.ok) {
      return this.record(this.result({ ...base, reason: verdict.reason ?? 'rejected', code: verdict.code ?? 'rejected' }), name, q);
    }
    if (!this.geom) {
      this.geom = { width: img.width, height: img.height, channels: img.channels, bitDepth: img.bitDepth };
    }
    // The first frames of a stack are held (spilled to disk) and judged against each other before
    // the stack starts: with no history yet, an ISO outlier or a clouded frame among them would
    // otherwise become part of the stack, or its reference. best:K also picks the reference then.
    const warm = this.warmupSize();
    if (!this.refStars && !this.refGray && warm > 1) {
      await this.hold({ seq, path, img, q, stars: det.stars, exposureS, date, ms });
      if (this.pending.length >= warm) {
        await this.releasePending();
        const done = this.records.find((x) => x.seq === seq);
        if (done) return done;
      } else await this.saveState();
      const why = this.opts.reference === 'first' ? 'judged with the first' : 'choosing the best of the first';
      return this.result({ ...base, status: 'pending', reason: `held until ${warm} frames are in (${why} ${warm})` });
    }
    const r = await this.stackFrame(img, gray, det.stars, q, base);
    return this.record(r, name, q);
  }

  /** Star detection, the same for every frame of a stack (see detectForStack). */
  private detect(gray: ImageF32): ReturnType<typeof detectForStack>['found'] {
    const { found, smoothed } = detectForStack(gray, this.smoothedDetection);
    this.smoothedDetection = smoothed;
    return found;
  }

  private warmupSize(): number {
    const ref = this.opts.reference;
    return Math.max(this.opts.warmup ?? 3, ref === 'first' ? 1 : ref.best);
  }

  /**
   * A frame refused for a conditions reason. When the last relearnAfter such frames agree with each
   * other, they are the new normal (the sky brightened, the gain was changed on purpose): the current
   * stack is closed and the next frames start a new one, judged against these. Returns a note for the reason.
   */
  private noteRefusal(q: FrameQuality): string {
    const n = this.opts.relearnAfter ?? 5;
    if (n <= 0 || !this.frameCount) return '';
    this.refusedRun.push(q);
    if (this.refusedRun.length < Math.max(3, n)) return '';
    const run = this.refusedRun.slice(-Math.max(3, n));
    if (!judgeMutually(run, this.opts.align === 'star', this.opts.rejection).every((v) => v.ok)) return '';
    this.history = run.map((x) => ({ ...x, relFlux: NaN }));
    this.refusedRun = [];
    this.refStars = null;
    this.refGray = null;
    this.closeStack = true;
    return `; the last ${run.length} frames agree with each other: conditions changed, the next frames start stack ${this.stackIndex + 1}`;
  }

  /**
   * The WASM kernels for a mono stack of this size, made once (null: colour, no WebAssembly,
   * `kernels: 'js'`, or another size than the stack's). The master dark moves into their memory:
   * the calibration's plane becomes a view of it, so it is held once.
   */
  private kernelsFor(width: number, height: number, channels: number): StackKernels | null {
    if (this.kernels === undefined) {
      this.kernels = null;
      if (channels === 1 && this.opts.kernels !== 'js') {
        const cal = this.opts.calibration;
        const dark = cal?.dark && !cal.darkScale && cal.dark.image.data.length === width * height ? cal.dark : undefined;
        this.kernels = createStackKernels({ width, height, dark: dark?.image.data, sigma: this.opts.methods.includes('sigma'), threads: this.opts.threads ?? availableParallelism() });
        if (this.kernels?.dark && dark) {
          dark.image = { ...dark.image, data: this.kernels.dark };
          releaseGarbage(); // the master's own plane, before the frame and accumulator planes fill
        }
      }
    }
    const k = this.kernels;
    return k && k.width === width && k.height === height && channels === 1 ? k : null;
  }

  /** Load a frame; a mono 16-bit FITS goes straight into the kernels' frame plane. */
  private async load(path: string): Promise<LoadedFrame> {
    if (this.kernels === undefined && this.opts.kernels !== 'js' && isFitsPath(path)) {
      const h = await readFitsHeader(path).catch(() => null);
      if (h && h.planes === 1 && !bayerPatternFromCards(h.cards)) this.kernelsFor(h.width, h.height, 1);
    }
    const k = this.kernels;
    return loadFrame(path, k ? { fits16: async (_p, h) => (h.width === k.width && h.height === k.height ? k.readFits16(path, h.dataOffset, h.scale, h.zero) : null) } : {});
  }

  /** Calibrate (on the mosaic) and debayer a loaded frame. */
  private async prepare(frame: LoadedFrame, path: string, exposureS: number): Promise<ImageF32> {
    const cfa = frame.bayer ? 2 : 1;
    const cal = this.opts.calibration;
    if (cal) {
      const k = this.kernels;
      if (k && k.dark && frame.image.data === k.frame && cal.dark?.image.data === k.dark && !cal.darkScale) {
        // The dark in the kernels' bands; the rest (flat, hot pixels, cosmetic) as calibrate does it.
        checkCalibration(cal, frame.image, path);
        await k.subtractDark();
        calibrate(frame.image, { ...cal, dark: undefined, bias: undefined }, path, cfa, exposureS);
      } else calibrate(frame.image, cal, path, cfa, exposureS);
    }
    return frame.bayer ? debayerImage(frame.image, frame.bayer) : frame.image;
  }

  /** End the kernels' worker threads (the stacker keeps working on the plain-TS path after). */
  async close(): Promise<void> {
    await this.previewsWritten().catch(() => {});
    const k = this.kernels;
    this.kernels = null;
    await k?.close();
  }

  /** Note a file in the journal before it is processed: resume re-reads it if no state saved it. */
  private async journal(path: string): Promise<void> {
    await mkdir(this.opts.stateDir, { recursive: true });
    const line = `${path}\n`;
    const fh = await open(this.journalPath, 'a');
    try {
      await fh.write(line);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.addBytes('journal', Buffer.byteLength(line));
  }

  private async hold(p: { seq: number; path: string; img: ImageF32; q: FrameQuality; stars: Star[]; exposureS: number; date: string | null; ms: Record<string, number> }): Promise<void> {
    // A frame from a file is read again from it at release; only a frame from memory is spilled.
    let file = '';
    if (this.memoryInput) {
      const dir = join(this.opts.stateDir, 'pending');
      await mkdir(dir, { recursive: true });
      file = join(dir, `${p.seq}.f32`);
      await writeFileAtomic(file, new Uint8Array(p.img.data.buffer, p.img.data.byteOffset, p.img.data.byteLength));
      this.addBytes('held', p.img.data.byteLength);
    }
    this.pending.push({ seq: p.seq, path: p.path, file, width: p.img.width, height: p.img.height, channels: p.img.channels, bitDepth: p.img.bitDepth, q: p.q, stars: p.stars.slice(0, 300), exposureS: p.exposureS, date: p.date, ms: p.ms });
  }

  /**
   * The held frames are judged against each other (sky, size, stars, ISO/gain, and the same stars'
   * flux against a provisional reference); the ones that pass are stacked, the reference first
   * (the first of them, or the best with best:K), then the rest in arrival order.
   */
  private async releasePending(): Promise<void> {
    if (!this.pending.length) return;
    const held = this.pending;
    this.pending = [];
    const needStars = this.opts.align === 'star';
    let provisional = held[0]!;
    for (const p of held) if (referenceScore(p.q) > referenceScore(provisional.q)) provisional = p;
    const qs = held.map((p) => ({ ...p.q, relFlux: p === provisional ? 1 : heldRelFlux(p, provisional, this.opts.model) }));
    const verdicts = judgeMutually(qs, needStars, this.opts.rejection);
    const kept = held.filter((_, i) => verdicts[i]!.ok);
    const keptFlux = qs.filter((_, i) => verdicts[i]!.ok).map((q) => q.relFlux ?? NaN).filter(Number.isFinite).sort((a, b) => a - b);
    const keptSignal = keptFlux.length ? keptFlux[keptFlux.length >> 1]! : 1;
    let best = kept[0];
    if (best && this.opts.reference !== 'first') for (const p of kept) if (referenceScore(p.q) > referenceScore(best.q)) best = p;
    const load = async (p: PendingFrame): Promise<ImageF32> => {
      if (!p.file) {
        const f = await this.load(p.path);
        const img = await this.prepare(f, p.path, p.exposureS);
        if (img.width !== p.width || img.height !== p.height || img.channels !== p.channels) throw new Error(`${img.width}×${img.height}×${img.channels}, held as ${p.width}×${p.height}×${p.channels}`);
        return img;
      }
      const buf = await readFile(p.file);
      const data = new Float32Array(p.width * p.height * p.channels);
      new Uint8Array(data.buffer).set(buf.subarray(0, data.byteLength));
      return { width: p.width, height: p.height, channels: p.channels, bitDepth: p.bitDepth, data };
    };
    const order = best ? [best, ...held.filter((p) => p !== best)] : held;
    for (const p of order) {
      const base = { seq: p.seq, path: p.path, exposureS: p.exposureS, date: p.date, stars: p.q.stars, hfr: p.q.hfr, fwhm: p.q.fwhm, background: p.q.background, noise: p.q.noise, ms: p.ms };
      const v = verdicts[held.indexOf(p)]!;
      if (!v.ok) {
        // Shown against the frames kept (the provisional reference may be this very frame).
        const signal = (qs[held.indexOf(p)]!.relFlux ?? NaN) / keptSignal;
        await this.record(this.result({ ...base, signal, reason: `${v.reason ?? 'rejected'} (judged with the first ${held.length} frames)`, code: v.code ?? 'rejected' }), basename(p.path));
        continue;
      }
      let img: ImageF32;
      try {
        img = await load(p);
      } catch (err) {
        // The held copy is gone (state dir cleaned, disk trouble): the frame is lost, the stack goes on.
        await this.record(this.result({ ...base, reason: `${p.path}: held copy unreadable (${oneLine(err)})`, code: 'input' }), basename(p.path));
        continue;
      }
      const gray = img.channels === 1 ? img : toGray(img);
      const r = await this.stackFrame(img, gray, p.stars, p.q, base, false);
      await this.record(r, basename(p.path), p.q);
    }
    // Spilled copies are removed next: a checkpoint now, so no saved state points at them.
    // Frames held by their file name stay replayable from the state saved while they were held.
    const spilled = held.some((p) => p.file);
    await this.save({}, spilled, false);
    if (spilled) await rm(join(this.opts.stateDir, 'pending'), { recursive: true, force: true });
  }

  /** Align, warp and accumulate one calibrated frame that passed the quality checks. */
  private async stackFrame(img: ImageF32, gray: ImageF32, stars: Star[], q: FrameQuality, base: Partial<FrameResult> & { seq: number; path: string; ms: Record<string, number>; exposureS: number; date: string | null }, save = true): Promise<FrameResult> {
    const ms = base.ms;
    let t = performance.now();
    let reason: string | null = null;
    let transform: Mat3 = identity();
    let residual = NaN, inliers = 0;
    const isReference = !this.refStars && !this.refGray;
    let relFlux = 1;
    if (!isReference) {
      try {
        const g0 = this.geom!;
        const a = alignFrame({ mode: this.opts.align, model: this.opts.model, minStars: this.opts.rejection?.minStars, width: g0.width, height: g0.height, refStars: this.refStars, refGray: this.refGray }, gray, stars);
        if (!a) return this.result({ ...base, reason: 'alignment failed: no consistent star pattern with the reference', code: 'align' });
        ({ transform, residual, inliers } = a);
      } catch (err) {
        return this.result({ ...base, reason: `alignment failed: ${oneLine(err)}`, code: 'align' });
      }
      relFlux = matchReference(transform, stars, this.refStars ?? [], { frame: clipPeak(q), ref: this.refClip }).relFlux;
      const v = judgeSignal({ ...q, relFlux }, this.history, this.opts.rejection);
      if (!v.ok) return this.result({ ...base, signal: relFlux, reason: v.reason ?? 'rejected', code: v.code ?? 'signal' });
    }
    q = { ...q, relFlux };
    const g = this.geom!;
    const sum = summarize(transform, g.width, g.height);
    ms.align = performance.now() - t;
    let restarted = false;
    if (!isReference && this.opts.restartOnDrift && sum.shift > this.opts.restartOnDrift) {
      await this.archiveStack();
      restarted = true;
      reason = `drift ${sum.shift.toFixed(1)} px > ${this.opts.restartOnDrift} px: new stack ${this.stackIndex} started`;
      transform = identity();
    }
    if (isReference && this.closeStack && this.frameCount > 0) await this.archiveStack();
    this.closeStack = false;
    if (isReference || restarted) {
      this.refStars = stars.slice(0, 300);
      this.refClip = clipPeak(q);
      this.refPath = base.path;
      this.refGray = this.opts.align === 'ecc' || this.opts.align === 'phase' ? { ...gray, data: Float32Array.from(gray.data) } : null;
      this.createAccumulators();
      this.frameCount = 0;
      this.exposureTotal = 0;
      this.dateBeg = this.dateEnd = null;
    }
    t = performance.now();
    const k = this.kernels;
    const sigma = this.accs.length === 1 ? this.accs[0]!.pushExternal : undefined;
    const affine = Math.abs(transform[6]!) < 1e-12 && Math.abs(transform[7]!) < 1e-12;
    let rejectedPixels: number;
    if (k && sigma && img.data === k.frame && this.accs[0]!.buffers.M === k.sigma?.M && affine) {
      // Warp and sigma clipping fused in the kernels' bands: no warped copy of the frame.
      const info = channelStats(img, q); // mono: the frame's measured sky and noise
      if (isReference || restarted || !this.refBackground) this.refBackground = info.background.slice();
      const offset = info.background[0]! - (this.refBackground[0] ?? info.background[0]!);
      const refToFrame = isIdentity(transform) ? null : invert(transform);
      rejectedPixels = await sigma((useH, warm, kappa) => k.warpSigma({ refToFrame, kappa, warm, useH, noise: info.noise[0]!, offset }));
      ms.warp = 0;
    } else {
      let aligned = img;
      if (!isIdentity(transform)) {
        this.warpBuf = warpBilinear(img, invert(transform), this.warpBuf && this.warpBuf.data.length === img.data.length ? this.warpBuf : undefined);
        aligned = this.warpBuf;
      }
      ms.warp = performance.now() - t;
      t = performance.now();
      const info = channelStats(aligned, q);
      if (isReference || restarted || !this.refBackground) this.refBackground = info.background.slice();
      info.offset = info.background.map((b, c) => b - (this.refBackground![c] ?? b));
      rejectedPixels = accumulate(this.accs, aligned, info);
    }
    this.frameCount++;
    this.sinceCheckpoint++;
    this.exposureTotal += base.exposureS;
    if (base.date) {
      const end = new Date(new Date(base.date).getTime() + base.exposureS * 1000).toISOString();
      if (!this.dateBeg || base.date < this.dateBeg) this.dateBeg = base.date;
      if (!this.dateEnd || end > this.dateEnd) this.dateEnd = end;
    }
    this.history.push(restarted ? { ...q, relFlux: 1 } : q);
    if (this.history.length > HISTORY_MAX) this.history.shift();
    ms.accumulate = performance.now() - t;
    const r = this.result({
      ...base, status: 'accepted', accepted: true, reason, code: restarted ? 'restart' : null,
      shiftX: restarted ? 0 : sum.shiftX, shiftY: restarted ? 0 : sum.shiftY, shift: restarted ? 0 : sum.shift, rotationDeg: restarted ? 0 : sum.rotationDeg,
      residual: isReference || restarted ? 0 : residual, signal: restarted ? 1 : relFlux, inliers, rejectedPixels, stackIndex: this.stackIndex, frameCount: this.frameCount,
    });
    if (save) {
      t = performance.now();
      this.records.push(r); // saved with the state; record() must not add it again
      this.processed.add(basename(base.path));
      await this.save(ms);
      this.records.pop();
    }
    return r;
  }

  /** Keep the finished stack's products as `<name>-part<k>` and start counting a new one. */
  private async archiveStack(): Promise<void> {
    await this.previewsWritten();
    // Masters are written on a schedule: bring them up to date before they are kept.
    if (this.geom && this.frameCount > 0) await this.writeMasters(true);
    this.addBytes('archive', await archiveProducts(this.names, this.stackIndex));
    this.stackIndex++;
  }

  private get names(): ProductNames {
    return { outDir: this.opts.outDir, outputName: this.opts.outputName, methods: this.opts.methods, previewFormat: this.opts.previewFormat };
  }

  private get totals(): StackTotals {
    return { frameCount: this.frameCount, exposureTotal: this.exposureTotal, stackIndex: this.stackIndex, dateBeg: this.dateBeg, dateEnd: this.dateEnd, refPath: this.refPath, align: this.opts.align, kappa: this.opts.kappa };
  }

  outputPath(method: StackMethod, ext: string): string {
    return outputPath(this.names, method, ext);
  }

  get metricsPaths(): { csv: string; json: string } {
    const { csv, json } = metricsPaths(this.names);
    return { csv, json };
  }

  /** The stacked image of one method (NaN where no frame covered the pixel). */
  stacked(method: StackMethod = this.opts.methods[0]!): ImageF32 | null {
    const a = this.accs.find((x) => x.method === method);
    if (!a || !this.geom) return null;
    return { width: this.geom.width, height: this.geom.height, channels: this.geom.channels, bitDepth: 32, data: a.result() };
  }

  /** Stretched preview JPEG (for MQTT), long side ≤ maxSize. */
  async previewJpeg(maxSize = 1024): Promise<Buffer | null> {
    const s = this.stacked();
    return s ? encodePreviewJpeg(autoStretch(s, { maxSize: maxSize * 2 }), maxSize) : null;
  }

  /**
   * Write the products and, when a checkpoint is due (or `force`), the master FITS and the state;
   * `ms` gets the time of each part. `sync`: fsync the masters (the end of a run).
   */
  async save(ms: Record<string, number> = {}, force = false, sync = force): Promise<void> {
    await mkdir(this.opts.outDir, { recursive: true });
    let t = performance.now();
    const lap = (k: string) => { const n = performance.now(); ms[k] = (ms[k] ?? 0) + n - t; t = n; };
    // A frame from memory has no file to re-read after a crash: by default it is saved at once.
    const every = Math.max(1, this.opts.saveEveryFrames ?? this.opts.stateEvery ?? (this.memoryInput ? 1 : 10));
    const due = force || this.sinceCheckpoint >= every || Date.now() - this.checkpointAt >= (this.opts.saveEveryS ?? 600) * 1000;
    if (this.geom && this.frameCount > 0) {
      if (due || this.opts.mastersEveryFrame) { await this.writeMasters(sync); lap('fits'); }
      // The stretch now (the next frame changes the stack); with previewInBackground the encode and
      // write run in libvips' threads while the next frame is read and measured, awaited before the
      // next preview, an archive and at finish.
      await this.previewsWritten();
      const jobs: Promise<void>[] = [];
      for (const a of this.accs) {
        const p = stretchPreview(this.stacked(a.method)!, this.opts.previewMaxSize);
        jobs.push(encodePreview(this.names, a.method, p).then((bytes) => this.addBytes('preview', bytes)));
      }
      const all = Promise.all(jobs).then(() => {});
      all.catch(() => {}); // awaited (and rethrown) by previewsWritten; never unhandled meanwhile
      this.previewWrite = all;
      if (!this.opts.previewInBackground) await this.previewsWritten();
      lap('preview');
    }
    await this.writeMetrics();
    this.addBytes('metrics', await writeMetricsPlot(this.names, this.records));
    lap('metrics');
    if (due) {
      await this.saveState();
      lap('state');
    }
  }

  private async writeMasters(sync: boolean): Promise<void> {
    for (const a of this.accs) this.addBytes('fits', await writeMaster(this.names, a.method, this.stacked(a.method)!, this.totals, sync));
  }

  private async writeMetrics(): Promise<void> {
    this.addBytes('metrics', await writeMetrics(this.names, this.records, { stackIndex: this.stackIndex, frameCount: this.frameCount, exposureTotal: this.exposureTotal }));
  }

  private async saveState(): Promise<void> {
    await mkdir(this.opts.stateDir, { recursive: true });
    const g = this.geom ?? { width: 0, height: 0, channels: 0, bitDepth: 32 as const };
    const json: SavedState = {
      version: 1, methods: this.opts.methods, kappa: this.opts.kappa, align: this.opts.align,
      width: g.width, height: g.height, channels: g.channels, bitDepth: g.bitDepth,
      frameCount: this.frameCount, stackIndex: this.stackIndex, exposureTotal: this.exposureTotal,
      dateBeg: this.dateBeg, dateEnd: this.dateEnd, seq: this.seq, refStars: this.refStars, refPath: this.refPath,
      history: this.history, records: this.records, processed: [...this.processed], pending: this.pending,
      refBackground: this.refBackground, refusedRun: this.refusedRun, closeStack: this.closeStack,
      refClip: Number.isFinite(this.refClip) ? this.refClip : null, smoothedDetection: this.smoothedDetection,
    };
    await saveStackState(this.statePath, json, this.accs, this.refGray);
    this.addBytes('state', (await stat(this.statePath)).size);
    // Everything pushed so far is in the state now: the journal starts over.
    await writeFile(this.journalPath, '');
    this.sinceCheckpoint = 0;
    this.checkpointAt = Date.now();
  }

  /** End of input: stack any frames still held for reference selection and save. */
  async finish(): Promise<void> {
    if (this.pending.length) await this.releasePending();
    await this.save({}, true);
    await this.previewsWritten();
  }

  /** Wait for the preview encode started by the last save (its error, e.g. a full disk, surfaces here). */
  async previewsWritten(): Promise<void> {
    const p = this.previewWrite;
    this.previewWrite = null;
    await p;
  }
}

function metaNumber(meta: ImageMeta | undefined, ...keys: string[]): number | null {
  for (const k of keys) { const v = meta?.[k]; if (typeof v === 'number' && Number.isFinite(v)) return v; }
  return null;
}

function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

export { CalibrationError, StateError };
export type { FrameQuality };
