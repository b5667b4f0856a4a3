// What the allsky job itself costs per frame besides capture and the night products: the streamed
// metering + binned copy, star detection on the copy, and the controller decision.
//   npx tsx bench/allsky-frame.ts [--width 4000 --height 3000 --frames 5] [--whole]
// --whole decodes the frame whole first (readImage + meterImage + stars on full resolution: what the
// job did before) for comparison. Peak RSS: bash bench/run-with-rss.sh node --import tsx bench/allsky-frame.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createImage } from '../pipeline/image/types.js';
import { writeImage } from '../pipeline/image/write.js';
import { openRowSource } from '../pipeline/image/rows.js';
import { readImage, toGray } from '../pipeline/image/read.js';
import { detectStars } from '../pipeline/stars/detect.js';
import { CONTROLLER_DEFAULTS, decideExposure, meterAndBin, meterImage } from '../pipeline/exposure/index.js';

const { values } = parseArgs({ options: { width: { type: 'string', default: '4000' }, height: { type: 'string', default: '3000' }, frames: { type: 'string', default: '5' }, whole: { type: 'boolean', default: false } } });
const w = Number(values.width);
const h = Number(values.height);
const dir = await mkdtemp(join(tmpdir(), 'allsky-bench-'));
try {
  // A night sky: background 0.15 with noise and 3000 gaussian stars.
  const img = createImage(w, h, 1, 16);
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < img.data.length; i++) img.data[i] = 0.15 + 0.004 * (rnd() + rnd() + rnd() - 1.5);
  for (let k = 0; k < 3000; k++) {
    const cx = 8 + rnd() * (w - 16);
    const cy = 8 + rnd() * (h - 16);
    const a = 0.05 + 0.5 * rnd() ** 3;
    for (let y = Math.floor(cy) - 5; y <= Math.floor(cy) + 5; y++) for (let x = Math.floor(cx) - 5; x <= Math.floor(cx) + 5; x++) img.data[y * w + x] += a * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5 ** 2));
  }
  const path = join(dir, 'frame.fits');
  await writeImage(path, img, { fitsBitpix: 16 });
  const times: number[] = [];
  let stars = 0;
  for (let f = 0; f < Number(values.frames); f++) {
    const t0 = performance.now();
    let level: number;
    if (values.whole) {
      const full = await readImage(path, { grayscale: false });
      level = meterImage(full, { region: { shape: 'circle', radius: 0.8 } }).median;
      stars = detectStars(full.channels === 1 ? full : toGray(full)).length;
    } else {
      const src = await openRowSource(path);
      const pass = await meterAndBin(src, { region: { shape: 'circle', radius: 0.8 }, maxSize: 2048 }).finally(() => src.close());
      level = pass.metering.median;
      stars = detectStars(pass.binned.channels === 1 ? pass.binned : toGray(pass.binned)).length;
    }
    decideExposure([{ at: 0, exposureS: 30, gain: 10, level }], { mode: 'night', target: 0.15 }, { ...CONTROLLER_DEFAULTS, day: { minExposureS: 1e-5, maxExposureS: 30, minGain: 1, maxGain: 1 }, night: { minExposureS: 1e-5, maxExposureS: 30, minGain: 1, maxGain: 64 }, gainModel: { kind: 'linear' } });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${w}×${h} ${values.whole ? 'whole decode' : 'streamed + binned'}: median ${(times[times.length >> 1]! / 1000).toFixed(2)} s per frame, ${stars} stars, rss now ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
