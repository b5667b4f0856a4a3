// The row source the HDR merge opens N of at once. Per-source buffering is what makes memory grow
// with the number of exposures (the general decoder source lets a few MB queue per decoder), so JPEG, PNG and
// TIFF frames go through the decoder source's pull-only mode (pipeline/image/decoder-source.ts:
// openPullDecoderSource): nothing read ahead, rows decoded straight into the caller's buffer or handed
// over as raw 8/16-bit codes. Same decoders and damage rules as openRowSource.
import { DJPEG, PNGTOPAM, TIFFTOPNM, openCodecSource } from '../image/row-source.js';
import type { DirectRowSource } from '../image/decoder-source.js';
import { checkImageFile } from '../image/header-size.js';
import type { RowSource } from '../image/rows.js';

export type LeanRowSource = DirectRowSource;

/**
 * JPEG, PNG and TIFF through the pull-only decoder source (sharp fallback without the program); anything
 * else (FITS, RAW, …) through openRowSource. `threaded`: the decoders' pipes are read by the pipe thread,
 * for callers that ask for the next rows before computing on the last (the Debevec merge).
 */
export async function openLeanRowSource(path: string, fallback: (path: string) => Promise<RowSource>, threaded = false): Promise<RowSource> {
  // regular file, header size within the limits, before any decoder starts
  const header = await checkImageFile(path);
  const spec = header.kind === 'jpeg' ? DJPEG(path) : header.kind === 'png' ? PNGTOPAM(path) : header.kind === 'tiff' ? TIFFTOPNM(path) : null;
  if (spec) return openCodecSource(path, spec, header, { pull: threaded ? 'thread' : true });
  return fallback(path);
}

export function hasReadInto(s: RowSource): s is LeanRowSource {
  return typeof (s as Partial<LeanRowSource>).readRowsInto === 'function';
}
