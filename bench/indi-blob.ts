// BLOB decode-to-disk throughput and client memory while a large frame streams in.
//
//   npx tsx bench/indi-blob.ts [--mb 48] [--frames 3] [--zlib]      fake INDI server in a child process
//   npx tsx bench/indi-blob.ts --sim [--width 6000 --height 4000]    real indiserver + CCD Simulator
//   npx tsx bench/indi-blob.ts serve PORT BYTES raw|zlib &          the fake server on its own, then
//   /usr/bin/time -v npx tsx bench/indi-blob.ts --port PORT --mb N  client alone under /usr/bin/time
//
// The fake server runs in its own process so the figures (and /usr/bin/time) are about the client.
// It sends INDI 1.7-style BLOBs: one unwrapped base64 run, len/size attributes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { createLogger } from '../agent/log.js';
import { createDriverContext } from '../drivers/context.js';
import type { BlobResult } from '../drivers/indi/blob-file.js';
import { IndiClient } from '../drivers/indi/client.js';
import { createIndiCamera } from '../drivers/indi/index.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const flag = (name: string) => args.includes(`--${name}`);
const mb = (bytes: number) => bytes / 1e6;
const rssMb = () => process.resourceUsage().maxRSS / 1024;

async function serve(port: number, bytes: number, zlib: boolean): Promise<void> {
  // A FITS-sized payload with some structure (so zlib has something to do, like a real frame).
  // Sky background ~1000 ADU with 10 bits of noise: compresses to roughly 2/3, like a real dark sky frame.
  const raw = Buffer.alloc(bytes);
  const noise = randomBytes(bytes / 2);
  for (let i = 0, j = 0; i < bytes; i += 2, j++) raw.writeUInt16BE(1000 + ((noise[j]! << 2) & 0x3ff), i);
  const payload = zlib ? deflateSync(raw, { level: 1 }) : raw;
  const b64 = payload.toString('base64');
  const head = `<setBLOBVector device="Bench" name="CCD1" state="Ok" timeout="60"><oneBLOB name="CCD1" size="${raw.length}" format="${zlib ? '.fits.z' : '.fits'}" len="${payload.length}">`;
  const server = createServer((socket) => {
    socket.write(
      '<defNumberVector device="Bench" name="CCD_EXPOSURE" label="E" group="M" state="Idle" perm="rw" timeout="60"><defNumber name="CCD_EXPOSURE_VALUE" min="0" max="100">0</defNumber></defNumberVector>\n' +
        '<defBLOBVector device="Bench" name="CCD1" label="I" group="I" state="Idle" perm="ro" timeout="60"><defBLOB name="CCD1" label="I"/></defBLOBVector>\n',
    );
    socket.on('error', () => {});
    socket.on('data', async (d) => {
      if (!d.toString().includes('newNumberVector')) return;
      socket.write(head);
      for (let i = 0; i < b64.length; i += 1 << 20) {
        if (!socket.write(b64.slice(i, i + (1 << 20)))) await once(socket, 'drain');
      }
      socket.write('</oneBLOB></setBLOBVector>\n');
    });
  });
  server.listen(port, '127.0.0.1', () => (process.send ? process.send('ready') : console.log(`fake INDI server on ${port}`)));
}

async function fakeServerRun(): Promise<void> {
  const bytes = Math.round(opt('mb', 48) * 1e6) & ~1;
  const frames = opt('frames', 3);
  const zlib = flag('zlib');
  const external = opt('port', 0);
  const port =
    external ||
    (await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    }));
  const child = external ? null : spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', String(port), String(bytes), zlib ? 'zlib' : 'raw'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (child) await once(child, 'message');
  const dir = await mkdtemp(join(tmpdir(), 'skyrig-bench-indi-'));
  const client = new IndiClient({ host: '127.0.0.1', port, log: createLogger({ level: 'warn' }) });
  try {
    await client.connect();
    await client.waitForVector('Bench', 'CCD_EXPOSURE');
    const before = rssMb();
    const rates: number[] = [];
    for (let f = 0; f < frames; f++) {
      const path = join(dir, `frame-${f}.fits`);
      client.routeBlobs('Bench', () => path);
      const t0 = performance.now();
      const done = once(client, 'blob') as Promise<[BlobResult]>;
      client.setVector('Bench', 'CCD_EXPOSURE', { CCD_EXPOSURE_VALUE: 1 });
      const [result] = await done;
      const wire = Math.ceil((result.len ?? result.bytes) / 3) * 4;
      const s = (performance.now() - t0) / 1000;
      const size = (await stat(path)).size;
      if (size !== bytes) throw new Error(`frame ${f}: ${size} bytes on disk, expected ${bytes}`);
      rates.push(mb(size) / s);
      console.log(`frame ${f}: ${mb(size).toFixed(1)} MB (${zlib ? 'zlib' : 'raw'}, base64 ${mb(wire).toFixed(1)} MB on the wire) in ${s.toFixed(2)} s = ${(mb(size) / s).toFixed(1)} MB/s decoded to disk`);
      await rm(path);
    }
    rates.sort((a, b) => a - b);
    console.log(`median ${rates[Math.floor(rates.length / 2)]!.toFixed(1)} MB/s; client max RSS ${rssMb().toFixed(0)} MB (${before.toFixed(0)} MB before the first frame)`);
  } finally {
    await client.close();
    child?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

async function simulatorRun(): Promise<void> {
  const width = opt('width', 6000);
  const height = opt('height', 4000);
  const port = opt('port', 7624 + 1000 + Math.floor(Math.random() * 1000));
  const home = await mkdtemp(join(tmpdir(), 'skyrig-bench-home-'));
  const server = spawn('indiserver', ['-p', String(port), '-u', `/tmp/skyrig-bench-${port}`, 'indi_simulator_ccd'], { stdio: 'ignore', env: { ...process.env, HOME: home } });
  const dir = await mkdtemp(join(tmpdir(), 'skyrig-bench-indi-'));
  await new Promise((r) => setTimeout(r, 1000));
  const ctx = createDriverContext({ log: createLogger({ level: 'warn' }), stateDir: dir });
  const url = new URL(`indi://127.0.0.1:${port}/CCD%20Simulator`);
  const probe = new IndiClient({ host: '127.0.0.1', port, log: ctx.log });
  try {
    await probe.connect();
    await probe.waitForVector('CCD Simulator', 'SIMULATOR_SETTINGS');
    await probe.setVectorAndWait('CCD Simulator', 'SIMULATOR_SETTINGS', { SIM_XRES: width, SIM_YRES: height });
    await probe.close();
    const camera = createIndiCamera(url, ctx);
    await camera.connect();
    const before = rssMb();
    for (let f = 0; f < opt('frames', 2); f++) {
      const t0 = performance.now();
      const frame = await camera.capture({ exposureS: 0.01, outDir: dir, fileStem: `sim-${f}` });
      const s = (performance.now() - t0) / 1000;
      const size = (await stat(frame.path)).size;
      console.log(`CCD Simulator ${frame.width}x${frame.height}: ${mb(size).toFixed(1)} MB FITS in ${s.toFixed(2)} s end to end (exposure 0.01 s + simulator render + transfer + decode) = ${(mb(size) / s).toFixed(1)} MB/s`);
      await rm(frame.path);
    }
    console.log(`client max RSS ${rssMb().toFixed(0)} MB (${before.toFixed(0)} MB before the first frame)`);
    await camera.disconnect();
  } finally {
    server.kill();
    await rm(dir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
}

if (args[0] === 'serve') await serve(Number(args[1]), Number(args[2]), args[3] === 'zlib');
else if (flag('sim')) await simulatorRun();
else await fakeServerRun();
