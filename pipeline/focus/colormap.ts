// Jet colour map (what focus_response's heat maps use) and alpha blending onto an RGB8 image.
export function jet(v: number): [number, number, number] {
  const t = v < 0 ? 0 : v > 1 ? 1 : v;
  const r = clamp01(1.5 - Math.abs(4 * t - 3));
  const g = clamp01(1.5 - Math.abs(4 * t - 2));
  const b = clamp01(1.5 - Math.abs(4 * t - 1));
  return [r * 255, g * 255, b * 255];
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

const LUT = (() => {
  const t = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = jet(i / 255);
    t[i * 3] = Math.round(r);
    t[i * 3 + 1] = Math.round(g);
    t[i * 3 + 2] = Math.round(b);
  }
  return t;
})();

/** Blend jet(density) over rows of an RGB8 image in place; alpha grows with density so cold areas stay readable. */
export function overlayHeat(rgb: Uint8Array, channels: number, density: Float32Array, offsetPx: number, alphaMax = 0.6): void {
  for (let i = 0; i < density.length; i++) {
    const d = density[i]!;
    const k = Math.max(0, Math.min(255, Math.round(d * 255)));
    const a = alphaMax * (0.25 + 0.75 * (k / 255));
    const p = (offsetPx + i) * channels;
    for (let c = 0; c < 3; c++) {
      const src = channels === 1 ? rgb[(offsetPx + i) * channels]! : rgb[p + c]!;
      rgb[p + c] = Math.round(src * (1 - a) + LUT[k * 3 + c]! * a);
    }
  }
}

/** jet(density) blended over float rows (grey or RGB, 0..1) → RGB float rows for a row sink. */
export function overlayHeatRows(px: Float32Array, channels: number, density: Float32Array, alphaMax = 0.6): Float32Array {
  const out = new Float32Array(density.length * 3);
  for (let i = 0; i < density.length; i++) {
    const k = Math.max(0, Math.min(255, Math.round(density[i]! * 255)));
    const a = alphaMax * (0.25 + 0.75 * (k / 255));
    for (let c = 0; c < 3; c++) {
      const src = channels === 1 ? px[i]! : px[i * channels + c]!;
      out[i * 3 + c] = src * (1 - a) + (LUT[k * 3 + c]! / 255) * a;
    }
  }
  return out;
}

/** Plain jet colour map of density rows (0..1) → RGB float rows: focus_response's kde_vis image. */
export function jetRows(density: Float32Array): Float32Array {
  const out = new Float32Array(density.length * 3);
  for (let i = 0; i < density.length; i++) {
    const k = Math.max(0, Math.min(255, Math.round(density[i]! * 255)));
    for (let c = 0; c < 3; c++) out[i * 3 + c] = LUT[k * 3 + c]! / 255;
  }
  return out;
}

// The same pictures as bytes (what jetRows/overlayHeatRows give after the PNG sink's float → 8-bit
// step, floatToPnm: v ≤ 0 → 0, v ≥ 1 → 255, else round(v·255) of the f32 sample), by table lookups on
// 8-bit heat indices and 8-bit image codes: no float rows, no per-sample arithmetic.

const byteOfF32 = (v: number): number => {
  const f = Math.fround(v);
  return f <= 0 ? 0 : f >= 1 ? 255 : Math.round(f * 255);
};

/** The heat index of each density (0..1) sample: clamp(round(d·255)), the jet LUT's row. */
export function heatIndices(density: Float32Array, out: Uint8Array): Uint8Array {
  for (let i = 0; i < density.length; i++) {
    const k = Math.round(density[i]! * 255);
    out[i] = k <= 0 ? 0 : k >= 255 ? 255 : k;
  }
  return out;
}

/** jetRows' 256 colours as bytes: a PNG palette whose indices are heatIndices. */
export function jetPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  for (let i = 0; i < p.length; i++) p[i] = byteOfF32(LUT[i]! / 255);
  return p;
}

/** An 8-bit code's float as the decoders give it (pnm.ts byteLut: code / 255 in f32). */
const CODE_F32 = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** overlayHeatRows' output byte for heat index k, channel c, source sample s: at ((k·3 + c)·256 + s). */
export function overlayTable(alphaMax = 0.6): Uint8Array {
  const t = new Uint8Array(256 * 3 * 256);
  for (let k = 0; k < 256; k++) {
    const a = alphaMax * (0.25 + 0.75 * (k / 255));
    for (let c = 0; c < 3; c++) {
      const j = LUT[k * 3 + c]! / 255;
      for (let s = 0; s < 256; s++) t[(k * 3 + c) * 256 + s] = byteOfF32(CODE_F32[s]! * (1 - a) + j * a);
    }
  }
  return t;
}

/** overlayHeatRows as bytes, from `n` pixels of 8-bit codes (1 or 3 channels) and their heat indices. */
export function overlayHeatCodes(codes: Uint8Array, channels: number, k: Uint8Array, n: number, table: Uint8Array, out: Uint8Array): Uint8Array {
  if (channels === 3) {
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      const row = k[i]! * 768;
      out[p] = table[row + codes[p]!]!;
      out[p + 1] = table[row + 256 + codes[p + 1]!]!;
      out[p + 2] = table[row + 512 + codes[p + 2]!]!;
    }
  } else {
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      const row = k[i]! * 768;
      const s = codes[i]!;
      out[p] = table[row + s]!;
      out[p + 1] = table[row + 256 + s]!;
      out[p + 2] = table[row + 512 + s]!;
    }
  }
  return out;
}

/**
 * overlayHeatRows as bytes from float rows of any source: the table where a sample is exactly an
 * 8-bit code's float, overlayHeatRows' own arithmetic otherwise (16-bit and float images).
 */
export function overlayHeatFloats(px: Float32Array, channels: number, k: Uint8Array, n: number, table: Uint8Array, out: Uint8Array, alphaMax = 0.6): Uint8Array {
  for (let i = 0; i < n; i++) {
    const ki = k[i]!;
    for (let c = 0; c < 3; c++) {
      const src = channels === 1 ? px[i]! : px[i * channels + c]!;
      const s = Math.round(src * 255);
      if (s >= 0 && s <= 255 && CODE_F32[s] === src) out[i * 3 + c] = table[(ki * 3 + c) * 256 + s]!;
      else {
        const a = alphaMax * (0.25 + 0.75 * (ki / 255));
        out[i * 3 + c] = byteOfF32(src * (1 - a) + (LUT[ki * 3 + c]! / 255) * a);
      }
    }
  }
  return out;
}
