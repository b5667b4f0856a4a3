// The live stack's products: the master FITS and stretched preview of each method, the per-frame
// metrics (CSV, JSON, plot) and the archived parts of closed stacks. Names and headers are here;
// when they are written (every frame, on a schedule, at the end) is the stacker's call.
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { withAtomicPath } from '../../lib/atomic.js';
import type { ImageF32, ImageMeta } from '../image/types.js';
import type { StackMethod } from './methods.js';
import { plotFrameMetricsBytes } from './metrics-plot.js';
import { writeFitsFloat } from './output.js';
import { autoStretchBytes } from './stretch.js';
import { loadSharp } from '../../lib/sharp.js';
import type { AlignMode, FrameResult } from './types.js';

export interface ProductNames {
  outDir: string;
  outputName: string;
  methods: StackMethod[];
  previewFormat: 'jpg' | 'png';
}

/** What the FITS header says about the stack. */
export interface StackTotals {
  frameCount: number;
  exposureTotal: number;
  stackIndex: number;
  dateBeg: string | null;
  dateEnd: string | null;
  refPath: string | null;
  align: AlignMode;
  kappa: number;
}

export function outputPath(n: ProductNames, method: StackMethod, ext: string): string {
  return join(n.outDir, n.methods.length > 1 ? `${n.outputName}-${method}.${ext}` : `${n.outputName}.${ext}`);
}

export function metricsPaths(n: ProductNames): { csv: string; json: string; png: string } {
  const base = join(n.outDir, n.outputName);
  return { csv: `${base}-frames.csv`, json: `${base}-frames.json`, png: `${base}-frames.png` };
}

export function fitsCards(method: StackMethod, s: StackTotals): ImageMeta {
  const c: ImageMeta = {
    NCOMBINE: s.frameCount,
    EXPTIME: Number(s.exposureTotal.toFixed(6)),
    STACKMTH: method,
    ALIGNMTH: s.align,
    STACKNO: s.stackIndex,
    CREATOR: 'skyrig livestack',
  };
  if (method === 'sigma') c.KAPPA = s.kappa;
  if (s.dateBeg) { c['DATE-BEG'] = s.dateBeg.replace(/Z$/, ''); c['DATE-OBS'] = c['DATE-BEG']; }
  if (s.dateEnd) c['DATE-END'] = s.dateEnd.replace(/Z$/, '');
  if (s.refPath) c.REFFRAME = basename(s.refPath).slice(0, 60);
  return c;
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => null))?.size ?? 0;
}

/** The linear master of one method (fsynced only when `sync`: the end of a run, not every checkpoint). Returns bytes written. */
export async function writeMaster(n: ProductNames, method: StackMethod, img: ImageF32, s: StackTotals, sync: boolean): Promise<number> {
  const path = outputPath(n, method, 'fits');
  await writeFitsFloat(path, img, fitsCards(method, s), { sync });
  return sizeOf(path);
}

/** The stretched preview of one method. Returns bytes written. */
export async function writePreview(n: ProductNames, method: StackMethod, img: ImageF32, maxSize: number): Promise<number> {
  return encodePreview(n, method, stretchPreview(img, maxSize));
}

export type StretchedPreview = ReturnType<typeof autoStretchBytes>;

/** The preview's 8-bit samples (CPU, synchronous: done before the stack changes again). */
export function stretchPreview(img: ImageF32, maxSize: number): StretchedPreview {
  return autoStretchBytes(img, { maxSize });
}

/** Encode and write a stretched preview (libvips' threads: may run while the next frame is read). Returns bytes written. */
export async function encodePreview(n: ProductNames, method: StackMethod, p: StretchedPreview): Promise<number> {
  const path = outputPath(n, method, n.previewFormat);
  const raw = { width: p.width, height: p.height, channels: p.channels as 1 | 3 };
  await withAtomicPath(path, async (tmp) => {
    const sharp = await loadSharp();
    const s = sharp(p.data, { raw, limitInputPixels: false });
    await (n.previewFormat === 'png' ? s.png({ compressionLevel: 6 }) : s.jpeg({ quality: 90, mozjpeg: false })).toFile(tmp);
  });
  return sizeOf(path);
}

/** Per-frame metrics as CSV and JSON, in arrival order. Returns bytes written. */
export async function writeMetrics(n: ProductNames, records: readonly FrameResult[], totals: { stackIndex: number; frameCount: number; exposureTotal: number }): Promise<number> {
  await mkdir(n.outDir, { recursive: true });
  const { csv, json } = metricsPaths(n);
  const cols = ['seq', 'path', 'status', 'reason', 'stars', 'hfr', 'fwhm', 'background', 'noise', 'signal', 'shiftX', 'shiftY', 'shift', 'rotationDeg', 'residual', 'inliers', 'rejectedPixels', 'stackIndex', 'frameCount', 'exposureS', 'date'] as const;
  const cell = (v: unknown) => {
    if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4);
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  // In arrival order (a warm-up stacks its reference first, so verdicts can come out of order).
  const rows = [...records].sort((a, b) => a.seq - b.seq);
  const lines = [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))];
  const csvText = lines.join('\n') + '\n';
  // Temp + rename without fsync: rewritten every frame, and rebuilt from the state after a crash.
  await withAtomicPath(csv, (tmp) => writeFile(tmp, csvText));
  const clean = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v])));
  const jsonText = JSON.stringify({ frames: clean, stackIndex: totals.stackIndex, frameCount: totals.frameCount, exposureTotal: totals.exposureTotal }, null, 1);
  await withAtomicPath(json, (tmp) => writeFile(tmp, jsonText));
  return Buffer.byteLength(csvText) + Buffer.byteLength(jsonText);
}

/** The per-frame figures as a picture. Returns bytes written. */
export async function writeMetricsPlot(n: ProductNames, records: readonly FrameResult[]): Promise<number> {
  const path = metricsPaths(n).png;
  const p = plotFrameMetricsBytes(records);
  const sharp = await loadSharp();
  await withAtomicPath(path, (tmp) => sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels }, limitInputPixels: false }).png({ compressionLevel: 6 }).toFile(tmp));
  return sizeOf(path);
}

/** Keep a finished stack's products as `<name>-part<k>.*`. Returns bytes written. */
export async function archiveProducts(n: ProductNames, stackIndex: number): Promise<number> {
  let bytes = 0;
  for (const m of n.methods) {
    for (const ext of ['fits', n.previewFormat]) {
      const from = outputPath(n, m, ext);
      const to = from.replace(new RegExp(`\\.${ext}$`), `-part${stackIndex}.${ext}`);
      if (await copyFile(from, to).then(() => true, () => false)) bytes += await sizeOf(to);
    }
  }
  return bytes;
}
