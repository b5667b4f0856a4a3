// `skyrig demo` on a machine with no apt image tools at all (issue 12 item 2): PATH holds only node,
// so djpeg, cjpeg, netpbm and LibRaw are missing. The demo runs through the sharp fallback with one
// warning; with a fallback budget smaller than the frames, or an input limit below them, the jobs
// that need them fail with one line each while the agent carries on, leaving no temp file and no
// run marked running.
import test from 'ava';
import { accessSync, constants } from 'node:fs';
import { readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { spawnAgent } from '../helpers/agent-process.js';
import { tempDir } from '../helpers/tmp.js';

async function bareBin(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  await symlink(process.execPath, join(bin, 'node'));
  return bin;
}

function onPath(name: string, path: string): boolean {
  return path.split(':').some((d) => {
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function tempFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.name.includes('.tmp-')) out.push(join(e.parentPath, e.name));
  }
  return out;
}

async function demo(t: import('ava').ExecutionContext, env: NodeJS.ProcessEnv = {}) {
  const dir = await tempDir(t);
  const bin = await bareBin(dir);
  for (const tool of ['djpeg', 'cjpeg', 'pngtopam', 'pnmtopng', 'tifftopnm', 'dcraw_emu', 'dcraw']) t.false(onPath(tool, bin), `${tool} must be missing`);
  const data = join(dir, 'demo');
  const p = spawnAgent(t, ['demo', '--data-dir', data, '--cycles', '1'], { PATH: bin, ...env });
  const exit = await p.exited;
  const out = p.output();
  t.false(/Unhandled|node:events|ENOENT\n|^\s+at /m.test(out), `no crash trace:\n${out}`);
  const log = new SqliteRunLog(join(data, 'skyrig.db'), { readonly: true });
  t.teardown(() => log.close());
  const runs = log.listRuns(100);
  t.deepEqual(runs.filter((r) => r.status === 'running'), [], 'no run left running');
  t.deepEqual(await tempFiles(data), [], 'no temp file left');
  return { exit, out, runs, log };
}

test.serial('the demo runs on the sharp fallback with one warning', async (t) => {
  const { exit, out, runs, log } = await demo(t);
  t.is(exit.code, 0, out);
  t.regex(out, /skyrig demo: \d+ runs \(0 failed\)/);
  const warnings = out.split('\n').filter((l) => l.includes('image tools not installed'));
  t.is(warnings.length, 1, out);
  t.regex(warnings[0]!, /^warn image tools not installed: djpeg, cjpeg, pngtopam, pnmtopng, tifftopnm — .*no fixed-memory streaming/);
  t.deepEqual([...new Set(runs.map((r) => r.kind))].sort(), ['allsky', 'autofocus', 'capture', 'focusbracket', 'hdr', 'livestack', 'night']);
  for (const r of runs) {
    t.is(r.status, 'ok', `${r.kind}: ${r.error}`);
    t.true(log.productsOf(r.id).length > 0 || r.kind === 'autofocus' || log.framesOf(r.id).length > 0, r.kind);
  }
});

test.serial('frames over the fallback budget fail their job with one line; the agent carries on', async (t) => {
  // 0.1 M samples: the demo's 640×480 RGB frames (0.92 M) do not fit
  const { exit, out, runs } = await demo(t, { SKYRIG_IMAGE_FALLBACK_MSAMPLES: '0.1' });
  t.is(exit.code, 0, out);
  const byKind = new Map(runs.map((r) => [r.kind, r]));
  for (const kind of ['hdr', 'focusbracket']) {
    const r = byKind.get(kind)!;
    t.is(r.status, 'failed', kind);
    t.regex(r.error ?? '', /^\S+: (djpeg|cjpeg|pngtopam|pnmtopng) not found \(apt-get install -y (libjpeg-turbo-progs|netpbm)\); without it frames are held whole, up to 0\.1 M samples/, kind);
    t.false((r.error ?? '').includes('\n'), 'one line');
  }
  // the jobs after the failed ones still ran
  t.is(byKind.get('livestack')?.status, 'ok');
  t.is(byKind.get('autofocus')?.status, 'ok');
});

test.serial('frames over the input limit fail their jobs from the header; the agent carries on', async (t) => {
  // 0.1 MP: the demo camera's 640×480 frames claim too much
  const { exit, out, runs } = await demo(t, { SKYRIG_IMAGE_MAX_MP: '0.1' });
  t.is(exit.code, 0, out);
  const failed = runs.filter((r) => r.status === 'failed');
  t.true(failed.length >= 2, runs.map((r) => `${r.kind} ${r.status} ${r.error}`).join('\n'));
  t.log(failed.map((r) => `${r.kind}: ${r.error}`).join('\n'));
  for (const r of failed) t.regex(r.error ?? '', /header claims (640×480 \(0\.307 MP\)|320×320 \(0\.102 MP\)), over the input limit of 0\.1 MP/, `${r.kind}: ${r.error}`);
});
