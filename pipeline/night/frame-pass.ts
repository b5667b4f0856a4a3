// One pass over a night frame's rows: decode by strips (row sources), calibrate each row, hand the
// strip to every product that needs it. Plus the display rendering shared by previews and the
// timelapse (scaled down while streaming, stretched, labelled).
import { loadSharp } from '../../lib/sharp.js';
import { openDecoderSource } from '../image/decoder-source.js';
import { DJPEG, sniffImageKind } from '../image/row-source.js';
import { openRowSource } from '../image/rows.js';
import type { RowSource } from '../image/rows.js';
import type { ImageF32 } from '../image/types.js';
import { autoStretch } from '../preview/stretch.js';
import { drawLabels, labelLines } from './labels.js';
import { StripScaler, scaledSize } from './scale.js';
import { Histogram } from './stretch.js';
import type { NightFrameInput, NightProductsConfig } from './types.js';

/** Rows per strip: about 1 M samples (4 MB of floats) whatever the frame width. */
export function stripRowsFor(width: number, channels: number): number {
  return Math.max(1, Math.floor((1 << 20) / (width * channels)));
}

export type StripVisitor = (data: Float32Array, y0: number, rows: number) => Promise<void> | void;

/** Stream an open source through the frame's calibrator to `visit`; closes the source. */
export async function streamRows(src: RowSource, frame: NightFrameInput, visit: StripVisitor): Promise<void> {
  try {
    const C = src.channels;
    const rowLen = src.width * C;
    const stripRows = stripRowsFor(src.width, C);
    let into = new Float32Array(stripRows * rowLen);
    for (;;) {
      const b = await src.readRows(stripRows, into);
      if (!b) break;
      if (b.data.buffer !== into.buffer) into = new Float32Array(stripRows * rowLen); // source ignored `into`
      if (frame.calibrate) {
        for (let r = 0; r < b.rows; r++) frame.calibrate.apply(b.data.subarray(r * rowLen, (r + 1) * rowLen), b.y0 + r, C);
      }
      await visit(b.data, b.y0, b.rows);
    }
  } finally {
    await src.close();
  }
}

/** Median sky level of the central half of the frame (per-pixel channel mean), filled strip by strip. */
export class SkyMeter {
  private readonly hist = new Histogram();
  private readonly row: Float32Array;
  constructor(private readonly width: number, private readonly height: number, private readonly channels: number) {
    this.row = new Float32Array(width);
  }

  add(data: Float32Array, y0: number, rows: number): void {
    const { width: W, height: H, channels: C } = this;
    const xa = Math.floor(W / 4);
    const xb = Math.ceil((3 * W) / 4);
    for (let r = 0; r < rows; r++) {
      const y = y0 + r;
      if (y < H / 4 || y >= (3 * H) / 4) continue;
      let n = 0;
      for (let x = xa; x < xb; x += 2) {
        let s = 0;
        for (let c = 0; c < C; c++) s += data[(r * W + x) * C + c]!;
        this.row[n++] = s / C;
      }
      this.hist.add(this.row, n);
    }
  }

  median(): number {
    return this.hist.n ? this.hist.quantile(0.5) : NaN;
  }
}

/** A frame decoded, calibrated, scaled to `width` (even sizes for video), stretched, labelled: RGB 0..1. */
export async function renderDisplayFrame(frame: NightFrameInput, width: number, config: NightProductsConfig, opts: { even?: boolean; size?: [number, number] } = {}): Promise<ImageF32> {
  // Uncalibrated JPEGs are decoded already shrunk (djpeg -scale 1/2…1/8, DCT scaling): a 12 MP
  // frame for a 1280-px timelapse decodes 4× to 16× fewer pixels.
  const src = frame.calibrate ? await openRowSource(frame.path) : await openShrunk(frame.path, opts.size?.[0] ?? width, opts.size?.[1] ?? 0);
  const [w, h] = opts.size ?? scaledSize(src.width, src.height, Math.min(width, src.width), opts.even);
  const scaler = new StripScaler(src.width, src.height, src.channels, w, h, src.bitDepth);
  await streamRows(src, frame, (data, y0, rows) => scaler.add(data, y0, rows));
  let img = autoStretch(scaler.result());
  if (img.channels !== 3) img = toRgb(img);
  if (config.labels.enabled) drawLabels(img, labelLines(frame, config.station), config.labels.corner, config.labels.scale);
  return img;
}

/** A row source at the smallest JPEG DCT scale still at least outW × outH (other formats: full size). */
async function openShrunk(path: string, outW: number, outH: number): Promise<RowSource> {
  if ((await sniffImageKind(path)) !== 'jpeg') return openRowSource(path);
  const sharp = await loadSharp();
  const m = await sharp(path).metadata().catch(() => null);
  let k = 1;
  if (m?.width && m.height) while (k < 8 && Math.floor(m.width / (k * 2)) >= outW && Math.floor(m.height / (k * 2)) >= outH) k *= 2;
  if (k === 1) return openRowSource(path);
  const spec = DJPEG(path);
  return openDecoderSource(path, { ...spec, args: ['-scale', `1/${k}`, ...spec.args] });
}

function toRgb(img: ImageF32): ImageF32 {
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  const C = img.channels;
  for (let i = 0; i < n; i++) {
    const v = img.data[i * C]!;
    out[3 * i] = v;
    out[3 * i + 1] = C >= 3 ? img.data[i * C + 1]! : v;
    out[3 * i + 2] = C >= 3 ? img.data[i * C + 2]! : v;
  }
  return { width: img.width, height: img.height, channels: 3, bitDepth: 8, data: out };
}

/** RGB 0..1 floats → RGB24 bytes. */
export function toRgb24(img: ImageF32, out: Buffer = Buffer.alloc(img.width * img.height * 3)): Buffer {
  const d = img.data;
  for (let i = 0; i < img.width * img.height * 3; i++) {
    const v = d[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}
