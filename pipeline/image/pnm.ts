// Netpbm headers (P5 PGM, P6 PPM, P7 PAM) and sample conversion: the lingua franca of the decoder and
// encoder processes (djpeg, tifftopnm, dcraw, cjpeg) the row streams talk to.

export interface PnmHeader {
  width: number;
  height: number;
  /** Samples per pixel as stored (PAM may carry alpha). */
  depth: number;
  maxval: number;
  /** Bytes consumed by the header. */
  headerBytes: number;
  tupleType: string;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0b, 0x0c]);

/**
 * Parse a PNM/PAM header at the start of `buf`; null when more bytes are needed.
 * Throws a plain Error (the caller names the file) when the bytes are not PNM.
 */
export function parsePnmHeader(buf: Uint8Array): PnmHeader | null {
  if (buf.length < 2) return null;
  if (buf[0] !== 0x50 /* P */) throw new Error('decoder output is not PNM');
  const kind = buf[1];
  if (kind === 0x37 /* 7 */) return parsePam(buf);
  if (kind !== 0x35 && kind !== 0x36) throw new Error(`unsupported PNM kind P${String.fromCharCode(kind!)}`);
  const fields: number[] = [];
  let i = 2;
  while (fields.length < 3) {
    // skip whitespace and comments
    for (;;) {
      if (i >= buf.length) return null;
      if (WS.has(buf[i]!)) i++;
      else if (buf[i] === 0x23) {
        while (i < buf.length && buf[i] !== 0x0a) i++;
        if (i >= buf.length) return null;
      } else break;
    }
    let v = 0;
    let digits = 0;
    while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
      v = v * 10 + buf[i]! - 0x30;
      i++;
      digits++;
    }
    if (i >= buf.length) return null;
    if (!digits) throw new Error('malformed PNM header');
    fields.push(v);
  }
  if (i >= buf.length) return null;
  if (!WS.has(buf[i]!)) throw new Error('malformed PNM header');
  const [width, height, maxval] = fields as [number, number, number];
  return checked({ width, height, maxval, depth: kind === 0x35 ? 1 : 3, headerBytes: i + 1, tupleType: kind === 0x35 ? 'GRAYSCALE' : 'RGB' });
}

function parsePam(buf: Uint8Array): PnmHeader | null {
  const end = Buffer.from(buf.buffer, buf.byteOffset, buf.length).indexOf('ENDHDR\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length > 4096) throw new Error('PAM header too long');
    return null;
  }
  const text = Buffer.from(buf.buffer, buf.byteOffset, end).toString('latin1');
  const h: Record<string, string> = {};
  for (const line of text.split('\n').slice(1)) {
    const m = /^\s*([A-Z]+)\s+(.*?)\s*$/.exec(line);
    if (m) h[m[1]!] = m[2]!;
  }
  return checked({
    width: Number(h.WIDTH),
    height: Number(h.HEIGHT),
    depth: Number(h.DEPTH),
    maxval: Number(h.MAXVAL),
    headerBytes: end + 7,
    tupleType: h.TUPLTYPE ?? '',
  });
}

function checked(h: PnmHeader): PnmHeader {
  if (!(h.width > 0 && h.height > 0 && h.depth >= 1 && h.depth <= 4 && h.maxval >= 1 && h.maxval <= 65535)) {
    throw new Error(`bad PNM header (${h.width}x${h.height} depth ${h.depth} maxval ${h.maxval})`);
  }
  return h;
}

export function pnmBytesPerSample(h: Pick<PnmHeader, 'maxval'>): 1 | 2 {
  return h.maxval > 255 ? 2 : 1;
}

/**
 * Convert `pixels` PNM pixels (big-endian samples) to normalised floats with `outChannels` channels:
 * alpha dropped (depth 2→1, 4→3), RGB→luminance when outChannels is 1 and the source has colour.
 */
export function pnmToFloat(h: PnmHeader, src: Uint8Array, pixels: number, out: Float32Array, outChannels: number): void {
  const bps = pnmBytesPerSample(h);
  const d = h.depth;
  const inv = 1 / h.maxval;
  const colour = d >= 3;
  // Fast paths (the common case by far): every sample kept, in order.
  if (d === outChannels) {
    const n = pixels * d;
    if (bps === 1) {
      const lut = byteLut(h.maxval);
      for (let i = 0; i < n; i++) out[i] = lut[src[i]!]!;
    } else {
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = ((src[j]! << 8) | src[j + 1]!) * inv;
    }
    return;
  }
  const sample = bps === 1 ? (i: number) => src[i]! : (i: number) => (src[i * 2]! << 8) | src[i * 2 + 1]!;
  for (let p = 0, s = 0, o = 0; p < pixels; p++, s += d, o += outChannels) {
    if (!colour) {
      out[o] = sample(s) * inv;
    } else if (outChannels === 1) {
      out[o] = (0.2126 * sample(s) + 0.7152 * sample(s + 1) + 0.0722 * sample(s + 2)) * inv;
    } else {
      out[o] = sample(s) * inv;
      out[o + 1] = sample(s + 1) * inv;
      out[o + 2] = sample(s + 2) * inv;
    }
  }
}

const luts = new Map<number, Float32Array>();
function byteLut(maxval: number): Float32Array {
  let lut = luts.get(maxval);
  if (!lut) {
    lut = new Float32Array(256);
    for (let i = 0; i < 256; i++) lut[i] = i / maxval;
    luts.set(maxval, lut);
  }
  return lut;
}

/** Encode interleaved floats (clipped to 0..1) as PNM samples, 8 or 16 bits big-endian. */
export function floatToPnm(src: Float32Array, count: number, bytesPerSample: 1 | 2, out: Uint8Array): void {
  if (bytesPerSample === 1) {
    for (let i = 0; i < count; i++) {
      const v = src[i]!;
      out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
    }
  } else {
    for (let i = 0; i < count; i++) {
      const v = src[i]!;
      const q = v <= 0 ? 0 : v >= 1 ? 65535 : Math.round(v * 65535);
      out[2 * i] = q >> 8;
      out[2 * i + 1] = q & 255;
    }
  }
}

export function pnmHeaderText(width: number, height: number, channels: number, maxval: number): string {
  return `P${channels === 1 ? 5 : 6}\n${width} ${height}\n${maxval}\n`;
}
