// Against a real indiserver with the INDI simulators (and our slow focuser driver for abort).
import test from 'ava';
import { readdir, stat } from 'node:fs/promises';
import { memoryLogger } from '../../agent/log.js';
import { createDriverContext, type DriverContext } from '../../drivers/context.js';
import { createIndiCamera, createIndiFocuser, probeIndiServer, type SharedClientOptions } from '../../drivers/indi/index.js';
import { IndiClient } from '../../drivers/indi/client.js';
import { DeviceError } from '../../drivers/types.js';
import { readFitsHeader, FITS_BLOCK } from '../../pipeline/image/fits.js';
import { CCD_SIM, FOCUSER_SIM, SLOW_FOCUSER, SLOW_REL_FOCUSER, startIndiServer } from '../helpers/indiserver.js';
import { tempDir } from '../helpers/tmp.js';

async function context(t: Parameters<typeof tempDir>[0]): Promise<DriverContext & { log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger('debug');
  const ctx = createDriverContext({ log, stateDir: await tempDir(t) });
  // Fast reconnects so the restart test stays short.
  ctx.shared.set('indi-client-options', { initialBackoffMs: 100, maxBackoffMs: 400 } satisfies SharedClientOptions);
  return ctx as DriverContext & { log: ReturnType<typeof memoryLogger> };
}

const url = (port: number, device: string) => new URL(`indi://127.0.0.1:${port}/${encodeURIComponent(device)}`);

test('CCD Simulator: a 1 s exposure arrives as a FITS file of the sensor size with EXPTIME', async (t) => {
  const server = await startIndiServer(t);
  const ctx = await context(t);
  const out = await tempDir(t);
  const camera = createIndiCamera(url(server.port, CCD_SIM), ctx);
  t.teardown(() => camera.disconnect());
  await camera.connect();

  // CCD_INFO as the server reports it, read with a separate client of our own.
  const probe = new IndiClient({ host: '127.0.0.1', port: server.port, log: ctx.log });
  t.teardown(() => probe.close());
  await probe.connect();
  const info = await probe.waitForVectorState(CCD_SIM, 'CCD_INFO', (v) => (v.elements.get('CCD_MAX_X')?.value as number) > 0, 'CCD_INFO');
  await probe.waitForVector(CCD_SIM, 'CCD_COMPRESSION');
  const maxX = info.elements.get('CCD_MAX_X')!.value as number;
  const maxY = info.elements.get('CCD_MAX_Y')!.value as number;

  // Someone turned fpack compression on: the camera switches it off again and gets plain FITS.
  await probe.setVectorAndWait(CCD_SIM, 'CCD_COMPRESSION', { INDI_ENABLED: true });

  const caps = await camera.capabilities();
  t.is(caps.width, maxX);
  t.is(caps.height, maxY);
  t.deepEqual([...caps.frameTypes].sort(), ['bias', 'dark', 'flat', 'light']);
  t.true(caps.canAbort);
  t.deepEqual(caps.gain, { min: 0, max: 100 });

  const started = Date.now();
  const frame = await camera.capture({ exposureS: 1, gain: 50, outDir: out, fileStem: 'sim-0001' });
  t.true(Date.now() - started >= 1000, 'the exposure took its time');
  t.is(frame.path, `${out}/sim-0001.fits`);
  t.is(frame.format, 'fits');
  t.is(frame.width, maxX);
  t.is(frame.height, maxY);
  t.is(frame.bitDepth, 16);
  t.is(frame.exposureS, 1);
  t.is(frame.gain, 50);
  const header = await readFitsHeader(frame.path);
  t.is(header.cards.NAXIS1, maxX);
  t.is(header.cards.NAXIS2, maxY);
  t.is(header.cards.EXPTIME, 1);
  t.is(header.cards.FRAME, 'Light');
  const size = (await stat(frame.path)).size;
  t.is(size, header.dataOffset + Math.ceil((maxX * maxY * 2) / FITS_BLOCK) * FITS_BLOCK);
  t.deepEqual(await readdir(out), ['sim-0001.fits'], 'no temp files left behind');

  // Abort mid-exposure: the capture fails as aborted, nothing lands, the camera stays usable.
  const long = camera.capture({ exposureS: 5, outDir: out, fileStem: 'aborted' });
  await new Promise((r) => setTimeout(r, 400));
  await camera.abort();
  const aborted = await t.throwsAsync(long);
  t.true(aborted instanceof DeviceError && aborted.code === 'aborted', String(aborted));
  t.deepEqual(await readdir(out), ['sim-0001.fits']);

  // Binning, ROI and frame type go through CCD_BINNING / CCD_FRAME / CCD_FRAME_TYPE.
  const dark = await camera.capture({ exposureS: 0.1, binning: 2, roi: { x: 0, y: 0, width: 640, height: 512 }, frameType: 'dark', outDir: out, fileStem: 'sim-0002' });
  t.is(dark.width, 320);
  t.is(dark.height, 256);
  t.is((await readFitsHeader(dark.path)).cards.FRAME, 'Dark');

  // A 0 s bias becomes the camera's shortest exposure; a 0 s light is refused.
  const bias = await camera.capture({ exposureS: 0, frameType: 'bias', outDir: out, fileStem: 'bias' });
  t.is((await readFitsHeader(bias.path)).cards.FRAME, 'Bias');
  t.is(bias.exposureS, 0.01);
  await t.throwsAsync(camera.capture({ exposureS: 0, outDir: out, fileStem: 'zero' }), { message: /exposure 0 s outside what the camera offers \(0\.01\.\.3600 s\)/ });

  t.is(typeof (await camera.temperature()), 'number');
  const bad = await t.throwsAsync(camera.capture({ exposureS: 1, gain: 500, outDir: out, fileStem: 'x' }));
  t.true(bad instanceof DeviceError && bad.code === 'invalid');
  t.regex(bad!.message, /gain 500 outside 0\.\.100/);
});

test('Focuser Simulator reaches its target; a slow focuser is stopped short by abort', async (t) => {
  const server = await startIndiServer(t, { drivers: ['indi_simulator_focus'], slowFocuser: true, relFocuser: true });
  const ctx = await context(t);
  const arrivals = () => server.log().match(/new arrival/g)?.length ?? 0;
  // The helper's port probe is one arrival; wait until indiserver has logged it before counting.
  for (let i = 0; i < 50 && arrivals() < 1; i++) await new Promise((r) => setTimeout(r, 50));
  const before = arrivals();
  const sim = createIndiFocuser(url(server.port, FOCUSER_SIM), ctx);
  const slow = createIndiFocuser(url(server.port, SLOW_FOCUSER), ctx);
  t.teardown(() => sim.disconnect());
  t.teardown(() => slow.disconnect());
  await Promise.all([sim.connect(), slow.connect()]);
  t.is(ctx.shared.size, 2, 'one shared client (plus its options) for both focusers');
  await new Promise((r) => setTimeout(r, 200)); // let indiserver's log catch up
  t.is(arrivals() - before, 1, 'one TCP connection for both devices');

  const probe = await probeIndiServer('127.0.0.1', server.port, ctx.log);
  t.true(probe.reachable);
  t.deepEqual(probe.devices, [FOCUSER_SIM, SLOW_FOCUSER, SLOW_REL_FOCUSER]);
  t.is(typeof probe.pingMs, 'number');

  const limits = await sim.limits();
  t.is(limits.min, 0);
  t.is(limits.max, 100000);
  const start = await sim.position();
  const target = start === 42000 ? 43000 : 42000;
  t.is(await sim.moveTo(target), target);
  t.is(await sim.position(), target);
  t.is(await sim.temperature(), 0);
  const outside = await t.throwsAsync(sim.moveTo(200000));
  t.true(outside instanceof DeviceError && outside.code === 'limit');

  t.is(await slow.position(), 1000);
  t.is(await slow.temperature(), 12.5);
  t.is(await slow.moveTo(1600), 1600);
  const move = slow.moveTo(12000);
  await new Promise((r) => setTimeout(r, 600));
  t.true(await slow.isMoving());
  await slow.abort();
  const err = await t.throwsAsync(move);
  t.true(err instanceof DeviceError && err.code === 'aborted');
  const stopped = await slow.position();
  t.true(stopped > 1600 && stopped < 12000, `stopped at ${stopped}`);
  await new Promise((r) => setTimeout(r, 300));
  t.is(await slow.position(), stopped, 'no further motion after the abort');
  t.regex(err!.message, new RegExp(`aborted at ${stopped}`));

  // Caller's AbortSignal stops the motor too.
  const controller = new AbortController();
  const move2 = slow.moveTo(1000, { signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  const err2 = await t.throwsAsync(move2);
  t.true(err2 instanceof DeviceError && err2.code === 'aborted');
  const p2 = await slow.position();
  t.true(p2 > 1000 && p2 < stopped, `stopped at ${p2}`);

  // Relative-only focuser: FOCUS_MOTION + REL_FOCUS_POSITION, position counted from connect.
  const rel = createIndiFocuser(url(server.port, SLOW_REL_FOCUSER), ctx);
  t.teardown(() => rel.disconnect());
  await rel.connect();
  t.is(await rel.position(), 0);
  t.deepEqual(await rel.limits(), { min: -20000, max: 20000 });
  t.is(await rel.moveTo(800), 800);
  t.is(await rel.moveTo(300), 300);
  const probeClient = new IndiClient({ host: '127.0.0.1', port: server.port, log: ctx.log });
  t.teardown(() => probeClient.close());
  await probeClient.connect();
  const truth = await probeClient.waitForVector(SLOW_REL_FOCUSER, 'SIM_TRUE_POSITION');
  t.is(truth.elements.get('STEPS')!.value, 1000 + 300, 'the driver really went out 800 and in 500');
  t.is(probeClient.value(SLOW_REL_FOCUSER, 'FOCUS_MOTION', 'FOCUS_INWARD'), true);
});

test('killing indiserver mid-exposure fails the capture as disconnected; a restarted server is picked up again', async (t) => {
  const home = await tempDir(t, 'skyrig-indi-home-');
  const server = await startIndiServer(t, { drivers: ['indi_simulator_ccd'], home });
  const ctx = await context(t);
  const out = await tempDir(t);
  const camera = createIndiCamera(url(server.port, CCD_SIM), ctx);
  t.teardown(() => camera.disconnect());
  await camera.connect();

  const capture = camera.capture({ exposureS: 5, outDir: out, fileStem: 'lost' });
  await new Promise((r) => setTimeout(r, 1200));
  await server.kill();
  const err = await t.throwsAsync(capture);
  t.true(err instanceof DeviceError);
  t.is((err as DeviceError).code, 'disconnected');
  t.regex(err!.message, new RegExp(`CCD Simulator: INDI server 127\\.0\\.0\\.1:${server.port} connection lost`));

  // Same port, fresh server: the client's backoff loop reconnects, the camera re-connects the device.
  await startIndiServer(t, { drivers: ['indi_simulator_ccd'], port: server.port, home });
  const frame = await camera.capture({ exposureS: 0.5, outDir: out, fileStem: 'after-restart' });
  t.is((await readFitsHeader(frame.path)).cards.EXPTIME, 0.5);
  t.deepEqual(await readdir(out), ['after-restart.fits'], 'the interrupted frame left no partial file');
  t.true(ctx.log.lines.some((l) => l.includes('INDI server connection lost')));
  t.true(ctx.log.lines.filter((l) => l.includes('INDI server connected')).length >= 2);
});
