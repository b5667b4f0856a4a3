// Textbook RGBE encoder (frexp via log2/pow), kept only as the oracle the production encoder in
// pipeline/image/radiance.ts (exponent-bit frexp) must match byte for byte.

/** Encode `width` pixels (RGB floats, or mono replicated) to RGBE quadruples. */
export function encodeRgbe(src: Float32Array, offset: number, channels: number, width: number, out: Uint8Array): void {
  for (let x = 0, s = offset, o = 0; x < width; x++, s += channels, o += 4) {
    const r = Math.max(0, src[s]!);
    const g = channels >= 3 ? Math.max(0, src[s + 1]!) : r;
    const b = channels >= 3 ? Math.max(0, src[s + 2]!) : r;
    const v = Math.max(r, g, b);
    if (!(v > 1e-32) || !Number.isFinite(v)) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    // frexp: v = m·2^e with m in [0.5, 1)
    let e = Math.floor(Math.log2(v)) + 1;
    let m = v / 2 ** e;
    if (m >= 1) { m /= 2; e++; } else if (m < 0.5) { m *= 2; e--; }
    if (e > 127) { out[o] = out[o + 1] = out[o + 2] = 255; out[o + 3] = 255; continue; }
    if (e < -128) { out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0; continue; }
    const scale = (m * 256) / v;
    out[o] = Math.min(255, Math.floor(r * scale));
    out[o + 1] = Math.min(255, Math.floor(g * scale));
    out[o + 2] = Math.min(255, Math.floor(b * scale));
    out[o + 3] = e + 128;
  }
}
