// FITS primary-header peek: the cards, size and data offset of a file, without reading its data.
// Low level so that drivers (INDI frames) and the pipeline (FITS rows) both use it.
import { open } from 'node:fs/promises';
import { ImageFormatError } from './format-error.js';

export type FitsCardValue = string | number | boolean;

export const FITS_BLOCK = 2880;

export interface FitsHeader {
  bitpix: 8 | 16 | 32 | -32 | -64;
  width: number;
  height: number;
  planes: number;
  bzero: number;
  bscale: number;
  /** Byte offset of the data unit. */
  dataOffset: number;
  cards: Record<string, FitsCardValue>;
}

function parseCardValue(raw: string): string | number | boolean {
  const v = raw.trim();
  if (v.startsWith("'")) {
    const end = v.indexOf("'", 1);
    return v.slice(1, end < 0 ? undefined : end).replace(/\s+$/, '');
  }
  const noComment = v.split('/')[0]!.trim();
  if (noComment === 'T') return true;
  if (noComment === 'F') return false;
  const n = Number(noComment);
  return Number.isFinite(n) && noComment !== '' ? n : noComment;
}

/** Parse a header from the start of `bytes`; returns null if END has not been seen yet. */
export function parseFitsHeader(bytes: Uint8Array, path = 'fits'): FitsHeader | null {
  const cards: Record<string, FitsCardValue> = {};
  for (let off = 0; off + 80 <= bytes.length; off += 80) {
    const card = Buffer.from(bytes.buffer, bytes.byteOffset + off, 80).toString('latin1');
    const key = card.slice(0, 8).trim();
    if (off === 0 && key !== 'SIMPLE') throw new ImageFormatError(path, 'not a FITS file (no SIMPLE card)');
    if (key === 'END') {
      const headerLen = Math.ceil((off + 80) / FITS_BLOCK) * FITS_BLOCK;
      const bitpix = Number(cards.BITPIX);
      if (![8, 16, 32, -32, -64].includes(bitpix)) throw new ImageFormatError(path, `unsupported BITPIX ${cards.BITPIX}`);
      const naxis = Number(cards.NAXIS);
      if (naxis < 2 || naxis > 3) throw new ImageFormatError(path, `unsupported NAXIS ${naxis} (need 2 or 3)`);
      const width = Number(cards.NAXIS1);
      const height = Number(cards.NAXIS2);
      const planes = naxis === 3 ? Number(cards.NAXIS3) : 1;
      if (!(width > 0 && height > 0 && planes > 0)) throw new ImageFormatError(path, 'bad NAXISn');
      return {
        bitpix: bitpix as FitsHeader['bitpix'],
        width,
        height,
        planes,
        bzero: typeof cards.BZERO === 'number' ? cards.BZERO : 0,
        bscale: typeof cards.BSCALE === 'number' ? cards.BSCALE : 1,
        dataOffset: headerLen,
        cards,
      };
    }
    if (card[8] === '=' && key) cards[key] = parseCardValue(card.slice(10));
  }
  return null;
}

export async function readFitsHeader(path: string): Promise<FitsHeader> {
  const fh = await open(path, 'r');
  try {
    let size = FITS_BLOCK;
    for (;;) {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, 0);
      const h = parseFitsHeader(buf.subarray(0, bytesRead - (bytesRead % 80)), path);
      if (h) return h;
      if (bytesRead < size) throw new ImageFormatError(path, 'truncated FITS header (no END card)');
      size += FITS_BLOCK;
      if (size > 100 * FITS_BLOCK) throw new ImageFormatError(path, 'FITS header too long');
    }
  } finally {
    await fh.close();
  }
}

