import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { makeScene, renderFrame } from '../../pipeline/hdr/synth.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');

/** Run `skyrig <args>` in this process (fast): the hdr commands on a fresh commander program. */
async function skyrig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { Command } = await import('commander');
  const { registerHdrCommands } = await import('../../agent/cli/commands/hdr.js');
  const program = new Command('skyrig').exitOverride();
  registerHdrCommands(program);
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => ((stdout += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  let code = 0;
  try {
    await program.parseAsync(['node', 'skyrig', ...args]);
    code = process.exitCode === 1 ? 1 : 0;
  } catch (err) {
    stderr += `skyrig: ${(err as Error).message}\n`;
    code = 1;
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = before;
  }
  return { code, stdout, stderr };
}

/** The real binary entry (one-line error formatting, exit code). */
async function skyrigProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'agent/cli/main.ts'), ...args], { cwd: repoRoot, env: { ...process.env, CI: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function night(dir: string): Promise<void> {
  // Nested YYYY/MM/DD/HH, exposures in ms, two brackets whose frames straddle a few seconds.
  const scene = makeScene(80, 60);
  const hourDir = join(dir, '2025', '06', '01', '12');
  await mkdir(hourDir, { recursive: true });
  let seed = 1;
  for (const [minute, secs] of [['00', ['00', '02', '04', '06']], ['01', ['30', '32', '34', '36']]] as const) {
    const times = [2, 16, 128, 1000];
    for (let j = 0; j < 4; j++) {
      const codes = renderFrame(scene, times[j]! / 1000, { seed: seed++ });
      await sharp(Buffer.from(codes), { raw: { width: 80, height: 60, channels: 3 } }).png().toFile(join(hourDir, `2025060112${minute}${secs[j]}_${times[j]}.png`));
    }
  }
}

test.serial('skyrig hdr calibrate → range → merge → stats on a nested folder', async (t) => {
  const py = requireCommand('/usr/bin/python3', 'python3-h5py');
  const dir = await tempDir(t);
  const input = join(dir, 'in');
  await night(input);
  const resp = join(dir, 'response.npz');
  const cal = await skyrig(['hdr', 'calibrate', input, '--out', resp, '--expo-unit', 'ms', '--round', '1min', '--samples', '200', '--technique', 'histogram', '--seed', '5']);
  t.is(cal.code, 0, cal.stderr);
  t.regex(cal.stdout, /2 brackets, 0 skipped/);
  t.regex(cal.stdout, /monotonic: yes/);
  const curve = await sharp(join(dir, 'response_curve.jpg')).metadata();
  t.deepEqual([curve.format, curve.width, curve.height], ['jpeg', 960, 720]);
  // No --seed: a fresh seed each run, recorded in the metadata so the run can be repeated.
  await mkdir(join(dir, 'r2'));
  // --ripple 0: Debevec's (asi_core's) objective without the third-difference rows.
  const cal2 = await skyrig(['hdr', 'calibrate', input, '--out', join(dir, 'r2', 'response.json'), '--expo-unit', 'ms', '--round', '1min', '--samples', '200', '--ripple', '0']);
  t.is(cal2.code, 0, cal2.stderr);
  const meta2 = (JSON.parse(await readFile(join(dir, 'r2', 'response.json'), 'utf8')) as { metadata: { seed: number; ripple: number } }).metadata;
  t.true(Number.isInteger(meta2.seed) && meta2.seed >= 0);
  t.is(meta2.ripple, 0);
  t.true((await stat(join(dir, 'r2', 'response_curve.jpg'))).size > 1000);
  const npz = await run(py, ['-c', `import numpy as np, json; d=np.load('${resp}'); print(d['response'].shape, d['response'].dtype, json.loads(str(d['metadata']))['technique'], json.loads(str(d['metadata']))['ripple'])`]);
  t.is(npz.stdout.trim(), '(256, 3) float32 histogram 2000');

  const range = await skyrig(['hdr', 'range', input, '--response', resp, '--expo-unit', 'ms', '--round', '1min', '--json']);
  t.is(range.code, 0, range.stderr);
  const r = JSON.parse(range.stdout) as { min: number; max: number; exposures: number[] };
  t.true(r.max > r.min);
  t.deepEqual(r.exposures, [0.002, 0.016, 0.128, 1]);

  const out = join(dir, 'out');
  const args = ['hdr', 'merge', input, '--out', out, '--response', resp, '--expo-unit', 'ms', '--round', '1min', '--format', 'hdr,tiff,fits,png16,jpg', '--workers', '2'];
  const m1 = await skyrig(args);
  t.is(m1.code, 0, m1.stderr);
  t.regex(m1.stdout, /2 done, 0 failed, 0 skipped/);
  // Grouped by rounding to the minute (asi_core): 12:00:00–06 → 12:00, 12:01:30–36 → 12:02 (ties to even).
  t.true(m1.stdout.split('\n').includes(join(out, '2025/06/01/12/20250601120200_hdr.hdr')), m1.stdout);
  t.is(m1.stdout.split('\n').filter((l) => l.startsWith(out)).length, 10);
  for (const ext of ['hdr', 'tif', 'fits', 'png', 'jpg']) t.true((await stat(join(out, '2025/06/01/12', `20250601120000_hdr.${ext}`))).size > 0, ext);
  const m2 = await skyrig(args);
  t.regex(m2.stdout, /0 done, 0 failed, 2 skipped/);
  const m3 = await skyrig([...args, '--force', '--tonemap', 'log', '--json']);
  const j3 = JSON.parse(m3.stdout) as { done: number; written: string[] };
  t.is(j3.done, 2);
  t.is(j3.written.length, 10);
  const floor = await skyrig([...args, '--grouping', 'floor', '--out', join(dir, 'floor'), '--format', 'jpg']);
  t.true(floor.stdout.includes('20250601120100_hdr.jpg'), floor.stdout);
  const nw = join(dir, 'noise');
  const m4 = await skyrig(['hdr', 'merge', input, '--out', nw, '--response', resp, '--expo-unit', 'ms', '--round', '1min', '--format', 'fits', '--merge-weights', 'noise', '--threads', '2']);
  t.is(m4.code, 0, m4.stderr);
  t.true((await stat(join(nw, '2025/06/01/12/20250601120000_hdr.fits'))).size > 0);
  // One thread or two: the same bytes (row bands of one strip on a worker pool).
  const nw1 = join(dir, 'noise1');
  const m4b = await skyrig(['hdr', 'merge', input, '--out', nw1, '--response', resp, '--expo-unit', 'ms', '--round', '1min', '--format', 'fits', '--merge-weights', 'noise', '--threads', '1']);
  t.is(m4b.code, 0, m4b.stderr);
  t.true((await readFile(join(nw1, '2025/06/01/12/20250601120000_hdr.fits'))).equals(await readFile(join(nw, '2025/06/01/12/20250601120000_hdr.fits'))));
  const m4c = await skyrig([...args, '--threads', '0']);
  t.regex(m4c.stderr, /^skyrig: --threads: /);
  const m5 = await skyrig([...args, '--merge-weights', 'flat']);
  t.regex(m5.stderr, /^skyrig: --merge-weights: expected hat or noise, got "flat"/);
  const mm = await skyrig(['hdr', 'merge', input, '--out', join(dir, 'fused'), '--expo-unit', 'ms', '--round', '1min']);
  t.regex(mm.stdout, /2 done/);
  t.true((await stat(join(dir, 'fused/2025/06/01/12/20250601120200_hdr.jpg'))).size > 0);

  const h5 = join(dir, 'stats.h5');
  const st = await skyrig(['hdr', 'stats', input, '--out', h5, '--expo-unit', 'ms', '--round', '1min', '--camera', 'synth', '--normalise', 'peak']);
  t.is(st.code, 0, st.stderr);
  t.regex(st.stdout, /8 images/);
  const py5 = await run(py, ['-c', `import h5py; f=h5py.File('${h5}','r'); g=f['camera_samples']; print(g['mean'].shape, g.attrs['camera'], g.attrs['normalise'], f['images/snr'].shape, f['fpn/temporalNoise'].shape)`]);
  t.is(py5.stdout.trim(), '(2, 3) synth peak (8,) (2, 3)');
  const js = join(dir, 'stats.json');
  await skyrig(['hdr', 'stats', input, '--out', js, '--expo-unit', 'ms', '--round', '1min', '--max', '0.9']);
  const report = JSON.parse(await readFile(js, 'utf8')) as { images: { rejected: boolean; snr: number }[]; brackets: { fpn: { temporalNoise: number[] } }[] };
  t.true(report.images.some((i) => i.rejected));
  t.true(report.brackets[0]!.fpn.temporalNoise[0]! > 0);
});

test.serial('skyrig hdr: one-line errors for a missing response, a bad option and an unwritable output', async (t) => {
  const dir = await tempDir(t);
  await night(join(dir, 'in'));
  const a = await skyrigProcess(['hdr', 'merge', join(dir, 'in'), '--out', join(dir, 'o'), '--response', join(dir, 'missing.npz')]);
  t.is(a.code, 1);
  t.is(a.stderr.trim().split('\n').length, 1);
  t.regex(a.stderr, /missing\.npz: cannot read response file/);
  const b = await skyrig(['hdr', 'merge', join(dir, 'in'), '--out', join(dir, 'o'), '--round', 'often']);
  t.regex(b.stderr, /^skyrig: --round: /);
  const b2 = await skyrig(['hdr', 'calibrate', join(dir, 'in'), '--out', join(dir, 'r.npz'), '--ripple', '-1']);
  t.is(b2.code, 1);
  t.regex(b2.stderr, /^skyrig: --ripple: /);
  await writeFile(join(dir, 'file'), 'x');
  const c = await skyrig(['hdr', 'merge', join(dir, 'in'), '--out', join(dir, 'file', 'sub'), '--expo-unit', 'ms', '--round', '1min']);
  t.is(c.code, 1);
  t.regex(c.stdout, /0 done, 2 failed/);
  t.regex(c.stderr, /failed 2025\/06\/01\/12\/20250601120000: .*(ENOTDIR|not a directory)/);
});
