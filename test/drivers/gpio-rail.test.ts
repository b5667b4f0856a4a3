import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryLogger } from '../../agent/log.js';
import { createDriverContext } from '../../drivers/context.js';
import { withBacklash } from '../../drivers/backlash.js';
import { createGpioRail, parseRailUrl } from '../../drivers/gpio-rail/index.js';
import { rampIntervalNs, rampSpeed } from '../../drivers/gpio-rail/ramp.js';
import { DeviceError } from '../../drivers/types.js';
import { FakeGpioChip } from '../../hardware-mocks/gpio-chip.js';
import { tempDir } from '../helpers/tmp.js';

const STEP = 17;
const DIR = 27;
const ENABLE = 22;
const LIMIT = 23;
const FAST = 'speed=4000&accel=80000&start_speed=400';

async function rig(t: Parameters<typeof tempDir>[0], query: string, opts: { physical?: number; stateDir?: string; chip?: FakeGpioChip } = {}) {
  const chip = opts.chip ?? new FakeGpioChip();
  if (!opts.chip) {
    chip.attachMotor({ step: STEP, dir: DIR, position: opts.physical ?? 0 });
    chip.addSwitch({ line: LIMIT, pressedAt: (p) => p <= 0 });
  }
  const stateDir = opts.stateDir ?? (await tempDir(t));
  const log = memoryLogger();
  const ctx = createDriverContext({ log, stateDir, gpioChip: chip });
  const rail = await createGpioRail(new URL(`gpio-rail://?step=${STEP}&dir=${DIR}&enable=${ENABLE}&${query}`), ctx);
  return { chip, rail, stateDir, log };
}

function intervalsUs(stamps: bigint[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < stamps.length; i++) out.push(Number(stamps[i] - stamps[i - 1]) / 1000);
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

test('moves emit one pulse per step with the direction line set for the way they go', async (t) => {
  const { chip, rail } = await rig(t, FAST, { physical: 1000 });
  await rail.connect();
  t.is(chip.level(ENABLE), 0, 'driver enabled (active low) while connected');
  t.is(await rail.moveTo(200), 200);
  t.is(chip.risingEdges(STEP).length, 200);
  t.is(chip.level(DIR), 1);
  t.is(chip.motorPosition(), 1200);
  chip.clearEdges();
  t.is(await rail.moveTo(50), 50);
  t.is(chip.risingEdges(STEP).length, 150);
  t.is(chip.level(DIR), 0);
  t.is(chip.motorPosition(), 1050);
  await rail.disconnect();
  t.is(chip.level(ENABLE), 1, 'driver disabled on disconnect');
  t.false(chip.isOpen(STEP));
});

test('invert_dir flips the direction level', async (t) => {
  const { chip, rail } = await rig(t, `${FAST}&invert_dir=1`, { physical: 1000 });
  await rail.connect();
  await rail.moveTo(30);
  t.is(chip.level(DIR), 0);
  t.is(chip.motorPosition(), 970, 'the simulated motor (positive = dir high) went the other way');
});

// Serial: tests in one file share the event loop, and another rail busy-waiting would stretch these intervals.
test.serial('ramp: intervals shrink while accelerating, hold at cruise speed, grow while decelerating, never shorter than planned', async (t) => {
  const { chip, rail } = await rig(t, 'speed=2000&accel=20000&start_speed=200', { physical: 1000 });
  await rail.connect();
  const total = 400;
  await rail.moveTo(total);
  const iv = intervalsUs(chip.risingEdges(STEP));
  t.is(iv.length, total - 1);
  const head = mean(iv.slice(0, 5));
  const cruise = median(iv.slice(180, 220));
  const tail = mean(iv.slice(-5));
  t.true(head > 2.5 * cruise, `start ${head.toFixed(0)} µs vs cruise ${cruise.toFixed(0)} µs`);
  t.true(tail > 2.5 * cruise, `end ${tail.toFixed(0)} µs vs cruise ${cruise.toFixed(0)} µs`);
  t.true(cruise > 495 && cruise < 560, `cruise interval ${cruise.toFixed(1)} µs, planned 500`);
  // Monotonic on the way up (allowing scheduler noise that only ever lengthens an interval).
  const profile = { speed: 2000, accel: 20000, startSpeed: 200 };
  let shorter = 0;
  for (let i = 0; i < iv.length; i++) {
    const planned = rampIntervalNs(i + 1, total, profile) / 1000;
    if (iv[i] < planned - 5) shorter++;
  }
  t.is(shorter, 0, 'no interval shorter than the plan (that is what skips steps)');
  t.is(rampSpeed(0, total, profile), 200);
  t.is(rampSpeed(200, total, profile), 2000);
});

test('homing drives to the switch, backs off and calls that min; a switch hit mid-move re-syncs and fails', async (t) => {
  const { chip, rail } = await rig(t, `${FAST}&limit=${LIMIT}&home_backoff=20&min=0&max=5000`, { physical: 300 });
  await rail.connect();
  t.false(rail.isHomed());
  t.is(await rail.home(), 0);
  t.true(rail.isHomed());
  t.is(chip.motorPosition(), 20, 'switch closes at physical 0; backed off 20 pulses');
  t.is(chip.level(LIMIT), 1, 'switch released after back-off');

  // The counted position is now wrong by 150 pulses (lost steps): the switch closes early.
  await rail.moveTo(1000);
  const physicalBefore = chip.motorPosition();
  t.is(physicalBefore, 1020);
  (rail as unknown as { pos: number }).pos = 1150;
  const err = await t.throwsAsync(rail.moveTo(100), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'limit');
  t.regex(err!.message, /limit switch closed at counted position 130 while moving to 100; position re-synced to -20/);
  t.is(chip.motorPosition(), 0, 'stopped on the pulse that closed the switch');
  t.is(await rail.position(), -20);
});

test('moving toward a closed switch is refused; homing without a switch is invalid', async (t) => {
  const { rail } = await rig(t, `${FAST}&limit=${LIMIT}&min=-100`, { physical: 0 });
  await rail.connect();
  const err = await t.throwsAsync(rail.moveTo(-50), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'limit');
  const { rail: bare } = await rig(t, FAST);
  await bare.connect();
  const err2 = await t.throwsAsync(bare.home(), { instanceOf: DeviceError });
  t.regex(err2!.message, /homing needs a limit switch/);
});

test('soft limits reject targets outside min..max without moving', async (t) => {
  const { chip, rail } = await rig(t, `${FAST}&min=0&max=500`);
  await rail.connect();
  const err = await t.throwsAsync(rail.moveTo(501), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'limit');
  t.regex(err!.message, /outside the soft limits 0\.\.500/);
  t.is(chip.risingEdges(STEP).length, 0);
});

test('position survives a restart: a new rail instance reads the persisted position', async (t) => {
  const stateDir = await tempDir(t);
  const chip = new FakeGpioChip();
  chip.attachMotor({ step: STEP, dir: DIR, position: 0 });
  const first = await rig(t, FAST, { stateDir, chip });
  await first.rail.connect();
  await first.rail.moveTo(321);
  await first.rail.disconnect();
  const saved = JSON.parse(await readFile(join(stateDir, 'gpio-rail-step17-dir27.json'), 'utf8'));
  t.is(saved.position, 321);
  t.false(saved.moving);

  const second = await rig(t, FAST, { stateDir, chip });
  await second.rail.connect();
  t.is(await second.rail.position(), 321);
  await second.rail.moveTo(300);
  t.is(chip.motorPosition(), 300);
});

test('a state file left mid-move marks the position untrusted and says so', async (t) => {
  const stateDir = await tempDir(t);
  await writeFile(join(stateDir, 'gpio-rail-step17-dir27.json'), JSON.stringify({ position: 77, homed: true, moving: true }));
  const { rail, log } = await rig(t, FAST, { stateDir });
  await rail.connect();
  t.is(await rail.position(), 77);
  t.false(rail.isHomed());
  t.true(log.lines.some((l) => /interrupted/.test(l)));
});

test('a corrupt state file is a one-line error naming the file', async (t) => {
  const stateDir = await tempDir(t);
  await writeFile(join(stateDir, 'gpio-rail-step17-dir27.json'), '{"position": "x"');
  const { rail } = await rig(t, FAST, { stateDir });
  const err = await t.throwsAsync(rail.connect());
  t.regex(err!.message, /gpio-rail-step17-dir27\.json: not valid JSON/);
});

test('abort() decelerates to a stop, reports where it stopped, and the position is exact', async (t) => {
  const { chip, rail } = await rig(t, 'speed=3000&accel=30000&start_speed=300');
  await rail.connect();
  const move = rail.moveTo(20000);
  while (chip.risingEdges(STEP).length < 400) await new Promise((r) => setTimeout(r, 10));
  t.true(await rail.isMoving());
  await rail.abort();
  const err = await t.throwsAsync(move, { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'aborted');
  const pos = await rail.position();
  t.true(pos > 400 && pos < 4000, `stopped at ${pos}`);
  t.is(chip.motorPosition(), pos);
  t.regex(err!.message, new RegExp(`stopped at position ${pos}`));
  const iv = intervalsUs(chip.risingEdges(STEP));
  t.true(mean(iv.slice(-3)) > 2 * 333, `slowed down before stopping: ${iv.slice(-6).map((x) => x.toFixed(0)).join(' ')} (of ${iv.length})`);
  t.false(await rail.isMoving());
});

test('an AbortSignal stops a move; timeoutMs stops it with a timeout error', async (t) => {
  const { rail } = await rig(t, 'speed=2000&accel=20000');
  await rail.connect();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 80);
  const err = await t.throwsAsync(rail.moveTo(50000, { signal: ac.signal }), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'aborted');
  const err2 = await t.throwsAsync(rail.moveTo(100000, { timeoutMs: 60 }), { instanceOf: DeviceError });
  t.is((err2 as DeviceError).code, 'timeout');
  t.regex(err2!.message, /timed out after 60 ms/);
});

test('backlash: moves against the approach overshoot and come back; with it nothing changes', async (t) => {
  const { chip, rail } = await rig(t, `${FAST}&min=0&max=2000`);
  const focuser = withBacklash(rail, { steps: 50, approach: 'out' });
  await focuser.connect();
  await focuser.moveTo(300);
  t.is(chip.risingEdges(STEP).length, 300, 'outward move: direct');
  chip.clearEdges();
  await focuser.moveTo(200);
  t.is(chip.risingEdges(STEP).length, 150 + 50, 'inward move: 150 past the target, 50 back');
  const dirEdges = chip.edges.filter((e) => e.line === DIR).map((e) => e.value);
  t.deepEqual(dirEdges, [0, 1], 'went in, finished going out');
  t.is(chip.motorPosition(), 200);
  t.is(await focuser.position(), 200);
});

test('URL errors name the parameter', (t) => {
  t.throws(() => parseRailUrl(new URL('gpio-rail://?dir=27')), { message: /step=<BCM pin> is required/ });
  t.throws(() => parseRailUrl(new URL('gpio-rail://?step=17&dir=27&sped=3')), { message: /unknown parameter "sped"/ });
  t.throws(() => parseRailUrl(new URL('gpio-rail://?step=17&dir=17')), { message: /must be different pins/ });
  t.throws(() => parseRailUrl(new URL('gpio-rail://?step=17&dir=27&speed_mm=2')), { message: /speed_mm needs steps_per_mm/ });
  t.throws(() => parseRailUrl(new URL('gpio-rail://?step=17&dir=27&min=10&max=5')), { message: /max \(5\) must be above min \(10\)/ });
  const cfg = parseRailUrl(new URL('gpio-rail://?step=17&dir=27&microsteps=16&steps_per_mm=400&speed_mm=0.5&max_mm=50'));
  t.is(cfg.speed, 0.5 * 400 * 16);
  t.is(cfg.max, 50 * 400 * 16);
});
