// AssemblyScript — the Debevec merge's second pass: Reinhard's global operator from the spooled
// 16-bit lnE codes straight to the JPEG encoder's 8-bit samples. The reference is
// pipeline/hdr/tonemap.ts's toneMapCodes followed by pipeline/image/pnm.ts's floatToPnm (1 byte a
// sample), and this equals it byte for byte: the same f64 arithmetic in the same order (WebAssembly
// has no fused multiply-add), the display value rounded to f32 as the Float32Array between the two
// steps does, and Math.round's ties toward +∞.
//
// Memory is imported and shared (see debevec.ts); every band reads and writes its own sample range.

// Samples [start, end) (pixel-aligned) of `codes` (u16) → bytes at `out`. expLut: 65536 f32 =
// exp(lnE) of each code; gamma: (top + 2) f32 of v^(1/γ) over u = √v; a = key / log-average
// luminance; w2 = (a·L_white)².
export function toneMapBytes(codes: usize, start: i32, end: i32, channels: i32, expLut: usize, gamma: usize, top: i32, a: f64, w2: f64, out: usize): void {
  const ftop = <f64>top;
  for (let p = start; p < end; p += channels) {
    const cp = codes + (<usize>p << 1);
    let L: f64;
    if (channels >= 3) {
      const r = <f64>load<f32>(expLut + (<usize>load<u16>(cp) << 2));
      const g = <f64>load<f32>(expLut + (<usize>load<u16>(cp, 2) << 2));
      const b = <f64>load<f32>(expLut + (<usize>load<u16>(cp, 4) << 2));
      L = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    } else L = <f64>load<f32>(expLut + (<usize>load<u16>(cp) << 2));
    const Ls = a * L;
    const ratio = L > 0 ? (a * (1 + Ls / w2)) / (1 + Ls) : 0;
    for (let c = 0; c < channels; c++) {
      const v = <f64>load<f32>(expLut + (<usize>load<u16>(cp + (<usize>c << 1)) << 2)) * ratio;
      let d: f32;
      if (v <= 0) d = 0;
      else if (v >= 1) d = 1;
      else {
        const x = Math.sqrt(v) * ftop;
        const k = <i32>x;
        const g0 = <f64>load<f32>(gamma + (<usize>k << 2));
        const g1 = <f64>load<f32>(gamma + (<usize>(k + 1) << 2));
        d = <f32>(g0 + (x - <f64>k) * (g1 - g0));
      }
      // floatToPnm, 8 bits: clamp, then Math.round(v·255).
      let q: i32;
      if (d <= 0) q = 0;
      else if (d >= 1) q = 255;
      else {
        const y = <f64>d * 255;
        let r = Math.floor(y);
        if (y - r >= 0.5) r += 1;
        q = <i32>r;
      }
      store<u8>(out + <usize>(p + c), <u8>q);
    }
  }
}

export { heapBase } from './lib/heap';
