// In-place radix-2 complex FFT and a 2-D FFT over power-of-two sizes (phase correlation only
// needs these; no dependency for it).

export function fft1d(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!; re[i] = re[j]!; re[j] = t;
      t = im[i]!; im[i] = im[j]!; im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      const half = len >> 1;
      for (let k = 0; k < half; k++) {
        const a = i + k, b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr; im[b] = im[a]! - xi;
        re[a] += xr; im[a] += xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  if (inverse) for (let i = 0; i < n; i++) { re[i]! /= n; im[i]! /= n; }
}

/** 2-D FFT of an n×n (power of two) complex array stored row-major. */
export function fft2d(re: Float64Array, im: Float64Array, n: number, inverse = false): void {
  const rr = new Float64Array(n), ri = new Float64Array(n);
  for (let y = 0; y < n; y++) {
    const o = y * n;
    rr.set(re.subarray(o, o + n)); ri.set(im.subarray(o, o + n));
    fft1d(rr, ri, inverse);
    re.set(rr, o); im.set(ri, o);
  }
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) { rr[y] = re[y * n + x]!; ri[y] = im[y * n + x]!; }
    fft1d(rr, ri, inverse);
    for (let y = 0; y < n; y++) { re[y * n + x] = rr[y]!; im[y * n + x] = ri[y]!; }
  }
}
