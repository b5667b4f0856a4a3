// Bookkeeping every row sink shares: strips must match the declared size, and finish() must not
// rename a file that is missing rows.

export class RowCounter {
  written = 0;
  constructor(readonly path: string, readonly width: number, readonly height: number, readonly channels: number) {
    if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
      throw new Error(`${path}: bad sink size ${width}x${height}`);
    }
    if (!(Number.isInteger(channels) && channels >= 1 && channels <= 4)) throw new Error(`${path}: bad channel count ${channels}`);
  }

  /** Validate a strip and count it; returns the first row index it covers. */
  add(data: Float32Array, rows: number): number {
    if (!(Number.isInteger(rows) && rows > 0)) throw new Error(`${this.path}: writeRows rows must be a positive integer, got ${rows}`);
    if (data.length < rows * this.width * this.channels) {
      throw new Error(`${this.path}: writeRows got ${data.length} samples for ${rows} rows of ${this.width}x${this.channels}`);
    }
    if (this.written + rows > this.height) throw new Error(`${this.path}: more rows than the declared height ${this.height}`);
    const y0 = this.written;
    this.written += rows;
    return y0;
  }

  /** Count `rows` rows handed over already encoded (no samples to check); returns the first row index. */
  addRows(rows: number): number {
    if (!(Number.isInteger(rows) && rows > 0)) throw new Error(`${this.path}: writeEncoded rows must be a positive integer, got ${rows}`);
    if (this.written + rows > this.height) throw new Error(`${this.path}: more rows than the declared height ${this.height}`);
    const y0 = this.written;
    this.written += rows;
    return y0;
  }

  complete(): void {
    if (this.written !== this.height) throw new Error(`${this.path}: only ${this.written} of ${this.height} rows written`);
  }
}
