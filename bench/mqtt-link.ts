// MQTT link figures: connect → discovery acknowledged, result throughput, preview re-encode to the cap.
// Needs mosquitto on PATH. Run: npx tsx bench/mqtt-link.ts
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import sharp from 'sharp';
import { createMqttLink } from '../agent/mqtt/publisher.js';
import { fitJpegToCap } from '../agent/mqtt/image-cap.js';
import { createLogger } from '../agent/log.js';

const port: number = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'skyrig-bench-'));
writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
const broker = spawn('mosquitto', ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));

const link = createMqttLink(
  {
    url: `mqtt://127.0.0.1:${port}`, baseTopic: 'skyrig', stationId: 'bench', stationName: 'Bench', keepaliveS: 30,
    imageMaxBytes: 256 * 1024, discovery: { enabled: true, prefix: 'homeassistant', imageKinds: ['capture', 'hdr', 'livestack'] },
  },
  { log: createLogger({ level: 'warn' }) },
);
let t0 = performance.now();
await link.waitConnected(5000);
await link.republishDiscovery();
console.log(`connect + discovery (all configs, QoS 1, acked): ${(performance.now() - t0).toFixed(1)} ms`);

const N = 20000;
t0 = performance.now();
for (let i = 0; i < N; i++) link.result('capture', { run_id: i, status: 'ok', frames: 1 });
await link.republishDiscovery(); // QoS 1 round trip queued behind the results
const dt = performance.now() - t0;
console.log(`results: ${N} QoS 1 messages in ${dt.toFixed(0)} ms = ${Math.round((N / dt) * 1000)} msg/s`);

const px = Buffer.alloc(1920 * 1280 * 3);
let s = 1;
for (let i = 0; i < px.length; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  px[i] = (s >>> 24) & 0x3f; // faint noise, like a stretched sky
}
const preview = await sharp(px, { raw: { width: 1920, height: 1280, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
t0 = performance.now();
const fit = await fitJpegToCap(preview, 256 * 1024);
console.log(`preview ${preview.length} B 1920x1280 → ${fit?.jpeg.length} B ${fit?.width}x${fit?.height} in ${(performance.now() - t0).toFixed(0)} ms`);
console.log(`rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);

await link.close();
broker.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
