// Results published while the broker is away: kept in the SQLite outbox, delivered in order when it
// returns (bounded: the oldest dropped and counted in `state`), reconnect within 10 s of its return,
// and the outbox survives an agent restart.
import test from 'ava';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { ExecutionContext } from 'ava';
import { createMqttLink, type MqttLinkOptions } from '../../agent/mqtt/publisher.js';
import { memoryOutboxStore } from '../../agent/mqtt/outbox.js';
import { sqliteOutboxStore } from '../../agent/runlog/outbox-store.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { memoryLogger } from '../../agent/log.js';
import { requireCommand } from '../helpers/system.js';
import { freePort, waitForPort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';
import { retainedSnapshot } from '../fixtures/mqtt-watch.js';

/** mosquitto on a fixed port, so it can be stopped and started again where the links expect it. */
async function brokerOn(t: ExecutionContext, port: number, dir: string) {
  const bin = requireCommand('mosquitto', 'mosquitto');
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  proc.on('error', () => {});
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  t.teardown(stop);
  await waitForPort(port);
  return { url: `mqtt://127.0.0.1:${port}`, stop };
}

/** A TCP gate in front of the broker for the station's link: while closed it drops every connection at
 *  once (as a stopped broker would refuse it), so the test decides when the link may come back — after
 *  the observer is subscribed to the restarted broker. */
async function gate(t: ExecutionContext, brokerPort: number) {
  const { createServer, connect } = await import('node:net');
  let open = true;
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(brokerPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    open() {
      open = true;
    },
  };
}

function options(url: string, stationId: string, over: Partial<MqttLinkOptions> = {}): MqttLinkOptions {
  return {
    url, baseTopic: 'skyrig', stationId, stationName: stationId, keepaliveS: 5, imageMaxBytes: 65536,
    discovery: { enabled: false, prefix: 'homeassistant' }, stateThrottleMs: 0, ...over,
  };
}

/** A subscriber that records run results and events in arrival order (into `seen`, shared across reconnects). */
async function observer(t: ExecutionContext, url: string, seen: { topic: string; seq: number }[] = []) {
  const client = await mqtt.connectAsync(url, { clientId: `obs-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0 });
  client.on('message', (topic, payload) => seen.push({ topic, seq: JSON.parse(payload.toString()).seq as number }));
  await client.subscribeAsync(['skyrig/+/run/#', 'skyrig/+/events'], { qos: 1 });
  t.teardown(() => client.endAsync(true));
  return { seen, client };
}

async function until<T>(fn: () => T | null | undefined | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('broker stopped for 12 s: results kept in the SQLite outbox arrive in order; a bounded one drops the oldest; reconnect within 10 s', async (t) => {
  const port = await freePort();
  const dir = await tempDir(t, 'skyrig-mosq-');
  let broker = await brokerOn(t, port, dir);
  const obs = await observer(t, broker.url);
  const door = await gate(t, port);

  const db = await tempDir(t);
  const runlog = new SqliteRunLog(join(db, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const log = memoryLogger();
  const all = createMqttLink(options(door.url, 'all'), { log, outbox: sqliteOutboxStore(runlog.db) });
  const small = createMqttLink(options(door.url, 'small', { outboxMax: 10 }), { log: memoryLogger(), outbox: memoryOutboxStore() });
  t.teardown(() => all.close());
  t.teardown(() => small.close());
  await all.waitConnected(5000);
  await small.waitConnected(5000);
  all.result('capture', { seq: -1 });
  await until(() => obs.seen.length === 1, 5000, 'a result while online');

  door.close();
  await broker.stop();
  await until(() => !all.connected && !small.connected, 5000, 'links notice the outage');
  const N = 30;
  for (let i = 0; i < N; i++) {
    all.result('capture', { seq: i });
    small.result('capture', { seq: i });
  }
  t.is(runlog.db.prepare('SELECT count(*) AS n FROM mqtt_outbox').pluck().get(), N, 'queued in SQLite');
  t.deepEqual(all.outboxCounts(), { pending: N, dropped: 0 });
  t.deepEqual(small.outboxCounts(), { pending: 10, dropped: N - 10 });
  await new Promise((r) => setTimeout(r, 12_000)); // long enough for the backoff to reach its cap

  broker = await brokerOn(t, port, dir);
  await observer(t, broker.url, obs.seen); // subscribed before the links can be back
  door.open();
  const back = Date.now();
  await Promise.all([all.waitConnected(15_000), small.waitConnected(15_000)]);
  const reconnectS = (Date.now() - back) / 1000;
  t.true(reconnectS <= 10, `reconnected ${reconnectS.toFixed(1)} s after the broker returned`);
  t.log(`reconnect after the broker's return: ${reconnectS.toFixed(1)} s`);

  await until(() => obs.seen.filter((m) => m.topic === 'skyrig/all/run/capture').length === N + 1, 10_000, 'all results of "all"');
  await until(() => obs.seen.filter((m) => m.topic === 'skyrig/small/run/capture').length === 10, 10_000, 'the kept results of "small"').catch((e: Error) => { t.log(JSON.stringify(obs.seen)); throw e; });
  await new Promise((r) => setTimeout(r, 300)); // nothing more, nothing twice
  const seqs = (station: string) => obs.seen.filter((m) => m.topic === `skyrig/${station}/run/capture`).map((m) => m.seq);
  t.deepEqual(seqs('all'), [-1, ...Array.from({ length: N }, (_, i) => i)], 'every result, in order');
  t.deepEqual(seqs('small'), Array.from({ length: 10 }, (_, i) => N - 10 + i), 'the newest 10, in order');
  t.is(runlog.db.prepare('SELECT count(*) AS n FROM mqtt_outbox').pluck().get(), 0, 'delivered rows deleted');

  const retained = await retainedSnapshot(t, broker.url, ['skyrig/small/state', 'skyrig/all/state']);
  t.like(JSON.parse(retained.get('skyrig/small/state')!.text), { outbox_pending: 0, outbox_dropped: N - 10 });
  t.like(JSON.parse(retained.get('skyrig/all/state')!.text), { outbox_pending: 0, outbox_dropped: 0 });
  t.is(log.lines.filter((l) => l.startsWith('warn ')).length, 1, log.lines.filter((l) => l.startsWith('warn ')).join('\n'));
});

test('the outbox outlives an agent restart: results queued with no broker go out from the next process', async (t) => {
  const port = await freePort();
  const db = await tempDir(t);
  const runlog = new SqliteRunLog(join(db, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const first = createMqttLink(options(`mqtt://127.0.0.1:${port}`, 'st'), { log: memoryLogger(), outbox: sqliteOutboxStore(runlog.db) });
  for (let i = 0; i < 5; i++) first.result('hdr', { seq: i });
  first.event({ seq: 99, message: 'queued event' });
  await first.close();

  const dir = await tempDir(t, 'skyrig-mosq-');
  const broker = await brokerOn(t, port, dir);
  const obs = await observer(t, broker.url);
  const second = createMqttLink(options(broker.url, 'st'), { log: memoryLogger(), outbox: sqliteOutboxStore(runlog.db) });
  t.teardown(() => second.close());
  t.deepEqual(second.outboxCounts(), { pending: 6, dropped: 0 });
  await until(() => obs.seen.length === 6, 10_000, 'queued results and event');
  t.deepEqual(obs.seen.map((m) => `${m.topic}:${m.seq}`), [
    ...Array.from({ length: 5 }, (_, i) => `skyrig/st/run/hdr:${i}`),
    'skyrig/st/events:99',
  ]);
});

test('broker frozen (SIGSTOP) while results are published: after SIGCONT every result arrives, in order', async (t) => {
  const port = await freePort();
  const dir = await tempDir(t, 'skyrig-mosq-');
  const bin = requireCommand('mosquitto', 'mosquitto');
  await writeFile(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  proc.on('error', () => {});
  t.teardown(() => {
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
  });
  await waitForPort(port);
  const url = `mqtt://127.0.0.1:${port}`;
  const obs = await observer(t, url);
  const log = memoryLogger();
  const link = createMqttLink(options(url, 'frozen', { keepaliveS: 1, connectTimeoutMs: 2000 }), { log, outbox: memoryOutboxStore() });
  t.teardown(() => link.close());
  await link.waitConnected(5000);

  proc.kill('SIGSTOP');
  for (let i = 0; i < 10; i++) {
    link.result('capture', { seq: i });
    await new Promise((r) => setTimeout(r, 400)); // some before the keepalive notices, some after
  }
  t.false(link.connected, 'the keepalive noticed the frozen broker');
  proc.kill('SIGCONT');
  const mine = () => obs.seen.filter((m) => m.topic === 'skyrig/frozen/run/capture').map((m) => m.seq);
  await until(() => new Set(mine()).size === 10, 20_000, 'every result after the thaw');
  // At least once: a result in flight when the connection was dropped may come twice, never out of order.
  const firstSeen = mine().filter((s, i, all) => all.indexOf(s) === i);
  t.deepEqual(firstSeen, Array.from({ length: 10 }, (_, i) => i));
  t.log(`delivered ${mine().length} messages for 10 results`);
});
