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

const MINRUN = 4;

// New-style RLE of one scanline of RGBE quadruples (8 ≤ width ≤ 32767) into `out`; returns the bytes
// written. The same packetisation as rleScanline: runs of ≥ 4 equal bytes (≤ 127), literals in
// packets of ≤ 128 up to each run.
export function rleRow(rgbe: usize, width: i32, out: usize): i32 {
  let o: usize = out;
  store<u8>(o, 2);
  store<u8>(o, 2, 1);
  store<u8>(o, <u8>(width >> 8), 2);
  store<u8>(o, <u8>(width & 255), 3);
  o += 4;
  for (let c = 0; c < 4; c++) {
    const base = rgbe + <usize>c;
    let i = 0;
    while (i < width) {
      let runStart = i;
      let runLen = 0;
      while (runStart < width) {
        runLen = 1;
        const v = load<u8>(base + (<usize>runStart << 2));
        while (runLen < 127 && runStart + runLen < width && load<u8>(base + (<usize>(runStart + runLen) << 2)) == v) runLen++;
        if (runLen >= MINRUN) break;
        runStart += runLen;
      }
      while (i < runStart) {
        const n = min(128, runStart - i);
        store<u8>(o++, <u8>n);
        for (let k = 0; k < n; k++) store<u8>(o++, load<u8>(base + (<usize>(i + k) << 2)));
        i += n;
      }
      if (runStart < width && runLen >= MINRUN) {
        store<u8>(o++, <u8>(128 + runLen));
        store<u8>(o++, load<u8>(base + (<usize>runStart << 2)));
        i = runStart + runLen;
      }
    }
  }
  return <i32>(o - out);
}
