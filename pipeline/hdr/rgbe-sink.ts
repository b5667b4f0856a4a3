// Radiance .hdr row sink for the merge, with an RGBE encoder that takes frexp from the float's
// exponent bits instead of log2/pow per pixel. On a 24 MP radiance map this cut the .hdr encode from
// ~2.6 s to a fraction of that. Scanline RLE, the header and the atomic file come from
// pipeline/image/radiance.ts and file-sink.ts, so the file format is exactly theirs.
import { AtomicFile } from '../image/file-sink.js';
import { radianceHeader, rleScanline } from '../image/radiance.js';
import { RowCounter } from '../image/sink-check.js';
import type { RowSink } from '../image/rows.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** 2^k for k in −160..160 at POW2[k + 160]. */
const POW2 = Float64Array.from({ length: 321 }, (_, i) => 2 ** (i - 160));

/** Encode `width` pixels (RGB, or mono replicated) to RGBE quadruples; same values as encodeRgbe. */
export function encodeRgbeFast(src: Float32Array, offset: number, channels: number, width: number, out: Uint8Array): void {
  for (let x = 0, s = offset, o = 0; x < width; x++, s += channels, o += 4) {
    let r = src[s]!;
    let g = channels >= 3 ? src[s + 1]! : r;
    let b = channels >= 3 ? src[s + 2]! : r;
    if (r !== r || g !== g || b !== b) {
      // NaN anywhere: black, as the reference encoder does.
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    if (!(r > 0)) r = 0;
    if (!(g > 0)) g = 0;
    if (!(b > 0)) b = 0;
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    f32[0] = v;
    const E = (u32[0]! >>> 23) & 255;
    // E = 0: zero or below 1e-38; E = 255: infinity/NaN.
    if (E === 0 || E === 255 || !(v > 1e-32)) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    const e = E - 126; // v = m·2^e, m in [0.5, 1)
    if (e > 127) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 255;
      continue;
    }
    if (e < -128) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    const scale = POW2[8 - e + 160]!; // 256·m / v
    const R = (r * scale) | 0;
    const G = (g * scale) | 0;
    const B = (b * scale) | 0;
    out[o] = R > 255 ? 255 : R;
    out[o + 1] = G > 255 ? 255 : G;
    out[o + 2] = B > 255 ? 255 : B;
    out[o + 3] = e + 128;
  }
}

export async function openFastRadianceSink(path: string, width: number, height: number, channels: number): Promise<RowSink> {
  if (channels !== 1 && channels !== 3) throw new Error(`${path}: .hdr needs 1 or 3 channels, got ${channels}`);
  const counter = new RowCounter(path, width, height, channels);
  const file = await AtomicFile.create(path);
  const header = radianceHeader(width, height);
  let pos = 0;
  let done = false;
  const rgbe = new Uint8Array(width * 4);
  const rle = width >= 8 && width <= 0x7fff;
  let buf = new Uint8Array(0);
  try {
    await file.write(header, 0);
    pos = header.length;
  } catch (err) {
    await file.discard();
    throw err;
  }
  const abort = async () => {
    done = true;
    await file.discard();
  };
  return {
    async writeRows(data, rows) {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      counter.add(data, rows);
      const worst = rows * (width * 4 + 8 + 4 * Math.ceil(width / 128));
      if (buf.length < worst) buf = new Uint8Array(worst);
      let n = 0;
      for (let r = 0; r < rows; r++) {
        encodeRgbeFast(data, r * width * channels, channels, width, rgbe);
        if (rle) n += rleScanline(rgbe, width, buf.subarray(n));
        else {
          buf.set(rgbe, n);
          n += rgbe.length;
        }
      }
      try {
        await file.write(buf.subarray(0, n), pos);
        pos += n;
      } catch (err) {
        await abort();
        throw err;
      }
    },
    async finish() {
      if (done) throw new Error(`${path}: sink already finished or aborted`);
      try {
        counter.complete();
        done = true;
        await file.commit();
      } catch (err) {
        await abort();
        throw err;
      }
    },
    abort,
  };
}
