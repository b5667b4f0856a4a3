// Test double for the all-sky tests: the night products' contract over a tiny on-disk progress file.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { NightFrameInput, NightProductsHandle, NightSummary, OpenNightProducts } from '../../agent/night/types.js';
import { writeFileAtomic } from '../../lib/atomic.js';

/**
 * Stand-in for pipeline/night's NightProducts (same contract): one keogram column per added frame,
 * saved after every frame; at finish a keogram PNG whose width is the number of columns.
 */
export class TestNightProducts implements NightProductsHandle {
  private constructor(
    private readonly dir: string,
    private columns: string[],
  ) {}
  static readonly open: OpenNightProducts = async (dir) => {
    await mkdir(dir, { recursive: true });
    const f = join(dir, 'progress.json');
    const columns = existsSync(f) ? (JSON.parse(await readFile(f, 'utf8')) as string[]) : [];
    return new TestNightProducts(dir, columns);
  };
  get framesAdded(): number {
    return this.columns.length;
  }
  async add(frame: NightFrameInput) {
    this.columns.push(frame.timestamp.toISOString());
    await writeFileAtomic(join(this.dir, 'progress.json'), JSON.stringify(this.columns));
    return { keogramColumn: this.columns.length - 1, startrails: frame.skyLevel <= 0.35 ? ('added' as const) : ('excluded' as const), skyLevel: frame.skyLevel };
  }
  async renderPreview(_frame: NightFrameInput, width: number): Promise<Buffer> {
    return sharp({ create: { width, height: Math.round(width * 0.75), channels: 3, background: '#112' } }).jpeg().toBuffer();
  }
  async finish(frames: NightFrameInput[]): Promise<NightSummary> {
    const keogram = join(this.dir, 'keogram.png');
    await sharp({ create: { width: this.columns.length, height: 64, channels: 3, background: '#000' } }).png().toFile(keogram);
    const startrails = join(this.dir, 'startrails.png');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#000' } }).png().toFile(startrails);
    return { keogram, startrails, frames: frames.length, startrailsFrames: frames.length, excluded: 0, skipped: 0, errors: [] };
  }
}
