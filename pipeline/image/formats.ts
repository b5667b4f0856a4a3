// What every image module shares and nothing else: the row source/sink contracts, the format
// tables (extensions, magic bytes) and path → format detection. It imports no other module of
// pipeline/image except types.ts, so readers, writers and rows.ts can all depend on it without
// an import circle (issue 15).
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { ImageFormatError, type ImageMeta } from './types.js';

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
  /**
   * Optional: `rows` full rows already in the stored encoding (the .hdr sink: RGBE scanlines as its
   * encoder writes them; encoder sinks: PNM samples at their depth), e.g. from a WebAssembly kernel.
   * The sink takes ownership of `bytes` and may still be writing them when this resolves (finish()
   * waits): the caller can compute the next strip meanwhile. Once a call resolves, the sink holds
   * at most its bytes and the previous call's: a caller may reuse the buffers of earlier calls
   * (a ring of three).
   */
  writeEncoded?(bytes: Uint8Array, rows: number): Promise<void>;
  /**
   * Optional: as writeEncoded, the strip's bytes in pieces (e.g. its scanlines where a kernel left
   * them, in its shared memory: written with one writev, no copy). Resolves once they are written:
   * the sink holds none of them after, so the caller may reuse their memory at once.
   */
  writeEncodedParts?(parts: readonly Uint8Array[], rows: number): Promise<void>;
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
  /**
   * JPEG/PNG encoders: feed the encoder from the pipe thread (pipe-thread.ts), for a caller that hands
   * over strips in shared memory (writeEncoded) and computes the next meanwhile.
   */
  threaded?: boolean;
}

/** A row source that also reads into the caller's buffer and as raw integer codes (decoder pull mode, sharp fallback). */
export interface DirectRowSource extends RowSource {
  /** Decode the next `rows` rows into dst at element offset `offset` (exactly `rows`, or throws). */
  readRowsInto(rows: number, dst: Float32Array, offset?: number): Promise<void>;
  /** 256 (8-bit) or 65536 (16-bit) when rows can be read as raw integer codes, else null. */
  readonly codeLevels: 256 | 65536 | null;
  /** The next `rows` rows as raw codes (no float conversion), valid until the next read. */
  readRowsCodes(rows: number): Promise<Uint8Array | Uint16Array>;
  /**
   * The next `rows` rows' raw codes written into `dst` (Uint8Array for 256 levels, Uint16Array for
   * 65536) with no intermediate copy where the source allows; returns the samples written. Optional.
   */
  readRowsCodesInto?(rows: number, dst: Uint8Array | Uint16Array): Promise<number>;
}

export const FITS_EXTENSIONS = new Set(['.fits', '.fit', '.fts']);

export function isFitsPath(path: string): boolean {
  return FITS_EXTENSIONS.has(extname(path).toLowerCase());
}

export const RADIANCE_EXTENSIONS = new Set(['.hdr', '.pic']);

export type ImageKind = 'jpeg' | 'png' | 'tiff' | 'fits' | 'raw' | 'hdr' | 'bmp' | 'other';

export const RAW_EXTENSIONS = new Set(['.cr2', '.cr3', '.nef', '.arw', '.dng', '.raf', '.orf', '.rw2', '.pef', '.srw']);

/** Identify a file by its first bytes (a regular file only: see assertRegularFile); camera RAW by extension (most RAWs are TIFF-shaped). */
export async function sniffImageKind(path: string): Promise<ImageKind> {
  await assertRegularFile(path);
  let head: Buffer;
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new ImageFormatError(path, err.code === 'ENOENT' ? 'no such file' : err.message);
  });
  try {
    head = Buffer.alloc(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    if (bytesRead === 0) throw new ImageFormatError(path, 'empty file');
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (RAW_EXTENSIONS.has(extname(path).toLowerCase())) return 'raw';
  if (head[0] === 0xff && head[1] === 0xd8) return 'jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  const sig = head.subarray(0, 4).toString('latin1');
  if (sig === 'II*\0' || sig === 'MM\0*') return 'tiff';
  if (head.subarray(0, 9).toString('latin1') === 'SIMPLE  =') return 'fits';
  if (head.subarray(0, 2).toString('latin1') === '#?') return 'hdr';
  if (head.subarray(0, 2).toString('latin1') === 'BM') return 'bmp';
  return 'other';
}

function fileType(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** stat before open: refuse anything but a regular, non-empty file with one line naming it. */
export async function assertRegularFile(path: string): Promise<{ size: number; mtimeMs: number }> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new ImageFormatError(path, err.code === 'ENOENT' ? 'no such file' : err.message);
  });
  if (!st.isFile()) throw new ImageFormatError(path, `${fileType(st)}, not a regular file: refused`);
  if (st.size === 0) throw new ImageFormatError(path, 'empty file');
  return st;
}
