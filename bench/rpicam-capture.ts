// rpicam driver overhead against the fake rpicam-still with a full-size IMX477 DNG (4056×3040,
// 24 MB): connect (--help + --list-cameras), capture of a 10 ms exposure (spawn → renamed frame),
// DNG header parse, and a full mosaic read. Run: npx tsx bench/rpicam-capture.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../agent/log.js';
import { RpicamCamera } from '../drivers/rpicam/camera.js';
import { readDngInfo, readDngMosaic } from '../drivers/rpicam/dng.js';
import { parseRpicamUrl } from '../drivers/rpicam/options.js';

const fake = resolve(import.meta.dirname, '../test/fixtures/fake-rpicam-still.mjs');
const dir = await mkdtemp(join(tmpdir(), 'rpicam-bench-'));
const url = new URL(`rpicam://0?mode=4056:3040:12:P&bin=${encodeURIComponent(fake)}`);
const cam = new RpicamCamera(url.href, parseRpicamUrl(url), { log: createLogger({ level: 'warn' }) });
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
try {
  let t0 = process.hrtime.bigint();
  await cam.connect();
  console.log(`connect (--help ∥ --list-cameras -v): ${ms(t0).toFixed(0)} ms`);
  const runs: number[] = [];
  let path = '';
  for (let i = 0; i < 3; i++) {
    t0 = process.hrtime.bigint();
    const f = await cam.capture({ exposureS: 0.01, outDir: dir, fileStem: `f${i}` });
    runs.push(ms(t0));
    path = f.path;
  }
  console.log(`capture 10 ms, 4056x3040 DNG (fake writes 24 MB): ${runs.map((r) => r.toFixed(0)).join(', ')} ms`);
  t0 = process.hrtime.bigint();
  const info = await readDngInfo(path);
  console.log(`readDngInfo: ${ms(t0).toFixed(1)} ms (${info.width}x${info.height}, ${info.stripOffsets.length} strip(s), ${info.bayer}, white ${info.whiteLevel})`);
  t0 = process.hrtime.bigint();
  const { data } = await readDngMosaic(path, info);
  console.log(`readDngMosaic: ${ms(t0).toFixed(0)} ms (${(data.byteLength / 1e6).toFixed(1)} MB)`);
  console.log(`peak RSS (process.resourceUsage): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
