// `skyrig focuser` on a gpio-rail: driving the fake chip needs an in-process DriverContext, so the
// command function is called directly; each call builds a new rail, like separate CLI runs do.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryLogger } from '../../agent/log.js';
import { parseFocuserOptions, runFocuser, type CommandIO } from '../../agent/cli/commands/devices.js';
import { createDriverContext } from '../../drivers/context.js';
import { gpioChecks } from '../../drivers/gpio-rail/doctor.js';
import { FakeGpioChip } from '../../hardware-mocks/gpio-chip.js';
import { tempDir } from '../helpers/tmp.js';

const URL_ = 'gpio-rail://?step=17&dir=27&enable=22&speed=4000&accel=80000&max=5000';

function io(): CommandIO & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: process.stderr };
}

test('focuser --to / --by / --status / backlash across separate runs', async (t) => {
  const chip = new FakeGpioChip();
  chip.attachMotor({ step: 17, dir: 27 });
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t), gpioChip: chip });
  const run = async (args: Record<string, string | boolean>) => {
    const out = io();
    const s = await runFocuser(parseFocuserOptions({ focuser: URL_, ...args }), ctx, out);
    return { s, line: out.lines.join('\n') };
  };
  t.is((await run({ to: '500' })).line, 'position=500 min=0 max=5000 moving=false temperature=n/a homed=false');
  t.is((await run({ by: '-100' })).s.position, 400);
  t.is(chip.motorPosition(), 400);
  chip.clearEdges();
  const back = await run({ to: '300', backlash: '20' });
  t.is(back.s.position, 300);
  t.is(chip.risingEdges(17).length, 140, '120 in (20 past the target), 20 back out');
  t.is((await run({ status: true })).s.position, 300, 'a new run reads the persisted position');
  const err = await t.throwsAsync(run({ to: '6000' }));
  t.regex(err!.message, /outside the soft limits 0\.\.5000/);
});

test('focuser --home needs a rail with a limit switch', async (t) => {
  const chip = new FakeGpioChip();
  chip.attachMotor({ step: 17, dir: 27, position: 250 });
  chip.addSwitch({ line: 23, pressedAt: (p) => p <= 0 });
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t), gpioChip: chip });
  const s = await runFocuser(parseFocuserOptions({ focuser: `${URL_}&limit=23&home_backoff=5`, home: true }), ctx, io());
  t.is(s.position, 0);
  t.is(chip.motorPosition(), 5);
  const err = await t.throwsAsync(runFocuser(parseFocuserOptions({ focuser: URL_, home: true }), ctx, io()));
  t.regex(err!.message, /homing needs a limit switch/);
});

test('focuser option errors name the option', (t) => {
  t.throws(() => parseFocuserOptions({ focuser: URL_ }), { message: /exactly one of --to P, --by D, --abort, --status, --home/ });
  t.throws(() => parseFocuserOptions({ focuser: URL_, to: '1', status: true }), { message: /exactly one of/ });
  t.throws(() => parseFocuserOptions({ focuser: URL_, to: 'ten' }), { message: /--to: expected a position, got "ten"/ });
  t.throws(() => parseFocuserOptions({ focuser: URL_, status: true, backlash: '-2' }), { message: /--backlash: expected a whole number of steps ≥ 0/ });
  t.throws(() => parseFocuserOptions({ focuser: URL_, status: true, approach: 'up' }), { message: /--approach: expected in or out/ });
  t.throws(() => parseFocuserOptions({ to: '1' }), { message: /--focuser: a device URL is required/ });
});

test('doctor explains Pi 5 / Bookworm sysfs numbering from the chip base', async (t) => {
  const root = await tempDir(t);
  const sysfs = join(root, 'sys');
  const dev = join(root, 'dev');
  await mkdir(dev);
  await writeFile(join(dev, 'gpiochip0'), '');
  for (const [name, base, label, n] of [['gpiochip512', 512, 'gpio-brcmstb@107d508500', 32], ['gpiochip571', 571, 'pinctrl-rp1', 54]] as const) {
    await mkdir(join(sysfs, name), { recursive: true });
    await writeFile(join(sysfs, name, 'base'), `${base}\n`);
    await writeFile(join(sysfs, name, 'label'), `${label}\n`);
    await writeFile(join(sysfs, name, 'ngpio'), `${n}\n`);
  }
  await writeFile(join(sysfs, 'export'), '');
  const checks = await gpioChecks({ dev, sysfs });
  const numbering = checks.find((c) => c.name === 'gpio numbering');
  t.is(numbering?.level, 'ok');
  t.regex(numbering!.message, /header chip pinctrl-rp1 at base 571: sysfs line = 571 \+ BCM .*BCM 17 is sysfs 588/);
  t.is(checks.find((c) => c.name === 'gpio chips')?.hardware, true);
});

test('focuser --abort stops a move running in another process, which saves where it stopped', async (t) => {
  const stateDir = await tempDir(t);
  const root = new URL('../../', import.meta.url).pathname;
  // The moving process: a rail on the fake chip, SIGINT wired to abort as `skyrig focuser` does.
  const script = `
    import { createGpioRail } from '${root}drivers/gpio-rail/index.ts';
    import { createDriverContext } from '${root}drivers/context.ts';
    import { memoryLogger } from '${root}agent/log.ts';
    import { FakeGpioChip } from '${root}hardware-mocks/gpio-chip.ts';
    const chip = new FakeGpioChip();
    const ctx = createDriverContext({ log: memoryLogger(), stateDir: ${JSON.stringify(stateDir)}, gpioChip: chip });
    const rail = await createGpioRail(new URL('gpio-rail://?step=17&dir=27&speed=2000&accel=20000'), ctx);
    await rail.connect();
    const ac = new AbortController();
    process.on('SIGINT', () => ac.abort());
    setTimeout(() => process.stdout.write('moving\\n'), 100);
    try { await rail.moveTo(100000, { signal: ac.signal }); } catch (e) { process.stdout.write(e.message + '\\n'); }
  `;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  while (!out.includes('moving')) {
    if (child.exitCode !== null) t.fail(`mover exited early: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // This process has no fake motor attached: it only needs the rail's state files.
  const ctx = createDriverContext({ log: memoryLogger(), stateDir, gpioChip: new FakeGpioChip() });
  const aborted = await runFocuser(parseFocuserOptions({ focuser: 'gpio-rail://?step=17&dir=27', abort: true }), ctx, io());
  t.is(await exited, 0);
  t.regex(out, /move aborted; stopped at position (\d+)/);
  const stopped = Number(/stopped at position (\d+)/.exec(out)![1]);
  t.true(stopped > 0 && stopped < 100000);
  const after = await runFocuser(parseFocuserOptions({ focuser: 'gpio-rail://?step=17&dir=27', status: true }), ctx, io());
  t.is(after.position, stopped, 'the stopped position was persisted by the mover');
  t.is(aborted.position, stopped, '--abort reports where the rail stopped');
});
