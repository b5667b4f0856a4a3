// INDI focuser abort against a scripted server: FOCUS_ABORT_MOTION defined a moment after the motion
// properties (the connect race `skyrig focuser --abort` hit), and drivers without it at all
// (indi_simulator_focus 1.9): idle → nothing to do; moving → stopped by re-targeting where it is.
import test, { type ExecutionContext } from 'ava';
import { createServer, type Socket } from 'node:net';
import { memoryLogger } from '../../agent/log.js';
import { createDriverContext } from '../../drivers/context.js';
import { createIndiFocuser } from '../../drivers/indi/index.js';
import { freePort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';

const DEV = 'Foc';
const CONNECTION = `<defSwitchVector device="${DEV}" name="CONNECTION" label="C" group="Main" state="Ok" perm="rw" rule="OneOfMany" timeout="60">
<defSwitch name="CONNECT" label="Connect">On</defSwitch><defSwitch name="DISCONNECT" label="Disconnect">Off</defSwitch></defSwitchVector>\n`;
const abs = (state: string, value: number) => `<defNumberVector device="${DEV}" name="ABS_FOCUS_POSITION" label="A" group="Main" state="${state}" perm="rw" timeout="60">
<defNumber name="FOCUS_ABSOLUTE_POSITION" label="P" format="%.0f" min="0" max="10000" step="1">${value}</defNumber></defNumberVector>\n`;
const ABORT = `<defSwitchVector device="${DEV}" name="FOCUS_ABORT_MOTION" label="Abort" group="Main" state="Idle" perm="rw" rule="AtMostOne" timeout="0">
<defSwitch name="ABORT" label="Abort">Off</defSwitch></defSwitchVector>\n`;

/** A server that answers getProperties with `script` (chunks written after the given delays) and records what it receives. */
async function server(t: ExecutionContext, script: [number, string][]): Promise<{ port: number; received: () => string }> {
  let received = '';
  const sockets: Socket[] = [];
  const srv = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (d) => {
      const text = d.toString();
      received += text;
      if (text.includes('<getProperties')) for (const [ms, xml] of script) setTimeout(() => socket.writable && socket.write(xml), ms);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }));
  return { port, received: () => received };
}

async function focuser(t: ExecutionContext, port: number) {
  const log = memoryLogger('debug');
  const ctx = createDriverContext({ log, stateDir: await tempDir(t) });
  const f = createIndiFocuser(new URL(`indi://127.0.0.1:${port}/${DEV}`), ctx);
  t.teardown(() => f.disconnect());
  return { f, log };
}

const settle = () => new Promise((r) => setTimeout(r, 100));

test('abort right after connect waits for FOCUS_ABORT_MOTION that arrives after the motion properties', async (t) => {
  const s = await server(t, [[0, CONNECTION + abs('Busy', 500)], [300, ABORT]]);
  const { f } = await focuser(t, s.port);
  await f.connect();
  await f.abort();
  await settle();
  t.regex(s.received(), /<newSwitchVector device="Foc" name="FOCUS_ABORT_MOTION"[^>]*>\s*<oneSwitch name="ABORT">On<\/oneSwitch>/);
});

test('driver without FOCUS_ABORT_MOTION: abort while idle succeeds and sends nothing', async (t) => {
  const s = await server(t, [[0, CONNECTION + abs('Ok', 500)]]);
  const { f, log } = await focuser(t, s.port);
  await f.connect();
  await f.abort();
  await settle();
  t.notRegex(s.received(), /<new\w+Vector/);
  t.true(log.lines.some((l) => l.includes('nothing to abort')));
});

test('driver without FOCUS_ABORT_MOTION: abort mid-move re-targets the position it reports', async (t) => {
  const s = await server(t, [[0, CONNECTION + abs('Busy', 1234)]]);
  const { f } = await focuser(t, s.port);
  await f.connect();
  await f.abort();
  await settle();
  t.regex(s.received(), /<newNumberVector device="Foc" name="ABS_FOCUS_POSITION"[^>]*>\s*<oneNumber name="FOCUS_ABSOLUTE_POSITION">1234<\/oneNumber>/);
});
