// Time to render + write one simulated frame at several sizes (sky FITS, sky FITS with Bayer, day JPEG,
// day with depth of field). Run: npx tsx bench/mocks-render.ts [--big]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../agent/log.js';
import { createDriverContext } from '../drivers/context.js';
import { createSimCamera, createSimFocuser } from '../hardware-mocks/index.js';

const sizes: [number, number][] = [
  [640, 480],
  [1920, 1080],
];
if (process.argv.includes('--big')) sizes.push([4000, 3000]);
const cases = [
  { name: 'sky fits', query: 'scene=sky&format=fits', exposureS: 10 },
  { name: 'sky fits RGGB', query: 'scene=sky&format=fits&bayer=RGGB', exposureS: 10 },
  { name: 'day jpeg', query: 'scene=day&format=jpeg', exposureS: 0.01 },
  { name: 'day jpeg depth', query: 'scene=day&format=jpeg&near_focus=300', exposureS: 0.01 },
];

const dir = await mkdtemp(join(tmpdir(), 'skyrig-bench-mocks-'));
try {
  for (const [w, h] of sizes) {
    for (const c of cases) {
      const ctx = createDriverContext({ log: memoryLogger(), stateDir: dir });
      const cam = createSimCamera(new URL(`sim://b?${c.query}&width=${w}&height=${h}&start=2026-01-10T22:00:00Z`), ctx);
      const foc = createSimFocuser(new URL('sim://b'), ctx);
      await cam.connect();
      await foc.connect();
      await foc.moveTo(1100); // defocused: the blur costs something
      // Wall time, and CPU time of this process (the machine may be shared; sharp encodes on its own threads).
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await cam.capture({ exposureS: c.exposureS, outDir: dir, fileStem: `f${i}` });
        const dc = process.cpuUsage(c0);
        wall.push(performance.now() - t0);
        cpu.push((dc.user + dc.system) / 1000);
      }
      const fmt = (v: number[]) => `first ${v[0]!.toFixed(0).padStart(6)} ms, then ${((v[1]! + v[2]!) / 2).toFixed(0).padStart(6)} ms`;
      console.log(`${`${w}x${h}`.padEnd(10)} ${c.name.padEnd(15)} wall: ${fmt(wall)}   cpu: ${fmt(cpu)}`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
