import test from 'ava';
import { createSimCamera, createSimFocuser } from '../../hardware-mocks/index.js';
import { DeviceError } from '../../drivers/types.js';
import { withBacklash } from '../../drivers/backlash.js';
import { tempDir } from '../helpers/tmp.js';
import { simContext } from './helpers.js';

test('backlash: a reversal loses the dead band; one-sided approach is repeatable', async (t) => {
  const ctx = simContext();
  const foc = createSimFocuser(new URL('sim://b?dead_band=80&position=1000'), ctx);
  await foc.connect();
  t.is(foc.opticalPosition(), 1000);
  // Out: optics trail the motor by the full band.
  t.is(await foc.moveTo(1200), 1200);
  t.is(foc.opticalPosition(), 1120);
  // Reverse by 50: all slack, the optics do not move.
  await foc.moveTo(1150);
  t.is(foc.opticalPosition(), 1120);
  // Further in: the optics follow the motor count.
  await foc.moveTo(1100);
  t.is(foc.opticalPosition(), 1100);
  // Same reported position, different optics, depending on the side it was approached from.
  await foc.moveTo(900);
  await foc.moveTo(1100);
  t.is(await foc.position(), 1100);
  t.is(foc.opticalPosition(), 1020);
  // Approached from above twice: the optics land at the same place both times.
  await foc.moveTo(1300);
  await foc.moveTo(1100);
  const a = foc.opticalPosition();
  await foc.moveTo(1250);
  await foc.moveTo(1100);
  t.is(foc.opticalPosition(), a);
});

test('the camera sees the optical position, not the motor count', async (t) => {
  const dir = await tempDir(t);
  const ctx = simContext();
  const cam = createSimCamera(new URL('sim://c?focus_best=1000&start=2026-01-10T22:00:00Z'), ctx);
  const foc = createSimFocuser(new URL('sim://c?dead_band=80'), ctx);
  await cam.connect();
  await foc.connect();
  await foc.moveTo(1080); // from 1000 outward: optics at 1000 = best focus
  const sharp = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'a' });
  t.is(sharp.meta.defocusSteps, 0);
  t.is(sharp.meta.focusPosition, 1080);
  await foc.moveTo(1200);
  await foc.moveTo(1080); // from above: optics at 1080
  const soft = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'b' });
  t.is(soft.meta.defocusSteps, 80);
  t.true((soft.meta.fwhmPx as number) > (sharp.meta.fwhmPx as number) * 1.5);
});

test('limits, rig parameters shared and checked between devices', async (t) => {
  const ctx = simContext();
  const cam = createSimCamera(new URL('sim://l?seed=4&focus_max=3000'), ctx);
  const foc = createSimFocuser(new URL('sim://l?seed=4'), ctx);
  await foc.connect();
  t.is(foc.rig, cam.rig);
  t.deepEqual(await foc.limits(), { min: 0, max: 3000 });
  const err = await t.throwsAsync(foc.moveTo(3001));
  t.true(err instanceof DeviceError && err.code === 'limit');
  t.throws(() => createSimCamera(new URL('sim://l?seed=5'), ctx), { message: /seed=5 conflicts with seed=4/ });
  // Re-opened (as the agent does after a failure): same motor, same place.
  await foc.moveTo(1234);
  await foc.disconnect();
  const again = createSimFocuser(new URL('sim://l?seed=4&position=10'), ctx);
  t.is(await again.position(), 1234);
  const other = createSimFocuser(new URL('sim://other?dead_band=0'), ctx);
  t.not(other.rig, cam.rig);
});

test('realtime move takes |Δ|/speed, reports isMoving, and stops where aborted', async (t) => {
  const ctx = simContext();
  const foc = createSimFocuser(new URL('sim://m?realtime=1&speed=200&position=0&dead_band=0'), ctx);
  await foc.connect();
  const t0 = Date.now();
  await foc.moveTo(100);
  const took = Date.now() - t0;
  t.true(took >= 490, `${took} ms`);
  const ctl = new AbortController();
  const move = foc.moveTo(1800, { signal: ctl.signal });
  await new Promise((r) => setTimeout(r, 300));
  t.true(await foc.isMoving());
  ctl.abort();
  const err = await t.throwsAsync(move);
  t.true(err instanceof DeviceError && err.code === 'aborted', String(err));
  const p = await foc.position();
  t.true(p > 100 && p < 1800, `stopped at ${p}`); // somewhere on the way: the full move takes 8.5 s
  t.false(await foc.isMoving());
  const err2 = await t.throwsAsync(foc.moveTo(1500, { timeoutMs: 100 }));
  t.true(err2 instanceof DeviceError && err2.code === 'timeout', String(err2));
});

test('realtime capture is stopped by its abort signal and by abort()', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL('sim://a?realtime=1&width=64&height=48'), simContext());
  await cam.connect();
  const ctl = new AbortController();
  const t0 = Date.now();
  const cap = cam.capture({ exposureS: 30, outDir: dir, fileStem: 'x', signal: ctl.signal });
  setTimeout(() => ctl.abort(), 100);
  const err = await t.throwsAsync(cap);
  t.true(err instanceof DeviceError && err.code === 'aborted');
  t.true(Date.now() - t0 < 2000);
  const cap2 = cam.capture({ exposureS: 30, outDir: dir, fileStem: 'y' });
  setTimeout(() => void cam.abort(), 100);
  const err2 = await t.throwsAsync(cap2);
  t.true(err2 instanceof DeviceError && err2.code === 'aborted');
  // Real time: a 0.3 s exposure takes at least 0.3 s.
  const t1 = Date.now();
  await cam.capture({ exposureS: 0.3, outDir: dir, fileStem: 'z' });
  t.true(Date.now() - t1 >= 290);
});

test('withBacklash (overshoot ≥ dead band) makes the optics land on the commanded position from either side', async (t) => {
  const foc = createSimFocuser(new URL('sim://w?dead_band=40&position=1000'), simContext());
  await foc.connect();
  const comp = withBacklash(foc, { steps: 60, approach: 'in' });
  for (const [from, to] of [[800, 1050], [1300, 1050], [900, 1200], [1500, 1200]] as const) {
    await comp.moveTo(from);
    await comp.moveTo(to);
    t.is(foc.opticalPosition(), to, `from ${from} to ${to}`);
  }
  // Without compensation the outward approach leaves the optics a dead band short.
  await foc.moveTo(800);
  await foc.moveTo(1050);
  t.is(foc.opticalPosition(), 1010);
});
