// Malformed configs: every value that would fail at run time is refused by `skyrig config check` and
// by `skyrig run` at start — exit 1, one line, naming the field. Generated from one valid config by
// changing one thing per case.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { checkConfigFile } from '../../agent/cli/commands/config.js';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/tmp.js';

type Cfg = Record<string, any>;

function base(dir: string): Cfg {
  return {
    station: { id: 'corpus' },
    site: { latitude: 52, longitude: 5 },
    paths: { data_dir: join(dir, 'data') },
    devices: { cameras: { cam: { url: 'sim://c?width=64&height=48' } }, focusers: { rail: { url: 'sim://c' } } },
    jobs: [
      { name: 'cap', kind: 'capture', every: '1m', params: { exposure_s: 1 } },
      { name: 'hdr', kind: 'hdr', params: {} },
      { name: 'eaa', kind: 'livestack', params: { exposure_s: 5 } },
      { name: 'af', kind: 'autofocus', params: {} },
      { name: 'fb', kind: 'focusbracket', params: {} },
    ],
    mqtt: { enabled: true, url: 'mqtt://127.0.0.1:1883' },
    retention: { min_free_mb: 1 },
  };
}

// [what, mutation, the field the one-line error must name]
const CASES: [string, (c: Cfg, dir: string) => void, RegExp][] = [
  ['bad station id', (c) => (c.station.id = 'Bad Id'), /station\.id/],
  ['no station', (c) => delete c.station, /station: required/],
  ['latitude 91', (c) => (c.site.latitude = 91), /site\.latitude/],
  ['longitude text', (c) => (c.site.longitude = 'east'), /site\.longitude/],
  ['every 0s', (c) => (c.jobs[0].every = '0s'), /jobs\[0\]\.every/],
  ['every 1ms', (c) => (c.jobs[0].every = '1ms'), /jobs\[0\]\.every/],
  ['every gibberish', (c) => (c.jobs[0].every = 'soon'), /jobs\[0\]\.every/],
  ['every 999d', (c) => (c.jobs[0].every = '999d'), /jobs\[0\]\.every/],
  ['exposure_s -1', (c) => (c.jobs[0].params.exposure_s = -1), /jobs\[0\]\.params\.exposure_s/],
  ['exposure_s 0', (c) => (c.jobs[0].params.exposure_s = 0), /jobs\[0\]\.params\.exposure_s/],
  ['exposure_s a million', (c) => (c.jobs[0].params.exposure_s = 1e6), /jobs\[0\]\.params\.exposure_s/],
  ['count 1e9', (c) => (c.jobs[0].params.count = 1e9), /jobs\[0\]\.params\.count/],
  ['count 2.5', (c) => (c.jobs[0].params.count = 2.5), /jobs\[0\]\.params\.count/],
  ['gain -5', (c) => (c.jobs[0].params.gain = -5), /jobs\[0\]\.params\.gain/],
  ['exposures with a negative', (c) => (c.jobs[0].params = { exposures: [0.1, -1] }), /jobs\[0\]\.params\.exposures/],
  ['misspelt param', (c) => (c.jobs[0].params = { exposure: 30 }), /jobs\[0\]\.params\.exposure/],
  ['hdr steps 100', (c) => (c.jobs[1].params.steps = 100), /jobs\[1\]\.params\.steps/],
  ['hdr response missing', (c) => (c.jobs[1].params.response = '/nonexistent/resp.json'), /jobs\[1\]\.params\.response/],
  ['livestack darks missing', (c) => (c.jobs[2].params.darks = '/nonexistent/darks'), /jobs\[2\]\.params\.darks/],
  ['livestack flats missing', (c) => (c.jobs[2].params.flats = 'flats-nowhere'), /jobs\[2\]\.params\.flats/],
  ['livestack binning 0', (c) => (c.jobs[2].params.binning = 0), /jobs\[2\]\.params\.binning/],
  ['autofocus points 3', (c) => (c.jobs[3].params.points = 3), /jobs\[3\]\.params\.points/],
  ['focusbracket count 1000', (c) => (c.jobs[4].params.count = 1000), /jobs\[4\]\.params\.count/],
  ['sim 100000 px wide', (c) => (c.devices.cameras.cam.url = 'sim://c?width=100000'), /devices\.cameras\.cam\.url/],
  ['sim 20000×20000', (c) => (c.devices.cameras.cam.url = 'sim://c?width=20000&height=20000'), /devices\.cameras\.cam\.url/],
  ['camera url scheme', (c) => (c.devices.cameras.cam.url = 'ftp://x'), /devices\.cameras\.cam\.url/],
  ['tls ca missing', (c) => (c.mqtt.tls = { ca: '/nonexistent/ca.pem' }), /mqtt\.tls\.ca/],
  ['tls key missing', (c) => (c.mqtt.tls = { key: 'client.key' }), /mqtt\.tls\.key/],
  ['keepalive 0', (c) => (c.mqtt.keepalive = 0), /mqtt\.keepalive/],
  ['mqtt url http', (c) => (c.mqtt.url = 'http://x'), /mqtt\.url/],
  ['min_free_mb -1', (c) => (c.retention.min_free_mb = -1), /retention\.min_free_mb/],
  ['retention every 0s', (c) => (c.retention.every = '0s'), /retention\.every/],
  ['log level loud', (c) => (c.log = { level: 'loud' }), /log\.level/],
  ['data dir in /proc', (c) => (c.paths.data_dir = '/proc/self/nope'), /paths\.data_dir/],
  ['data dir under a file', (c, dir) => (c.paths.data_dir = join(dir, 'config.yaml', 'data')), /paths\.data_dir/],
  ['unknown job kind', (c) => (c.jobs[0].kind = 'timelapse'), /jobs\[0\]\.kind/],
  ['unknown top-level field', (c) => (c.extra = 1), /\(root\): unknown field "extra"/],
  ['job on a missing camera', (c) => (c.jobs[0].camera = 'nosuch'), /jobs\[0\]\.camera/],
  ['duplicate job name', (c) => (c.jobs[1].name = 'cap'), /jobs\[1\]\.name/],
];

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = execFile(process.execPath, ['bin/skyrig.js', ...args], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' }, timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: (stdout + stderr).trim() }),
    );
    p.on('error', () => {});
  });
}

async function pool<T, R>(items: T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}

// In-process through the exact function `config check` runs (the CLI turns its error into
// `skyrig: <message>` and exit 1; the second test proves that on a sample through real processes).
recordEachTest(test);

test(`${CASES.length} malformed configs: config check refuses each with one line naming the field`, async (t) => {
  t.true(CASES.length >= 30);
  const dir = await tempDir(t);
  const results = await pool(CASES, 4, async ([what, mutate, field], i) => {
    const caseDir = join(dir, `case-${String(i).padStart(2, '0')}`);
    await mkdir(caseDir, { recursive: true });
    const cfg = base(caseDir);
    mutate(cfg, caseDir);
    const path = join(caseDir, 'config.yaml');
    await writeFile(path, stringify(cfg));
    const out = await checkConfigFile(path).then(
      (line) => ({ code: 0, out: line }),
      (err: Error) => ({ code: 1, out: err.message }),
    );
    return { what, field, ...out };
  });
  for (const r of results) {
    t.is(r.code, 1, `${r.what}: exit ${r.code}: ${r.out}`);
    t.false(r.out.includes('\n'), `${r.what}: more than one line:\n${r.out}`);
    t.regex(r.out, r.field, `${r.what}`);
  }
  t.log(`${results.length} cases, ${results.filter((r) => r.code === 1 && !r.out.includes('\n') && r.field.test(r.out)).length} refused as expected`);
});

test('skyrig config check and skyrig run exit 1 with that line (a sample through real processes)', async (t) => {
  const dir = await tempDir(t);
  const sample = CASES.filter(([w]) => ['every 0s', 'tls ca missing', 'data dir in /proc'].includes(w));
  const jobs = sample.flatMap((c) => [['run', c] as const, ['config', c] as const]);
  const results = await pool(jobs, 3, async ([cmd, [what, mutate, field]]) => {
    const caseDir = join(dir, `${cmd}-${what.replace(/\W+/g, '-')}`);
    await mkdir(caseDir, { recursive: true });
    const cfg = base(caseDir);
    mutate(cfg, caseDir);
    const path = join(caseDir, 'config.yaml');
    await writeFile(path, stringify(cfg));
    return { what: `${cmd}: ${what}`, field, ...(await run(cmd === 'run' ? ['run', '--config', path] : ['config', 'check', '--config', path])) };
  });
  for (const r of results) {
    t.is(r.code, 1, `${r.what}: ${r.out}`);
    t.false(r.out.includes('\n'), `${r.what}: ${r.out}`);
    t.regex(r.out, r.field, r.what);
  }
});
