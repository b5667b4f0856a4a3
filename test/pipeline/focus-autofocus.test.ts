import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { createDriverContext } from '../../drivers/context.js';
import type { Focuser } from '../../drivers/types.js';
import { memoryLogger } from '../../agent/log.js';
import { createSimCamera, createSimFocuser, simRigOf } from '../../hardware-mocks/index.js';
import { autofocus, AutofocusError } from '../../pipeline/focus/autofocus.js';
import { fitCurve } from '../../pipeline/focus/fit.js';
import { tempDir } from '../helpers/tmp.js';

async function simRig(t: Parameters<typeof tempDir>[0], rig: string, extra = '') {
  const dir = await tempDir(t);
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: dir });
  const q = `seed=3&width=320&height=240${extra}`;
  const camera = createSimCamera(new URL(`sim://${rig}?${q}`), ctx);
  const focuser = createSimFocuser(new URL(`sim://${rig}?${q}`), ctx);
  await camera.connect();
  await focuser.connect();
  return { dir, camera, focuser, rig: simRigOf(ctx, rig)! };
}

test('fits: hyperbola recovers centre and minimum; parabola and Gaussian find a contrast peak; outliers rejected', (t) => {
  const xs = Array.from({ length: 11 }, (_, i) => 800 + i * 40);
  const hyp = xs.map((x) => Math.sqrt(1.5 ** 2 + (0.02 * (x - 1003)) ** 2));
  hyp[2] = hyp[2]! + 3; // a cloud-hit frame
  const f = fitCurve('hyperbola', xs, hyp)!;
  t.true(Math.abs(f.center - 1003) < 1, `centre ${f.center}`);
  t.true(Math.abs(f.best - 1.5) < 0.05);
  t.deepEqual(f.rejected, [2]);
  t.true(f.r2 > 0.999);
  const contrast = xs.map((x) => 5 * Math.exp(-((x - 960) ** 2) / (2 * 90 ** 2)));
  t.true(Math.abs(fitCurve('gaussian', xs, contrast)!.center - 960) < 0.5);
  t.true(Math.abs(fitCurve('parabola', xs.slice(2, 7), contrast.slice(2, 7))!.center - 960) < 15);
});

test('autofocus on the simulated rig lands within the depth of focus from several starts', async (t) => {
  const starts = [150, 700, 1250, 1850];
  for (const [i, start] of starts.entries()) {
    const s = await simRig(t, `af${i}`, '&dead_band=30');
    await s.focuser.moveTo(start);
    const r = await autofocus(s.camera, s.focuser, { outDir: join(s.dir, 'af'), exposureS: 5, step: 40, overshoot: 60 });
    const defocus = s.rig.defocusSteps();
    t.log(`start ${start} → ${r.position} (optical defocus ${defocus.toFixed(0)} steps, depth of focus ±${s.rig.depthOfFocusSteps.toFixed(0)}; HFR ${r.value.toFixed(2)} px, R² ${r.fit.r2.toFixed(3)}, ${r.points.length} frames)`);
    t.true(Math.abs(defocus) <= s.rig.depthOfFocusSteps, `start ${start}: defocus ${defocus}`);
    t.true(r.fit.r2 >= 0.8);
    t.true(existsSync(r.plot!));
    const meta = await sharp(r.plot!).metadata();
    t.true(meta.width! >= 400);
  }
});

test('autofocus with a refine pass on the sky, and with a contrast measure on the day scene', async (t) => {
  const s = await simRig(t, 'afr');
  await s.focuser.moveTo(880);
  const r = await autofocus(s.camera, s.focuser, { outDir: join(s.dir, 'af'), exposureS: 5, step: 40, refine: true });
  t.true(r.points.some((p) => p.pass === 'refine'));
  t.true(Math.abs(s.rig.defocusSteps()) <= s.rig.depthOfFocusSteps);
  // Daytime: no stars, a contrast measure and a Gaussian fit instead.
  const d = await simRig(t, 'afday', '&scene=day&format=png');
  await d.focuser.moveTo(1100);
  const rd = await autofocus(d.camera, d.focuser, { outDir: join(d.dir, 'af'), exposureS: 0.001, step: 40, measure: 'tenengrad' });
  t.log(`day, tenengrad: 1100 → ${rd.position}, optical defocus ${d.rig.defocusSteps().toFixed(0)}, ${rd.fit.kind} R² ${rd.fit.r2.toFixed(3)}`);
  t.is(rd.fit.kind, 'gaussian');
  t.true(Math.abs(d.rig.defocusSteps()) <= d.rig.depthOfFocusSteps);
});

test('no stars in any frame: one-line error naming the step, rail back at its start', async (t) => {
  const s = await simRig(t, 'afdark', '&shutter=closed');
  await s.focuser.moveTo(900);
  const err = await t.throwsAsync(autofocus(s.camera, s.focuser, { outDir: join(s.dir, 'af'), exposureS: 1, step: 40 }));
  t.true(err instanceof AutofocusError);
  t.regex(err.message, /^autofocus (sweep|coarse scan): no stars detected in any frame .*\(rail left at 900\)$/);
  t.false(err.message.includes('\n'));
  t.is(await s.focuser.position(), 900);
});

test('a focuser that does not reach its target: error names the point, rail at a known position', async (t) => {
  const s = await simRig(t, 'afstuck');
  await s.focuser.moveTo(1000);
  let moves = 0;
  const stuck: Focuser = Object.create(s.focuser) as Focuser;
  stuck.moveTo = async (p, o) => {
    moves++;
    const reached = await s.focuser.moveTo(moves === 4 ? p - 25 : p, o);
    return reached;
  };
  const err = await t.throwsAsync(autofocus(s.camera, stuck, { outDir: join(s.dir, 'af'), exposureS: 2, step: 40 }));
  t.regex(err.message, /^autofocus sweep point \d+\/\d+ at \d+: focuser reached \d+ instead of \d+ \(rail left at 1000\)$/);
  t.is(await s.focuser.position(), 1000);
});

test('skyrig focus auto: device URLs through the registry, V-curve written, bad option named', async (t) => {
  const { runFocusAuto } = await import('../../agent/cli/commands/focus.js');
  const dir = await tempDir(t);
  const lines: string[] = [];
  const err = { write: (s: string) => lines.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
  const url = 'sim://cli?seed=5&width=320&height=240';
  const r = await runFocusAuto({ camera: url, focuser: url, exposure: '5', step: '40', out: join(dir, 'af'), stateDir: dir }, err);
  t.true(Math.abs(r.position - 1000) <= 80);
  t.true(existsSync(join(dir, 'af', 'vcurve.png')));
  t.true(lines.some((l) => l.startsWith('autofocus: sweep')));
  await t.throwsAsync(runFocusAuto({ camera: url, focuser: url, points: '3', stateDir: dir }, err), { message: /--points: expected an integer 5\.\.41/ });
});
