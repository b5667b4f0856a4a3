// The agent in-process on the simulated rig: runs, frames, products, state; failures are logged and
// the agent goes on; a full disk refuses captures naming the folder; a live stack holds the camera.
import test from 'ava';
import { fsTypeOf } from '../../pipeline/stack/disk-io.js';
import { existsSync } from 'node:fs';
import { validateConfig, resolvePaths } from '../../agent/config/load.js';
import type { ConfigInput } from '../../agent/config/schema.js';
import { memoryLogger } from '../../agent/log.js';
import { RecordingPublisher } from '../../agent/publisher.js';
import { startRuntime } from '../../agent/runtime.js';
import type { Notifier } from '../../agent/sdnotify.js';
import { tempDir } from '../helpers/tmp.js';

function recordingNotifier(): Notifier & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    ready: () => sent.push('READY=1'),
    status: (s) => sent.push(`STATUS=${s}`),
    watchdog: () => sent.push('WATCHDOG=1'),
    stopping: () => sent.push('STOPPING=1'),
    watchdogIntervalMs: null,
    close: () => {},
  };
}

async function boot(t: import('ava').ExecutionContext, extra: Partial<ConfigInput> = {}, existingDir?: string) {
  const dir = existingDir ?? (await tempDir(t));
  const config = validateConfig({
    station: { id: 'unit' },
    paths: { data_dir: dir },
    devices: {
      cameras: { sky: { url: 'sim://u?scene=sky&width=320&height=240&seed=3' }, broken: { url: 'indi://127.0.0.1:1/Nothing' } },
    },
    jobs: [
      { name: 'snap', kind: 'capture', camera: 'sky', params: { exposures: [10, 20] } },
      { name: 'bad', kind: 'capture', camera: 'broken', params: {} },
      { name: 'eaa', kind: 'livestack', camera: 'sky', params: { exposure_s: 5 } },
    ],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1 },
    ...extra,
  });
  const publisher = new RecordingPublisher();
  const notifier = recordingNotifier();
  const log = memoryLogger('info');
  const rt = await startRuntime({ config, baseDir: dir, log, alsoPublishTo: publisher, notifier });
  t.teardown(() => rt.shutdown());
  return { rt, publisher, notifier, log, dir, paths: resolvePaths(config, dir) };
}

test('a capture run logs frames with stats, a preview product, and publishes state', async (t) => {
  const { rt, publisher, notifier } = await boot(t);
  t.true(notifier.sent.includes('READY=1'));
  const reply = await rt.agent.command('job', { name: 'snap' });
  t.true(reply.ok, reply.error);
  const runId = reply.result!.run_id as number;
  const frames = rt.runlog.framesOf(runId);
  t.is(frames.length, 2);
  t.deepEqual(frames.map((f) => f.exposureS), [10, 20]);
  for (const f of frames) {
    t.true(existsSync(f.path));
    t.regex(f.sha256, /^[0-9a-f]{64}$/);
    t.true((f.stats.stars as number) > 5, `stars ${f.stats.stars}`);
    t.true((f.stats.median as number) > 0);
  }
  // Longer exposure, brighter sky.
  t.true((frames[1]!.stats.median as number) > (frames[0]!.stats.median as number));
  const products = rt.runlog.productsOf(runId);
  t.is(products[0]!.kind, 'preview');
  t.true(existsSync(products[0]!.path));
  t.is(publisher.images.at(-1)!.kind, 'capture');
  t.is(publisher.current.last_run_status, 'ok');
  // Every run says what it wrote to storage (docs/sd-wear.md); here at least the two frames' bytes.
  const run = rt.runlog.listRuns(5).find((r) => r.id === runId)!;
  const frameBytes = frames.reduce((n, f) => n + f.sizeBytes, 0);
  // /proc/self/io counts what reaches a block device: not on tmpfs.
  if (process.platform === 'linux' && fsTypeOf(frames[0]!.path) !== 'tmpfs') {
    t.true((run.metrics.disk_writes_mb as number) * 1e6 >= frameBytes * 0.9, `${run.metrics.disk_writes_mb} MB for ${frameBytes} B of frames`);
    t.is(publisher.current.disk_writes_mb, run.metrics.disk_writes_mb);
  }
  t.true((publisher.current.star_count as number) > 5);
  t.is(typeof publisher.current.hfr_px, 'number');
  t.true(notifier.sent.some((s) => s.startsWith('STATUS=capture (snap) run')));
});

test('a failing job is marked failed with its error and the agent goes on', async (t) => {
  const { rt, publisher } = await boot(t);
  const bad = await rt.agent.command('job', { name: 'bad' });
  t.false(bad.ok);
  t.regex(bad.error!, /127\.0\.0\.1:1/);
  const failed = rt.runlog.listRuns(1)[0]!;
  t.is(failed.status, 'failed');
  t.truthy(failed.error);
  t.is(publisher.results.at(-1)!.payload.status, 'failed');
  const ok = await rt.agent.command('job', { name: 'snap' });
  t.true(ok.ok);
});

test('a full disk refuses the capture naming the folder and the limit', async (t) => {
  const { rt } = await boot(t, { retention: { min_free_mb: 1e12 } });
  const r = await rt.agent.command('capture', {});
  t.false(r.ok);
  t.regex(r.error!, /spool.*MB free, below retention\.min_free_mb=1000000000000/);
  // Refused before the run row and its folders exist: refused attempts do not pile up.
  t.is(rt.runlog.listRuns(5).length, 0);
  t.true(rt.agent.isDiskFull);
});

test('a running live stack holds the camera; stop ends it cleanly', async (t) => {
  const { rt } = await boot(t);
  const start = await rt.agent.command('livestack_start', {});
  t.true(start.ok, start.error);
  const runId = start.result!.run_id as number;
  while (rt.runlog.framesOf(runId).length < 2) await new Promise((r) => setTimeout(r, 50));
  const busy = await rt.agent.command('capture', {});
  t.false(busy.ok);
  t.regex(busy.error!, /busy with livestack/);
  const stop = await rt.agent.command('livestack_stop', {});
  t.true(stop.ok);
  await rt.agent.whenIdle();
  const run = rt.runlog.listRuns(5).find((r) => r.id === runId)!;
  t.is(run.status, 'ok');
  t.true(run.frameCount >= 2);
  t.false((await rt.agent.command('livestack_stop', {})).ok);
});

test('unknown job and command names are refused with what exists', async (t) => {
  const { rt } = await boot(t);
  const r = await rt.agent.command('job', { name: 'nope' });
  t.false(r.ok);
  t.regex(r.error!, /no job named "nope" \(have: snap, bad, eaa\)/);
  t.false((await rt.agent.command('explode', {})).ok);
});

test('a live stack interrupted by a stop resumes its saved stack when the agent starts again', async (t) => {
  const first = await boot(t);
  const start = await first.rt.agent.command('livestack_start', {});
  const runId = start.result!.run_id as number;
  while (first.rt.runlog.framesOf(runId).length < 3) await new Promise((r) => setTimeout(r, 50));
  await first.rt.shutdown(); // what SIGTERM does
  const second = await boot(t, {}, first.dir);
  const before = second.rt.runlog.listRuns(10).find((r) => r.id === runId)!;
  t.is(before.status, 'aborted');
  let resumed: number | undefined;
  while (!resumed) {
    resumed = second.rt.agent.currentRun?.kind === 'livestack' ? second.rt.agent.currentRun.runId : undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.not(resumed, runId);
  while (second.rt.runlog.framesOf(resumed).length < 2) await new Promise((r) => setTimeout(r, 50));
  second.rt.agent.stopCurrent('livestack');
  await second.rt.agent.whenIdle();
  const run = second.rt.runlog.listRuns(10).find((r) => r.id === resumed)!;
  t.is(run.params.resume, true);
  t.is(run.status, 'ok');
  // The stack carried on: more frames combined than this run shot.
  t.true((run.metrics.stack_frames as number) > run.frameCount, JSON.stringify(run.metrics));
});
