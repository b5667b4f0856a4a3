// Streaming merge of one bracket: every frame is a row source, read a strip at a time in lockstep;
// one strip buffer is shared by all frames (each is folded into the running sums before the next
// is read), so memory is a few strips plus one decoder per frame, independent of image size and
// of the number of exposures.
//
// Outputs that need no global statistics (.hdr, float TIFF/FITS, 16-bit log PNG over a known range)
// stream straight out. The tone-mapped JPEG needs the log-average luminance first: lnE is spooled
// as 16-bit codes over the response's exact lnE bounds to a temp file beside the output, then
// tone-mapped strip by strip in a second, decode-free pass.
import { openSync, closeSync, writeSync, readSync } from 'node:fs';
import { unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BracketFrame } from './discover.js';
import { closeAll, defaultIo, readExactRows, type HdrIo, type RowSink } from './io.js';
import { accumulateDebevec, accumulateDebevecCodes, buildMergeLut, createDebevecStrip, finishDebevec, frameTable } from './merge-kernel.js';
import { hasReadInto } from './lean-source.js';
import { lnERange, type CameraResponse } from './response.js';
import { accumulateStats, emptyStats, foldRowStats, normaliseLog, reinhardConstants, toneMapCodes, toneMapStrip, type RadianceStats } from './tonemap.js';
import { tempPathFor } from '../../lib/atomic.js';
import { createWasmDebevec, type DebevecResults, type WasmDebevec } from '../kernels/debevec-wasm.js';
import { createWasmToneMap, type WasmToneMap } from '../kernels/tonemap-wasm.js';
import { availableParallelism } from 'node:os';
import { pipeThread } from '../image/pipe-thread.js';
import type { RowSinkFormat } from '../image/rows.js';

export {
  FORMAT_EXT,
  OUTPUT_FORMATS,
  openBracket,
  parseFormats,
  weightsFromResponse,
  type MergeAlgorithm,
  type MergeOptions,
  type MergeResult,
  type OutputFormat,
} from './merge-options.js';
import { FORMAT_EXT, openBracket, weightsFromResponse, type MergeOptions, type MergeResult, type OutputFormat } from './merge-options.js';

const SINK_FORMAT: Record<OutputFormat, RowSinkFormat> = { hdr: 'hdr', tiff: 'tiff-f32', fits: 'fits-f32', png16: 'png16', jpg: 'jpeg' };

function checkAbort(signal: AbortSignal | undefined, id: string): void {
  if (signal?.aborted) throw new Error(`${id}: merge aborted`);
}

/**
 * Start the pipe thread a Debevec merge reads its decoders through ahead of it, so that its start-up
 * (≈ 30 ms of CPU: a V8 isolate) runs beside whatever comes first — discovery, the response, the
 * capture. Idempotent; mergeBracket works without it. (The kernel workers start with their pool:
 * kept idle, a worker would hold its last pool's memory.)
 */
export function prestartMergeThreads(): void {
  pipeThread();
}

/** Merge one bracket into `<outBase><ext>` for each requested format. */
export async function mergeBracket(frames: BracketFrame[], outBase: string, options: MergeOptions = {}): Promise<MergeResult> {
  const algorithm = options.algorithm ?? (options.response ? 'debevec' : 'mertens');
  if (algorithm === 'mertens') {
    const { mergeMertens } = await import('./mertens.js');
    return mergeMertens(frames, outBase, options);
  }
  if (!options.response) throw new Error('debevec merge needs a response (--response), or use --algorithm mertens');
  return mergeDebevec(frames, outBase, options.response, options);
}

async function mergeDebevec(frames: BracketFrame[], outBase: string, response: CameraResponse, options: MergeOptions): Promise<MergeResult> {
  const t0 = performance.now();
  if ((options.kernels ?? 'wasm') === 'wasm') prestartMergeThreads();
  const io = options.io ?? defaultIo;
  const id = options.id ?? outBase;
  const formats = options.formats ?? ['hdr', 'jpg'];
  const weights = options.weights ?? weightsFromResponse(response);
  const exposures = frames.map((f) => f.exposureS);
  const bounds = lnERange(response, exposures);
  const range = options.range ?? bounds;
  // The WebAssembly path asks for the next strip's codes before computing this one: the pipe thread reads them meanwhile.
  const sources = await openBracket(frames, io, { threaded: (options.kernels ?? 'wasm') === 'wasm' });
  const { width, height, channels } = sources[0]!;
  const bitDepth = Math.max(...sources.map((s) => s.bitDepth));
  const sinks = new Map<OutputFormat, RowSink>();
  let spool: number | null = null;
  let wasm: WasmDebevec | null = null;
  const spoolPath = tempPathFor(`${outBase}.lnE`);
  const outputs: Partial<Record<OutputFormat, string>> = {};
  try {
    const lut = buildMergeLut(response, channels, weights, bitDepth, options.weighting ?? 'hat');
    await mkdir(dirname(outBase), { recursive: true });
    for (const f of formats) {
      if (f === 'jpg') continue;
      const path = outBase + FORMAT_EXT[f];
      sinks.set(f, await io.openRowSink(path, { width, height, channels, format: SINK_FORMAT[f], cards: { BUNIT: f === 'png16' ? 'lnE' : 'radiance' } }));
      outputs[f] = path;
    }
    const needJpeg = formats.includes('jpg');
    // Synchronous I/O for the spool: page-cache writes of a strip take microseconds, while a thread-pool
    // round trip per strip costs tens of ms on a loaded machine.
    if (needJpeg) spool = openSync(spoolPath, 'w+');
    const stripRows = Math.max(1, Math.min(height, options.stripRows ?? 16));
    const rowLen = width * channels;
    const buf = new Float32Array(stripRows * rowLen);
    const lnE = new Float32Array(stripRows * rowLen);
    const tmp = new Float32Array(stripRows * rowLen);
    const logOut = formats.includes('png16') ? new Float32Array(stripRows * rowLen) : tmp;
    const codes = new Uint16Array(stripRows * rowLen);
    const strip = createDebevecStrip(stripRows * rowLen);
    const stats = emptyStats();
    const lnT = exposures.map(Math.log);
    const tables = lnT.map((l) => frameTable(lut, l));
    // Raw integer codes straight from the decoders when every frame offers them at the LUT's depth.
    const rawCodes = sources.every((s) => hasReadInto(s) && s.codeLevels === lut.levels);
    const spoolScale = 65535 / (bounds[1] - bounds[0]);
    // The SIMD WebAssembly kernels on `threads` cores for raw codes; lnE then lives in their shared memory.
    if (rawCodes && (options.kernels ?? 'wasm') === 'wasm') {
      // exp for the linear outputs and the spool's quantisation run in the bands too, on every core.
      const linear = [...sinks.keys()].some((f) => f !== 'png16');
      // The .hdr scanlines too (RGBE + RLE per row), when the sink takes them encoded.
      const rgbe = Boolean(sinks.get('hdr')?.writeEncoded);
      wasm = createWasmDebevec({
        lut,
        tables,
        lnT,
        samples: stripRows * rowLen,
        threads: options.threads ?? availableParallelism(),
        linear,
        rowLen,
        rgbe,
        overlap: options.overlap ?? true,
        ...(needJpeg ? { spool: { lo: bounds[0], scale: spoolScale } } : {}),
      });
    }
    let saturated = 0;
    // One strip's results out: statistics folded, every sink and the spool written. `res`: the
    // WebAssembly kernels' results of the strip (else the plain-TS lnE above).
    const emit = async (y: number, rows: number, res: DebevecResults | null) => {
      const count = rows * rowLen;
      const lnEs = res ? res.lnE : lnE;
      if (res?.stats) foldRowStats(stats, res.stats, rows, width);
      else accumulateStats(stats, lnEs, count, channels, width, (y & 1) === 0);
      let linearReady = false;
      for (const [f, sink] of sinks) {
        // The .hdr scanlines straight from the kernels' memory (writev), or copied out.
        const parts = f === 'hdr' && sink.writeEncodedParts ? res?.scanlineParts(rows) : null;
        if (parts) {
          await sink.writeEncodedParts!(parts, rows);
          continue;
        }
        const encoded = f === 'hdr' && sink.writeEncoded ? res?.scanlines(rows) : null;
        if (encoded) {
          await sink.writeEncoded!(encoded, rows);
          continue;
        }
        if (f === 'png16') {
          normaliseLog(lnEs, count, range, logOut);
          await sink.writeRows(logOut.subarray(0, count), rows);
          continue;
        }
        if (res?.linear) {
          await sink.writeRows(res.linear.subarray(0, count), rows);
          continue;
        }
        if (!linearReady) for (let i = 0; i < count; i++) tmp[i] = Math.exp(lnEs[i]!);
        linearReady = true;
        await sink.writeRows(tmp.subarray(0, count), rows);
      }
      if (spool !== null && res?.spool) writeFully(spool, new Uint8Array(res.spool.buffer, res.spool.byteOffset, count * 2));
      else if (spool !== null) {
        for (let i = 0; i < count; i++) codes[i] = Math.max(0, Math.min(65535, Math.round((lnEs[i]! - bounds[0]) * spoolScale)));
        writeFully(spool, new Uint8Array(codes.buffer, 0, count * 2));
      }
    };
    const strips: Array<{ y: number; rows: number }> = [];
    for (let y = 0; y < height; y += stripRows) strips.push({ y, rows: Math.min(stripRows, height - y) });
    if (wasm) {
      const k = wasm;
      // Every frame's request is made at once (the pipe thread serves them in turn), into code set `set`.
      const readCodes = (n: number, set: number) =>
        Promise.all(
          sources.map(async (src, j) => {
            if (!hasReadInto(src)) return;
            // Into the kernels' shared memory straight from the pipe when the source can (no scratch copy).
            if (src.readRowsCodesInto) await src.readRowsCodesInto(n, k.codesOf(set, j));
            else k.codesOf(set, j).set(await src.readRowsCodes(n));
          }),
        );
      if (k.overlap) {
        // Three strips in flight: strip i + 1 is read (pipe thread, decoders) while strip i is computed
        // (workers, and this thread's band) while strip i − 1's results are written here. Strip i's codes
        // and results are code set i mod 2: a set's codes are refilled only once its run is over, its
        // results rewritten only once they are out. Run i is asked for as soon as its codes are in, so
        // a worker finishing run i − 1 starts it at once (queued), not when this thread wakes up.
        let reading: Promise<unknown> = readCodes(strips[0]!.rows, k.nextSet);
        let prev: { y: number; rows: number; set: number; done: Promise<number> } | null = null;
        for (let i = 0; i < strips.length; i++) {
          checkAbort(options.signal, id);
          const { y, rows } = strips[i]!;
          await reading;
          const set = k.nextSet;
          const done = k.run(rows * rowLen, rowLen, y);
          done.catch(() => {}); // awaited next round
          if (prev) saturated += await prev.done;
          const after = strips[i + 1];
          reading = after ? readCodes(after.rows, 1 - set) : Promise.resolve();
          reading.catch(() => {}); // awaited next round; a failure meanwhile must not go unhandled
          if (prev) await emit(prev.y, prev.rows, k.results(prev.set));
          prev = { y, rows, set, done };
        }
        if (prev) {
          saturated += await prev.done;
          await emit(prev.y, prev.rows, k.results(prev.set));
        }
      } else {
        for (const { y, rows } of strips) {
          checkAbort(options.signal, id);
          await readCodes(rows, k.nextSet);
          const set = k.nextSet;
          saturated += await k.run(rows * rowLen, rowLen, y);
          await emit(y, rows, k.results(set));
        }
      }
    } else {
      for (const { y, rows } of strips) {
        checkAbort(options.signal, id);
        const count = rows * rowLen;
        for (let j = 0; j < sources.length; j++) {
          const src = sources[j]!;
          if (rawCodes && hasReadInto(src)) accumulateDebevecCodes(strip, await src.readRowsCodes(rows), count, lut, lnT[j]!, j, sources.length, tables[j]!);
          else {
            await readExactRows(src, rows, buf);
            accumulateDebevec(strip, buf, count, lut, lnT[j]!, j, sources.length, tables[j]);
          }
        }
        saturated += finishDebevec(strip, count, lut, lnE);
        await emit(y, rows, null);
      }
    }
    await closeAll(sources);
    // The first pass's files are committed (fsync, rename: seconds for a 96 MB .hdr on an SD card)
    // while the JPEG pass runs. A sink whose finish fails has aborted itself.
    const finishing = Promise.allSettled([...sinks.values()].map((sink) => sink.finish()));
    sinks.clear();
    let toneMapFailure: unknown = null;
    if (spool !== null) {
      const path = outBase + FORMAT_EXT.jpg;
      try {
        // The first pass's workers are done: end them before the second pass starts its own.
        await wasm?.close();
        await toneMapFromSpool(spool, path, { width, height, channels, stripRows, bounds, stats, options, io });
        outputs.jpg = path;
      } catch (err) {
        toneMapFailure = err;
      }
    }
    const unfinished = (await finishing).find((r) => r.status === 'rejected');
    if (unfinished) throw unfinished.reason;
    if (toneMapFailure) throw toneMapFailure;
    return {
      outputs,
      width,
      height,
      channels,
      frames: frames.length,
      lnE: [stats.minLnE, stats.maxLnE],
      saturatedFraction: saturated / (width * height),
      ms: performance.now() - t0,
      kernels: wasm ? 'wasm' : 'js',
      threads: wasm?.threads ?? 1,
    };
  } catch (err) {
    for (const sink of sinks.values()) await sink.abort().catch(() => {});
    const msg = (err as Error).message;
    throw new Error(msg.includes(id) || frames.some((f) => msg.includes(f.path)) ? msg : `${id}: ${msg}`, { cause: err });
  } finally {
    await wasm?.close();
    await closeAll(sources);
    if (spool !== null) {
      try {
        closeSync(spool);
      } catch {
        // already closed
      }
      await unlink(spoolPath).catch(() => {});
    }
  }
}

function writeFully(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

async function toneMapFromSpool(
  spool: number,
  path: string,
  a: { width: number; height: number; channels: number; stripRows: number; bounds: [number, number]; stats: RadianceStats; options: MergeOptions; io: HdrIo },
): Promise<void> {
  const { width, height, channels, bounds, stats, options, io } = a;
  const rowLen = width * channels;
  // The pipe thread feeds the encoder (and reads the spool ahead) while this thread tone-maps.
  const sink = await io.openRowSink(path, { width, height, channels, format: 'jpeg', quality: options.quality ?? 90, threaded: true });
  let kernel: WasmToneMap | null = null;
  try {
    const step = (bounds[1] - bounds[0]) / 65535;
    const op = options.tonemap ?? 'reinhard';
    const gamma = options.gamma ?? 2.2;
    // Reinhard straight to the encoder's 8-bit samples in WebAssembly on every core, when the sink
    // takes encoded rows; bigger strips than the first pass (this one holds no decoders). The kernel
    // makes its own exp and gamma tables.
    if (op === 'reinhard' && sink.writeEncoded && (options.kernels ?? 'wasm') === 'wasm') {
      const stripRows = Math.min(height, Math.max(a.stripRows, TONE_MAP_ROWS));
      kernel = createWasmToneMap({ samples: stripRows * rowLen, codeSlots: 2, byteSlots: TONE_MAP_BYTE_SLOTS, channels, lo: bounds[0], step, gamma, ...reinhardConstants(stats), threads: options.threads ?? availableParallelism() });
      if (kernel) {
        const k = kernel;
        const n = Math.ceil(height / stripRows);
        const codeBytes = k.codes.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
        const thread = pipeThread();
        // Strip s + 1 is read from the spool (by the pipe thread, into the other code slot; the spool
        // was just written and sits in the page cache) while strip s is tone-mapped into bytes slot
        // s % 4; the bytes go to the sink without a copy, whose previous writeEncoded (the encoder's
        // pipe fed by the same thread) may still be pending. Once a writeEncoded call resolves the sink
        // holds at most its bytes and the previous call's (RowSink's contract), so while strip s is
        // tone-mapped it holds at most s − 1 … s − 3.
        const readStrip = async (s: number) => {
          const count = Math.min(stripRows, height - s * stripRows) * rowLen;
          const got = await thread.read(spool, codeBytes[s % 2]!, count * 2, s * stripRows * rowLen * 2);
          if (got < count * 2) throw new Error(`${path}: spool read short`);
        };
        let reading = readStrip(0);
        let writing: Promise<void> = Promise.resolve();
        try {
          for (let s = 0; s < n; s++) {
            checkAbort(options.signal, path);
            const rows = Math.min(stripRows, height - s * stripRows);
            const count = rows * rowLen;
            await reading;
            reading = s + 1 < n ? readStrip(s + 1) : Promise.resolve();
            reading.catch(() => {}); // awaited next round
            await Promise.all([k.run(s % 2, s % TONE_MAP_BYTE_SLOTS, count, rowLen), writing]);
            writing = sink.writeEncoded(k.bytes[s % TONE_MAP_BYTE_SLOTS]!.subarray(0, count), rows);
            writing.catch(() => {}); // awaited with the next strip or below
          }
        } finally {
          // No read of the spool may be left in flight when it is closed.
          await reading.catch(() => {});
        }
        await writing;
        await sink.finish();
        return;
      }
    }
    // exp of every spool code, once: the second pass then needs no exp at all.
    const expLut = new Float32Array(65536);
    if (op === 'reinhard') for (let q = 0; q < 65536; q++) expLut[q] = Math.exp(bounds[0] + q * step);
    const stripRows = a.stripRows;
    const bytes = new Uint8Array(stripRows * rowLen * 2);
    const codes = new Uint16Array(bytes.buffer);
    const lnE = new Float32Array(stripRows * rowLen);
    const out = new Float32Array(stripRows * rowLen);
    for (let y = 0; y < height; y += stripRows) {
      checkAbort(options.signal, path);
      const rows = Math.min(stripRows, height - y);
      const count = rows * rowLen;
      readFully(spool, bytes, count * 2, y * rowLen * 2, path);
      if (op === 'reinhard') toneMapCodes(codes, count, channels, expLut, stats, gamma, out);
      else {
        for (let i = 0; i < count; i++) lnE[i] = bounds[0] + codes[i]! * step;
        toneMapStrip(lnE, count, channels, stats, { op, gamma, range: options.range }, out);
      }
      await sink.writeRows(out.subarray(0, count), rows);
    }
    await sink.finish();
  } catch (err) {
    await sink.abort().catch(() => {});
    throw err;
  } finally {
    await kernel?.close();
  }
}

/** Rows a strip of the WebAssembly tone-map pass (measured on 24 MP: see docs/performance.md). */
const TONE_MAP_ROWS = 32;
/** Bytes strips of the tone-map pass: the one tone-mapped and the sink's last three (see toneMapFromSpool). */
const TONE_MAP_BYTE_SLOTS = 4;

function readFully(fd: number, into: Uint8Array, length: number, position: number, path: string): void {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, into, got, length - got, position + got);
    if (n === 0) throw new Error(`${path}: spool read short`);
    got += n;
  }
}
