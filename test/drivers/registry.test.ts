import test from 'ava';
import { createRequire } from 'node:module';
import { memoryLogger } from '../../agent/log.js';
import { createDriverContext } from '../../drivers/context.js';
import { createCamera, createFocuser, parseDeviceUrl } from '../../drivers/registry.js';
import { FakeGpioChip } from '../../hardware-mocks/gpio-chip.js';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);
const loaded = (pkg: string) => Object.keys(require.cache).some((k) => k.includes(`/node_modules/${pkg}/`));

test('device URL errors name the URL and what is allowed', (t) => {
  t.throws(() => parseDeviceUrl('camera1'), { message: /^device URL "camera1": not a URL; expected one of sim:\/\/.*indi:\/\/.*gphoto2:\/\/.*gpio-rail:\/\// });
  t.throws(() => parseDeviceUrl('http://cam.local/'), { message: /device URL "http:\/\/cam.local\/": unknown scheme "http:"; expected one of/ });
  t.throws(() => parseDeviceUrl('indi://'), { message: /device URL "indi:\/\/": no INDI server host; expected indi:\/\/host\[:7624\]/ });
  t.throws(() => parseDeviceUrl('gphoto2://camera'), { message: /"camera" is not a gphoto2 port \(like usb:001,004/ });
  t.throws(() => parseDeviceUrl('gpio-rail://?dir=27'), { message: /device URL "gpio-rail:\/\/\?dir=27": step=<BCM pin> is required/ });
  t.throws(() => parseDeviceUrl('gpio-rail://?step=17&dir=27&speed=fast'), { message: /speed=fast is not a number/ });
});

test('URLs normalise for their backends', (t) => {
  const g = parseDeviceUrl('gphoto2://usb:001,004');
  t.is(g.scheme, 'gphoto2');
  t.is(g.url.searchParams.get('port'), 'usb:001,004');
  t.is(parseDeviceUrl('gphoto2://').url.searchParams.get('port'), null);
  t.is(parseDeviceUrl('gphoto2://usb:001,004?imageformat=RAW').url.searchParams.get('imageformat'), 'RAW');
  const i = parseDeviceUrl('indi://localhost:7624/CCD%20Simulator');
  t.is(i.url.hostname, 'localhost');
  t.is(decodeURIComponent(i.url.pathname.slice(1)), 'CCD Simulator');
  t.is(parseDeviceUrl('SIM:').scheme, 'sim');
  t.is(parseDeviceUrl('gpio-rail://?step=17&dir=27&backlash=40').scheme, 'gpio-rail', 'backlash is the registry\'s, not the rail\'s');
});

test('roles: a focuser URL is not a camera and the other way round', async (t) => {
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t) });
  await t.throwsAsync(createCamera('gpio-rail://?step=17&dir=27', ctx), { message: /gpio-rail:\/\/ is not a camera; cameras are sim:\/\/.*indi:\/\/.*gphoto2:\/\// });
  await t.throwsAsync(createFocuser('gphoto2://', ctx), { message: /gphoto2:\/\/ is not a focuser; focusers are/ });
});

test('focusers come back wrapped for backlash when configured, and native modules load only when used', async (t) => {
  const chip = new FakeGpioChip();
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t), gpioChip: chip });
  const plain = await createFocuser('gpio-rail://?step=17&dir=27', ctx);
  t.false('inner' in plain);
  const wrapped = await createFocuser('gpio-rail://?step=5&dir=6&backlash=30&approach=in', ctx);
  t.deepEqual((wrapped as unknown as { backlash: unknown }).backlash, { steps: 30, approach: 'in' });
  const byOption = await createFocuser('gpio-rail://?step=7&dir=8', ctx, { backlashSteps: 12 });
  t.deepEqual((byOption as unknown as { backlash: unknown }).backlash, { steps: 12, approach: 'out' });
  await t.throwsAsync(createFocuser('gpio-rail://?step=7&dir=8&backlash=-3', ctx), { message: /backlash must be a whole number/ });
  await wrapped.connect();
  await wrapped.moveTo(100);
  t.is(await wrapped.position(), 100);
  t.false(loaded('onoff'), 'the fake chip was used: onoff never loaded');
  t.false(loaded('gphoto2'), 'no camera asked for: gphoto2 never loaded');
  const cam = await createCamera('gphoto2://', ctx);
  t.is(cam.url, 'gphoto2://');
  t.true(loaded('gphoto2'), 'a gphoto2:// camera loads the binding');
});

test('sim:// camera and focuser come from the simulated rig through the registry', async (t) => {
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t) });
  const cam = await createCamera('sim://regrig?seed=3', ctx);
  const foc = await createFocuser('sim://regrig', ctx, { backlashSteps: 20, approach: 'in' });
  await cam.connect();
  await foc.connect();
  const caps = await cam.capabilities();
  t.true(caps.width > 0 && caps.height > 0);
  const start = await foc.position();
  t.is(await foc.moveTo(start + 50), start + 50);
  t.is(await foc.position(), start + 50);
  await foc.disconnect();
  await cam.disconnect();
});
