// The depth map's encoders fail the stack, not the process, when their samples come from the kernels
// (writeEncoded, encoded while the next band is computed): a cjpeg that dies with an error, a
// pnmtopng killed mid-image, and a missing encoder each end the run with one line naming the file,
// and leave neither an output nor a temp or spill file behind. PATH is changed, so its own file.
import test from 'ava';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandOnPath } from '../../pipeline/image/commands.js';
import { setImageLimits } from '../../pipeline/image/limits.js';
import { DEFAULT_STACK, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
import { writeSynthBracket } from './focus-helpers.js';
import { tempDir } from '../helpers/tmp.js';

const savedPath = process.env.PATH ?? '';
const bins: string[] = [];
test.after.always(() => {
  process.env.PATH = savedPath;
  for (const b of bins) rmSync(b, { recursive: true, force: true });
});

/** A folder of fake tools (name → shell script) put first on PATH; `only` links just these real tools (the rest missing). */
function fakeTools(scripts: Record<string, string>, only?: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'skyrig-fakebin-'));
  bins.push(dir);
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  if (only) {
    for (const name of only) symlinkSync(commandOnPath(name)!, join(dir, name));
    process.env.PATH = dir;
  } else process.env.PATH = `${dir}:${savedPath}`;
}

const options = (dir: string): StackOptions => ({ ...DEFAULT_STACK, algorithm: 'depthmap', align: false, bandRows: 32, threads: 2, frameStore: 'file', depthMapPath: join(dir, 'depth.png') });

async function failsWithOneLine(t: import('ava').ExecutionContext, dir: string, files: string[], out: string, pattern: RegExp): Promise<void> {
  const err = await t.throwsAsync(stackFiles(files, out, options(dir)));
  t.regex(err!.message, pattern);
  t.false(err!.message.includes('\n'), err!.message);
  // Neither output, nor a temp (encoder) or spill file.
  const left = (await readdir(dir)).filter((f) => !/^f\d+\.png$/.test(f));
  t.deepEqual(left, []);
}

test.serial('cjpeg dying mid-image fails the stack with its one line naming the JPEG', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeSynthBracket(dir, 3, 256, 192);
  fakeTools({ cjpeg: 'head -c 30000 >/dev/null\necho "cjpeg: simulated write error" >&2\nexit 3' });
  const out = join(dir, 'stack.jpg');
  await failsWithOneLine(t, dir, files, out, new RegExp(`^${out.replace(/[.]/g, '\\.')}: cjpeg failed: cjpeg: simulated write error$`));
  process.env.PATH = savedPath;
});

test.serial('pnmtopng killed mid-image fails the stack naming the depth map', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeSynthBracket(dir, 3, 256, 192);
  fakeTools({ pnmtopng: 'head -c 20000 >/dev/null\nkill -9 $$' });
  const depth = join(dir, 'depth.png');
  await failsWithOneLine(t, dir, files, join(dir, 'stack.jpg'), new RegExp(`^${depth.replace(/[.]/g, '\\.')}: pnmtopng failed`));
  process.env.PATH = savedPath;
});

test.serial('a missing cjpeg (frame too big for the sharp fallback) fails with the line naming the JPEG and the package', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeSynthBracket(dir, 3, 256, 192);
  fakeTools({}, ['pnmtopng']);
  const prev = setImageLimits({ fallbackMaxSamples: 1000 });
  t.teardown(() => setImageLimits(prev));
  const out = join(dir, 'stack.jpg');
  await failsWithOneLine(t, dir, files, out, new RegExp(`^${out.replace(/[.]/g, '\\.')}: cjpeg not found \\(apt-get install -y libjpeg-turbo-progs\\)`));
  process.env.PATH = savedPath;
});
