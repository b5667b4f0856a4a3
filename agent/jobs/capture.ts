// The plain capture job: one frame or an exposure list, each logged with its statistics, plus a
// stretched preview published to MQTT. The HDR/stack/focus jobs build on the same JobContext.
import { join } from 'node:path';
import { readImage } from '../../pipeline/image/read.js';
import { encodePreviewJpeg } from '../../pipeline/image/write.js';
import { writeFileAtomic } from '../../pipeline/image/atomic.js';
import { frameStats } from '../../pipeline/preview/stats.js';
import { autoStretch } from '../../pipeline/preview/stretch.js';
import type { JobContext, JobResult } from './types.js';
import { numberListParam, numberParam, optionalNumberParam } from './params.js';

export async function captureJob(ctx: JobContext): Promise<JobResult> {
  const p = ctx.params;
  const single = optionalNumberParam('capture', p, 'exposure_s', 0);
  const exposures = single !== undefined ? [single] : numberListParam('capture', p, 'exposures', [1]);
  const count = numberParam('capture', p, 'count', 1, 1, 10000);
  const gain = optionalNumberParam('capture', p, 'gain', 0);
  const plan = Array.from({ length: count }, () => exposures).flat();
  let last: { path: string; stats: ReturnType<typeof frameStats> } | null = null;
  for (let i = 0; i < plan.length; i++) {
    ctx.progress(`capture ${i + 1}/${plan.length}: ${plan[i]} s`);
    const { frame, frameId } = await ctx.capture({ exposureS: plan[i]!, gain });
    const img = await readImage(frame.path, { grayscale: false });
    const stats = frameStats(img);
    ctx.runlog.updateFrame(frameId, {
      stats: { mean: stats.mean, median: stats.median, max: stats.max, noise: stats.noise, saturated_fraction: stats.saturatedFraction },
    });
    ctx.publish.state({ sky_background: Number((stats.median * 100).toFixed(3)) });
    last = { path: frame.path, stats };
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
  };
  ctx.publish.result({ ...metrics, last_frame: last?.path ?? null });
  return { metrics };
}
