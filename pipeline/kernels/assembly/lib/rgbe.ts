// Radiance RGBE encoding of one scanline and its new-style run-length encoding, as
// pipeline/image/radiance.ts's encodeRgbe and rleScanline (the plain-TS references) write them, byte
// for byte. Pointers are byte addresses in the shared memory; nothing allocates.

// RGBE quadruples of `width` pixels of linear floats (RGB, or mono replicated) at `src` into `out`.
// frexp from the float's exponent bits; the mantissa scale 2^(8−e) is exact in f32 (e ≥ −105 once
// v > 1e-32, so 8 − e ≤ 113), and r·2^(8−e) < 256 truncates as JavaScript's `| 0` does.
export function encodeRgbeRow(src: usize, channels: i32, width: i32, out: usize): void {
  for (let x = 0; x < width; x++) {
    const s = src + ((<usize>(x * channels)) << 2);
    let r = load<f32>(s);
    let g = channels >= 3 ? load<f32>(s, 4) : r;
    let b = channels >= 3 ? load<f32>(s, 8) : r;
    const o = out + (<usize>x << 2);
    if (r != r || g != g || b != b) {
      store<u32>(o, 0);
      continue;
    }
    if (!(r > 0)) r = 0;
    if (!(g > 0)) g = 0;
    if (!(b > 0)) b = 0;
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    const E = (reinterpret<u32>(v) >>> 23) & 255;
    if (E == 0 || E == 255 || !(<f64>v > 1e-32)) {
      store<u32>(o, 0);
      continue;
    }
    const e = <i32>E - 126;
    if (e > 127) {
      store<u32>(o, 0xffffffff);
      continue;
    }
    // (e < −128 cannot happen past the 1e-32 test.)
    const scale = reinterpret<f32>(<u32>(127 + 8 - e) << 23);
    const R = <i32>(r * scale);
    const G = <i32>(g * scale);
    const B = <i32>(b * scale);
    store<u8>(o, <u8>(R > 255 ? 255 : R));
    store<u8>(o, <u8>(G > 255 ? 255 : G), 1);
    store<u8>(o, <u8>(B > 255 ? 255 : B), 2);
    store<u8>(o, <u8>(e + 128), 3);
  }
}

// The four byte planes (R, G, B, E) of `width` RGBE quadruples at `rgbe`, one after another at
// `planes` (4·width bytes): what the run-length encoder scans.
export function rgbePlanes(rgbe: usize, width: i32, planes: usize): void {
  const w = <usize>width;
  let x = 0;
  for (; x + 4 <= width; x += 4) {
    const v = i8x16.shuffle(v128.load(rgbe + (<usize>x << 2)), i8x16.splat(0), 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const o = planes + <usize>x;
    v128.store32_lane(o, v, 0);
    v128.store32_lane(o + w, v, 1);
    v128.store32_lane(o + 2 * w, v, 2);
    v128.store32_lane(o + 3 * w, v, 3);
  }
  for (; x < width; x++) {
    const q = rgbe + (<usize>x << 2);
    for (let c: usize = 0; c < 4; c++) store<u8>(planes + c * w + <usize>x, load<u8>(q + c));
  }
}

// First q ≥ i where bytes q … q+3 of the plane (width bytes) are equal — where rleScanline's scan
// finds its next run of ≥ 4 (it skips equal stretches shorter than 4, which cannot hold one) —
// else width. Sixteen candidate positions a step.
@inline
function nextRun(b: usize, i: i32, width: i32): i32 {
  let q = i;
  for (; q + 19 <= width; q += 16) {
    const a0 = v128.load(b + <usize>q);
    const a1 = v128.load(b + <usize>q, 1);
    const a2 = v128.load(b + <usize>q, 2);
    const a3 = v128.load(b + <usize>q, 3);
    const m = v128.and(v128.and(i8x16.eq(a0, a1), i8x16.eq(a1, a2)), i8x16.eq(a2, a3));
    if (v128.any_true(m)) return q + ctz(i8x16.bitmask(m));
  }
  for (; q + 3 < width; q++) {
    const v = load<u8>(b + <usize>q);
    if (load<u8>(b + <usize>q, 1) == v && load<u8>(b + <usize>q, 2) == v && load<u8>(b + <usize>q, 3) == v) return q;
  }
  return width;
}

// New-style RLE of one scanline from its byte planes (rgbePlanes; 8 ≤ width ≤ 32767) into `out`;
// returns the bytes written. The same packets as rleScanline (radiance.ts): runs of 4 … 127 equal
// bytes, literals in packets of ≤ 128 up to each run.
export function rlePlanes(planes: usize, width: i32, out: usize): i32 {
  let o: usize = out;
  store<u8>(o, 2);
  store<u8>(o, 2, 1);
  store<u8>(o, <u8>(width >> 8), 2);
  store<u8>(o, <u8>(width & 255), 3);
  o += 4;
  for (let c = 0; c < 4; c++) {
    const b = planes + <usize>(c * width);
    let i = 0;
    while (i < width) {
      const runStart = nextRun(b, i, width);
      let runLen = 0;
      if (runStart < width) {
        const v = load<u8>(b + <usize>runStart);
        runLen = 4;
        while (runLen < 127 && runStart + runLen < width && load<u8>(b + <usize>(runStart + runLen)) == v) runLen++;
      }
      while (i < runStart) {
        const n = min(128, runStart - i);
        store<u8>(o++, <u8>n);
        memory.copy(o, b + <usize>i, <usize>n);
        o += <usize>n;
        i += n;
      }
      if (runStart < width) {
        store<u8>(o++, <u8>(128 + runLen));
        store<u8>(o++, load<u8>(b + <usize>runStart));
        i = runStart + runLen;
      }
    }
  }
  return <i32>(o - out);
}
