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
