// Merge many brackets: resumable (existing outputs skipped unless force), N at a time, one failure
// never stops the others; a summary of done / failed / skipped.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bracket } from './discover.js';
import { FORMAT_EXT, mergeBracket, type MergeOptions, type MergeResult, type OutputFormat } from './merge.js';
import { lnERange } from './response.js';

export interface MergeAllOptions extends MergeOptions {
  force?: boolean;
  workers?: number;
  /** After each bracket: status and, for failures, the one-line reason. */
  onBracket?: (id: string, status: 'done' | 'failed' | 'skipped', detail?: string) => void;
}

export interface MergeSummary {
  done: number;
  skipped: number;
  failed: { id: string; error: string }[];
  results: { id: string; result: MergeResult }[];
}

export function outputBase(outDir: string, b: Bracket): string {
  return join(outDir, b.relDir, `${b.stamp}_hdr`);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function mergeAll(brackets: Bracket[], outDir: string, options: MergeAllOptions = {}): Promise<MergeSummary> {
  const formats: OutputFormat[] = options.formats ?? (options.response ? ['hdr', 'jpg'] : ['jpg']);
  // One lnE range for the whole set, so 16-bit PNGs of a night share one scale.
  let range = options.range;
  if (!range && options.response) {
    const all = brackets.flatMap((b) => b.frames.map((f) => f.exposureS)).filter((t) => t > 0);
    if (all.length) range = lnERange(options.response, all);
  }
  const summary: MergeSummary = { done: 0, skipped: 0, failed: [], results: [] };
  const queue = [...brackets];
  const worker = async () => {
    for (;;) {
      const b = queue.shift();
      if (!b) return;
      if (b.error) {
        summary.failed.push({ id: b.id, error: b.error });
        options.onBracket?.(b.id, 'failed', b.error);
        continue;
      }
      const base = outputBase(outDir, b);
      if (!options.force) {
        const have = await Promise.all(formats.map((f) => exists(base + FORMAT_EXT[f])));
        if (have.every(Boolean)) {
          summary.skipped++;
          options.onBracket?.(b.id, 'skipped');
          continue;
        }
      }
      try {
        const result = await mergeBracket(b.frames, base, { ...options, formats, range, id: b.id });
        summary.done++;
        summary.results.push({ id: b.id, result });
        options.onBracket?.(b.id, 'done');
      } catch (err) {
        const msg = (err as Error).message.split('\n')[0]!;
        const line = msg.includes(b.id) || b.frames.some((f) => msg.includes(f.path)) ? msg : `${b.id}: ${msg}`;
        summary.failed.push({ id: b.id, error: line });
        options.onBracket?.(b.id, 'failed', line);
        if (options.signal?.aborted) return;
      }
    }
  };
  const n = Math.max(1, Math.min(options.workers ?? 1, brackets.length || 1));
  await Promise.all(Array.from({ length: n }, worker));
  summary.results.sort((a, b) => a.id.localeCompare(b.id));
  return summary;
}
