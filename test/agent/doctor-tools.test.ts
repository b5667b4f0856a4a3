// `skyrig doctor` and the external programs the configured jobs spawn: with PATH stripped to node
// alone it names each missing tool, the jobs it breaks and the apt package, and exits 1; with the
// tools on PATH (stand-in executables) the tool check is ok and so is the exit code.
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolChecks, toolNeeds } from '../../agent/cli/commands/doctor/tools.js';
import { parseConfigText as parseConfig } from '../../agent/config/load.js';
import { tempDir } from '../helpers/tmp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const CONFIG = `
station: { id: doc }
paths: { data_dir: ./data }
devices:
  cameras:
    allsky: { url: "sim://rig?format=jpeg" }
    dslr: { url: "gphoto2://" }
    ccd: { url: "indi://localhost:7624/CCD%20Simulator" }
    remote: { url: "indi://observatory.lan:7624/CCD%20Simulator" }
  focusers:
    rail: { url: "sim://rig" }
jobs:
  - { name: day-hdr, kind: hdr, camera: allsky, params: { formats: [jpg, png16] } }
  - { name: bracket, kind: focusbracket, camera: dslr, params: { depth_map: true } }
  - { name: night, kind: capture, camera: ccd }
  - { name: far, kind: capture, camera: remote }
  - { name: off, kind: livestack, camera: dslr, enabled: false }
mqtt: { enabled: false }
`;

async function pathWith(dir: string, tools: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  await symlink(process.execPath, join(dir, 'node'));
  for (const t of tools) {
    await writeFile(join(dir, t), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, t), 0o755);
  }
  return dir;
}

function skyrig(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(root, 'bin', 'skyrig.js'), ...args], { env: { SKYRIG_FROM_SOURCE: '1', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

test('toolNeeds maps each tool to the enabled jobs whose camera or products need it', (t) => {
  const config = parseConfig(CONFIG, 'config.yaml');
  const needs: Record<string, string[] | undefined> = Object.fromEntries(toolNeeds(config));
  t.deepEqual(needs.djpeg, ['day-hdr (hdr)', 'bracket (focusbracket)']);
  t.deepEqual(needs.cjpeg, ['day-hdr (hdr)', 'bracket (focusbracket)']);
  t.deepEqual(needs.pnmtopng, ['day-hdr (hdr)', 'bracket (focusbracket)'], 'png16 HDR output and the focus depth map');
  t.deepEqual(needs.dcraw_emu, ['bracket (focusbracket)'], 'the disabled livestack job on the DSLR is not counted');
  t.deepEqual(needs.indiserver, ['night (capture)'], 'only the INDI server on this machine needs indiserver here');
  t.is(needs.ffmpeg, undefined);
  t.is(needs.pngtopam, undefined, 'no camera writes PNG');
});

test('toolChecks: a missing tool fails naming the jobs and the apt package; an alternative counts', (t) => {
  const config = parseConfig(CONFIG, 'config.yaml');
  const none = toolChecks(config, '/nonexistent');
  const djpeg = none.find((c) => c.name === 'tool djpeg');
  t.is(djpeg?.level, 'fail');
  t.is(djpeg?.message, 'djpeg not found: breaks jobs day-hdr (hdr), bracket (focusbracket) (reads JPEG frames)');
  t.is(djpeg?.fix, 'sudo apt-get install -y libjpeg-turbo-progs');
  t.is(none.find((c) => c.name === 'tool indiserver')?.fix, 'sudo apt-get install -y indi-bin');
  t.is(none.find((c) => c.name === 'tool gphoto2')?.level, 'warn', 'the npm binding works without the command');
  t.false(none.some((c) => c.level === 'ok'));
});

test('toolChecks: dcraw stands in for dcraw_emu and raw-identify; all found is one ok line', async (t) => {
  const dir = await tempDir(t);
  const bin = await pathWith(join(dir, 'bin'), ['djpeg', 'cjpeg', 'pnmtopng', 'dcraw', 'indiserver', 'gphoto2']);
  const checks = toolChecks(parseConfig(CONFIG, 'config.yaml'), bin);
  t.deepEqual(checks.map((c) => c.level), ['ok']);
  t.regex(checks[0].message, /dcraw \(for dcraw_emu\)/);
});

test('skyrig doctor with PATH stripped of the tools: FAIL lines naming job and package, exit 1', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'config.yaml'), CONFIG);
  const bin = await pathWith(join(dir, 'bin'), []);
  const r = await skyrig(['doctor', '--config', join(dir, 'config.yaml'), '--state-dir', join(dir, 'state')], { PATH: bin });
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /\[FAIL\] tool djpeg +djpeg not found: breaks jobs day-hdr \(hdr\), bracket \(focusbracket\)/);
  t.regex(r.stdout, /\[FAIL\] tool cjpeg .*\n\s+fix: sudo apt-get install -y libjpeg-turbo-progs/);
  t.regex(r.stdout, /\[FAIL\] tool dcraw_emu +dcraw_emu or dcraw not found: breaks job bracket \(focusbracket\)/);
  t.regex(r.stdout, /\[FAIL\] tool indiserver .*breaks job night \(capture\)[^\n]*\n\s+fix: sudo apt-get install -y indi-bin/);
  t.notRegex(r.stdout, /all ok/);
});

test('skyrig doctor without a config warns about each missing tool, so it never says "all ok"', async (t) => {
  const dir = await tempDir(t);
  const bin = await pathWith(join(dir, 'bin'), []);
  const r = await skyrig(['doctor', '--state-dir', join(dir, 'state'), '--data-dir', dir], { PATH: bin, SKYRIG_CONFIG: '' });
  t.regex(r.stdout, /\[warn\] tool djpeg +djpeg not found \(reads JPEG frames; no config/);
  t.regex(r.stdout, /\[warn\] tool ffmpeg .*\n\s+fix: sudo apt-get install -y ffmpeg/);
  t.notRegex(r.stdout, /all ok/);
});

test('skyrig doctor with every tool the jobs need on PATH: the tool line is ok', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'config.yaml'), CONFIG);
  const bin = await pathWith(join(dir, 'bin'), ['djpeg', 'cjpeg', 'pnmtopng', 'dcraw_emu', 'raw-identify', 'indiserver', 'gphoto2']);
  const r = await skyrig(['doctor', '--json', '--config', join(dir, 'config.yaml'), '--state-dir', join(dir, 'state')], { PATH: bin });
  const report = JSON.parse(r.stdout) as { checks: { name: string; level: string; message: string }[] };
  const tools = report.checks.filter((c) => c.name.startsWith('tool'));
  t.deepEqual(tools.map((c) => [c.name, c.level]), [['tools', 'ok']]);
  t.regex(tools[0].message, /found djpeg, cjpeg, pnmtopng, .*indiserver/);
});
