// A temp file written by positioned writes and renamed into place on commit (deleted on discard):
// the storage under the native row sinks (FITS, float TIFF, Radiance .hdr).
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { tempPathFor } from './atomic.js';

export class AtomicFile {
  private constructor(readonly path: string, readonly tmp: string, private fh: FileHandle | null) {}

  static async create(path: string): Promise<AtomicFile> {
    const tmp = tempPathFor(path);
    const fh = await open(tmp, 'w');
    return new AtomicFile(path, tmp, fh);
  }

  async write(buf: Uint8Array, position: number): Promise<void> {
    if (!this.fh) throw new Error(`${this.path}: file already closed`);
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, position + off);
      off += bytesWritten;
    }
  }

  async commit(): Promise<void> {
    const fh = this.fh;
    if (!fh) throw new Error(`${this.path}: file already closed`);
    this.fh = null;
    try {
      await fh.sync();
      await fh.close();
      await rename(this.tmp, this.path);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(this.tmp).catch(() => {});
      throw err;
    }
  }

  async discard(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => {});
    await unlink(this.tmp).catch(() => {});
  }
}
