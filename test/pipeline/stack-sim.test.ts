// Live stacking against the project's simulated rig (hardware-mocks): drift, rotation and jitter
// with known truth, an overcast frame, a satellite trail, one frame at half the gain behind a
// large bias offset (the seed's ISO-3200-among-ISO-6400 case, where the sky level barely moves).
import test from 'ava';
import { join } from 'node:path';
import { createSimCamera } from '../../hardware-mocks/index.js';
import { memoryLogger } from '../../agent/log.js';
import type { DriverContext } from '../../drivers/context.js';
import { LiveStacker, type FrameResult } from '../../pipeline/stack/index.js';
import { tempDir } from '../helpers/tmp.js';

test('simulated rig: alignment matches the truth, overcast and half-gain frames refused, trail rejected by sigma', async (t) => {
  const dir = await tempDir(t);
  const ctx: DriverContext = { log: memoryLogger(), stateDir: dir, shared: new Map() } as unknown as DriverContext;
  const cam = createSimCamera(new URL('sim://stacktest?scene=sky&width=320&height=240&seed=5&format=fits&drift_x=2.5&drift_y=-1.5&rotation=0.08&jitter=1&cloudy_frames=6&trail_frames=3&bias=6000'), ctx);
  await cam.connect();
  const st = new LiveStacker({ outDir: join(dir, 'out'), methods: ['sigma'], previewMaxSize: 160 });
  const results: FrameResult[] = [];
  let err2 = 0, n = 0, rotErr = 0;
  for (let i = 0; i < 12; i++) {
    const f = await cam.capture({ exposureS: 10, gain: i === 8 ? 4 : 8, outDir: join(dir, 'spool'), fileStem: `f${String(i).padStart(2, '0')}`, frameType: 'light' });
    const r = await st.push(f.path);
    results.push(r);
    const tr = f.meta.transform as { dx: number; dy: number; rotationDeg: number };
    if (r.accepted && i > 0) {
      // Truth frame → reference at the centre: undo the shift, then the rotation about the centre.
      const a = (-tr.rotationDeg * Math.PI) / 180;
      const ex = Math.cos(a) * -tr.dx - Math.sin(a) * -tr.dy, ey = Math.sin(a) * -tr.dx + Math.cos(a) * -tr.dy;
      err2 += (r.shiftX - ex) ** 2 + (r.shiftY - ey) ** 2;
      n++;
      rotErr = Math.max(rotErr, Math.abs(r.rotationDeg + tr.rotationDeg));
    }
  }
  const rms = Math.sqrt(err2 / n);
  t.log(`centre alignment error ${rms.toFixed(3)} px RMS over ${n} frames, worst rotation error ${rotErr.toFixed(4)}°`);
  t.true(rms < 0.2);
  t.true(rotErr < 0.02);
  t.is(results[6]!.code, 'clouds', results[6]!.reason ?? '');
  t.false(results[8]!.accepted);
  // The sim rig writes GAIN into its FITS headers: the setting gives it away before the star signal does.
  t.true(['settings', 'signal', 'background'].includes(results[8]!.code!), results[8]!.reason ?? '');
  t.true(results[3]!.accepted && results[3]!.rejectedPixels > 500, `trail frame rejected pixels ${results[3]!.rejectedPixels}`);
  t.is(st.count, 10);
});
