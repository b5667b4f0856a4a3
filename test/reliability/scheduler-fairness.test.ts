// No starvation: a due job that finds the agent busy waits in the queue (one entry per job) and runs
// next, oldest due first; a job whose previous step has not run yet counts an overrun (published as
// `overruns`, warned once per job per hour). Long periods are armed in chunks, never one huge timer.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { join } from 'node:path';
import { validateConfig, resolvePaths } from '../../agent/config/load.js';
import { Agent, type DeviceFactory } from '../../agent/daemon.js';
import { memoryLogger } from '../../agent/log.js';
import { RecordingPublisher } from '../../agent/publisher.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import type { JobRunner } from '../../agent/jobs/types.js';
import { MAX_TIMER_CHUNK_MS, Scheduler } from '../../agent/jobs/scheduler.js';
import type { Camera } from '../../drivers/types.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { tempDir } from '../helpers/tmp.js';

const quietNotifier = { ready() {}, status() {}, watchdog() {}, stopping() {}, watchdogIntervalMs: null, close() {} };
const devices: DeviceFactory = { camera: async () => ({}) as Camera, focuser: async () => { throw new Error('none'); }, forget: async () => {}, closeAll: async () => {} };

/** Let the agent's real I/O (run rows, folders) finish before fake time moves on. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 4));
}

recordEachTest(test);

test('capture every 5 s listed first does not starve hdr (20 s) and livestack (30 s)', async (t) => {
  const dir = await tempDir(t);
  const config = validateConfig({
    station: { id: 'fair' },
    paths: { data_dir: dir },
    devices: { cameras: { cam: { url: 'sim://f' } } },
    jobs: [
      { name: 'cap', kind: 'capture', every: '5s' },
      { name: 'hdr', kind: 'hdr', every: '20s' },
      { name: 'eaa', kind: 'livestack', every: '30s' },
    ],
    mqtt: { enabled: false },
    retention: { min_free_mb: 0 },
  });
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const ran: { job: string; at: number }[] = [];
  // Each capture takes longer than its own interval: the old "skip when busy" never let the others in.
  const took: Record<string, number> = { capture: 6000, hdr: 3000, livestack: 4000 };
  const runner: JobRunner = async (ctx) => {
    ran.push({ job: ctx.kind, at: clock.now().getTime() });
    await clock.sleep(took[ctx.kind]!);
    return { metrics: {} };
  };
  const runlog = new SqliteRunLog(join(dir, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const log = memoryLogger('debug');
  const publisher = new RecordingPublisher();
  const agent = new Agent({ config, paths: resolvePaths(config, dir), runlog, publisher, notifier: quietNotifier, log, devices, runners: { capture: runner, hdr: runner, livestack: runner }, clock });
  await agent.start();
  for (let ms = 0; ms < 60_000; ms += 250) {
    await settle();
    clock.advance(250);
  }
  await settle();
  const count = (k: string) => ran.filter((r) => r.job === k).length;
  t.true(count('hdr') >= 2, `hdr ran ${count('hdr')}×: ${JSON.stringify(ran)}`);
  t.true(count('livestack') >= 1, `livestack ran ${count('livestack')}×`);
  t.true(count('capture') >= 5, `capture ran ${count('capture')}×`);
  // Fair order: at start all three were due; they run in list order, each right after the previous.
  t.deepEqual(ran.slice(0, 3).map((r) => r.job), ['capture', 'hdr', 'livestack']);
  // The queue held at most one entry per job: capture overran (6 s work on a 5 s grid, plus waits).
  const overruns = agent.overrunCounts;
  t.true((overruns.cap ?? 0) > 0, JSON.stringify(overruns));
  t.deepEqual(publisher.current.overruns, overruns);
  const warns = log.lines.filter((l) => /overran/.test(l));
  t.is(warns.length, Object.keys(overruns).length, 'one warning per job per hour');
  t.false(log.lines.some((l) => /skipped: agent busy/.test(l)));
  // The fake runner's sleep ignores the abort: keep fake time moving (and a real timer alive) until
  // the current run has ended, whatever point of its real I/O it was at.
  let stopped = false;
  const stopping = agent.stop().then(() => (stopped = true));
  while (!stopped) {
    clock.advance(1000);
    await settle();
  }
  await stopping;
});

test('every: 30d is armed in chunks of at most 24 h and still fires on its date', (t) => {
  const clock = fakeClock(0);
  const fired: number[] = [];
  const month = 30 * 86_400_000;
  const s = new Scheduler([{ name: 'm', kind: 'capture', every: month, when: 'always', params: {}, enabled: true }], {
    clock,
    allowed: () => true,
    trigger: () => fired.push(clock.now().getTime()),
  });
  s.start();
  clock.advance(1);
  t.deepEqual(fired, [0]);
  t.true(clock.armed().every((ms) => ms <= MAX_TIMER_CHUNK_MS && ms <= 2 ** 31 - 1));
  clock.advance(month - 1000);
  t.deepEqual(fired, [0]);
  clock.advance(1000);
  t.deepEqual(fired, [0, month]);
  clock.advance(month);
  t.deepEqual(fired, [0, month, 2 * month]);
  s.stop();
});
