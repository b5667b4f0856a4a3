// A small tmpfs filled to 100 % by another writer while the agent captures, and an agent started on a
// full disk: it never exits, says `disk_full: true` in its retained state, pauses scheduling, leaves
// no failed-run rows or empty folders per refused attempt, and resumes when space returns.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { audit, BUG_LINES, startAgent, stopAgent, writeYaml } from './lib/rig.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { fillDisk, mountTmpfs } from '../helpers/tmpfs.js';
import { until } from '../helpers/agent-process.js';

function config(data: string, brokerUrl: string): Record<string, unknown> {
  return {
    station: { id: 'full' },
    paths: { data_dir: data },
    devices: { cameras: { cam: { url: 'sim://full?scene=sky&width=160&height=120&seed=2' } } },
    jobs: [{ name: 'cap', kind: 'capture', every: '1s', params: { exposure_s: 0.01 } }],
    mqtt: { url: brokerUrl, keepalive: 2 },
    retention: { min_free_mb: 2, disk_check_every: '1s', frames_days: 0 },
  };
}

function runs(data: string): { ok: number; failed: number; total: number } {
  if (!existsSync(join(data, 'skyrig.db'))) return { ok: 0, failed: 0, total: 0 };
  const db = new Database(join(data, 'skyrig.db'), { readonly: true });
  try {
    const r = db.prepare(`SELECT sum(status = 'ok') AS ok, sum(status = 'failed') AS failed, count(*) AS total FROM runs`).get() as { ok: number; failed: number; total: number };
    return { ok: r.ok ?? 0, failed: r.failed ?? 0, total: r.total };
  } catch {
    return { ok: 0, failed: 0, total: 0 }; // created but not migrated yet
  } finally {
    db.close();
  }
}

async function stateWatcher(url: string) {
  const client = await mqtt.connectAsync(url, { clientId: `w-${Math.random().toString(16).slice(2)}` });
  let state: Record<string, unknown> = {};
  client.on('message', (_t, p) => {
    try {
      state = { ...state, ...(JSON.parse(p.toString()) as Record<string, unknown>) };
    } catch {
      // not JSON
    }
  });
  await client.subscribeAsync('skyrig/full/state', { qos: 1 });
  return { state: () => state, close: () => client.endAsync() };
}

recordEachTest(test, () => 0); // passing means the row ↔ file audit found nothing lost

test('disk filled to 100 % by another writer mid-schedule: paused, disk_full published, resumes when space returns', async (t) => {
  const fs = await mountTmpfs(t, 20);
  const broker = await startMosquitto(t);
  const data = join(fs, 'data');
  const a = startAgent(await writeYaml(join(fs, 'config.yaml'), config(data, broker.url)));
  t.teardown(() => void stopAgent(a));
  const watch = await stateWatcher(broker.url);
  t.teardown(() => watch.close());
  await until(() => runs(data).ok >= 2, 60_000, 'two captures');
  const filler = fillDisk(fs);
  t.true(await a.waitFor(/disk full: scheduling paused/, 30_000), a.output());
  await until(() => watch.state().disk_full === true, 10_000, 'disk_full: true in state');
  // Paused: a few seconds on a full disk add no run rows and no empty run folders.
  await new Promise((r) => setTimeout(r, 1500));
  const during = runs(data);
  await new Promise((r) => setTimeout(r, 4000));
  t.is(runs(data).total, during.total, 'no run rows pile up while the disk is full');
  t.true(during.failed <= 1, `failed runs ${during.failed}`);
  t.is(a.proc.exitCode, null);

  await rm(filler);
  t.true(await a.waitFor(/disk space back: scheduling resumed/, 30_000), a.output());
  await until(() => watch.state().disk_full === false, 10_000, 'disk_full: false in state');
  await until(() => runs(data).ok >= during.ok + 2, 30_000, 'captures again');
  const exit = await stopAgent(a);
  t.is(exit.code, 0);
  t.notRegex(a.output(), BUG_LINES);
  const au = audit(data);
  t.is(au.integrity, 'ok');
  t.deepEqual(au.filesWithoutRow, []);
  // Every run folder left belongs to a run that logged frames: refused attempts left none.
  const db = new Database(join(data, 'skyrig.db'), { readonly: true });
  const withFrames = new Set((db.prepare('SELECT DISTINCT run_id AS id FROM frames').all() as { id: number }[]).map((r) => r.id));
  db.close();
  for (const day of readdirSync(join(data, 'spool'))) {
    for (const run of readdirSync(join(data, 'spool', day))) t.true(withFrames.has(Number(/-(\d+)$/.exec(run)![1])), `${run}: a folder without frames`);
  }
});

test('start on a full disk: degraded (one line), stays up, opens the run log and captures once space returns', async (t) => {
  const fs = await mountTmpfs(t, 20);
  const broker = await startMosquitto(t);
  const data = join(fs, 'data');
  const path = await writeYaml(join(fs, 'config.yaml'), config(data, broker.url));
  const filler = fillDisk(fs);
  const a = startAgent(path);
  t.teardown(() => void stopAgent(a));
  t.true(await a.waitFor(/starting degraded/, 60_000), a.output());
  await new Promise((r) => setTimeout(r, 3000));
  t.is(a.proc.exitCode, null, a.output());
  t.is(a.output().split('\n').filter((l) => /starting degraded/.test(l)).length, 1, 'said once, not per retry');
  await rm(filler);
  t.true(await a.waitFor(/agent ready/, 60_000), a.output());
  await until(() => runs(data).ok >= 1, 30_000, 'a capture');
  t.is((await stopAgent(a)).code, 0);
  t.notRegex(a.output(), BUG_LINES);
  t.is(audit(data).integrity, 'ok');
});
