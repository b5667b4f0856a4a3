// The row-streaming I/O the HDR pipeline runs on, passed in so tests and other hosts can swap it.
import { openRowSink, openRowSource, type RowSink, type RowSinkOptions, type RowSource } from '../image/rows.js';
import { hasReadInto, openLeanRowSource } from './lean-source.js';

export type { RowSink, RowSinkOptions, RowSource };

export interface HdrIo {
  /** `threaded`: the caller asks for rows ahead of its computing (the pipe thread may read them meanwhile). */
  openRowSource(path: string, opts?: { threaded?: boolean }): Promise<RowSource>;
  openRowSink(path: string, options: RowSinkOptions): Promise<RowSink>;
}

export const defaultIo: HdrIo = {
  // JPEG/PNG/TIFF through the lean decoder source (no per-source queue: memory flat in N).
  openRowSource: (path, opts) => openLeanRowSource(path, (p) => openRowSource(p), opts?.threaded ?? false),
  openRowSink: (path, options) => openRowSink(path, options),
};

/** Read exactly `rows` rows into `dst` (sources may hand back fewer per call). */
export async function readExactRows(src: RowSource, rows: number, dst: Float32Array): Promise<void> {
  const rowLen = src.width * src.channels;
  if (hasReadInto(src)) {
    // Row by row keeps each pull small; already-piped bytes cost no I/O wait.
    for (let r = 0; r < rows; r++) await src.readRowsInto(1, dst, r * rowLen);
    return;
  }
  let got = 0;
  while (got < rows) {
    const b = await src.readRows(rows - got);
    if (!b) throw new Error(`${src.path}: ended after ${got} of ${rows} requested rows (truncated?)`);
    dst.set(b.data.subarray(0, b.rows * rowLen), got * rowLen);
    got += b.rows;
  }
}

/** Close all sources, ignoring close errors (the first real error is what gets reported). */
export async function closeAll(sources: RowSource[]): Promise<void> {
  await Promise.all(sources.map((s) => s.close().catch(() => {})));
}
