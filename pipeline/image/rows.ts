// Row-streaming image I/O: fixed-memory pipelines read a frame a strip at a time and write products
// the same way. Sources: decoder processes piped with backpressure (djpeg, tifftopnm, dcraw),
// a native streaming PNG decoder, FITS and float TIFF read by positioned reads, and a whole-image
// sharp fallback only for formats with no streaming decoder. See docs/image-io.md.
import type { ImageMeta } from './types.js';

export interface RowBatch {
  /** Index of the first row in this batch. */
  y0: number;
  rows: number;
  /** rows*width*channels samples, interleaved, normalised 0..1 of full scale (float data as stored). */
  data: Float32Array;
}

export interface RowSource {
  path: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16 | 32;
  meta: ImageMeta;
  /**
   * Next rows in order (at most maxRows); null once every row has been delivered.
   * `into` (optional): a buffer the source may decode into, to spare the garbage of a fresh array per
   * batch; the batch's `data` is then a view of it, valid until you reuse `into`. Sources may ignore
   * it, so always read `batch.data`.
   */
  readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null>;
  /** Release the file and kill any decoder process; safe to call twice or after the end. */
  close(): Promise<void>;
}

export interface RowSourceOptions {
  /** One channel out (Rec.709 luminance, the same weights as readImage's toGray). */
  grayscale?: boolean;
  /** Debayer a mosaic FITS that carries a BAYERPAT card (bilinear) into RGB. */
  debayer?: boolean;
  /**
   * Camera RAW at half size (LibRaw/dcraw -h: each 2×2 CFA cell becomes one RGB pixel): the decoder
   * peaks at ≈ 100 MB instead of ≈ 250 MB on a 24 MP frame.
   */
  rawHalfSize?: boolean;
}

export interface RowSink {
  /** `rows` full rows, interleaved with the sink's channel count, 0..1 (float formats keep any value). */
  writeRows(data: Float32Array, rows: number): Promise<void>;
  /** Check every row arrived, flush, and rename the temp file into place. */
  finish(): Promise<void>;
  /** Stop, kill any encoder, delete the temp file; the destination is untouched. */
  abort(): Promise<void>;
}

export type RowSinkFormat = 'jpeg' | 'png8' | 'png16' | 'tiff-f32' | 'fits-f32' | 'fits16' | 'hdr';

export interface RowSinkOptions {
  width: number;
  height: number;
  channels: number;
  /** Defaults from the extension: .jpg→jpeg, .png→png8, .tif→tiff-f32, .fits→fits-f32, .hdr→hdr. */
  format?: RowSinkFormat;
  /** JPEG quality 1..100 (default 90). */
  quality?: number;
  /** FITS header cards. */
  cards?: ImageMeta;
  /**
   * JPEG only: an EXIF block to embed as APP1 (as sharp's metadata().exif returns it, "Exif\0\0" + TIFF;
   * readExifBlock gives it), e.g. the first frame's EXIF on a focus stack.
   */
  exif?: Uint8Array;
}

export { openRowSource } from './row-source.js';
export { openRowSink } from './row-sink.js';
