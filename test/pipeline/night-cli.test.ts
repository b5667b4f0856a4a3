import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { readFits } from '../../pipeline/image/fits.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { saveFrame, starFrame } from './night-helpers.js';

const execFileP = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', join(repo, 'agent/cli/main.ts'), ...args], { cwd: repo, env: { ...process.env, CI: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function folder(dir: string): Promise<string> {
  const frames = join(dir, 'frames');
  await mkdir(frames);
  for (let i = 0; i < 8; i++) {
    const date = new Date(Date.UTC(2026, 0, 10, 23, 40 + i * 5)).toISOString().slice(0, 23);
    // frame 6: dawn (sky 0.4) — measured by the CLI, left out of the star trails
    await saveFrame(frames, `img_${String(i).padStart(3, '0')}.fits`, starFrame(80, 60, i, i === 6 ? 0.4 : 0.05), { 'DATE-OBS': date, EXPTIME: 20, GAIN: 3 });
  }
  await writeFile(join(frames, 'img_003b.jpg'), 'broken');
  return frames;
}

test('night build: all three products from a folder, progress on stderr, bad frame named, summary line', async (t) => {
  requireCommand('ffmpeg', 'ffmpeg');
  const dir = await tempDir(t);
  const frames = await folder(dir);
  const out = join(dir, 'out');
  const r = await cli(['night', 'build', frames, '--out', out, '--fps', '4', '--width', '80', '--station', 'roof']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /img_003b\.jpg: skipped: /);
  t.regex(r.stderr, /img_003b\.jpg: skipped: [^\n]*\n/);
  t.regex(r.stderr, /night: 9\/9/);
  t.regex(r.stdout, /night: 8 frame\(s\), 1 skipped · keogram .*keogram\.png · star trails .*startrails\.jpg \(7 frame\(s\), 1 excluded\) · timelapse .*timelapse\.mp4 \(8 frame\(s\), 2\.0 s\)/);
  const k = await sharp(join(out, 'keogram.png')).metadata();
  t.is(k.width, 8);
  const state = JSON.parse(await readFile(join(out, 'night-state.json'), 'utf8')) as { lastTimeMs: number };
  t.is(new Date(state.lastTimeMs).toISOString(), '2026-01-11T00:15:00.000Z'); // the junk file's mtime moved nothing
  // two more frames, then --resume: the keogram grows by two columns, the timelapse has all ten
  for (const i of [8, 9]) {
    await saveFrame(frames, `img_${String(i).padStart(3, '0')}.fits`, starFrame(80, 60, i), { 'DATE-OBS': new Date(Date.UTC(2026, 0, 11, 0, 20 + i)).toISOString().slice(0, 23), EXPTIME: 20 });
  }
  const again = await cli(['night', 'build', frames, '--out', out, '--fps', '5', '--width', '80', '--resume']);
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stderr, /img_000\.fits: skipped/);
  t.regex(again.stdout, /night: 10 frame\(s\), 2 skipped · .*\(9 frame\(s\), 1 excluded\) · timelapse .*\(10 frame\(s\), 2\.0 s\)/);
  t.is((await sharp(join(out, 'keogram.png')).metadata()).width, 10);
  const { header } = await readFits(join(out, 'startrails.fits'));
  t.is(header.cards.NCOMBINE, 9);
  t.is(header.cards['DATE-BEG'], '2026-01-10T23:40:00.000');
  t.true((await stat(join(out, 'timelapse.mp4'))).size > 1000);
});

test('night build --keogram only; bad options and missing ffmpeg exit 1 with one line', async (t) => {
  const dir = await tempDir(t);
  const frames = await folder(dir);
  const out = join(dir, 'out');
  const r = await cli(['night', 'build', frames, '--out', out, '--keogram', '--angle', '90']);
  t.is(r.code, 0, r.stderr);
  t.is((await sharp(join(out, 'keogram.png')).metadata()).width, 8);
  await t.throwsAsync(stat(join(out, 'startrails.jpg')));
  const bad = await cli(['night', 'build', frames, '--out', out, '--max-sky-level', '7']);
  t.is(bad.code, 1);
  t.is(bad.stderr.trim().split('\n').length, 1);
  t.regex(bad.stderr, /--max-sky-level: expected a fraction of full scale 0 < x ≤ 1, got "7"/);
  const noff = await cli(['night', 'build', frames, '--out', out, '--ffmpeg', join(dir, 'nope')]);
  t.is(noff.code, 1);
  t.regex(noff.stderr.trim().split('\n').at(-1)!, /^skyrig: timelapse: ffmpeg not found .*apt-get install -y ffmpeg\)$/);
  t.regex(noff.stdout, /keogram .* star trails /);
  const empty = join(dir, 'empty');
  await mkdir(empty);
  const e = await cli(['night', 'build', empty, '--out', out]);
  t.is(e.code, 1);
  t.regex(e.stderr, /empty: no image files/);
});
