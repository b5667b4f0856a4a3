// The plain capture job: one frame or an exposure list, each logged with its statistics, plus a
// stretched preview published to MQTT. The HDR/stack/focus jobs build on the same JobContext.
import { join } from 'node:path';
import { readImage } from '../../pipeline/image/read.js';
import { encodePreviewJpeg } from '../../pipeline/image/write.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { frameStats } from '../../pipeline/preview/stats.js';
import { autoStretch } from '../../pipeline/preview/stretch.js';
import { toGray } from '../../pipeline/image/read.js';
import { detectStars } from '../../pipeline/stars/detect.js';
import type { JobContext, JobResult } from './types.js';
import { numberListParam, numberParam, optionalNumberParam } from './params.js';

export async function captureJob(ctx: JobContext): Promise<JobResult> {
  const p = ctx.params;
  const single = optionalNumberParam('capture', p, 'exposure_s', 0);
  const exposures = single !== undefined ? [single] : numberListParam('capture', p, 'exposures', [1]);
  const count = numberParam('capture', p, 'count', 1, 1, 10000);
  const gain = optionalNumberParam('capture', p, 'gain', 0);
  const plan = Array.from({ length: count }, () => exposures).flat();
  let last: { path: string; stats: ReturnType<typeof frameStats>; stars: number; hfr: number | null } | null = null;
  for (let i = 0; i < plan.length; i++) {
    ctx.progress(`capture ${i + 1}/${plan.length}: ${plan[i]} s`);
    const { frame, frameId } = await ctx.capture({ exposureS: plan[i]!, gain });
    const img = await readImage(frame.path, { grayscale: false });
    const stats = frameStats(img);
    // Star count and median HFR: the all-sky station's "is it clear, is it in focus" figures.
    const stars = stats.median < 0.5 ? detectStars(toGray(img)) : [];
    const hfr = stars.length ? median(stars.map((s) => s.hfr)) : null;
    ctx.runlog.updateFrame(frameId, {
      stats: {
        mean: stats.mean,
        median: stats.median,
        max: stats.max,
        noise: stats.noise,
        saturated_fraction: stats.saturatedFraction,
        stars: stars.length,
        hfr: hfr === null ? null : Number(hfr.toFixed(3)),
      },
    });
    ctx.publish.state({
      sky_background: Number((stats.median * 100).toFixed(3)),
      star_count: stars.length,
      hfr_px: hfr === null ? null : Number(hfr.toFixed(2)),
    });
    last = { path: frame.path, stats, stars: stars.length, hfr };
    if (i === plan.length - 1) {
      const jpeg = await encodePreviewJpeg(autoStretch(img), 1024);
      const previewPath = join(ctx.productsDir, 'preview.jpg');
      await writeFileAtomic(previewPath, jpeg);
      ctx.runlog.addProduct(ctx.runId, { kind: 'preview', path: previewPath, metrics: { bytes: jpeg.length } });
      ctx.publish.image(jpeg);
    }
  }
  const metrics = {
    frames: plan.length,
    last_median: last ? Number(last.stats.median.toFixed(5)) : null,
    last_saturated_fraction: last ? Number(last.stats.saturatedFraction.toFixed(6)) : null,
    last_stars: last?.stars ?? null,
    last_hfr: last?.hfr == null ? null : Number(last.hfr.toFixed(3)),
  };
  ctx.publish.result({ ...metrics, last_frame: last?.path ?? null });
  return { metrics };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
