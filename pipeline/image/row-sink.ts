// openRowSink: choose the writer by format (or extension). All write to a temp name and rename on finish.
// JPEG/PNG go through cjpeg/pnmtopng, or whole through sharp where those are not installed.
import { extname } from 'node:path';
import { openEncoderSink } from './encoder-sink.js';
import { openFitsRowSink } from './fits-sink.js';
import { openRadianceRowSink } from './radiance.js';
import { openTiffF32RowSink } from './tiff-f32.js';
import type { RowSink, RowSinkFormat, RowSinkOptions } from './formats.js';
import { checkExifBlock, insertJpegExif } from './exif.js';
import { openSharpFallbackSink, toolMissing } from './sharp-fallback.js';

export function sinkFormatFor(path: string): RowSinkFormat {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case '.jpg':
    case '.jpeg':
      return 'jpeg';
    case '.png':
      return 'png8';
    case '.tif':
    case '.tiff':
      return 'tiff-f32';
    case '.fits':
    case '.fit':
    case '.fts':
      return 'fits-f32';
    case '.hdr':
    case '.pic':
      return 'hdr';
    default:
      throw new Error(`${path}: no row sink for extension '${ext}' (give format: jpeg|png8|png16|tiff-f32|fits-f32|fits16|hdr)`);
  }
}

export async function openRowSink(path: string, o: RowSinkOptions): Promise<RowSink> {
  const format = o.format ?? sinkFormatFor(path);
  const { width, height, channels } = o;
  switch (format) {
    case 'jpeg': {
      if (o.exif) checkExifBlock(o.exif, path);
      const q = o.quality ?? 90;
      if (!(Number.isInteger(q) && q >= 1 && q <= 100)) throw new Error(`${path}: quality must be an integer 1..100, got ${q}`);
      const finalize = o.exif ? (tmp: string) => insertJpegExif(tmp, o.exif!) : undefined;
      const tool = { command: 'cjpeg', aptPackage: 'libjpeg-turbo-progs' };
      if (toolMissing(tool)) return openSharpFallbackSink(path, tool, width, height, channels, { format, quality: q, finalize });
      return openEncoderSink(path, width, height, channels, { ...tool, args: ['-quality', String(q)], bytesPerSample: 1, finalize }, { threaded: o.threaded ?? false });
    }
    case 'png8':
    case 'png16':
      if (toolMissing({ command: 'pnmtopng' })) return openSharpFallbackSink(path, { command: 'pnmtopng', aptPackage: 'netpbm' }, width, height, channels, { format });
      // pnmtopng reads its input row by row (2.8 MB peak RSS on a 6000×4000 16-bit frame). zlib
      // level 3: 2.5× less CPU than the default 6 for files within a few % of the size.
      return openEncoderSink(path, width, height, channels, {
        command: 'pnmtopng',
        args: ['-compression', '3'],
        aptPackage: 'netpbm',
        bytesPerSample: format === 'png16' ? 2 : 1,
      });
    case 'tiff-f32':
      return openTiffF32RowSink(path, width, height, channels);
    case 'fits-f32':
      return openFitsRowSink(path, width, height, channels, -32, o.cards);
    case 'fits16':
      return openFitsRowSink(path, width, height, channels, 16, o.cards);
    case 'hdr':
      return openRadianceRowSink(path, width, height, channels);
    default:
      throw new Error(`${path}: unknown row sink format '${String(format)}'`);
  }
}
