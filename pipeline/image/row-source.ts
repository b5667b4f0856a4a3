// openRowSource: pick the streaming decoder for a file by its magic bytes (extension for camera RAW).
import { open } from 'node:fs/promises';
import { openDecoderSource, openPullDecoderSource, type DecoderSpec } from './decoder-source.js';
import { checkImageFile, type ImageHeaderSize } from './header-size.js';
import { openSharpFallbackSource, toolMissing } from './sharp-fallback.js';
import { openFitsRowSource } from './fits-rows.js';
import { memoryRowSource } from './memory-source.js';
import { readWithSharp } from './sharp-decode.js';
import { openRadianceRowSource } from './radiance.js';
import { openBmpRowSource } from './bmp-rows.js';
import { openTiffRowSource, tifftopnmReadable } from './tiff-rows.js';
import type { RowSource, RowSourceOptions } from './formats.js';
export { RAW_EXTENSIONS, sniffImageKind, type ImageKind } from './formats.js';
import { commandOnPath } from './commands.js';
import { bayerPatternFromCards, debayerRowSource } from './debayer.js';
import { grayStrip } from './strip.js';
import { openPngRowSource, parsePngIhdr, pngStreamable } from './png-rows.js';

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export const DJPEG: (path: string) => DecoderSpec = (path) => ({
  command: 'djpeg',
  args: ['-pnm', path],
  aptPackage: 'libjpeg-turbo-progs',
  // djpeg pads a cut-off file with grey, warns and exits 2: that must not pass for an image.
  fatalStderr: /premature end|not a JPEG file|unsupported marker|bogus/i,
  warningExitCodes: [2],
});

export const TIFFTOPNM: (path: string) => DecoderSpec = (path) => ({
  command: 'tifftopnm',
  // -byrow: TIFFReadScanline row by row instead of the whole raster in memory.
  args: ['-byrow', path],
  aptPackage: 'netpbm',
  fatalStderr: /read error|unexpected end|premature|corrupt|cannot read|incorrect count/i,
});

export const PNGTOPAM: (path: string) => DecoderSpec = (path) => ({
  command: 'pngtopam',
  args: [path],
  aptPackage: 'netpbm',
  fatalStderr: /error|premature/i,
});

/** Camera RAW: LibRaw's dcraw_emu (preferred, knows newer cameras) or dcraw; 16-bit linear, camera WB. */
export function rawDecoder(path: string, halfSize = false): DecoderSpec {
  const half = halfSize ? ['-h'] : [];
  // neither installed: name LibRaw's package in the error (dcraw_emu is the one we prefer)
  if (commandOnPath('dcraw_emu') || !commandOnPath('dcraw')) {
    return { command: 'dcraw_emu', args: [...half, '-w', '-4', '-Z', '-', path], aptPackage: 'libraw-bin' };
  }
  return { command: 'dcraw', args: ['-c', ...half, '-w', '-4', path], aptPackage: 'dcraw' };
}

/**
 * Camera RAW as its linear CFA mosaic for calibration and stacking: unit white balance (`-r 1 1 1 1`),
 * no interpolation, no brightening, no rotation; black subtracted and white level scaled to full.
 * dcraw_emu writes RGB with only each site's own colour set; dcraw -d writes the mosaic as PGM.
 */
export function rawMosaicDecoder(path: string): DecoderSpec {
  const wb = ['-r', '1', '1', '1', '1'];
  if (commandOnPath('dcraw_emu') || !commandOnPath('dcraw')) {
    return { command: 'dcraw_emu', args: ['-4', '-disinterp', '-o', '0', ...wb, '-t', '0', '-Z', '-', path], aptPackage: 'libraw-bin' };
  }
  return { command: 'dcraw', args: ['-c', '-d', '-4', ...wb, '-t', '0', path], aptPackage: 'dcraw' };
}

/**
 * A decoder program's row source, or — when the program is not installed — the whole-frame sharp
 * fallback within its memory budget (sharp-fallback.ts). `pull`: no read-ahead, direct/raw-code reads;
 * `pull: 'thread'`: the same with the decoder's output read by the pipe thread (pipe-thread.ts).
 */
export async function openCodecSource(path: string, spec: DecoderSpec, header: ImageHeaderSize, opts: { grayscale?: boolean; pull?: boolean | 'thread' } = {}): Promise<RowSource> {
  if (toolMissing(spec)) return openSharpFallbackSource(path, spec, header, opts);
  return opts.pull ? openPullDecoderSource(path, spec, opts.pull === 'thread' ? 'thread' : 'pull') : openDecoderSource(path, spec, opts);
}

/** Open a frame by rows. The file is checked first (regular file, header size within limits.ts). */
export async function openRowSource(path: string, opts: RowSourceOptions = {}): Promise<RowSource> {
  const header = await checkImageFile(path);
  switch (header.kind) {
    case 'fits': {
      const src = await openFitsRowSource(path, { grayscale: opts.grayscale && !opts.debayer });
      const pattern = opts.debayer && src.channels === 1 ? bayerPatternFromCards(src.meta) : null;
      if (!pattern) return src;
      const rgb = debayerRowSource(src, pattern);
      return opts.grayscale ? grayRowSource(rgb) : rgb;
    }
    case 'jpeg':
      return openCodecSource(path, DJPEG(path), header, opts);
    case 'png': {
      const info = parsePngIhdr(await readHead(path, 33), path);
      // native streaming decoder; pngtopam (whole image in its memory) only for interlaced/<8-bit files
      return pngStreamable(info) ? openPngRowSource(path, info, opts) : openCodecSource(path, PNGTOPAM(path), header, opts);
    }
    case 'tiff': {
      // uncompressed strips (incl. float) natively; compressed/tiled/planar integer through
      // tifftopnm; compressed float, LogLuv or signed samples whole through sharp
      const native = await openTiffRowSource(path, opts);
      if (!('stripOffsets' in native)) return native;
      if (tifftopnmReadable(native)) return openCodecSource(path, TIFFTOPNM(path), header, opts);
      const img = await readWithSharp(path, opts);
      return memoryRowSource(path, img, img.meta);
    }
    case 'raw':
      return openDecoderSource(path, rawDecoder(path, opts.rawHalfSize), opts);
    case 'hdr':
      return openRadianceRowSource(path, opts);
    case 'bmp':
      return openBmpRowSource(path, opts);
    default: {
      // No streaming decoder for this format: whole decode through sharp (see docs/image-io.md).
      const img = await readWithSharp(path, opts);
      return memoryRowSource(path, img, img.meta);
    }
  }
}

/** Luminance view of a colour row source. */
function grayRowSource(src: RowSource): RowSource {
  return {
    ...src,
    channels: 1,
    async readRows(maxRows) {
      const b = await src.readRows(maxRows);
      return b && { ...b, data: grayStrip(b.data, b.rows * src.width, src.channels) };
    },
    close: () => src.close(),
  };
}
