import test from 'ava';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { memoryLogger } from '../../agent/log.js';
import { bindingBackend, flattenConfig, loadGphoto2Binding, type BindingCamera, type GphotoBindingModule } from '../../drivers/gphoto2/binding.js';
import { Gphoto2Camera } from '../../drivers/gphoto2/camera.js';
import { cliBackend, cliError, parseAutoDetect, parseGetConfig, type CliRunner } from '../../drivers/gphoto2/cli.js';
import { probeFrame } from '../../drivers/gphoto2/probe.js';
import { parseShutter, planShutter } from '../../drivers/gphoto2/shutter.js';
import { DeviceError } from '../../drivers/types.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const CANON_SHUTTER = ['bulb', '30', '25', '20', '15', '13', '10', '8', '6', '5', '4', '3.2', '2.5', '2', '1.6', '1.3', '1', '0.8', '0.6', '0.5',
  '0.4', '0.3', '1/4', '1/5', '1/6', '1/8', '1/10', '1/13', '1/15', '1/20', '1/25', '1/30', '1/40', '1/50', '1/60', '1/80', '1/100', '1/125',
  '1/160', '1/200', '1/250', '1/320', '1/400', '1/500', '1/640', '1/800', '1/1000', '1/1250', '1/1600', '1/2000', '1/2500', '1/3200', '1/4000'];

let jpeg: Buffer;
test.before(async () => {
  jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 20, g: 30, b: 40 } } }).jpeg().toBuffer();
});

/** A stand-in for node-gphoto2: same call shapes, libgphoto2 codes on failure, scripted faults. */
class FakeBinding {
  plugged = true;
  port = 'usb:001,004';
  model = 'Canon EOS 600D';
  failures: { op: string; code: number; times: number }[] = [];
  calls: string[] = [];
  settings: Record<string, { value: string; choices: string[] }> = {
    shutterspeed: { value: '1/100', choices: CANON_SHUTTER },
    iso: { value: 'Auto', choices: ['Auto', '100', '200', '400', '800', '1600', '3200', '6400'] },
    aperture: { value: '5.6', choices: ['4', '5.6', '8'] },
    capturetarget: { value: 'Memory card', choices: ['Internal RAM', 'Memory card'] },
    imageformat: { value: 'Large Fine JPEG', choices: ['Large Fine JPEG', 'RAW', 'RAW + Large Fine JPEG'] },
  };
  private shots = 0;

  failNext(op: string, code: number, times = 1): void {
    this.failures.push({ op, code, times });
  }

  private fault(op: string): number | undefined {
    this.calls.push(op);
    if (!this.plugged) return -7; // libgphoto2: I/O problem once the device is gone
    const f = this.failures.find((x) => x.op === op && x.times > 0);
    if (!f) return undefined;
    f.times--;
    return f.code;
  }

  module(): GphotoBindingModule {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the fake's objects close over it
    const fake = this;
    class GPhoto2 {
      list(cb: (cams: BindingCamera[]) => void) {
        fake.calls.push('list');
        setImmediate(() => cb(fake.plugged ? [fake.camera()] : []));
      }
    }
    return { GPhoto2 };
  }

  private camera(): BindingCamera {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the fake's objects close over it
    const fake = this;
    const port = this.port;
    const gone = () => !fake.plugged || fake.port !== port;
    return {
      model: fake.model,
      port,
      getConfig(_simplify, cb) {
        const code = gone() ? -7 : fake.fault('getConfig');
        if (code) return setImmediate(() => cb(code, undefined));
        const tree = { main: { imgsettings: {} as Record<string, unknown>, capturesettings: {} as Record<string, unknown> } };
        for (const [k, v] of Object.entries(fake.settings)) {
          (k === 'iso' || k === 'imageformat' ? tree.main.imgsettings : tree.main.capturesettings)[k] = { label: k, type: 'choice', value: v.value, choices: v.choices };
        }
        setImmediate(() => cb(undefined, tree));
      },
      setConfigValue(key, value, cb) {
        const code = gone() ? -7 : fake.fault(`set:${key}`);
        if (code) return setImmediate(() => cb(code));
        const s = fake.settings[key];
        if (!s || !s.choices.includes(String(value))) return setImmediate(() => cb(-2));
        s.value = String(value);
        setImmediate(() => cb());
      },
      takePicture(opts, cb) {
        const code = gone() ? -7 : fake.fault('takePicture');
        if (code) return setImmediate(() => cb(code));
        if (opts.download !== false) throw new Error('driver must capture without download, then download');
        fake.shots++;
        setImmediate(() => cb(undefined, `/capt${String(fake.shots).padStart(4, '0')}.jpg`));
      },
      downloadPicture(opts, cb) {
        const code = gone() ? -7 : fake.fault('downloadPicture');
        if (code) return setImmediate(() => cb(code));
        const tmp = opts.targetPath.replace(/XXXXXX$/, Math.random().toString(36).slice(2, 8));
        writeFile(tmp, jpeg).then(() => cb(undefined, tmp), () => cb(-1));
      },
    };
  }
}

function makeCamera(fake: FakeBinding, opts: { port?: string | null; fallback?: CliRunner } = {}) {
  const log = memoryLogger();
  const delays: number[] = [];
  const camera = new Gphoto2Camera(`gphoto2://${opts.port ?? ''}`, { port: opts.port ?? null }, {
    backend: bindingBackend(fake.module()),
    fallback: opts.fallback ? cliBackend(opts.fallback) : null,
    log,
    probe: probeFrame,
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  return { camera, log, delays };
}

test('shutter speeds parse the ways cameras write them', (t) => {
  t.is(parseShutter('1/250'), 1 / 250);
  t.is(parseShutter('2.5'), 2.5);
  t.is(parseShutter('30'), 30);
  t.is(parseShutter('30"'), 30);
  t.is(parseShutter('1/3s'), 1 / 3);
  t.is(parseShutter('1"5'), 1.5);
  t.is(parseShutter('Bulb'), 'bulb');
  t.is(parseShutter('auto'), null);
  t.is(parseShutter('0'), null);
});

test('exposure maps to the nearest offered shutter speed in stops; long ones go to bulb', (t) => {
  t.deepEqual(planShutter(CANON_SHUTTER, 1 / 250), { text: '1/250', bulb: false, seconds: 1 / 250 });
  t.is(planShutter(CANON_SHUTTER, 0.0035).text, '1/320'); // 1/286: 0.16 stop from 1/320, 0.19 from 1/250
  t.is(planShutter(CANON_SHUTTER, 2.4).text, '2.5');
  t.is(planShutter(CANON_SHUTTER, 1 / 10000).text, '1/4000');
  t.is(planShutter(CANON_SHUTTER, 32).text, '30', 'within a sixth of a stop of 30 s: timed');
  t.deepEqual(planShutter(CANON_SHUTTER, 120), { text: 'bulb', bulb: true, seconds: 120 });
  t.is(planShutter(CANON_SHUTTER.slice(1), 120).text, '30', 'no bulb: the longest timed speed');
  t.throws(() => planShutter(['bulb'].slice(1), 1, 'cam'), { message: /offers no shutter speeds.*mode dial to M/ });
  t.throws(() => planShutter(CANON_SHUTTER, -1, 'cam'), { message: /exposure -1 s must be a positive number/ });
});

test('capture sets shutter and ISO, switches to internal RAM, downloads into <outDir>/<stem>.<ext> with the real size', async (t) => {
  const fake = new FakeBinding();
  const { camera } = makeCamera(fake);
  const outDir = await tempDir(t);
  const frame = await camera.capture({ exposureS: 1 / 200, iso: 750, outDir, fileStem: 'light_0001' });
  t.is(frame.path, join(outDir, 'light_0001.jpg'));
  t.true(existsSync(frame.path));
  t.deepEqual([frame.width, frame.height, frame.channels, frame.format], [64, 48, 3, 'jpeg']);
  t.is(frame.exposureS, 1 / 200);
  t.is(frame.iso, 800);
  t.is(fake.settings.shutterspeed.value, '1/200');
  t.is(fake.settings.iso.value, '800');
  t.is(fake.settings.capturetarget.value, 'Internal RAM');
  t.deepEqual((await readdir(outDir)).sort(), ['light_0001.jpg'], 'no temp files left behind');
  const caps = await camera.capabilities();
  t.is(caps.model, 'Canon EOS 600D');
  t.is(caps.width, 64);
  t.deepEqual(caps.isoValues, [100, 200, 400, 800, 1600, 3200, 6400]);
  t.is(caps.maxExposureS, 3600);
});

test('PTP Device Busy is retried with growing backoff, then the capture succeeds', async (t) => {
  const fake = new FakeBinding();
  const { camera, delays, log } = makeCamera(fake);
  await camera.connect();
  fake.failNext('takePicture', -110, 3);
  const outDir = await tempDir(t);
  const frame = await camera.capture({ exposureS: 0.01, outDir, fileStem: 'f' });
  t.true(existsSync(frame.path));
  t.deepEqual(delays, [100, 200, 400]);
  t.is(fake.calls.filter((c) => c === 'takePicture').length, 4);
  t.true(log.lines.some((l) => /camera busy, retrying/.test(l)));
});

test('busy for good: a DeviceError busy after the attempts, naming PTP Device Busy', async (t) => {
  const fake = new FakeBinding();
  const { camera } = makeCamera(fake);
  await camera.connect();
  fake.failNext('takePicture', -110, 99);
  const err = await t.throwsAsync(camera.capture({ exposureS: 0.01, outDir: await tempDir(t), fileStem: 'f' }), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'busy');
  t.regex(err!.message, /PTP Device Busy.*after 4 attempts/);
});

test('"Could not claim the USB device" names gvfs and the fix', async (t) => {
  const fake = new FakeBinding();
  fake.failNext('getConfig', -53, 99);
  const { camera, delays } = makeCamera(fake);
  const err = await t.throwsAsync(camera.connect(), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'busy');
  t.regex(err!.message, /could not claim the USB device during connect after 4 attempts/);
  t.regex(err!.message, /gvfs gphoto2 volume monitor/);
  t.regex(err!.message, /systemctl --user stop gvfs-gphoto2-volume-monitor/);
  t.regex(err!.message, /apt-get remove gvfs-backends/);
  t.is(delays.length, 3);
  t.false(err!.message.includes('\n'), 'one line');
});

test('a claim failure that clears (gvfs stopped) recovers on retry', async (t) => {
  const fake = new FakeBinding();
  fake.failNext('getConfig', -53, 2);
  const { camera } = makeCamera(fake);
  await camera.connect();
  const frame = await camera.capture({ exposureS: 1, outDir: await tempDir(t), fileStem: 'x' });
  t.is(frame.exposureS, 1);
});

test('unplugged: the capture fails as disconnected, the next finds nothing, after replug the camera is found again on its new port', async (t) => {
  const fake = new FakeBinding();
  const { camera, log } = makeCamera(fake, { port: 'usb:001,004' });
  const outDir = await tempDir(t);
  await camera.capture({ exposureS: 0.1, outDir, fileStem: 'a' });
  fake.plugged = false;
  const err = await t.throwsAsync(camera.capture({ exposureS: 0.1, outDir, fileStem: 'b' }), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'disconnected');
  t.regex(err!.message, /camera went away during capture.*next capture looks for it again/);
  const err2 = await t.throwsAsync(camera.capture({ exposureS: 0.1, outDir, fileStem: 'b' }), { instanceOf: DeviceError });
  t.is((err2 as DeviceError).code, 'not-found');
  t.regex(err2!.message, /no camera found by libgphoto2/);

  fake.plugged = true;
  fake.port = 'usb:001,005'; // a replug renumbers the USB device
  const frame = await camera.capture({ exposureS: 0.1, outDir, fileStem: 'c' });
  t.true(existsSync(frame.path));
  t.is(frame.meta.port, 'usb:001,005');
  t.true(log.lines.some((l) => /came back on another port/.test(l)));
});

test('a port that names no camera lists what is there', async (t) => {
  const fake = new FakeBinding();
  const { camera } = makeCamera(fake, { port: 'usb:002,009' });
  const err = await t.throwsAsync(camera.connect(), { instanceOf: DeviceError });
  t.regex(err!.message, /no camera on usb:002,009; libgphoto2 sees Canon EOS 600D at usb:001,004/);
});

test('bulb exposures go to the gphoto2 command line after the binding lets go of the camera', async (t) => {
  const fake = new FakeBinding();
  const runs: string[][] = [];
  const runner: CliRunner = async (args) => {
    runs.push(args);
    const fi = args.indexOf('--filename');
    const saved = args[fi + 1].replace('%C', 'cr2');
    await writeFile(saved, 'raw bytes');
    return { code: 0, stdout: `New file is in location /capt0000.cr2 on the camera\nSaving file as ${saved}\n`, stderr: '' };
  };
  const log = memoryLogger();
  const camera = new Gphoto2Camera('gphoto2://', { port: null }, {
    backend: bindingBackend(fake.module()),
    fallback: cliBackend(runner),
    log,
    probe: async () => ({ format: 'raw', width: 5202, height: 3465, channels: 1, bitDepth: 16, bayer: 'RGGB' }),
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const outDir = await tempDir(t);
  const frame = await camera.capture({ exposureS: 90, outDir, fileStem: 'long' });
  t.is(fake.settings.shutterspeed.value, 'bulb');
  t.is(runs.length, 1);
  t.deepEqual(runs[0].slice(0, 3), ['--port', 'usb:001,004', '--bulb=90']);
  t.is(frame.path, join(outDir, 'long.cr2'));
  t.is(frame.exposureS, 90);
  t.deepEqual((await readdir(outDir)).sort(), ['long.cr2']);
  // The binding session was released for the CLI; the next timed capture reopens it.
  const next = await camera.capture({ exposureS: 1 / 100, outDir, fileStem: 'short' });
  t.is(next.path, join(outDir, 'short.jpg'));
});

test('gain on a DSLR is refused with the option to use instead', async (t) => {
  const { camera } = makeCamera(new FakeBinding());
  const err = await t.throwsAsync(camera.capture({ exposureS: 1, gain: 100, outDir: await tempDir(t), fileStem: 'x' }));
  t.regex(err!.message, /takes an ISO \(--iso\), not a gain/);
});

test('command-line output parsing: auto-detect table, error codes, config widgets', (t) => {
  const detect = 'Model                          Port\n----------------------------------------------------------\nCanon EOS 600D                 usb:001,004\nNikon DSC D7000                usb:001,007\n';
  t.deepEqual(parseAutoDetect(detect), [
    { model: 'Canon EOS 600D', port: 'usb:001,004' },
    { model: 'Nikon DSC D7000', port: 'usb:001,007' },
  ]);
  t.deepEqual(parseAutoDetect('Model                          Port\n------------------------\n'), []);
  const claim = cliError({ code: 1, stdout: '', stderr: "\n*** Error ***\nAn error occurred in the io-library ('Could not claim the USB device'): Could not claim interface 0 (Device or resource busy).\n*** Error (-53: 'Could not claim the USB device') ***\n" }, 'capture');
  t.is(claim.code, -53);
  t.regex(claim.message, /Could not claim the USB device \(during capture\)/);
  const none = cliError({ code: 1, stdout: '', stderr: '*** Error ***\nCould not detect any camera\n' }, 'capture');
  t.is(none.code, -105);
  const w = parseGetConfig('shutterspeed', 'Label: Shutter Speed\nReadonly: 0\nType: RADIO\nCurrent: 1/250\nChoice: 0 bulb\nChoice: 1 30\nChoice: 2 1/250\nEND\n');
  t.deepEqual(w, { name: 'shutterspeed', label: 'Shutter Speed', type: 'choice', value: '1/250', choices: ['bulb', '30', '1/250'] });
  const tree = { main: { children: { settings: { children: { iso: { label: 'ISO', type: 'choice', value: '100', choices: ['100', '200'] } } } } } };
  t.deepEqual(flattenConfig(tree).get('iso')?.choices, ['100', '200']);
});

test('the real gphoto2 binding loads and lists no cameras on this machine; so does the command line', async (t) => {
  const mod = await loadGphoto2Binding();
  t.is(typeof mod.GPhoto2, 'function');
  // Through the backend, which keeps the one GPhoto2 instance alive (its destructor is unsafe).
  t.deepEqual(await bindingBackend(mod).list(), []);
  requireCommand('gphoto2', 'gphoto2');
  t.deepEqual(await cliBackend().list(), []);
});

test('bulb after the binding held the camera: a claim failure says how to free it', async (t) => {
  const fake = new FakeBinding();
  const runner: CliRunner = async () => ({ code: 1, stdout: '', stderr: "*** Error (-53: 'Could not claim the USB device') ***\n" });
  const camera = new Gphoto2Camera('gphoto2://', { port: null }, {
    backend: bindingBackend(fake.module()),
    fallback: cliBackend(runner),
    log: memoryLogger(),
    probe: probeFrame,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const err = await t.throwsAsync(camera.capture({ exposureS: 300, outDir: await tempDir(t), fileStem: 'b' }), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'busy');
  t.regex(err!.message, /opened through the binding .*--expose-gc or use gphoto2:\/\/\?backend=cli for bulb work/);
});

test('command-line backend reads config in two runs and sets values verbatim', async (t) => {
  const runs: string[][] = [];
  const runner: CliRunner = async (args) => {
    runs.push(args);
    if (args.includes('--list-config')) return { code: 0, stdout: '/main/imgsettings/iso\n/main/capturesettings/shutterspeed\n/main/status/cameramodel\n', stderr: '' };
    if (args.includes('--get-config')) {
      return {
        code: 0,
        stderr: '',
        stdout:
          'Label: Shutter Speed\nReadonly: 0\nType: RADIO\nCurrent: 1/60\nChoice: 0 30\nChoice: 1 1/60\nEND\n' +
          'Label: ISO Speed\nReadonly: 0\nType: RADIO\nCurrent: 100\nChoice: 0 100\nChoice: 1 200\nEND\n',
      };
    }
    return { code: 0, stdout: '', stderr: '' };
  };
  const session = await cliBackend(runner).open({ model: 'Canon EOS 600D', port: 'usb:001,004' });
  const cfg = await session.getConfig(['shutterspeed', 'iso', 'aperture']);
  t.deepEqual([...cfg.keys()], ['shutterspeed', 'iso']);
  t.deepEqual(cfg.get('iso')?.choices, ['100', '200']);
  t.is(cfg.get('shutterspeed')?.value, '1/60');
  t.deepEqual(runs[1], ['--port', 'usb:001,004', '--get-config', 'shutterspeed', '--get-config', 'iso']);
  await session.setConfig('shutterspeed', '30');
  t.deepEqual(runs[2], ['--port', 'usb:001,004', '--set-config-value', 'shutterspeed=30'], '"30" is 30 s, never choice #30');
});

test('doctor lists detected cameras with their URLs and flags a USB node this user cannot open', async (t) => {
  const { gphoto2Checks } = await import('../../drivers/gphoto2/doctor.js');
  const usb = await tempDir(t);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(usb, '001'));
  await writeFile(join(usb, '001', '004'), '');
  const runner: CliRunner = async (args) =>
    args.includes('--auto-detect')
      ? { code: 0, stdout: 'Model                          Port\n------------------------------\nCanon EOS 600D                 usb:001,004\nNikon DSC D7000                usb:001,009\n', stderr: '' }
      : { code: 1, stdout: '', stderr: '' };
  const checks = await gphoto2Checks(runner, usb);
  const cams = checks.find((c) => c.name === 'cameras (gphoto2)')!;
  t.true(cams.hardware);
  t.regex(cams.message, /Canon EOS 600D at usb:001,004 → gphoto2:\/\/usb:001,004; Nikon DSC D7000 at usb:001,009/);
  const access = checks.filter((c) => c.name === 'camera access');
  t.is(access.length, 1, 'the node that exists is accessible (tests run as its owner); the missing one is flagged');
  t.regex(access[0].message, /Nikon DSC D7000: no read\/write access to .*001\/009/);
});
