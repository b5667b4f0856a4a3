// An unhandled rejection or uncaught exception in the daemon: one log line, one recorded event, and
// the process keeps running (it used to exit 70 into a systemd restart loop on a full disk).
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { execFile } from 'node:child_process';

const SCRIPT = `
import { installProcessGuards } from './agent/process-guards.ts';
import { memoryLogger } from './agent/log.ts';
const log = memoryLogger('info');
const events = [];
installProcessGuards(log, () => (message) => events.push(message));
Promise.reject(new Error('database or disk is full'));
setTimeout(() => { throw new Error('boom in a timer'); }, 10);
setTimeout(() => {
  process.stdout.write(JSON.stringify({ lines: log.lines, events, alive: true }));
}, 200);
`;

recordEachTest(test);

test('an unhandled rejection and an uncaught exception: one line each, recorded, the process goes on', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    const p = execFile(process.execPath, ['--import=tsx', '--input-type=module', '-e', SCRIPT], { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
    p.on('error', reject);
  });
  const r = JSON.parse(out) as { lines: string[]; events: string[]; alive: boolean };
  t.true(r.alive);
  t.is(r.lines.length, 2, r.lines.join('\n'));
  t.regex(r.lines[0]!, /^error unhandled promise rejection error="database or disk is full"/);
  t.regex(r.lines[1]!, /^error uncaught exception error="boom in a timer"/);
  t.false(r.lines.some((l) => l.includes('\n')));
  t.deepEqual(r.events, ['unhandled promise rejection: database or disk is full', 'uncaught exception: boom in a timer']);
});
