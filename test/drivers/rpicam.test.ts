import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readdir, readFile, symlink, writeFile, copyFile, truncate } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { memoryLogger } from '../../agent/log.js';
import { createDriverContext } from '../../drivers/context.js';
import { RpicamCamera, findStillBinary, type RpicamDeps } from '../../drivers/rpicam/camera.js';
import { readDngInfo, readDngMosaic } from '../../drivers/rpicam/dng.js';
import { rpicamChecks } from '../../drivers/rpicam/doctor.js';
import { createRpicamCamera } from '../../drivers/rpicam/index.js';
import { exposureLimits, gainLimits, parseListCameras } from '../../drivers/rpicam/listing.js';
import { buildStillArgs, parseHelpOptions, parseRpicamUrl } from '../../drivers/rpicam/options.js';
import { classifyFailure, parseStillMetadata } from '../../drivers/rpicam/output.js';
import { DeviceError } from '../../drivers/types.js';
import { readImage } from '../../pipeline/image/read.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const FAKE = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/fake-rpicam-still.mjs');

// ---- --list-cameras formats, as printed by real rpicam-apps releases ---------------------------

// Current format (Raspberry Pi linux PR #6208 / rpicam-apps core/options.cpp): bits and Bayer in the header.
const LIST_IMX477_NEW = `Available cameras
-----------------
0 : imx477 [4056x3040 12-bit RGGB] (/base/axi/pcie@1000120000/rp1/i2c@80000/imx477@1a)
    Modes: 'SRGGB10_CSI2P' : 1332x990 [169.87 fps - (696, 528)/2664x1980 crop]
           'SRGGB12_CSI2P' : 2028x1080 [105.95 fps - (0, 440)/4056x2160 crop]
                             2028x1520 [75.36 fps - (0, 0)/4056x3040 crop]
                             4056x2160 [27.48 fps - (0, 440)/4056x3040 crop]
                             4056x3040 [19.53 fps - (0, 0)/4056x3040 crop]
`;

// Two cameras, mid-2022 format (documentation PR #2587): fps and crop, no bits/Bayer in the header.
const LIST_TWO_2022 = `Available cameras
-----------------
0 : imx219 [3280x2464] (/base/soc/i2c0mux/i2c@1/imx219@10)
    Modes: 'SRGGB10_CSI2P' : 640x480 [206.65 fps - (1000, 752)/1280x960 crop]
                             1640x1232 [41.85 fps - (0, 0)/3280x2464 crop]
                             1920x1080 [47.57 fps - (680, 692)/1920x1080 crop]
                             3280x2464 [21.19 fps - (0, 0)/3280x2464 crop]
           'SRGGB8' : 640x480 [206.65 fps - (1000, 752)/1280x960 crop]
                      1640x1232 [41.85 fps - (0, 0)/3280x2464 crop]
                      1920x1080 [47.57 fps - (680, 692)/1920x1080 crop]
                      3280x2464 [21.19 fps - (0, 0)/3280x2464 crop]
1 : imx477 [4056x3040] (/base/soc/i2c0mux/i2c@1/imx477@1a)
    Modes: 'SRGGB10_CSI2P' : 1332x990 [120.05 fps - (696, 528)/2664x1980 crop]
           'SRGGB12_CSI2P' : 2028x1080 [50.03 fps - (0, 440)/4056x2160 crop]
                             2028x1520 [40.01 fps - (0, 0)/4056x3040 crop]
                             4056x3040 [10.00 fps - (0, 0)/4056x3040 crop]
`;

// Bullseye libcamera-apps, end of 2021 (rpicam-apps issue #215): sizes only.
const LIST_2021 = `Available cameras
-----------------
0 : imx477 [4056x3040] (/base/soc/i2c0mux/i2c@1/imx477@1a)
    Modes: 'SRGGB10_CSI2P' : 1332x990 
           'SRGGB12_CSI2P' : 2028x1080 2028x1520 4056x3040
`;

// libcamera-still --list-cameras -v on an imx296 (AllskyTeam/allsky issue #3632): ExposureTime max 0.
const LIST_IMX296_V = `Available cameras
-----------------
0 : imx296 [1456x1088 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx296@1a)
    Modes: 'SRGGB10_CSI2P' : 1456x1088 [60.38 fps - (0, 0)/1456x1088 crop]

    Available controls for 1456x1088 SRGGB10_CSI2P mode:
    ----------------------------------------------------
    AeConstraintMode : [0..3]
    AeEnable : [false..true]
    AnalogueGain : [1.000000..251.188644]
    ColourGains : [0.000000..32.000000]
    ExposureTime : [29..0]
    FrameDurationLimits : [16562..15534444]
    ScalerCrop : [(0, 0)/64x64..(0, 0)/1456x1088]
`;

test('list-cameras: current format with bits, Bayer order and five imx477 modes', (t) => {
  const [cam] = parseListCameras(LIST_IMX477_NEW);
  t.is(cam.model, 'imx477');
  t.deepEqual([cam.width, cam.height, cam.bits, cam.bayer], [4056, 3040, 12, 'RGGB']);
  t.is(cam.id, '/base/axi/pcie@1000120000/rp1/i2c@80000/imx477@1a');
  t.is(cam.modes.length, 5);
  t.deepEqual(cam.modes[0], { format: 'SRGGB10_CSI2P', bits: 10, bayer: 'RGGB', width: 1332, height: 990, fps: 169.87, crop: '(696, 528)/2664x1980' });
  t.deepEqual(
    cam.modes.slice(1).map((m) => `${m.width}x${m.height}:${m.bits}`),
    ['2028x1080:12', '2028x1520:12', '4056x2160:12', '4056x3040:12'],
  );
  // No -v controls: the limit comes from the sensor table (Raspberry Pi documentation figures).
  t.deepEqual(exposureLimits(cam), { minS: 31e-6, maxS: 670.74, source: 'known-sensor' });
});

test('list-cameras: two cameras (2022 format) and the oldest sizes-only format', (t) => {
  const two = parseListCameras(LIST_TWO_2022);
  t.deepEqual(two.map((c) => [c.index, c.model, c.modes.length, c.bits, c.bayer]), [
    [0, 'imx219', 8, 10, 'RGGB'],
    [1, 'imx477', 4, 12, 'RGGB'],
  ]);
  t.is(two[0].modes[4].format, 'SRGGB8');
  t.is(two[0].modes[4].bits, 8);
  t.is(exposureLimits(two[0])?.maxS, 11.76);
  const [old] = parseListCameras(LIST_2021);
  t.deepEqual(old.modes.map((m) => `${m.format}:${m.width}x${m.height}`), [
    'SRGGB10_CSI2P:1332x990',
    'SRGGB12_CSI2P:2028x1080',
    'SRGGB12_CSI2P:2028x1520',
    'SRGGB12_CSI2P:4056x3040',
  ]);
  t.is(old.bits, 12);
  t.is(old.modes[0].fps, undefined);
});

test('list-cameras -v: control ranges; ExposureTime max 0 falls back to the sensor table', (t) => {
  const [cam] = parseListCameras(LIST_IMX296_V);
  t.is(cam.controlsMode, '1456x1088 SRGGB10_CSI2P');
  t.deepEqual(cam.controls.AnalogueGain, { min: 1, max: 251.188644 });
  t.deepEqual(cam.controls.ExposureTime, { min: 29, max: 0 });
  t.false('ScalerCrop' in cam.controls);
  t.deepEqual(exposureLimits(cam), { minS: 29e-6, maxS: 15.5, source: 'known-sensor' });
  t.deepEqual(gainLimits(cam), { min: 1, max: 251.188644 });
  // Newer builds print the default too: "[31..667234896, 20000]".
  const [v] = parseListCameras(LIST_IMX477_NEW + '\n    Available controls for 4056x3040 SRGGB12_CSI2P mode:\n    ---\n    ExposureTime : [31..667234896, 20000]\n');
  t.deepEqual(v.controls.ExposureTime, { min: 31, max: 667234896, default: 20000 });
  t.deepEqual(exposureLimits(v), { minS: 31e-6, maxS: 667.234896, source: 'list-cameras' });
  t.is(v.modes.length, 5);
});

// ---- output parsing ------------------------------------------------------------------------------

test('metadata: "--metadata -" block after "Bayer format is" lines', (t) => {
  const md = parseStillMetadata(
    'Bayer format is RGGB-12\n{\n    "SensorTimestamp": 61234567890,\n    "ExposureTime": 2000012,\n    "AnalogueGain": 4.000000,\n' +
      '    "ColourGains": [ 1.500000, 2.250000 ],\n    "SensorTemperature": 38.000000,\n    "ScalerCrop": "(0, 0)/4056x3040"\n}\n',
  );
  t.is(md.ExposureTime, 2000012);
  t.is(md.AnalogueGain, 4);
  t.deepEqual(md.ColourGains, [1.5, 2.25]);
  t.is(md.SensorTemperature, 38);
  t.is(md.ScalerCrop, '(0, 0)/4056x3040');
  t.deepEqual(parseStillMetadata('Still capture image received\n'), {});
});

test('stderr: busy and no-camera become one-line DeviceErrors with the fix', (t) => {
  const busy = classifyFailure(
    'rpicam://0',
    'rpicam-still',
    255,
    "[0:09:27.41] [1998] ERROR V4L2 v4l2_device.cpp:352 'imx477 10-001a': Unable to set controls: Device or resource busy\n" +
      '[0:09:27.43] [1997]  INFO Camera camera.cpp:841 Pipeline handler in use by another process\n' +
      'ERROR: *** failed to acquire camera /base/soc/i2c0mux/i2c@1/imx477@1a ***\n',
  );
  t.is(busy.code, 'busy');
  t.regex(busy.message, /rpicam-hello/);
  t.regex(busy.message, /fuser -v \/dev\/media\*/);
  t.false(busy.message.includes('\n'));
  const none = classifyFailure('rpicam://0', 'libcamera-still', 255, 'ERROR: *** no cameras available ***\n');
  t.is(none.code, 'not-found');
  t.regex(none.message, /^rpicam:\/\/0: libcamera-still: no cameras available; check the ribbon cable/);
  const other = classifyFailure('rpicam://0', 'rpicam-still', 255, 'ERROR: *** failed to open tuning file /x.json ***\n');
  t.is(other.code, 'io');
  t.regex(other.message, /failed to open tuning file \/x\.json/);
});

// ---- URL and argument mapping --------------------------------------------------------------------

test('URL: index, parameters and one-line errors', (t) => {
  const o = parseRpicamUrl(new URL('rpicam://1?raw=1&width=2028&height=1520&tuning=/usr/share/libcamera/ipa/rpi/vc4/imx477_noir.json&denoise=off&bin=/opt/rpicam-still'));
  t.deepEqual([o.cameraIndex, o.raw, o.width, o.height, o.denoise, o.bin], [1, true, 2028, 1520, 'off', '/opt/rpicam-still']);
  t.is(o.tuningFile, '/usr/share/libcamera/ipa/rpi/vc4/imx477_noir.json');
  t.is(parseRpicamUrl(new URL('rpicam://')).cameraIndex, 0);
  t.is(parseRpicamUrl(new URL('rpicam://?raw=0')).raw, false);
  t.throws(() => parseRpicamUrl(new URL('rpicam://0?iso=100')), { message: /unknown parameter "iso"/ });
  t.throws(() => parseRpicamUrl(new URL('rpicam://0?denoise=max')), { message: /denoise must be one of auto, off/ });
  t.throws(() => parseRpicamUrl(new URL('rpicam://0?width=2028')), { message: /width and height together/ });
  t.throws(() => parseRpicamUrl(new URL('rpicam://cam?raw=1')), { message: /camera index must be a number/ });
  t.throws(() => parseRpicamUrl(new URL('rpicam://0?mode=big')), { message: /mode must be W:H/ });
});

test('arguments: seconds → --shutter µs, gain, fixed AWB, denoise off, raw, metadata, escaped -o', (t) => {
  const options = parseRpicamUrl(new URL('rpicam://1?width=2028&height=1520&tuning=/t.json'));
  const args = buildStillArgs({ options, exposureUs: 2.5e6, gain: 4, outputName: '.rpicam-1-ab.jpg', supported: null });
  t.deepEqual(args, [
    '--camera', '1', '--nopreview', '--immediate', '-t', '1', '--shutter', '2500000', '--gain', '4', '--awbgains', '1,1',
    '--denoise', 'off', '--width', '2028', '--height', '1520', '--tuning-file', '/t.json', '--raw', '--metadata', '-', '-o', '.rpicam-1-ab.jpg',
  ]);
  t.deepEqual(buildStillArgs({ options, exposureUs: 1000, gain: 1, outputName: 'a%b.jpg', supported: null }).slice(-2), ['-o', 'a%%b.jpg']);
  // An old build without --metadata/--denoise: those are left out rather than failing the run.
  const oldHelp = parseHelpOptions('  -h [ --help ] [=arg(=1)] (=0)  Print\n  --shutter arg (=0)  x\n  --immediate [=arg(=1)] (=0) x\n  --awbgains arg  x\n  -r [ --raw ] x\n');
  t.true(oldHelp.has('help') && oldHelp.has('raw') && oldHelp.has('shutter'));
  const oldArgs = buildStillArgs({ options, exposureUs: 1e6, gain: 1, outputName: 'x.jpg', supported: oldHelp });
  t.false(oldArgs.includes('--metadata'));
  t.false(oldArgs.includes('--denoise'));
  t.true(oldArgs.includes('--immediate'));
});

// ---- DNG -------------------------------------------------------------------------------------------

async function fakeCapture(dir: string, extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<string> {
  await promisify(execFile)(FAKE, ['--shutter', '1000', '--raw', '-o', 'x.jpg', ...extraArgs], { cwd: dir, env: { ...process.env, ...extraEnv } });
  return join(dir, 'x.dng');
}

test('DNG: raw SubIFD found behind the thumbnail; Bayer, levels and samples read; libtiff and dcraw agree', async (t) => {
  const dir = await tempDir(t);
  const dng = await fakeCapture(dir);
  const info = await readDngInfo(dng);
  t.deepEqual([info.width, info.height, info.bitsPerSample, info.bayer, info.whiteLevel, info.significantBits], [64, 48, 16, 'RGGB', 4095, 12]);
  t.deepEqual(info.blackLevel, [256, 256, 256, 256]);
  t.is(info.uniqueCameraModel, 'imx477');
  const { data } = await readDngMosaic(dng, info);
  t.is(data.length, 64 * 48);
  t.is(data[0], 256 + 500); // R site: black + ramp 0 + R offset
  t.is(data[1], 256 + 37); // G site
  requireCommand('tiffinfo', 'libtiff-tools');
  requireCommand('dcraw', 'dcraw');
  t.regex(execFileSync('tiffinfo', [dng], { encoding: 'utf8' }), /CFAPattern: 0,1,1,2/);
  t.regex(execFileSync('dcraw', ['-i', '-v', dng], { encoding: 'utf8' }), /Filter pattern: RG\/GB/);
  // A Pi 5 (PiSP) DNG holds 16 significant bits.
  const dir5 = join(dir, 'pi5');
  await mkdir(dir5);
  t.is((await readDngInfo(await fakeCapture(dir5, { FAKE_RPICAM_WHITE: '65535' }))).significantBits, 16);
});

test('DNG: truncated and non-TIFF files give one-line errors naming the file', async (t) => {
  const dir = await tempDir(t);
  const dng = await fakeCapture(dir);
  const cut = join(dir, 'cut.dng');
  await copyFile(dng, cut);
  await truncate(cut, 3000);
  const e1 = await t.throwsAsync(readDngInfo(cut));
  t.regex(e1!.message, /cut\.dng: truncated DNG/);
  t.false(e1!.message.includes('\n'));
  const jpg = join(dir, 'x.jpg');
  t.regex((await t.throwsAsync(readDngInfo(jpg)))!.message, /x\.jpg: not a DNG\/TIFF/);
});

// ---- the driver against the fake rpicam-still ----------------------------------------------------

interface Rig {
  cam: RpicamCamera;
  env: Record<string, string>;
  out: string;
  logFile: string;
  runs: () => Promise<{ argv: string[]; cwd: string; pid: number }[]>;
}

async function rig(t: ExecutionContext, url = 'rpicam://0', env: Record<string, string> = {}, deps: Partial<RpicamDeps> = {}): Promise<Rig> {
  const dir = await tempDir(t);
  const logFile = join(dir, 'runs.jsonl');
  const fullEnv = { FAKE_RPICAM_LOG: logFile, ...env };
  const u = new URL(url);
  if (!u.searchParams.has('bin')) u.searchParams.set('bin', FAKE);
  const cam = new RpicamCamera(u.href, parseRpicamUrl(u), { log: memoryLogger(), env: fullEnv, killGraceMs: 300, ...deps });
  const runs = async () =>
    existsSync(logFile)
      ? (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; cwd: string; pid: number })
      : [];
  return { cam, env: fullEnv, out: join(dir, 'spool'), logFile, runs };
}

/** The pid of the capture run, once the fake has started (node start-up can take a while here). */
async function capturePid(r: Rig): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const run = (await r.runs()).find((x) => x.argv.includes('--shutter'));
    if (run) return run.pid;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the fake rpicam-still never started');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('camera: capabilities from --list-cameras -v of an IMX477', async (t) => {
  const { cam } = await rig(t);
  const caps = await cam.capabilities();
  t.is(caps.model, 'Raspberry Pi HQ Camera (imx477)');
  t.deepEqual([caps.width, caps.height, caps.bitDepth, caps.color, caps.bayer], [4056, 3040, 16, true, 'RGGB']);
  t.is(caps.maxExposureS, 667.234896);
  t.is(caps.minExposureS, 31e-6);
  t.deepEqual(caps.gain, { min: 1, max: 22.260869 });
  t.true(caps.canAbort);
  t.false(caps.hasCooler);
  t.is(await cam.temperature(), null);
});

test('camera: capture maps the request, keeps the DNG as the frame and the JPEG as preview, atomically', async (t) => {
  const { cam, out, runs } = await rig(t, 'rpicam://0?mode=1332:990:10:P', { FAKE_RPICAM_TEMP: '41.5' });
  const frame = await cam.capture({ exposureS: 0.2, gain: 2.5, outDir: out, fileStem: 'night-0001', frameType: 'dark' });
  t.is(frame.path, join(out, 'night-0001.dng'));
  t.deepEqual([frame.format, frame.width, frame.height, frame.channels, frame.bitDepth, frame.bayer], ['raw', 1332, 990, 1, 16, 'RGGB']);
  t.is(frame.exposureS, 0.2);
  t.is(frame.gain, 2.5);
  t.is(frame.frameType, 'dark');
  t.is(frame.meta.preview, join(out, 'night-0001.jpg'));
  t.deepEqual(frame.meta.sensorMode, { format: 'SRGGB10_CSI2P', width: 1332, height: 990, bits: 10, crop: '(696, 528)/2664x1980' });
  t.is(frame.meta.significantBits, 10);
  t.is(frame.meta.whiteLevel, 1023);
  t.is(frame.meta.sensorTemperature, 41.5);
  t.is(await cam.temperature(), 41.5);
  t.deepEqual((await readdir(out)).sort(), ['night-0001.dng', 'night-0001.jpg']);
  const meta = await sharp(frame.meta.preview as string).metadata();
  t.is(meta.format, 'jpeg');
  const capture = (await runs()).find((r) => r.argv.includes('--shutter'))!;
  const arg = (name: string) => capture.argv[capture.argv.indexOf(name) + 1];
  t.is(arg('--shutter'), '200000');
  t.is(arg('--gain'), '2.5');
  t.is(arg('--awbgains'), '1,1');
  t.is(arg('--denoise'), 'off');
  t.is(arg('--mode'), '1332:990:10:P');
  t.is(arg('--metadata'), '-');
  t.true(capture.argv.includes('--raw') && capture.argv.includes('--immediate') && capture.argv.includes('--nopreview'));
  // Relative temp name in the spool: short (rpicam-still's 128-byte name buffer) and renamed on success.
  t.is(capture.cwd, out);
  t.regex(arg('-o'), /^\.rpicam-\d+-\w+\.jpg$/);
});

test('camera: raw=0 gives the JPEG as the frame; no gain or gain 0 is the sensor minimum', async (t) => {
  const { cam, out, runs } = await rig(t, 'rpicam://0?raw=0');
  const frame = await cam.capture({ exposureS: 0.05, outDir: out, fileStem: 'day' });
  t.deepEqual([frame.format, frame.width, frame.height, frame.channels, frame.bitDepth], ['jpeg', 32, 24, 3, 8]);
  t.deepEqual(await readdir(out), ['day.jpg']);
  const capture = (await runs()).find((r) => r.argv.includes('--shutter'))!;
  t.false(capture.argv.includes('--raw'));
  t.is(capture.argv[capture.argv.indexOf('--gain') + 1], '1');
  // gain 0 (lowest gain elsewhere, "auto" to rpicam-still) is the sensor's base gain too.
  const v3 = await rig(t, 'rpicam://0?raw=0', { FAKE_RPICAM_SENSOR: 'imx708' });
  await v3.cam.capture({ exposureS: 0.05, gain: 0, outDir: v3.out, fileStem: 'g0' });
  const c3 = (await v3.runs()).find((r) => r.argv.includes('--shutter'))!;
  t.is(c3.argv[c3.argv.indexOf('--gain') + 1], '1.112');
});

test('camera: binning 2 selects the 2×2 binned 12-bit mode', async (t) => {
  const { cam, out, runs } = await rig(t);
  const frame = await cam.capture({ exposureS: 0.01, binning: 2, outDir: out, fileStem: 'b2' });
  t.deepEqual([frame.width, frame.height], [2028, 1520]);
  const capture = (await runs()).find((r) => r.argv.includes('--shutter'))!;
  t.is(capture.argv[capture.argv.indexOf('--mode') + 1], '2028:1520:12:P');
  const e = await t.throwsAsync(cam.capture({ exposureS: 0.01, binning: 3, outDir: out, fileStem: 'b3' }), { instanceOf: DeviceError });
  t.is((e as DeviceError).code, 'invalid');
});

test('camera: out-of-range exposure and gain are refused naming the sensor limit, nothing is run', async (t) => {
  const { cam, out, runs } = await rig(t);
  const e = (await t.throwsAsync(cam.capture({ exposureS: 700, outDir: out, fileStem: 'x' }))) as DeviceError;
  t.is(e.code, 'invalid');
  t.is(e.message, 'rpicam://0: exposure 700 s is longer than the Raspberry Pi HQ Camera (imx477) allows: max 667.235 s');
  const g = (await t.throwsAsync(cam.capture({ exposureS: 1, gain: 30, outDir: out, fileStem: 'x' }))) as DeviceError;
  t.is(g.code, 'invalid');
  t.regex(g.message, /gain 30 is outside the imx477 analogue gain range 1\.\.22\.261/);
  t.false((await runs()).some((r) => r.argv.includes('--shutter')));
  const v2 = await rig(t, 'rpicam://0', { FAKE_RPICAM_SENSOR: 'imx219' });
  const e2 = (await t.throwsAsync(v2.cam.capture({ exposureS: 12, outDir: v2.out, fileStem: 'x' }))) as DeviceError;
  t.regex(e2.message, /Raspberry Pi Camera Module 2 \(imx219\) allows: max 11\.766 s/);
  const v3 = await rig(t, 'rpicam://0', { FAKE_RPICAM_SENSOR: 'imx708' });
  t.is((await v3.cam.capabilities()).maxExposureS, 112.015443);
});

test('camera: abort kills rpicam-still (SIGTERM) and leaves no file', async (t) => {
  const r = await rig(t, 'rpicam://0', { FAKE_RPICAM_PARTIAL: '1' });
  const { cam, out } = r;
  await cam.connect();
  const ac = new AbortController();
  const pending = cam.capture({ exposureS: 20, outDir: out, fileStem: 'long', signal: ac.signal });
  const pid = await capturePid(r);
  await new Promise((res) => setTimeout(res, 200));
  t.true(alive(pid));
  const started = Date.now();
  ac.abort();
  const e = (await t.throwsAsync(pending)) as DeviceError;
  t.is(e.code, 'aborted');
  t.true(Date.now() - started < 2000);
  t.false(alive(pid));
  t.deepEqual(await readdir(out), []);
});

test('camera: a process ignoring SIGTERM is SIGKILLed; abort() works without a signal', async (t) => {
  const r = await rig(t, 'rpicam://0', { FAKE_RPICAM_IGNORE_TERM: '1' });
  const { cam, out } = r;
  await cam.connect();
  const pending = cam.capture({ exposureS: 20, outDir: out, fileStem: 'stuck' });
  const pid = await capturePid(r);
  await new Promise((res) => setTimeout(res, 300));
  await cam.abort();
  t.is(((await t.throwsAsync(pending)) as DeviceError).code, 'aborted');
  t.false(alive(pid));
  t.deepEqual(await readdir(out), []);
});

test('camera: a hung capture times out after 2×exposure + margin and is killed', async (t) => {
  const { cam, out } = await rig(t, 'rpicam://0?margin=1', { FAKE_RPICAM_HANG: '1' });
  await cam.connect();
  const started = Date.now();
  const e = (await t.throwsAsync(cam.capture({ exposureS: 0.1, outDir: out, fileStem: 'hung' }))) as DeviceError;
  t.is(e.code, 'timeout');
  t.regex(e.message, /delivered no frame within 1 s for a 0\.1 s exposure/);
  t.true(Date.now() - started < 4000);
  t.deepEqual(await readdir(out), []);
});

test('camera: busy camera and no camera are one-line DeviceErrors', async (t) => {
  const busy = await rig(t, 'rpicam://0', { FAKE_RPICAM_FAIL: 'busy' });
  const e = (await t.throwsAsync(busy.cam.capture({ exposureS: 0.01, outDir: busy.out, fileStem: 'x' }))) as DeviceError;
  t.is(e.code, 'busy');
  t.regex(e.message, /^rpicam:\/\/0: fake-rpicam-still\.mjs: camera busy: another process holds the camera \(rpicam-hello/);
  t.false(e.message.includes('\n'));
  t.deepEqual(await readdir(busy.out), []);

  const none = await rig(t, 'rpicam://0', { FAKE_RPICAM_FAIL: 'nocamera' });
  const n = (await t.throwsAsync(none.cam.connect())) as DeviceError;
  t.is(n.code, 'not-found');
  t.regex(n.message, /--list-cameras: no cameras available; check the ribbon cable, camera_auto_detect=1/);

  // Camera unplugged between connect and capture.
  const gone = await rig(t);
  await gone.cam.connect();
  gone.env.FAKE_RPICAM_FAIL = 'nocamera';
  const g = (await t.throwsAsync(gone.cam.capture({ exposureS: 0.01, outDir: gone.out, fileStem: 'x' }))) as DeviceError;
  t.is(g.code, 'not-found');

  const idx = await rig(t, 'rpicam://1');
  const i = (await t.throwsAsync(idx.cam.connect())) as DeviceError;
  t.is(i.message, 'rpicam://1: no camera with index 1; fake-rpicam-still.mjs lists 0: imx477');
});

test('camera: binary lookup prefers rpicam-still, falls back to libcamera-still, else names both and rpicam-apps', async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await mkdir(a);
  await mkdir(b);
  await symlink(FAKE, join(a, 'libcamera-still'));
  t.is(await findStillBinary(`${b}:${a}`), join(a, 'libcamera-still'));
  await symlink(FAKE, join(b, 'rpicam-still'));
  t.is(await findStillBinary(`${a}:${b}`), join(b, 'rpicam-still'));
  await writeFile(join(dir, 'rpicam-still'), 'not executable');
  t.is(await findStillBinary(dir), null);

  // Old Bullseye build found as libcamera-still: no --metadata/--denoise, sizes-only listing.
  const old = new RpicamCamera('rpicam://0', parseRpicamUrl(new URL('rpicam://0')), { log: memoryLogger(), searchPath: a, env: { FAKE_RPICAM_SENSOR: 'old' } });
  const caps = await old.capabilities();
  t.is(caps.maxExposureS, 670.74);
  const frame = await old.capture({ exposureS: 0.01, outDir: join(dir, 'spool'), fileStem: 'old' });
  t.is(frame.format, 'raw');
  t.is(frame.meta.command && String(frame.meta.command).startsWith('libcamera-still '), true);
  t.false(String(frame.meta.command).includes('--metadata'));

  const missing = new RpicamCamera('rpicam://0', parseRpicamUrl(new URL('rpicam://0')), { log: memoryLogger(), searchPath: join(dir, 'nowhere') });
  const e = (await t.throwsAsync(missing.connect())) as DeviceError;
  t.is(e.code, 'not-found');
  t.regex(e.message, /neither rpicam-still nor libcamera-still is installed: apt install rpicam-apps/);
  const badBin = (await t.throwsAsync(createRpicamCamera(new URL('rpicam://0?bin=/nonexistent/rpicam-still'), createDriverContext({ log: memoryLogger(), stateDir: dir })).connect())) as DeviceError;
  t.is(badBin.message, 'rpicam://0: bin=/nonexistent/rpicam-still is not an executable file');
});

test('factory: createRpicamCamera(url, ctx) captures through bin=', async (t) => {
  const dir = await tempDir(t);
  const cam = createRpicamCamera(new URL(`rpicam://0?bin=${encodeURIComponent(FAKE)}`), createDriverContext({ log: memoryLogger(), stateDir: dir }));
  t.is(cam.url, `rpicam://0?bin=${encodeURIComponent(FAKE)}`);
  const frame = await cam.capture({ exposureS: 0.01, outDir: join(dir, 'spool'), fileStem: 'f' });
  t.is(frame.bayer, 'RGGB');
  t.deepEqual(frame.meta.sensorMode, { width: 64, height: 48, bits: 12 });
  // The frame decodes through the pipeline's camera-RAW path (dcraw_emu / dcraw).
  requireCommand('dcraw_emu', 'libraw-bin');
  const img = await readImage(frame.path);
  t.deepEqual([img.width, img.height, img.channels], [64, 48, 3]);
  t.true(img.data.some((v) => v > 0));
  await cam.disconnect();
});

test('doctor: lists the sensor with its rpicam:// URL, flags camera programs, and is quiet off a Pi', async (t) => {
  const dir = await tempDir(t);
  await symlink(FAKE, join(dir, 'rpicam-still'));
  const checks = await rpicamChecks({ searchPath: dir, dev: join(dir, 'nodev'), listProcesses: async () => ['4242 rpicam-hello -t 0'] });
  const cam = checks.find((c) => c.name === 'pi camera')!;
  t.is(cam.level, 'ok');
  t.true(cam.hardware);
  t.is(cam.message, 'rpicam-still: 0: imx477 (Raspberry Pi HQ Camera) 4056x3040 12-bit RGGB, exposures up to 667.23 s → rpicam://0');
  const users = checks.find((c) => c.name === 'pi camera users')!;
  t.is(users.level, 'warn');
  t.regex(users.message, /4242 rpicam-hello/);
  const none = await rpicamChecks({ searchPath: dir, dev: join(dir, 'nodev'), env: { FAKE_RPICAM_FAIL: 'nocamera' }, listProcesses: async () => [] });
  t.deepEqual(none.map((c) => [c.name, c.level, c.message]), [['pi camera', 'ok', 'rpicam-still lists no cameras']]);
  const offPi = await rpicamChecks({ searchPath: join(dir, 'nowhere') });
  t.deepEqual(offPi.map((c) => [c.level, c.fix]), [['ok', 'apt install rpicam-apps']]);
});

test('camera: overlapping captures are refused as busy; an unwritable spool is an io error', async (t) => {
  const { cam, out } = await rig(t);
  await cam.connect();
  const first = cam.capture({ exposureS: 0.3, outDir: out, fileStem: 'a' });
  const second = (await t.throwsAsync(cam.capture({ exposureS: 0.3, outDir: out, fileStem: 'b' }))) as DeviceError;
  t.is(second.code, 'busy');
  t.is((await first).path, join(out, 'a.dng'));
  await writeFile(join(out, 'file'), 'x');
  const e = (await t.throwsAsync(cam.capture({ exposureS: 0.01, outDir: join(out, 'file', 'sub'), fileStem: 'c' }))) as DeviceError;
  t.is(e.code, 'io');
  t.regex(e.message, /cannot create the spool directory .*file\/sub/);
  t.is((await cam.capture({ exposureS: 0.01, outDir: out, fileStem: 'd' })).format, 'raw');
});
