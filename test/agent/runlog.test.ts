import test from 'ava';
import { join } from 'node:path';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

test('runs, frames, products and events round trip; migrations set user_version', async (t) => {
  const dir = await tempDir(t);
  const log = new SqliteRunLog(join(dir, 'r.db'));
  t.is(log.schemaVersion, 3); // 2: dark_masters (agent/darks), 3: mqtt_outbox
  t.is(log.db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(log.db.pragma('synchronous', { simple: true }), 2); // FULL
  const run = log.beginRun('capture', { exposure_s: 2 }, 'night');
  const f = log.addFrame(run, { path: '/x/a.fits', sizeBytes: 10, sha256: 'ab', exposureS: 2, width: 4, height: 3, timestamp: new Date('2026-01-01T00:00:00Z'), focusPosition: 100 });
  log.updateFrame(f, { stats: { median: 0.1 }, accepted: false, reason: 'clouds' });
  log.updateFrame(f, { stats: { hfr: 2.5 } });
  log.addProduct(run, { kind: 'preview', path: '/x/p.jpg', metrics: { bytes: 5 } });
  log.addEvent('info', 'hello', { a: 1 }, run);
  log.finishRun(run, 'ok', { metrics: { frames: 1 } });
  const [r] = log.listRuns(1);
  t.is(r!.status, 'ok');
  t.is(r!.frameCount, 1);
  t.is(r!.productCount, 1);
  t.deepEqual(r!.metrics, { frames: 1 });
  const [fr] = log.framesOf(run);
  t.deepEqual(fr!.stats, { median: 0.1, hfr: 2.5 });
  t.is(fr!.accepted, false);
  t.is(fr!.reason, 'clouds');
  t.is(fr!.focusPosition, 100);
  log.close();
  // Reopen: no re-migration, data still there.
  const again = new SqliteRunLog(join(dir, 'r.db'));
  t.is(again.totals().frames, 1);
  t.is(again.integrityCheck(), 'ok');
  again.close();
});

test('interrupted runs are marked aborted on the next start', async (t) => {
  const dir = await tempDir(t);
  const log = new SqliteRunLog(join(dir, 'r.db'));
  log.beginRun('livestack', {});
  t.is(log.recoverInterrupted(), 1);
  t.is(log.listRuns(1)[0]!.status, 'aborted');
  log.close();
});
