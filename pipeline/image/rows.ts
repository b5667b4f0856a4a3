// Row-streaming image I/O: fixed-memory pipelines read a frame a strip at a time and write products
// the same way. Sources: decoder processes piped with backpressure (djpeg, tifftopnm, dcraw),
// a native streaming PNG decoder, FITS and float TIFF read by positioned reads, and a whole-image
// sharp fallback only for formats with no streaming decoder. See docs/image-io.md.

export type { RowBatch, RowSink, RowSinkFormat, RowSinkOptions, RowSource, RowSourceOptions } from './formats.js';
export { openRowSource } from './row-source.js';
export { openRowSink } from './row-sink.js';
