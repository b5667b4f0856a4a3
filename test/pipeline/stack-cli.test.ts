import test from 'ava';
import { spawn, execFile } from 'node:child_process';
import { readFile, writeFile, mkdir, readdir, stat, truncate, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeFits, readFits } from '../../pipeline/image/fits.js';
import { makeCatalog, mulberry32, renderStarField } from '../../pipeline/stack/synth.js';
import { tempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const W = 192, H = 160;
const catalog = makeCatalog(31, 110, W, H);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', join(repo, 'agent/cli/main.ts'), ...args], { cwd: repo, env: { ...process.env, CI: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function writeFrame(dir: string, name: string, i: number, extra: Partial<Parameters<typeof renderStarField>[0]> = {}): Promise<string> {
  const r = mulberry32(i + 1);
  const img = renderStarField({ width: W, height: H, catalog, seed: 10 + i, quantize: 16, transform: { dx: (r() - 0.5) * 20, dy: (r() - 0.5) * 20, rotDeg: (r() - 0.5) }, ...extra });
  const p = join(dir, name);
  const date = new Date(Date.UTC(2026, 0, 1, 22, 0, i * 40)).toISOString().replace('Z', '');
  await writeFits(p, img, { bitpix: 16, cards: { EXPTIME: 30, 'DATE-OBS': date } });
  return p;
}

test('stack run: stacks good frames, refuses bad ones with one line naming the file, writes FITS/preview/CSV/JSON', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  const out = join(dir, 'out');
  await mkdir(lights);
  for (let i = 0; i < 5; i++) await writeFrame(lights, `l${i}.fits`, i);
  const small = renderStarField({ width: 100, height: 80, catalog, seed: 3, quantize: 16 });
  await writeFits(join(lights, 'l5_small.fits'), small, { bitpix: 16, cards: { EXPTIME: 30 } });
  await writeFrame(lights, 'l6_cut.fits', 6);
  await truncate(join(lights, 'l6_cut.fits'), 9000);
  await writeFrame(lights, 'l7_black.fits', 7, { catalog: [], background: 0, noise: 0 });
  await writeFile(join(lights, 'l8_junk.png'), 'not a png');
  const r = await cli(['stack', 'run', lights, '--out', out, '--method', 'mean']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /stacked 5 frame\(s\), 4 refused \(3 input, 1 black\) → /);
  const { header } = await readFits(join(out, 'stack.fits'));
  t.is(header.bitpix, -32);
  t.is(header.cards.NCOMBINE, 5);
  t.is(header.cards.EXPTIME, 150);
  t.is(header.cards['DATE-BEG'], '2026-01-01T22:00:00.000');
  t.is(header.cards['DATE-END'], '2026-01-01T22:03:10.000');
  const csv = await readFile(join(out, 'stack-frames.csv'), 'utf8');
  const lines = csv.trim().split('\n');
  t.is(lines.length, 1 + 9);
  t.regex(csv, /l5_small\.fits.*rejected.*100×80×1 differs/);
  t.regex(csv, /l6_cut\.fits.*rejected.*truncated/);
  t.regex(csv, /l7_black\.fits.*rejected.*all black/);
  t.regex(csv, /l8_junk\.png.*rejected.*cannot decode/);
  const json = JSON.parse(await readFile(join(out, 'stack-frames.json'), 'utf8'));
  t.is(json.frames.filter((f: { accepted: boolean }) => f.accepted).length, 5);
  t.true((await stat(join(out, 'stack.jpg'))).size > 1000);
  t.true((await stat(join(out, 'stack-frames.png'))).size > 2000);
  // Each refusal is reported on one line naming the file.
  for (const bad of ['l5_small.fits', 'l6_cut.fits', 'l7_black.fits', 'l8_junk.png']) {
    t.regex(r.stderr, new RegExp(`${bad.replace('.', '\\.')}: refused: [^\\n]+\\n`));
  }
});

test('stack run --reload continues the saved stack; corrupt state is reported, not used', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  const out = join(dir, 'out');
  await mkdir(lights);
  for (let i = 0; i < 3; i++) await writeFrame(lights, `a${i}.fits`, i);
  t.is((await cli(['stack', 'run', lights, '--out', out, '--method', 'sigma'])).code, 0);
  for (let i = 3; i < 5; i++) await writeFrame(lights, `a${i}.fits`, i);
  const r = await cli(['stack', 'run', lights, '--out', out, '--method', 'sigma', '--reload']);
  t.is(r.code, 0, r.stderr);
  t.is((await readFits(join(out, 'stack.fits'))).header.cards.NCOMBINE, 5);
  // Corrupt the state: reload refuses with one line; the file is left as it is.
  const statePath = join(out, '.livestack', 'livestack.state');
  const fh = await open(statePath, 'r+');
  await fh.write(Buffer.from([0x55]), 0, 1, 200);
  await fh.close();
  const before = await readFile(statePath);
  const bad = await cli(['stack', 'run', lights, '--out', out, '--method', 'sigma', '--reload']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^skyrig: .*livestack\.state: corrupt stack state \(checksum mismatch\)\n$/);
  t.deepEqual(await readFile(statePath), before);
  // --reload where nothing was saved is refused too.
  const other = await cli(['stack', 'run', lights, '--out', join(dir, 'out2'), '--reload']);
  t.is(other.code, 1);
  t.regex(other.stderr, /no saved stack state/);
});

test('stack run --method ALL --no-seed-compat writes one result per seed method through our pipeline; --number takes the last N', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  await mkdir(lights);
  for (let i = 0; i < 4; i++) await writeFrame(lights, `b${i}.fits`, i);
  const out = join(dir, 'out');
  const r = await cli(['stack', 'run', lights, '--out', out, '--method', 'ALL', '--no-seed-compat', '--number', '3', '--output-name', 'm31', '--preview', 'png']);
  t.is(r.code, 0, r.stderr);
  const files = (await readdir(out)).sort();
  for (const m of ['ADD', 'ADD2', 'ADDMAX', 'ADDMAX2', 'ADDMEAN', 'ADDCOMP']) {
    t.true(files.includes(`m31-${m}.fits`), m);
    t.true(files.includes(`m31-${m}.png`), m);
    t.is((await readFits(join(out, `m31-${m}.fits`))).header.cards.NCOMBINE, 3);
  }
});

test('stack run: bad options and darks of another size fail with one line', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  const darks = join(dir, 'darks');
  await mkdir(lights);
  await mkdir(darks);
  await writeFrame(lights, 'c0.fits', 0);
  const dark = renderStarField({ width: 64, height: 64, catalog: [], seed: 1, quantize: 16 });
  await writeFits(join(darks, 'd0.fits'), dark, { bitpix: 16 });
  const r = await cli(['stack', 'run', lights, '--out', join(dir, 'o'), '--darks', darks]);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`^skyrig: ${darks}: master dark is 64×64×1 but .*c0\\.fits is ${W}×${H}×1\\n$`));
  const k = await cli(['stack', 'run', lights, '--out', join(dir, 'o'), '--kappa', '-1']);
  t.is(k.code, 1);
  t.regex(k.stderr, /^skyrig: --kappa: expected a positive number, got "-1"\n$/);
  const th = await cli(['stack', 'run', lights, '--out', join(dir, 'o'), '--threads', '0']);
  t.regex(th.stderr, /^skyrig: --threads: expected a whole number 1\.\.64, got "0"\n$/);
  const m = await cli(['stack', 'run', lights, '--out', join(dir, 'o'), '--method', 'median']);
  t.regex(m.stderr, /--method: unknown method "median"/);
  const ref = await cli(['stack', 'run', lights, '--out', join(dir, 'o'), '--reference', 'best']);
  t.regex(ref.stderr, /--reference: expected first or best:K/);
  const ds = await cli(['stack', 'run', lights, '--out', join(dir, 'o'), '--darks', darks, '--dark-scale']);
  t.regex(ds.stderr, /^skyrig: --dark-scale: needs --darks and --bias\n$/);
});

test('stack watch: takes files once complete, in name order, and exits 0 with the stack saved on SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  const out = join(dir, 'out');
  await mkdir(lights);
  await writeFrame(lights, 'w0.fits', 0);
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'agent/cli/main.ts'), 'stack', 'watch', lights, '--out', out, '--poll', '150', '--method', 'mean'], { cwd: repo, env: { ...process.env, CI: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const waitFor = async (re: RegExp, ms = 90000) => {
    const t0 = Date.now();
    while (!re.test(stderr)) {
      if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${re}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(/w0\.fits: held until 3 frames are in/);
  // A frame being written: half of it now, the rest later. It must not be taken half-written.
  const full = join(dir, 'w1.full');
  await writeFrame(dir, 'w1.full', 1);
  const bytes = await readFile(full);
  await writeFile(join(lights, 'w1.fits'), bytes.subarray(0, bytes.length >> 1));
  await new Promise((r) => setTimeout(r, 700));
  t.notRegex(stderr, /w1\.fits/);
  await writeFile(join(lights, 'w1.fits'), bytes);
  await writeFrame(lights, 'w2.fits', 2);
  await waitFor(/w2\.fits: #3/);
  t.regex(stderr, /w0\.fits: #1[^]*w1\.fits: #2[^]*w2\.fits: #3/);
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.is((await readFits(join(out, 'stack.fits'))).header.cards.NCOMBINE, 3);
});
