// Bilinear debayer of colour-filter-array mosaics (RGGB, BGGR, GRBG, GBRG): each missing colour is
// the mean of the same-colour neighbours in the 3×3 window (2 or 4 of them). Borders reflect without
// repeating the edge (x=-1 → x=1), which keeps the Bayer parity, so every site sees full neighbours.
// Strips: a row needs the rows above and below (a 1-row halo). StripDebayer keeps that halo itself: feed
// it mosaic strips in order, it returns RGB rows as soon as their lower neighbour has arrived (so its
// output lags its input by one row) and the last row at finish().
import { ImageFormatError, type ImageF32, type ImageMeta } from './types.js';
import type { RowBatch, RowSource } from './formats.js';

export type BayerPattern = 'RGGB' | 'BGGR' | 'GRBG' | 'GBRG';
export const BAYER_PATTERNS: readonly BayerPattern[] = ['RGGB', 'BGGR', 'GRBG', 'GBRG'];

/** Colour index (0 R, 1 G, 2 B) at each of the 4 sites, indexed (y&1)*2 + (x&1). */
function siteColours(pattern: BayerPattern): number[] {
  return [...pattern].map((ch) => (ch === 'R' ? 0 : ch === 'G' ? 1 : 2));
}

/** Pattern seen from an origin shifted by (dx, dy) pixels (FITS XBAYROFF/YBAYROFF, crops at odd offsets). */
export function shiftPattern(pattern: BayerPattern, dx: number, dy: number): BayerPattern {
  const p = [...pattern];
  const at = (x: number, y: number) => p[((y & 1) << 1) | (x & 1)]!;
  return (at(dx, dy) + at(dx + 1, dy) + at(dx, dy + 1) + at(dx + 1, dy + 1)) as BayerPattern;
}

export function parseBayerPattern(value: unknown, where = 'BAYERPAT'): BayerPattern {
  const v = String(value ?? '').trim().toUpperCase();
  if (!(BAYER_PATTERNS as readonly string[]).includes(v)) throw new Error(`${where}: unknown Bayer pattern '${String(value)}' (RGGB|BGGR|GRBG|GBRG)`);
  return v as BayerPattern;
}

/** Pattern from FITS cards (BAYERPAT or COLORTYP, shifted by XBAYROFF/YBAYROFF), or null for mono data. */
export function bayerPatternFromCards(cards: ImageMeta): BayerPattern | null {
  const raw = cards.BAYERPAT ?? cards.COLORTYP;
  if (raw === undefined) return null;
  const v = String(raw).trim().toUpperCase();
  if (!(BAYER_PATTERNS as readonly string[]).includes(v)) return null;
  const dx = Number(cards.XBAYROFF ?? 0) || 0;
  const dy = Number(cards.YBAYROFF ?? 0) || 0;
  return shiftPattern(v as BayerPattern, dx, dy);
}

const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);

/**
 * Debayer one row: `up`, `mid`, `down` are mosaic rows (width samples) at y-1, y, y+1 (already
 * reflected at the image edges); writes width RGB pixels to out at outOffset.
 */
export function debayerRow(up: Float32Array, mid: Float32Array, down: Float32Array, y: number, width: number, pattern: BayerPattern, out: Float32Array, outOffset: number): void {
  const sites = siteColours(pattern);
  const row = (y & 1) << 1;
  for (let x = 0; x < width; x++) {
    const c = sites[row | (x & 1)]!;
    const l = reflect(x - 1, width);
    const r = reflect(x + 1, width);
    const o = outOffset + x * 3;
    const centre = mid[x]!;
    const horiz = (mid[l]! + mid[r]!) * 0.5;
    const vert = (up[x]! + down[x]!) * 0.5;
    const cross = (mid[l]! + mid[r]! + up[x]! + down[x]!) * 0.25;
    const diag = (up[l]! + up[r]! + down[l]! + down[r]!) * 0.25;
    if (c === 1) {
      // green site: the horizontal neighbours carry this row's other colour, the vertical ones the other
      const hc = sites[row | ((x + 1) & 1)]!;
      out[o + 1] = centre;
      out[o + hc] = horiz;
      out[o + (2 - hc)] = vert;
    } else {
      out[o + c] = centre;
      out[o + 1] = cross;
      out[o + (2 - c)] = diag;
    }
  }
}

export function debayerImage(img: ImageF32, pattern: BayerPattern): ImageF32 {
  if (img.channels !== 1) throw new Error(`debayer needs a 1-channel mosaic, got ${img.channels} channels`);
  const { width, height } = img;
  if (width < 2 || height < 2) throw new Error(`debayer needs at least 2×2 pixels, got ${width}×${height}`);
  const out = new Float32Array(width * height * 3);
  const row = (y: number) => img.data.subarray(reflect(y, height) * width, reflect(y, height) * width + width);
  for (let y = 0; y < height; y++) debayerRow(row(y - 1), row(y), row(y + 1), y, width, pattern, out, y * width * 3);
  return { width, height, channels: 3, bitDepth: img.bitDepth, data: out };
}

/** Streaming debayer over mosaic strips; see the file comment for the one-row lag. */
export class StripDebayer {
  private prev: Float32Array | null = null; // row y-1
  private cur: Float32Array | null = null; // row y (waiting for y+1)
  private y = 0; // index of `cur`
  private received = 0;

  constructor(readonly width: number, readonly height: number, readonly pattern: BayerPattern) {
    if (width < 2 || height < 2) throw new Error(`debayer needs at least 2×2 pixels, got ${width}×${height}`);
  }

  /** Add `rows` mosaic rows; returns the RGB rows completed by them (first row index y0). */
  push(strip: Float32Array, rows: number): { y0: number; rows: number; data: Float32Array } {
    const w = this.width;
    if (this.received + rows > this.height) throw new Error(`debayer: more rows than the height ${this.height}`);
    const y0 = this.y;
    const out = new Float32Array(rows * w * 3);
    let done = 0;
    for (let r = 0; r < rows; r++) {
      const next = strip.slice(r * w, (r + 1) * w);
      this.received++;
      if (!this.cur) {
        this.cur = next;
        continue;
      }
      // y=0: the row above reflects to row 1, which is `next`
      debayerRow(this.prev ?? next, this.cur, next, this.y, w, this.pattern, out, done * w * 3);
      done++;
      this.prev = this.cur;
      this.cur = next;
      this.y++;
    }
    return { y0, rows: done, data: done === rows ? out : out.subarray(0, done * w * 3) };
  }

  /** The last row (its lower neighbour reflects to the row above). */
  finish(): { y0: number; rows: number; data: Float32Array } {
    if (this.received !== this.height) throw new Error(`debayer: got ${this.received} of ${this.height} rows`);
    const out = new Float32Array(this.width * 3);
    debayerRow(this.prev!, this.cur!, this.prev!, this.y, this.width, this.pattern, out, 0);
    const y0 = this.y;
    this.y++;
    this.cur = null;
    return { y0, rows: 1, data: out };
  }
}

/** A 3-channel RowSource over a mosaic RowSource (reads one row ahead of what it returns). */
export function debayerRowSource(src: RowSource, pattern: BayerPattern): RowSource {
  if (src.channels !== 1) throw new ImageFormatError(src.path, `debayer needs a 1-channel mosaic, got ${src.channels} channels`);
  const deb = new StripDebayer(src.width, src.height, pattern);
  let finished = false;
  return {
    path: src.path,
    width: src.width,
    height: src.height,
    channels: 3,
    bitDepth: src.bitDepth,
    meta: src.meta,
    async readRows(maxRows: number): Promise<RowBatch | null> {
      if (finished) return null;
      for (;;) {
        const b = await src.readRows(Math.max(1, Math.floor(maxRows)));
        if (!b) {
          finished = true;
          return deb.finish();
        }
        const out = deb.push(b.data, b.rows);
        if (out.rows > 0) return out;
      }
    },
    close: () => src.close(),
  };
}
