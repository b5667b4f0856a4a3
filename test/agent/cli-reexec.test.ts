// bin/skyrig.js re-runs the long image commands with MALLOC_MMAP_THRESHOLD_ set (as the systemd unit
// does): the worker gets it, SIGTERM sent to the process the user started reaches the worker, which
// saves its work and exits 0, and that exit code comes back.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, readdir, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

/** A process whose parent is `pid` (from /proc/<n>/stat: "pid (comm) state ppid ..."). */
async function childOf(pid: number): Promise<number | null> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'latin1').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) return Number(name);
  }
  return null;
}

const cli = resolve('bin/skyrig.js');
const env: NodeJS.ProcessEnv = { ...process.env, SKYRIG_FROM_SOURCE: '1' };
delete env.MALLOC_MMAP_THRESHOLD_;

test('stack watch through bin/skyrig.js: worker has the malloc setting, SIGTERM is passed on, exit 0', async (t) => {
  const dir = await tempDir(t);
  const lights = join(dir, 'lights');
  await mkdir(lights);
  const child = spawn(process.execPath, [cli, 'stack', 'watch', lights, '--out', join(dir, 'out'), '--poll', '200'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '', stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const t0 = Date.now();
  while (!/watching/.test(stderr)) {
    if (Date.now() - t0 > 60000) throw new Error(`no start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The worker is the child of the process we started.
  const worker = await childOf(child.pid!);
  t.truthy(worker, 'no worker process');
  const environ = (await readFile(`/proc/${worker!}/environ`, 'latin1')).split('\0');
  t.true(environ.includes('MALLOC_MMAP_THRESHOLD_=131072'));
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  // The worker's orderly stop (its summary line) came through the parent's stdout.
  t.regex(stdout, /^stopped: stacked 0 frame\(s\)/);
});

test('bin/skyrig.js keeps compiled modules in os.tmpdir()/node-compile-cache where node has the cache (22.1+), writes nothing there on node 20', async (t) => {
  const dir = await tempDir(t);
  const cacheEnv: NodeJS.ProcessEnv = { ...env, TMPDIR: dir };
  delete cacheEnv.NODE_COMPILE_CACHE;
  delete cacheEnv.SKYRIG_FROM_SOURCE; // the compiled CLI (npm ci builds it), as users run it
  const child = spawn(process.execPath, [cli, 'hdr', 'merge', '--help'], { env: cacheEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  t.is(code, 0, stderr);
  t.regex(stdout, /Usage: skyrig hdr merge/);
  const cached = await readdir(join(dir, 'node-compile-cache'), { recursive: true }).catch(() => null);
  const nodeModule = (await import('node:module')).default as unknown as { enableCompileCache?: unknown };
  const nodeHasCache = typeof nodeModule.enableCompileCache === 'function';
  if (nodeHasCache) t.true((cached?.length ?? 0) > 0, `no compile cache written under ${dir}`);
  else t.is(cached, null, 'node 20 wrote a compile cache');
});
