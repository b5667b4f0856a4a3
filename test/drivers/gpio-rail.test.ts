import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryLogger } from '../../agent/log.js';
import { createDriverContext } from '../../drivers/context.js';
import { withBacklash } from '../../drivers/backlash.js';
import { createGpioRail, parseRailUrl } from '../../drivers/gpio-rail/index.js';
import { runPulseTrain } from '../../drivers/gpio-rail/pulser.js';
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
  t.is(chip.level(ENABLE), 0, 'hold (default): driver stays enabled after disconnect');
  t.false(chip.isOpen(STEP));
});

test('hold=0 releases the motor after each move', async (t) => {
  const { chip, rail } = await rig(t, `${FAST}&hold=0`, { physical: 0 });
  await rail.connect();
  t.is(chip.level(ENABLE), 1);
  await rail.moveTo(40);
  t.is(chip.motorPosition(), 40);
  t.is(chip.level(ENABLE), 1, 'disabled again after the move');
  t.true(chip.edges.some((e) => e.line === ENABLE && e.value === 0), 'enabled during it');
});

test('invert_dir flips the direction level', async (t) => {
  const { chip, rail } = await rig(t, `${FAST}&invert_dir=1`, { physical: 1000 });
  await rail.connect();
  await rail.moveTo(30);
  t.is(chip.level(DIR), 0);
  t.is(chip.motorPosition(), 970, 'the simulated motor (positive = dir high) went the other way');
});

// Serial: tests in one file share the event loop, and another rail busy-waiting would stretch these intervals.
test.serial('ramp: the pulse train accelerates, cruises and decelerates, and no interval is shorter than planned', async (t) => {
  const chip = new FakeGpioChip();
  const line = chip.open(STEP, 'out');
  const profile = { speed: 2000, accel: 20000, startSpeed: 200 };
  const total = 400;
  const result = await runPulseTrain({ step: line, total, intervalNs: (i, n) => rampIntervalNs(i, n, profile), pulseNs: 2000 });
  t.deepEqual(result, { emitted: total, reason: 'done' });
  const iv = intervalsUs(chip.risingEdges(STEP));
  t.is(iv.length, total - 1);
  // Minima: preemption on a loaded machine only ever lengthens an interval, so the shortest one
  // in a window is the generator's own timing.
  const head = Math.min(...iv.slice(0, 5));
  const cruise = Math.min(...iv.slice(180, 220));
  const tail = Math.min(...iv.slice(-5));
  t.true(head > 3 * cruise, `start ${head.toFixed(0)} µs vs cruise ${cruise.toFixed(0)} µs`);
  t.true(tail > 3 * cruise, `end ${tail.toFixed(0)} µs vs cruise ${cruise.toFixed(0)} µs`);
  t.true(cruise > 499 && cruise < 560, `cruise interval ${cruise.toFixed(1)} µs, planned 500`);
  t.true(Math.min(...iv.slice(0, 20)) > Math.min(...iv.slice(20, 40)), 'shrinking while accelerating');
  t.true(Math.min(...iv.slice(-20)) > Math.min(...iv.slice(-40, -20)), 'growing while decelerating');
  let shorter = 0;
  for (let i = 0; i < iv.length; i++) if (iv[i] < rampIntervalNs(i + 1, total, profile) / 1000 - 1) shorter++;
  t.is(shorter, 0, 'no interval shorter than the plan (that is what skips steps)');
  t.is(rampSpeed(0, total, profile), 200);
  t.is(rampSpeed(200, total, profile), 2000);
});

test.serial('the rail ramps its moves and never steps faster than its plan', async (t) => {
  const { chip, rail } = await rig(t, 'speed=2000&accel=20000&start_speed=200', { physical: 1000 });
  await rail.connect();
  await rail.moveTo(400);
  const iv = intervalsUs(chip.risingEdges(STEP));
  t.is(iv.length, 399);
  const profile = { speed: 2000, accel: 20000, startSpeed: 200 };
  // On a loaded machine stalls make the rail re-ramp (longer intervals); shorter never happens.
  const faster = iv.filter((x, k) => x < rampIntervalNs(k + 1, 400, profile) / 1000 - 1).length;
  t.is(faster, 0);
  t.true(iv[0] > 3000 && iv[398] > 3000, `first ${iv[0].toFixed(0)} µs and last ${iv[398].toFixed(0)} µs intervals are start-speed ones`);
});

test.serial('a stall mid-move (process descheduled) restarts the ramp from the start speed instead of jumping to cruise', async (t) => {
  const { chip, rail } = await rig(t, 'speed=4000&accel=40000&start_speed=400', { physical: 1000 });
  await rail.connect();
  chip.stallOnce(STEP, 300, 30);
  await rail.moveTo(1200);
  t.is(chip.motorPosition(), 2200, 'every pulse still counted');
  const iv = intervalsUs(chip.risingEdges(STEP));
  t.true(iv[299] > 25_000, `the stall: ${iv[299].toFixed(0)} µs`);
  // After the stall the intervals follow (at least) a fresh ramp from 400 pulses/s, not cruise (250 µs).
  let violations = 0;
  for (let k = 0; k < 40; k++) {
    const bound = 1e6 / Math.sqrt(400 * 400 + 2 * 40000 * k);
    if (iv[300 + k] < bound - 2) violations++;
  }
  t.is(violations, 0);
  t.true(iv[300] > 2400, `first interval after the stall ${iv[300].toFixed(0)} µs`);
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

test('a rail another live process is moving is refused, a stale lock is taken over', async (t) => {
  const { rail, stateDir } = await rig(t, FAST);
  await rail.connect();
  const lock = join(stateDir, 'gpio-rail-step17-dir27.json.lock');
  await writeFile(lock, String(process.ppid)); // a live process that is not us
  const err = await t.throwsAsync(rail.moveTo(10), { instanceOf: DeviceError });
  t.is((err as DeviceError).code, 'busy');
  t.regex(err!.message, new RegExp(`process ${process.ppid} is moving this rail`));
  await writeFile(lock, '999999999'); // nobody
  t.is(await rail.moveTo(10), 10);
});
