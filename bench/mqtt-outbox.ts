// MQTT outbox figures: cost of queueing a result in SQLite while the broker is away (synchronous=FULL,
// as the agent runs), and time to deliver the whole backlog, in order, once the broker is back.
// Needs mosquitto on PATH. Run: npx tsx bench/mqtt-outbox.ts [count]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { createMqttLink } from '../agent/mqtt/publisher.js';
import { sqliteOutboxStore } from '../agent/runlog/outbox-store.js';
import { SqliteRunLog } from '../agent/runlog/sqlite.js';
import { createLogger } from '../agent/log.js';

const N = Number(process.argv[2] ?? 1000);
const port: number = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'skyrig-bench-'));
const runlog = new SqliteRunLog(join(dir, 'skyrig.db'));
const link = createMqttLink(
  { url: `mqtt://127.0.0.1:${port}`, baseTopic: 'skyrig', stationId: 'bench', stationName: 'Bench', keepaliveS: 30,
    imageMaxBytes: 256 * 1024, discovery: { enabled: false, prefix: 'homeassistant' }, outboxMax: N },
  { log: createLogger({ level: 'error' }), outbox: sqliteOutboxStore(runlog.db) },
);

let t0 = performance.now();
for (let i = 0; i < N; i++) link.result('capture', { seq: i, run_id: i, status: 'ok', frames: 1, hfr: 2.31, stars: 812 });
const queueMs = performance.now() - t0;
console.log(`queue ${N} results offline (SQLite, synchronous=FULL): ${queueMs.toFixed(0)} ms, ${(queueMs / N).toFixed(2)} ms each`);

writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
const broker = spawn('mosquitto', ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
broker.on('error', (err) => {
  console.error(`mosquitto: ${err.message} (apt-get install -y mosquitto)`);
  process.exit(1);
});
await new Promise((r) => setTimeout(r, 300));
const obs = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
const seqs: number[] = [];
obs.on('message', (_t, p) => seqs.push(JSON.parse(p.toString()).seq as number));
await obs.subscribeAsync('skyrig/bench/run/#', { qos: 1 });

await link.waitConnected(15000);
t0 = performance.now();
while (seqs.length < N) await new Promise((r) => setTimeout(r, 5));
const deliverMs = performance.now() - t0;
const inOrder = seqs.every((s, i) => s === i);
console.log(`deliver the backlog after connect: ${deliverMs.toFixed(0)} ms (${((N / deliverMs) * 1000).toFixed(0)} msg/s), in order: ${inOrder}`);

await obs.endAsync();
await link.close();
runlog.close();
broker.kill();
rmSync(dir, { recursive: true, force: true });
