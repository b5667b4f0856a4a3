// AssemblyScript (built to pipeline/kernels/focusmap.wasm) — the focus map's hot loops with 128-bit
// SIMD: the Ring Difference Filter over prefix sums, the per-scale normalise-and-fuse, the KDE's box
// passes and the log-binned histograms. References, which these equal bit for bit (same f64
// operations in the same order, f32 on store):
//   prefixRows, rdfRows   pipeline/focus/rdf.ts rdfBand
//   fuseRows              pipeline/focus/rdf.ts fuseScales
//   boxRows, boxCols      pipeline/focus/gaussian.ts boxGaussianBand (boxLine)
//   impulseRows           pipeline/focus/kde.ts impulses
//   histAdd               pipeline/focus/quantiles.ts LogHistogram.add — log10 is this library's,
//                         so a value within an ulp of a bin edge may land in the next bin.
// Every function works on a row (or column) range, so threads split a band over the shared memory.

@inline
function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

@inline
function d(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

/**
 * Prefix sums (f64) of border-extended rows: prefix row r (stride ew + 1, ew = w + 2R) from band
 * storage row `first + r`; `cols` is the border table (ew i32, −1 = zero) for columns −R..w−1+R.
 */
export function prefixRows(band: usize, w: i32, R: i32, cols: usize, prefix: usize, first: i32, r0: i32, r1: i32): void {
  const ew = w + 2 * R;
  for (let r = r0; r < r1; r++) {
    const src = band + (<usize>((first + r) * w) << 2);
    const o = prefix + (<usize>(r * (ew + 1)) << 3);
    let acc: f64 = 0;
    store<f64>(o, 0);
    for (let k = 0; k < ew; k++) {
      const c = load<i32>(cols + (<usize>k << 2));
      acc += c < 0 ? 0 : f(src, c);
      store<f64>(o + (<usize>(k + 1) << 3), acc);
    }
  }
}

/**
 * prefixRows straight from the plane's 8- or 16-bit codes (`bpc` bytes each; band storage row r at
 * codes + r·w·bpc): `lut` (f32 per code) holds what plane.ts bandFromPlane would have stored, so the
 * sums are the same without the float band.
 */
export function prefixCodeRows(codes: usize, bpc: i32, lut: usize, w: i32, R: i32, cols: usize, prefix: usize, r0: i32, r1: i32): void {
  const ew = w + 2 * R;
  for (let r = r0; r < r1; r++) {
    const src = codes + <usize>(r * w * bpc);
    const o = prefix + (<usize>(r * (ew + 1)) << 3);
    let acc: f64 = 0;
    store<f64>(o, 0);
    if (bpc == 1) {
      for (let k = 0; k < ew; k++) {
        const c = load<i32>(cols + (<usize>k << 2));
        acc += c < 0 ? 0 : f(lut, <i32>load<u8>(src + <usize>c));
        store<f64>(o + (<usize>(k + 1) << 3), acc);
      }
    } else {
      for (let k = 0; k < ew; k++) {
        const c = load<i32>(cols + (<usize>k << 2));
        acc += c < 0 ? 0 : f(lut, <i32>load<u16>(src + (<usize>c << 1)));
        store<f64>(o + (<usize>(k + 1) << 3), acc);
      }
    }
  }
}

/**
 * RDF of one (inner, outer) pair for output rows [y0, y1) of the band (w wide): ring mean minus
 * disk mean from the prefix rows (prefix row of output row y's centre is y + R). hwIn/hwOut are the
 * disks' half widths (i32, 2r+1 each). constant = 1: counts are the in-image coverage (`inside`: u8
 * per band storage row, `halo` the band's halo).
 */
export function rdfRows(prefix: usize, w: i32, R: i32, ri: i32, ro: i32, hwIn: usize, hwOut: usize, nIn: f64, nOut: f64, power: i32, constant: i32, inside: usize, halo: i32, out: usize, y0: i32, y1: i32): void {
  const stride = w + 2 * R + 1;
  for (let y = y0; y < y1; y++) {
    const rowC = y + R;
    const o = out + (<usize>(y * w) << 2);
    let x = 0;
    if (!constant) {
      const ring = nOut - nIn;
      const ok = ring > 0 && nIn > 0;
      const vRing = f64x2.splat(ring);
      const vIn = f64x2.splat(nIn);
      // Four pixels per step, two f64x2 chains each for the ring and the disk: the sums are chains of
      // dependent adds (latency-bound), so independent chains run side by side. Same order per pixel.
      for (; x + 4 <= w; x += 4) {
        const xc = x + R;
        let sInA = f64x2.splat(0);
        let sOutA = f64x2.splat(0);
        let sInB = f64x2.splat(0);
        let sOutB = f64x2.splat(0);
        let dy = -ro;
        for (; dy < -ri; dy++) {
          const p = prefix + (<usize>((rowC + dy) * stride) << 3);
          const h = load<i32>(hwOut + (<usize>(dy + ro) << 2));
          const a = p + (<usize>(xc + h + 1) << 3);
          const b = p + (<usize>(xc - h) << 3);
          sOutA = f64x2.add(sOutA, f64x2.sub(v128.load(a), v128.load(b)));
          sOutB = f64x2.add(sOutB, f64x2.sub(v128.load(a, 16), v128.load(b, 16)));
        }
        for (; dy <= ri; dy++) {
          const p = prefix + (<usize>((rowC + dy) * stride) << 3);
          const h = load<i32>(hwOut + (<usize>(dy + ro) << 2));
          const a = p + (<usize>(xc + h + 1) << 3);
          const b = p + (<usize>(xc - h) << 3);
          sOutA = f64x2.add(sOutA, f64x2.sub(v128.load(a), v128.load(b)));
          sOutB = f64x2.add(sOutB, f64x2.sub(v128.load(a, 16), v128.load(b, 16)));
          const hi = load<i32>(hwIn + (<usize>(dy + ri) << 2));
          const c = p + (<usize>(xc + hi + 1) << 3);
          const e = p + (<usize>(xc - hi) << 3);
          sInA = f64x2.add(sInA, f64x2.sub(v128.load(c), v128.load(e)));
          sInB = f64x2.add(sInB, f64x2.sub(v128.load(c, 16), v128.load(e, 16)));
        }
        for (; dy <= ro; dy++) {
          const p = prefix + (<usize>((rowC + dy) * stride) << 3);
          const h = load<i32>(hwOut + (<usize>(dy + ro) << 2));
          const a = p + (<usize>(xc + h + 1) << 3);
          const b = p + (<usize>(xc - h) << 3);
          sOutA = f64x2.add(sOutA, f64x2.sub(v128.load(a), v128.load(b)));
          sOutB = f64x2.add(sOutB, f64x2.sub(v128.load(a, 16), v128.load(b, 16)));
        }
        let dA = ok ? f64x2.sub(f64x2.div(f64x2.sub(sOutA, sInA), vRing), f64x2.div(sInA, vIn)) : f64x2.splat(0);
        let dB = ok ? f64x2.sub(f64x2.div(f64x2.sub(sOutB, sInB), vRing), f64x2.div(sInB, vIn)) : f64x2.splat(0);
        dA = power == 1 ? f64x2.abs(dA) : f64x2.mul(dA, dA);
        dB = power == 1 ? f64x2.abs(dB) : f64x2.mul(dB, dB);
        v128.store(o + (<usize>x << 2), i64x2.shuffle(f32x4.demote_f64x2_zero(dA), f32x4.demote_f64x2_zero(dB), 0, 2));
      }
      for (; x + 2 <= w; x += 2) {
        const xc = x + R;
        let sIn = f64x2.splat(0);
        let sOut = f64x2.splat(0);
        for (let dy = -ro; dy <= ro; dy++) {
          const p = prefix + (<usize>((rowC + dy) * stride) << 3);
          const h = load<i32>(hwOut + (<usize>(dy + ro) << 2));
          sOut = f64x2.add(sOut, f64x2.sub(v128.load(p + (<usize>(xc + h + 1) << 3)), v128.load(p + (<usize>(xc - h) << 3))));
          if (dy >= -ri && dy <= ri) {
            const hi = load<i32>(hwIn + (<usize>(dy + ri) << 2));
            sIn = f64x2.add(sIn, f64x2.sub(v128.load(p + (<usize>(xc + hi + 1) << 3)), v128.load(p + (<usize>(xc - hi) << 3))));
          }
        }
        let dv = ok ? f64x2.sub(f64x2.div(f64x2.sub(sOut, sIn), vRing), f64x2.div(sIn, vIn)) : f64x2.splat(0);
        dv = power == 1 ? f64x2.abs(dv) : f64x2.mul(dv, dv);
        v128.store64_lane(o + (<usize>x << 2), f32x4.demote_f64x2_zero(dv), 0);
      }
    }
    for (; x < w; x++) {
      const xc = x + R;
      let sIn: f64 = 0;
      let sOut: f64 = 0;
      for (let dy = -ro; dy <= ro; dy++) {
        const p = prefix + (<usize>((rowC + dy) * stride) << 3);
        const h = load<i32>(hwOut + (<usize>(dy + ro) << 2));
        sOut += d(p, xc + h + 1) - d(p, xc - h);
        if (dy >= -ri && dy <= ri) {
          const hi = load<i32>(hwIn + (<usize>(dy + ri) << 2));
          sIn += d(p, xc + hi + 1) - d(p, xc - hi);
        }
      }
      let cIn = nIn;
      let cOut = nOut;
      if (constant) {
        cIn = coverage(inside, halo, y, x, w, ri, hwIn);
        cOut = coverage(inside, halo, y, x, w, ro, hwOut);
      }
      const cRing = cOut - cIn;
      const dd = cRing > 0 && cIn > 0 ? (sOut - sIn) / cRing - sIn / cIn : 0;
      store<f32>(o + (<usize>x << 2), <f32>(power == 1 ? Math.abs(dd) : dd * dd));
    }
  }
}

@inline
function coverage(inside: usize, halo: i32, y: i32, x: i32, w: i32, r: i32, hw: usize): f64 {
  let n = 0;
  for (let dy = -r; dy <= r; dy++) {
    if (!load<u8>(inside + <usize>(halo + y + dy))) continue;
    const h = load<i32>(hw + (<usize>(dy + r) << 2));
    n += min(x + h, w - 1) - max(x - h, 0) + 1;
  }
  return <f64>n;
}

/**
 * fuseScales over samples [start, end): fused = Σ_s max(0, (map_s − offset_s)·gain_s) (offset 0: no
 * clamp), each term added to the f32 sum in f64. `maps` holds `count` map addresses (i32),
 * `norms` (gain, offset) f64 pairs.
 */
export function fuseRows(maps: usize, norms: usize, count: i32, fused: usize, start: i32, end: i32): void {
  memory.fill(fused + (<usize>start << 2), 0, <usize>(end - start) << 2);
  for (let s = 0; s < count; s++) {
    const m = <usize>load<i32>(maps + (<usize>s << 2));
    const gain = load<f64>(norms + (<usize>(2 * s) << 3));
    const offset = load<f64>(norms + (<usize>(2 * s + 1) << 3));
    let i = start;
    if (offset == 0) {
      const g = f64x2.splat(gain);
      for (; i + 2 <= end; i += 2) {
        const a = fused + (<usize>i << 2);
        const v = f64x2.add(f64x2.promote_low_f32x4(v128.load64_zero(a)), f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(m + (<usize>i << 2))), g));
        v128.store64_lane(a, f32x4.demote_f64x2_zero(v), 0);
      }
      for (; i < end; i++) store<f32>(fused + (<usize>i << 2), <f32>(f(fused, i) + f(m, i) * gain));
    } else {
      for (; i < end; i++) {
        const v = (f(m, i) - offset) * gain;
        if (v > 0) store<f32>(fused + (<usize>i << 2), <f32>(f(fused, i) + v));
      }
    }
  }
}

/** kde.ts impulses in place over samples [start, end): v ≥ thr and v > 0 → 1 (or v with strength), else 0. */
export function impulseRows(p: usize, thr: f64, strength: i32, start: i32, end: i32): void {
  let i = start;
  if (!strength) {
    // v ≥ thr (f64 compare of the f32 sample) and v > 0 → 1.0f, else 0: two lanes of f64 per half
    const t = f64x2.splat(thr);
    const zero = f64x2.splat(0);
    const one = f32x4.splat(1);
    for (; i + 4 <= end; i += 4) {
      const a = p + (<usize>i << 2);
      const v = v128.load(a);
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      const mLo = v128.and(f64x2.ge(lo, t), f64x2.gt(lo, zero));
      const mHi = v128.and(f64x2.ge(hi, t), f64x2.gt(hi, zero));
      // the 64-bit masks → 32-bit lanes (low halves of each)
      const m = i32x4.shuffle(mLo, mHi, 0, 2, 4, 6);
      v128.store(a, v128.and(one, m));
    }
  }
  for (; i < end; i++) {
    const v = f(p, i);
    store<f32>(p + (<usize>i << 2), v >= thr && v > 0 ? (strength ? <f32>v : 1) : 0);
  }
}

/** One box pass (odd width, zeros outside) along n samples from `off` with `stride` (gaussian.ts boxLine). */
@inline
function boxLine(src: usize, dst: usize, off: i32, n: i32, stride: i32, width: i32): void {
  const r = width >> 1;
  const inv = 1 / <f64>width;
  let acc: f64 = 0;
  for (let i = 0; i <= r && i < n; i++) acc += f(src, off + i * stride);
  for (let i = 0; i < n; i++) {
    store<f32>(dst + (<usize>(off + i * stride) << 2), <f32>(acc * inv));
    const add = i + r + 1;
    const sub = i - r;
    if (add < n) acc += f(src, off + add * stride);
    if (sub >= 0) acc -= f(src, off + sub * stride);
  }
}

@inline
function pair(a: usize, b: usize, i: i32): v128 {
  return f64x2.replace_lane(f64x2.splat(f(a, i)), 1, f(b, i));
}

/**
 * Horizontal box pass over rows [y0, y1) of a w-wide plane, src → dst: four rows at a time, one
 * f64x2 lane per row (the running sum is a chain of dependent adds; four rows run side by side, each
 * with boxLine's own sequence of operations).
 */
export function boxRows(src: usize, dst: usize, w: i32, width: i32, y0: i32, y1: i32): void {
  const r = width >> 1;
  const inv = f64x2.splat(1 / <f64>width);
  const row = <usize>w << 2;
  let y = y0;
  for (; y + 4 <= y1; y += 4) {
    const a = src + <usize>(y * w) * 4;
    const b = a + row;
    const c = b + row;
    const e = c + row;
    const da = dst + <usize>(y * w) * 4;
    let accA = f64x2.splat(0);
    let accB = f64x2.splat(0);
    for (let i = 0; i <= r && i < w; i++) {
      accA = f64x2.add(accA, pair(a, b, i));
      accB = f64x2.add(accB, pair(c, e, i));
    }
    for (let i = 0; i < w; i++) {
      const qa = f32x4.demote_f64x2_zero(f64x2.mul(accA, inv));
      const qb = f32x4.demote_f64x2_zero(f64x2.mul(accB, inv));
      const o = da + (<usize>i << 2);
      store<f32>(o, f32x4.extract_lane(qa, 0));
      store<f32>(o + row, f32x4.extract_lane(qa, 1));
      store<f32>(o + 2 * row, f32x4.extract_lane(qb, 0));
      store<f32>(o + 3 * row, f32x4.extract_lane(qb, 1));
      const add = i + r + 1;
      const sub = i - r;
      if (add < w) {
        accA = f64x2.add(accA, pair(a, b, add));
        accB = f64x2.add(accB, pair(c, e, add));
      }
      if (sub >= 0) {
        accA = f64x2.sub(accA, pair(a, b, sub));
        accB = f64x2.sub(accB, pair(c, e, sub));
      }
    }
  }
  for (; y < y1; y++) boxLine(src, dst, y * w, w, 1, width);
}

/** Vertical box pass over columns [x0, x1) of a w × n plane, src → dst; two columns per f64x2. */
export function boxCols(src: usize, dst: usize, w: i32, n: i32, width: i32, x0: i32, x1: i32): void {
  const r = width >> 1;
  const inv = f64x2.splat(1 / <f64>width);
  let x = x0;
  // Eight columns per step: four independent add chains (the running sums are latency-bound).
  for (; x + 8 <= x1; x += 8) {
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
    for (let i = 0; i <= r && i < n; i++) {
      const v = v128.load(src + (<usize>(i * w + x) << 2));
      const u = v128.load(src + (<usize>(i * w + x + 4) << 2));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, promoteHigh(v));
      a2 = f64x2.add(a2, f64x2.promote_low_f32x4(u));
      a3 = f64x2.add(a3, promoteHigh(u));
    }
    for (let i = 0; i < n; i++) {
      const o = dst + (<usize>(i * w + x) << 2);
      v128.store(o, i64x2.shuffle(f32x4.demote_f64x2_zero(f64x2.mul(a0, inv)), f32x4.demote_f64x2_zero(f64x2.mul(a1, inv)), 0, 2));
      v128.store(o, i64x2.shuffle(f32x4.demote_f64x2_zero(f64x2.mul(a2, inv)), f32x4.demote_f64x2_zero(f64x2.mul(a3, inv)), 0, 2), 16);
      const add = i + r + 1;
      const sub = i - r;
      if (add < n) {
        const v = v128.load(src + (<usize>(add * w + x) << 2));
        const u = v128.load(src + (<usize>(add * w + x + 4) << 2));
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
        a1 = f64x2.add(a1, promoteHigh(v));
        a2 = f64x2.add(a2, f64x2.promote_low_f32x4(u));
        a3 = f64x2.add(a3, promoteHigh(u));
      }
      if (sub >= 0) {
        const v = v128.load(src + (<usize>(sub * w + x) << 2));
        const u = v128.load(src + (<usize>(sub * w + x + 4) << 2));
        a0 = f64x2.sub(a0, f64x2.promote_low_f32x4(v));
        a1 = f64x2.sub(a1, promoteHigh(v));
        a2 = f64x2.sub(a2, f64x2.promote_low_f32x4(u));
        a3 = f64x2.sub(a3, promoteHigh(u));
      }
    }
  }
  for (; x + 2 <= x1; x += 2) {
    let acc = f64x2.splat(0);
    for (let i = 0; i <= r && i < n; i++) acc = f64x2.add(acc, f64x2.promote_low_f32x4(v128.load64_zero(src + (<usize>(i * w + x) << 2))));
    for (let i = 0; i < n; i++) {
      v128.store64_lane(dst + (<usize>(i * w + x) << 2), f32x4.demote_f64x2_zero(f64x2.mul(acc, inv)), 0);
      const add = i + r + 1;
      const sub = i - r;
      if (add < n) acc = f64x2.add(acc, f64x2.promote_low_f32x4(v128.load64_zero(src + (<usize>(add * w + x) << 2))));
      if (sub >= 0) acc = f64x2.sub(acc, f64x2.promote_low_f32x4(v128.load64_zero(src + (<usize>(sub * w + x) << 2))));
    }
  }
  for (; x < x1; x++) boxLine(src, dst, x, n, w, width);
}

// LogHistogram's binning (quantiles.ts): 8192 bins over 1e-14..1e6, log-spaced.
const LOG_MIN: f64 = -14;
const BINS: i32 = 8192;
const PER_DECADE: f64 = <f64>8192 / 20;

/**
 * Add samples [start, end) to the histogram at `hist`: BINS f64 counts, then zeros, total and max
 * (f64 each). `cells` (u32, from `cell0`): for every run of 32768 consecutive f32 bit patterns (bits
 * >> 15), the bin of its first pattern (low 16 bits) and the offset in the run where the next bin
 * starts (high 16 bits; 32768: none), made by the caller with JavaScript's Math.log10 — the
 * reference's own binning, without a log10 per sample (0xffff: log10 here decides).
 * Counts go first to two u32 tables in `scratch` (2 × BINS, even and odd samples: neighbours often
 * share a bin, and one table would chain every increment on the previous one), then into `hist`.
 */
export function histAdd(p: usize, hist: usize, start: i32, end: i32, cells: usize, cell0: i32, cellCount: i32, scratch: usize): void {
  memory.fill(scratch, 0, <usize>BINS << 3);
  let zeros: i32 = 0;
  let mx = load<f64>(hist + (<usize>(BINS + 2) << 3));
  const odd = scratch + (<usize>BINS << 2);
  for (let i = start; i < end; i++) {
    const v = f(p, i);
    if (!(v > 1e-14)) {
      zeros++;
      continue;
    }
    if (v > mx) mx = v;
    const bits = load<u32>(p + (<usize>i << 2));
    const k = <i32>(bits >>> 15) - cell0;
    let b: i32;
    if (k >= cellCount) b = BINS - 1;
    else {
      const e = k >= 0 ? load<u32>(cells + (<usize>k << 2)) : 0xffff;
      b = <i32>(e & 0xffff);
      if (b != 0xffff) b += <i32>((bits & 0x7fff) >= e >>> 16);
      else {
        b = <i32>Math.floor((Math.log10(v) - LOG_MIN) * PER_DECADE);
        if (b >= BINS) b = BINS - 1;
      }
    }
    const at = (i & 1 ? odd : scratch) + (<usize>b << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  for (let b = 0; b < BINS; b++) {
    const n = load<u32>(scratch + (<usize>b << 2)) + load<u32>(odd + (<usize>b << 2));
    if (n) {
      const at = hist + (<usize>b << 3);
      store<f64>(at, load<f64>(at) + <f64>n);
    }
  }
  const z = hist + (<usize>BINS << 3);
  store<f64>(z, load<f64>(z) + <f64>zeros);
  store<f64>(z + 8, load<f64>(z + 8) + <f64>(end - start));
  store<f64>(z + 16, mx);
}

// The pictures (colormap.ts and map.ts references: visBytes, heatIndices, jetPalette,
// overlayHeatCodes; the PNG filters of png-sink.ts pngFilterRows), written straight as PNG
// scanlines: a filter byte, then the filtered row. Rounding is JavaScript's Math.round.

@inline
function jsRound(x: f64): f64 {
  const r = Math.floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

/** The row sinks' 8-bit step of an f32 sample: ≤ 0 (and NaN) → 0, ≥ 1 → 255, else round(v·255). */
@inline
function byteOf(v: f32): u32 {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  return <u32>jsRound(<f64>v * 255);
}

/**
 * Four values (two f64x2, already ×255) → clamp(jsRound(v), 0, 255) as four packed bytes (NaN → 0):
 * byteOf and the heat index, once the f32 step is done. Past 0..1 the clamp gives what the
 * reference's tests give (≤ 0 → 0, ≥ 1 → 255).
 */
@inline
function roundBytes4(lo: v128, hi: v128): u32 {
  const half = f64x2.splat(0.5);
  const one = f64x2.splat(1);
  let rl = f64x2.floor(lo);
  rl = f64x2.add(rl, v128.and(f64x2.ge(f64x2.sub(lo, rl), half), one));
  let rh = f64x2.floor(hi);
  rh = f64x2.add(rh, v128.and(f64x2.ge(f64x2.sub(hi, rh), half), one));
  let i = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(rl), i32x4.trunc_sat_f64x2_s_zero(rh), 0, 1, 4, 5);
  i = i32x4.min_s(i32x4.max_s(i, i32x4.splat(0)), i32x4.splat(255));
  const n16 = i16x8.narrow_i32x4_u(i, i);
  return i32x4.extract_lane(i8x16.narrow_i16x8_u(n16, n16), 0);
}

/** The high two f32 lanes of v as f64x2. */
@inline
function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
}

/** filter_vis rows [y0, y1): clip(v·scale, 0, 1) as f32 → bytes, filter None. src rows are w wide. */
export function visRows(src: usize, scale: f64, w: i32, scan: usize, y0: i32, y1: i32): void {
  const sc = f64x2.splat(scale);
  const k255 = f64x2.splat(255);
  for (let y = y0; y < y1; y++) {
    const s = src + (<usize>(y * w) << 2);
    const o = scan + <usize>(y * (w + 1));
    store<u8>(o, 0);
    let x = 0;
    for (; x + 4 <= w; x += 4) {
      const v = v128.load(s + (<usize>x << 2));
      // v·scale in f64, rounded to f32 (the clip to 0..1 is the byte clamp's), back to f64, ×255
      const f = i32x4.shuffle(f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), sc)), f32x4.demote_f64x2_zero(f64x2.mul(promoteHigh(v), sc)), 0, 1, 4, 5);
      store<u32>(o + 1 + <usize>x, roundBytes4(f64x2.mul(f64x2.promote_low_f32x4(f), k255), f64x2.mul(promoteHigh(f), k255)));
    }
    for (; x < w; x++) {
      const v = f(s, x) * scale;
      store<u8>(o + 1 + <usize>x, byteOf(<f32>(v >= 1 ? 1 : v <= 0 ? 0 : v)));
    }
  }
}

/**
 * Density rows [y0, y1) (w wide, in place): d = min(d, cap)·gain as f32, and its heat index
 * clamp(round(d·255)) into k rows (`k` points at row 0 of the band; row −1 is the row above).
 */
export function heatRows(dens: usize, cap: f64, gain: f64, w: i32, k: usize, y0: i32, y1: i32): void {
  const c = f64x2.splat(cap);
  const g = f64x2.splat(gain);
  const k255 = f64x2.splat(255);
  let i = y0 * w;
  const e = y1 * w;
  for (; i + 4 <= e; i += 4) {
    const at = dens + (<usize>i << 2);
    const v = v128.load(at);
    const d = i32x4.shuffle(f32x4.demote_f64x2_zero(f64x2.mul(f64x2.min(f64x2.promote_low_f32x4(v), c), g)), f32x4.demote_f64x2_zero(f64x2.mul(f64x2.min(promoteHigh(v), c), g)), 0, 1, 4, 5);
    v128.store(at, d);
    store<u32>(k + <usize>i, roundBytes4(f64x2.mul(f64x2.promote_low_f32x4(d), k255), f64x2.mul(promoteHigh(d), k255)));
  }
  for (; i < e; i++) {
    const at = dens + (<usize>i << 2);
    const d = <f32>(Math.min(<f64>load<f32>(at), cap) * gain);
    store<f32>(at, d);
    const r = jsRound(<f64>d * 255);
    store<u8>(k + <usize>i, !(r > 0) ? 0 : r >= 255 ? 255 : <u8>r);
  }
}

/** Palette scanlines of k rows [y0, y1), filter Up (row −1 of k: the row above, zeros at the top). */
export function upRows(k: usize, w: i32, scan: usize, y0: i32, y1: i32): void {
  for (let y = y0; y < y1; y++) {
    const r = k + <usize>(y * w);
    const o = scan + <usize>(y * (w + 1));
    store<u8>(o, 2);
    let x = 0;
    for (; x + 16 <= w; x += 16) v128.store(o + 1 + <usize>x, i8x16.sub(v128.load(r + <usize>x), v128.load(r + <usize>(x - w))));
    for (; x < w; x++) store<u8>(o + 1 + <usize>x, load<u8>(r + <usize>x) - load<u8>(r + <usize>(x - w)));
  }
}

/**
 * Overlay rows [y0, y1): table[(k·3 + c)·256 + code] for 8-bit codes (`channels` 1 or 3), as RGB
 * scanlines with filter Sub.
 */
export function overlayRows(codes: usize, channels: i32, k: usize, table: usize, w: i32, scan: usize, y0: i32, y1: i32): void {
  const stride = 3 * w + 1;
  for (let y = y0; y < y1; y++) {
    const kr = k + <usize>(y * w);
    const cr = codes + <usize>(y * w * channels);
    const o = scan + <usize>(y * stride);
    store<u8>(o, 1);
    let pr: u32 = 0, pg: u32 = 0, pb: u32 = 0;
    for (let x = 0; x < w; x++) {
      const t = table + <usize>(<u32>load<u8>(kr + <usize>x) * 768);
      let cR: u32, cG: u32, cB: u32;
      if (channels == 3) {
        const c = cr + <usize>(3 * x);
        cR = load<u8>(c);
        cG = load<u8>(c, 1);
        cB = load<u8>(c, 2);
      } else cR = cG = cB = load<u8>(cr + <usize>x);
      const r = <u32>load<u8>(t + cR);
      const g = <u32>load<u8>(t + 256 + cG);
      const b = <u32>load<u8>(t + 512 + cB);
      const q = o + 1 + <usize>(3 * x);
      store<u8>(q, r - pr);
      store<u8>(q, g - pg, 1);
      store<u8>(q, b - pb, 2);
      pr = r;
      pg = g;
      pb = b;
    }
  }
}

export { heapBase } from './lib/heap';
