// `hdr calibrate` and `focus stack` make their output folder before the work (mkdir -p), and a folder
// they cannot make fails at once in one line naming the option — not minutes later with ENOENT.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

const bin = resolve('bin/skyrig.js');
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };

function skyrig(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 }),
    );
  });
}

test('hdr calibrate writes the response and plot into a folder it creates; a file in the way fails first', async (t) => {
  const dir = await tempDir(t);
  const shoot = await skyrig(['sim', 'shoot', 'sim://rig?scene=day&width=160&height=120', '--out', 'day', '--exposures', '1/10000,1/1000,1/100'], dir);
  t.is(shoot.code, 0, shoot.stderr);
  const cal = await skyrig(['hdr', 'calibrate', 'day', '--out', 'new/deeper/resp.json'], dir);
  t.is(cal.code, 0, cal.stderr);
  t.true((await stat(join(dir, 'new/deeper/resp.json'))).size > 100);
  t.true((await stat(join(dir, 'new/deeper/response_curve.jpg'))).size > 1000); // the plot beside the response, as asi_core names it

  await writeFile(join(dir, 'blocker'), '');
  const bad = await skyrig(['hdr', 'calibrate', 'no-such-input', '--out', 'blocker/resp.json'], dir);
  t.is(bad.code, 1);
  // The output is checked before the input is even read.
  t.is(bad.stderr.trim(), `skyrig: --out blocker/resp.json: cannot write into ${join(dir, 'blocker')} (a file is in the way)`);
});

test('focus stack writes into a folder it creates, the depth map too', async (t) => {
  const dir = await tempDir(t);
  const shoot = await skyrig(['sim', 'shoot', 'sim://ff?scene=sky&width=160&height=120&seed=5', '--out', 'frames', '--exposures', '2', '--positions', '850,1000,1150'], dir);
  t.is(shoot.code, 0, shoot.stderr);
  const r = await skyrig(['focus', 'stack', 'frames', '--out', 'out/a/stack.png', '--algorithm', 'depthmap', '--depth-map', 'maps/b/depth.png'], dir);
  t.is(r.code, 0, r.stderr);
  t.true(existsSync(join(dir, 'out/a/stack.png')));
  t.true(existsSync(join(dir, 'maps/b/depth.png')));
  await writeFile(join(dir, 'blocker'), '');
  const bad = await skyrig(['focus', 'stack', 'frames', '--out', 'blocker/stack.png'], dir);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^skyrig: --out blocker\/stack\.png: cannot write into .*blocker \(a file is in the way\)\n$/);
});
