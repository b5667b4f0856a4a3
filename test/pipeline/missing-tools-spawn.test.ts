// Every child process in the code base gets its 'error' listener before the event can fire: a
// missing program is an 'error' event on the tick after spawn(), so an await between spawn() and
// the listener turns "not installed" into an unhandled event that kills the process (issue 12).
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** spawn() calls whose 'error' listener is not attached before the first await after them. */
function lateListeners(file: string, text: string): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(/\bspawn\(/g)) {
    const line = text.slice(0, m.index).split('\n').length;
    const before = text.slice(Math.max(0, m.index - 40), m.index);
    if (/function\s+$|import\s*\{[^}]*$/.test(before)) continue; // a definition or an import, not a call
    const after = text.slice(m.index);
    const nextAwait = after.search(/\bawait\b|\byield\b/);
    const window = nextAwait < 0 ? after : after.slice(0, nextAwait);
    if (!/\.(on|once)\(\s*'error'/.test(window)) bad.push(`${file}:${line}`);
  }
  return bad;
}

test('every spawn() has its error listener attached before any await', (t) => {
  const files = ['agent', 'drivers', 'pipeline', 'hardware-mocks', 'lib', 'bin'].flatMap((d) => sources(d));
  const spawning = files.filter((f) => /\bspawn\(/.test(readFileSync(f, 'utf8')));
  t.true(spawning.length >= 3, spawning.join(' '));
  t.deepEqual(spawning.flatMap((f) => lateListeners(f, readFileSync(f, 'utf8'))), []);
});

test('the check catches a listener attached after an await', (t) => {
  const late = "const child = spawn(cmd, args);\nawait out.close();\nchild.once('error', onError);\n";
  t.deepEqual(lateListeners('x.ts', late), ['x.ts:1']);
  const early = "const child = spawn(cmd, args);\nchild.once('error', onError);\nawait out.close();\n";
  t.deepEqual(lateListeners('x.ts', early), []);
});
