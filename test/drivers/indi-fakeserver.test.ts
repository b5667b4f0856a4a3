// The client against a scripted fake INDI server (node:net): malformed and truncated XML, garbage
// BLOBs, Alerts, pings, silence. None of it may crash the process; the client resets and reconnects.
import test, { type ExecutionContext } from 'ava';
import { createServer, type Socket } from 'node:net';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { memoryLogger } from '../../agent/log.js';
import { IndiClient } from '../../drivers/indi/client.js';
import { createIndiCamera, probeIndiServer } from '../../drivers/indi/index.js';
import { createDriverContext } from '../../drivers/context.js';
import { encodeFitsHeader } from '../../pipeline/image/fits.js';
import type { BlobResult } from '../../drivers/indi/blob-file.js';
import { DeviceError } from '../../drivers/types.js';
import { freePort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';

interface FakeServer {
  port: number;
  connections: Socket[];
  /** Everything clients sent, per connection. */
  received: string[];
  nextConnection(): Promise<Socket>;
}

async function fakeServer(t: ExecutionContext, onConnection: (socket: Socket, index: number) => void): Promise<FakeServer> {
  const connections: Socket[] = [];
  const received: string[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  const server = createServer((socket) => {
    const index = connections.length;
    connections.push(socket);
    received.push('');
    socket.on('data', (d) => (received[index] += d.toString()));
    socket.on('error', () => {});
    onConnection(socket, index);
    waiting.shift()?.(socket);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of connections) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port, connections, received, nextConnection: () => new Promise((resolve) => waiting.push(resolve)) };
}

function client(t: ExecutionContext, port: number, extra: Partial<ConstructorParameters<typeof IndiClient>[0]> = {}) {
  const log = memoryLogger('debug');
  const c = new IndiClient({ host: '127.0.0.1', port, log, initialBackoffMs: 50, maxBackoffMs: 200, ...extra });
  t.teardown(() => c.close());
  return { client: c, log };
}

const DEF_EXPOSURE = `<defNumberVector device="Cam" name="CCD_EXPOSURE" label="E" group="M" state="Idle" perm="rw" timeout="60">
  <defNumber name="CCD_EXPOSURE_VALUE" label="s" format="%g" min="0" max="100" step="1">0</defNumber>
</defNumberVector>
<defBLOBVector device="Cam" name="CCD1" label="Image" group="I" state="Idle" perm="ro" timeout="60"><defBLOB name="CCD1" label="Image"/></defBLOBVector>
`;

const once = <T>(emitter: IndiClient, event: 'connected' | 'disconnected' | 'blob') =>
  new Promise<T>((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args[0] as T)));

test('malformed XML: error logged, pending request fails as disconnected, client reconnects and re-subscribes', async (t) => {
  const server = await fakeServer(t, (socket, index) => {
    socket.write(DEF_EXPOSURE);
    if (index === 0) {
      // After the client asks for an exposure, answer with broken XML.
      socket.once('data', () => setTimeout(() => socket.write('<setNumberVector device="Cam" name="CCD_EXPOSURE" state="Busy"><oneNumber name="CCD_EXPOSURE_VALUE">1</oneNumbr>'), 20));
    }
  });
  const { client: c, log } = client(t, server.port);
  c.enableBLOB('Cam', 'Also');
  await c.connect();
  await c.waitForVector('Cam', 'CCD_EXPOSURE');
  const second = server.nextConnection();
  const err = await t.throwsAsync(c.setVectorAndWait('Cam', 'CCD_EXPOSURE', { CCD_EXPOSURE_VALUE: 1 }, { timeoutMs: 3000 }));
  t.true(err instanceof DeviceError && err.code === 'disconnected', String(err));
  t.regex(err!.message, /connection lost: malformed XML: \d+:\d+: unexpected close tag/);
  t.true(log.lines.some((l) => l.startsWith('error INDI stream broken, resetting connection')));
  await second;
  await c.waitForVector('Cam', 'CCD_EXPOSURE', { timeoutMs: 2000 });
  t.true(c.connected);
  await new Promise((r) => setTimeout(r, 50));
  t.regex(server.received[1]!, /<getProperties version="1.7"\/>\n<enableBLOB device="Cam">Also<\/enableBLOB>/, 're-subscribed on the new connection');
});

test('truncated BLOB: partial file removed, blob never reported, client reconnects', async (t) => {
  const dir = await tempDir(t);
  const data = Buffer.alloc(100_000, 7).toString('base64');
  const server = await fakeServer(t, (socket, index) => {
    socket.write(DEF_EXPOSURE);
    if (index === 0) {
      socket.write(`<setBLOBVector device="Cam" name="CCD1" state="Ok"><oneBLOB name="CCD1" format=".fits" size="100000" len="100000">${data.slice(0, 50_000)}`);
      setTimeout(() => socket.end(), 100);
    }
  });
  const { client: c, log } = client(t, server.port);
  let blobs = 0;
  c.on('blob', () => blobs++);
  c.routeBlobs('Cam', () => join(dir, 'frame.fits'));
  const lost = once<Error>(c, 'disconnected');
  await c.connect();
  t.regex((await lost).message, /closed in the middle of <setBLOBVector> \(truncated\)/);
  await once(c, 'connected');
  await new Promise((r) => setTimeout(r, 100));
  t.is(blobs, 0);
  t.deepEqual(await readdir(dir), []);
  t.true(log.lines.some((l) => l.includes('INDI stream truncated')));
});

test('garbage base64 BLOB is rejected cleanly; the connection stays up and the next BLOB (zlib, enclen) lands', async (t) => {
  const dir = await tempDir(t);
  const good = Buffer.alloc(50_000);
  for (let i = 0; i < good.length; i++) good[i] = i % 251;
  const z = deflateSync(good);
  const zb64 = z.toString('base64');
  const server = await fakeServer(t, (socket) => {
    socket.write(DEF_EXPOSURE);
    socket.write(`<setBLOBVector device="Cam" name="CCD1" state="Ok"><oneBLOB name="CCD1" format=".fits" size="300" len="300">${'QUJD'.repeat(20)}$$$$not base64!!${'QUJD'.repeat(80)}</oneBLOB></setBLOBVector>\n`);
    setTimeout(() => socket.write(`<setBLOBVector device="Cam" name="CCD1" state="Ok"><oneBLOB name="CCD1" format=".fits.z" size="${good.length}" len="${z.length}" enclen="${zb64.length}">\n${zb64}\n</oneBLOB></setBLOBVector>\n`), 100);
  });
  const { client: c } = client(t, server.port);
  let n = 0;
  c.routeBlobs('Cam', () => join(dir, `frame-${n++}.fits`));
  const rejected = new Promise<Error>((resolve) => c.once('blobError', (_info, err) => resolve(err)));
  const landed = once<BlobResult>(c, 'blob');
  await c.connect();
  t.regex((await rejected).message, /BLOB Cam\.CCD1\.CCD1: invalid base64 character 0x24 after 80 characters/);
  const r = await landed;
  t.is(r.path, join(dir, 'frame-1.fits'));
  t.is(r.storedFormat, '.fits');
  t.deepEqual(await readFile(r.path), good);
  t.deepEqual(await readdir(dir), ['frame-1.fits']);
  t.is(server.connections.length, 1, 'no reconnect needed');
  t.true(c.connected);
});

test('Alert answers reject as DeviceError alert with the driver message; deleted and read-only properties are refused', async (t) => {
  const server = await fakeServer(t, (socket) => {
    socket.write(DEF_EXPOSURE);
    socket.write('<defNumberVector device="Cam" name="CCD_INFO" label="I" group="I" state="Idle" perm="ro"><defNumber name="CCD_MAX_X">640</defNumber></defNumberVector>');
    socket.on('data', (d) => {
      if (d.toString().includes('newNumberVector')) {
        socket.write('<message device="Cam" message="[ERROR] Exposure failed: sensor overheated"/>\n');
        socket.write('<setNumberVector device="Cam" name="CCD_EXPOSURE" state="Alert"><oneNumber name="CCD_EXPOSURE_VALUE">0</oneNumber></setNumberVector>\n');
      }
    });
  });
  const { client: c } = client(t, server.port);
  await c.connect();
  await c.waitForVector('Cam', 'CCD_INFO');
  const err = await t.throwsAsync(c.setVectorAndWait('Cam', 'CCD_EXPOSURE', { CCD_EXPOSURE_VALUE: 2 }));
  t.true(err instanceof DeviceError && err.code === 'alert');
  t.is(err!.message, 'Cam: CCD_EXPOSURE: Exposure failed: sensor overheated');
  t.throws(() => c.setVector('Cam', 'CCD_INFO', { CCD_MAX_X: 1 }), { message: 'Cam: property CCD_INFO is read-only' });
  t.throws(() => c.setVector('Cam', 'CCD_EXPOSURE', { NOPE: 1 }), { message: /has no element NOPE \(has CCD_EXPOSURE_VALUE\)/ });
  const missing = await t.throwsAsync(c.waitForDevice('Nobody', { timeoutMs: 200 }));
  t.is(missing!.message, `Nobody: no such device on INDI server 127.0.0.1:${server.port} (devices: Cam)`);
});

test('pings: the client answers pingRequest, measures its own, and resets a silent server', async (t) => {
  let answerPings = true;
  const server = await fakeServer(t, (socket) => {
    socket.write(DEF_EXPOSURE);
    socket.write('<pingRequest uid="srv-1"/>\n');
    socket.on('data', (d) => {
      const m = /<pingRequest uid="([^"]+)"/.exec(d.toString());
      if (m && answerPings) socket.write(`<pingReply uid="${m[1]}"/>\n`);
    });
  });
  const { client: c, log } = client(t, server.port, { pingIntervalMs: 200, pingTimeoutMs: 300 });
  await c.connect();
  t.true((await c.ping(1000)) >= 0);
  await new Promise((r) => setTimeout(r, 50));
  t.regex(server.received[0]!, /<pingReply uid="srv-1"\/>/);
  // Idle but answering: the watchdog pings and keeps the connection.
  await new Promise((r) => setTimeout(r, 700));
  t.is(server.connections.length, 1);
  t.regex(server.received[0]!, /skyrig-watchdog-/);
  answerPings = false;
  const lost = await once<Error>(c, 'disconnected');
  t.regex(lost.message, /silent for \d+ ms \(no pingReply\)/);
  await once(c, 'connected');
  t.is(server.connections.length, 2);
  t.true(log.lines.some((l) => l.includes('INDI server silent, resetting connection')));
});

test('no server: connect fails as not-found; the process is fine', async (t) => {
  const port = await freePort();
  const { client: c } = client(t, port);
  const err = await t.throwsAsync(c.connect());
  t.true(err instanceof DeviceError && err.code === 'not-found');
  t.regex(err!.message, new RegExp(`indi://127\\.0\\.0\\.1:${port}: no INDI server answers: .*ECONNREFUSED`));
  const probe = await probeIndiServer('127.0.0.1', port, memoryLogger());
  t.false(probe.reachable);
  t.regex(probe.error!, /ECONNREFUSED/);
});

test('a torrent of random bytes and broken documents never crashes the client', async (t) => {
  const junk = [
    '\u0000\u0001\u0002<<<>>>&&&',
    '<defNumberVector device="X" name="Y" state="Ok" perm="rw"><defNumber name="a">1</defNumber></defTextVector>',
    '<?xml version="1.0"?><defNumberVector',
    '</indi><indi>',
    '<setBLOBVector device="X" name="B"><oneBLOB name="B" len="-5" size="abc" format=".fits">QUJD</oneBLOB></setBLOBVector><message message="&bogus;"/>',
    Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)).toString('latin1'),
  ];
  const server = await fakeServer(t, (socket, index) => {
    socket.write(junk[index % junk.length]!);
    if (index % 2 === 0) setTimeout(() => socket.destroy(), 20);
  });
  const { client: c } = client(t, server.port, { initialBackoffMs: 10, maxBackoffMs: 20 });
  await c.connect();
  const deadline = Date.now() + 3000;
  while (server.connections.length < junk.length * 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(server.connections.length >= junk.length * 2, `reconnected ${server.connections.length} times`);
});

/** A fake CCD that answers each exposure request with the next scripted reply. */
function fakeCcd(replies: ((exposure: number) => string)[]): (socket: Socket) => void {
  let n = 0;
  return (socket) => {
    socket.write(`<defSwitchVector device="Fake CCD" name="CONNECTION" label="C" group="M" state="Ok" perm="rw" rule="OneOfMany" timeout="60"><defSwitch name="CONNECT">On</defSwitch><defSwitch name="DISCONNECT">Off</defSwitch></defSwitchVector>
<defNumberVector device="Fake CCD" name="CCD_EXPOSURE" label="E" group="M" state="Idle" perm="rw" timeout="60"><defNumber name="CCD_EXPOSURE_VALUE" min="0.001" max="100" step="0">1</defNumber></defNumberVector>
<defNumberVector device="Fake CCD" name="CCD_INFO" label="I" group="I" state="Idle" perm="ro" timeout="60"><defNumber name="CCD_MAX_X">64</defNumber><defNumber name="CCD_MAX_Y">48</defNumber><defNumber name="CCD_BITSPERPIXEL">16</defNumber></defNumberVector>
<defTextVector device="Fake CCD" name="CCD_CFA" label="CFA" group="I" state="Idle" perm="ro"><defText name="CFA_OFFSET_X">0</defText><defText name="CFA_TYPE">RGGB</defText></defTextVector>
<defBLOBVector device="Fake CCD" name="CCD1" label="Image" group="I" state="Idle" perm="ro" timeout="60"><defBLOB name="CCD1" label="Image"/></defBLOBVector>
`);
    let pending = '';
    socket.on('data', (d) => {
      pending += d.toString();
      const m = /<newNumberVector device="Fake CCD" name="CCD_EXPOSURE">[\s\S]*?>([\d.]+)<\/oneNumber>[\s\S]*?<\/newNumberVector>/.exec(pending);
      if (!m) return;
      pending = pending.slice(m.index + m[0].length);
      socket.write(replies[n++ % replies.length]!(Number(m[1])));
    });
  };
}

function fitsFrame(width: number, height: number, cards: Record<string, string | number>): Buffer {
  const header = encodeFitsHeader(width, height, 1, 16, cards);
  const data = Buffer.alloc(Math.ceil((width * height * 2) / 2880) * 2880);
  for (let i = 0; i < width * height; i++) data.writeInt16BE((i % 1000) - 32768, i * 2);
  return Buffer.concat([header, data]);
}

const blobReply = (payload: Buffer, format: string, size: number) =>
  `<setNumberVector device="Fake CCD" name="CCD_EXPOSURE" state="Busy"><oneNumber name="CCD_EXPOSURE_VALUE">0</oneNumber></setNumberVector>
<setBLOBVector device="Fake CCD" name="CCD1" state="Ok"><oneBLOB name="CCD1" size="${size}" format="${format}" len="${payload.length}">${payload.toString('base64')}</oneBLOB></setBLOBVector>
<setNumberVector device="Fake CCD" name="CCD_EXPOSURE" state="Ok"><oneNumber name="CCD_EXPOSURE_VALUE">0</oneNumber></setNumberVector>
`;

test('camera against a fake CCD: garbage frame → io, .fits.z frame → CapturedFrame from its header, Alert → alert', async (t) => {
  const frame = fitsFrame(64, 48, { EXPTIME: 2.5, GAIN: 120, BAYERPAT: 'RGGB', 'DATE-OBS': '2026-11-22T01:02:03.500', 'CCD-TEMP': -9.5 });
  const z = deflateSync(frame);
  const server = await fakeServer(
    t,
    fakeCcd([
      () => `<setBLOBVector device="Fake CCD" name="CCD1" state="Ok"><oneBLOB name="CCD1" size="4000" format=".fits" len="3000">${'QUJD'.repeat(100)}!!!!${'QUJD'.repeat(900)}</oneBLOB></setBLOBVector>\n`,
      () => blobReply(z, '.fits.z', frame.length),
      () => '<setNumberVector device="Fake CCD" name="CCD_EXPOSURE" state="Alert" message="Exposure failed: USB transfer error"><oneNumber name="CCD_EXPOSURE_VALUE">0</oneNumber></setNumberVector>\n',
      () => blobReply(frame.subarray(0, 4000), '.fits', 4000),
    ]),
  );
  const log = memoryLogger('debug');
  const ctx = createDriverContext({ log, stateDir: await tempDir(t) });
  const out = await tempDir(t);
  const camera = createIndiCamera(new URL(`indi://127.0.0.1:${server.port}/Fake%20CCD`), ctx);
  t.teardown(() => camera.disconnect());
  await camera.connect();
  const caps = await camera.capabilities();
  t.like(caps, { width: 64, height: 48, bitDepth: 16, color: true, bayer: 'RGGB', minExposureS: 0.001, canAbort: false });

  const garbage = await t.throwsAsync(camera.capture({ exposureS: 2.5, outDir: out, fileStem: 'f1' }));
  t.true(garbage instanceof DeviceError && garbage.code === 'io');
  t.regex(garbage!.message, /^Fake CCD: frame transfer failed: BLOB Fake CCD\.CCD1\.CCD1: invalid base64 character 0x21 after 400 characters$/);

  const ok = await camera.capture({ exposureS: 2.5, outDir: out, fileStem: 'f2' });
  t.like(ok, { path: join(out, 'f2.fits'), format: 'fits', width: 64, height: 48, channels: 1, bitDepth: 16, bayer: 'RGGB', exposureS: 2.5, gain: 120, frameType: 'light' });
  t.is(ok.timestamp.toISOString(), '2026-11-22T01:02:03.500Z');
  t.is(ok.meta.temperatureC, -9.5);
  t.is(ok.meta.blobFormat, '.fits.z');
  t.deepEqual(await readFile(ok.path), frame);

  const alert = await t.throwsAsync(camera.capture({ exposureS: 1, outDir: out, fileStem: 'f3' }));
  t.true(alert instanceof DeviceError && alert.code === 'alert');
  t.is(alert!.message, 'Fake CCD: CCD_EXPOSURE: Exposure failed: USB transfer error');

  const short = await t.throwsAsync(camera.capture({ exposureS: 1, outDir: out, fileStem: 'f4' }));
  t.true(short instanceof DeviceError && short.code === 'io');
  t.regex(short!.message, /f4\.fits: FITS data truncated \(4000 bytes, header needs 9024\)/);
  t.deepEqual(await readdir(out), ['f2.fits'], 'only the good frame, no temp files');
  t.is(server.connections.length, 1, 'bad frames never cost the connection');
});
