// Each frame of a focus bracket is decoded once (pipeline/focus/frame-store.ts): the spill file and the
// in-memory store give the same stack, to the byte, as decoding every band from the file, the spill
// is named for the crash-leftover rule and gone afterwards, and it writes the frames' codes once.
import test from 'ava';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLeftover } from '../../agent/storage/leftovers.js';
import { frameInfo, readAlignedTile } from '../../pipeline/focus/frames.js';
import { openFrameStore } from '../../pipeline/focus/frame-store.js';
import { DEFAULT_STACK, OURS_DEPTHMAP, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
import type { Affine } from '../../pipeline/focus/align.js';
import { tempDir } from '../helpers/tmp.js';
import { writeSynthBracket } from './focus-helpers.js';

async function bracket(dir: string, n: number, w: number, h: number): Promise<string[]> {
  return (await writeSynthBracket(dir, n, w, h)).files;
}

test('spill file, memory store and per-band decoding give byte-identical stacks (pyramid, depth map max and average)', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 4, 128, 96);
  for (const [name, o] of [
    ['pyramid', {}],
    ['depthmap-max', { algorithm: 'depthmap', ...OURS_DEPTHMAP }],
    ['depthmap-average', { algorithm: 'depthmap' }],
  ] as [string, Partial<StackOptions>][]) {
    const outs: Buffer[] = [];
    for (const kind of ['direct', 'memory', 'file'] as const) {
      const r = await stackFiles(files, join(dir, `${name}-${kind}.png`), { ...DEFAULT_STACK, align: false, bandRows: 32, frameStore: kind, ...o });
      t.is(r.bands, 3);
      t.is(r.frameStore, kind);
      // The spill writes every frame's codes once: 4 × 128×96×3 bytes.
      t.is(r.spillBytes, kind === 'file' ? 4 * 128 * 96 * 3 : 0, `${name} ${kind}`);
      outs.push(await readFile(r.outputs[0]!));
    }
    t.true(outs[0]!.equals(outs[1]!), `${name}: memory store differs from per-band decoding`);
    t.true(outs[0]!.equals(outs[2]!), `${name}: spill file differs from per-band decoding`);
  }
  // Nothing left beside the outputs.
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
});

test('automatic choice: one band reads each frame once (no store), several bands (or two passes) keep small frames in memory', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 3, 96, 64);
  const one = await stackFiles(files, join(dir, 'one.png'), { ...DEFAULT_STACK, align: false });
  t.is(one.frameStore, 'direct');
  const banded = await stackFiles(files, join(dir, 'banded.png'), { ...DEFAULT_STACK, align: false, bandRows: 32 });
  t.is(banded.frameStore, 'memory');
  // The max map reads every frame twice: a store even for one band.
  const twice = await stackFiles(files, join(dir, 'twice.png'), { ...DEFAULT_STACK, ...OURS_DEPTHMAP, algorithm: 'depthmap', align: false });
  t.is(twice.frameStore, 'memory');
});

test('aligned tiles read from the store equal those decoded from the file; spill name matches the leftover rule', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 2, 80, 60);
  const infos = await Promise.all(files.map(frameInfo));
  const store = await openFrameStore({ infos, out: join(dir, 'out.jpg'), readsPerFrame: 4, memoryBytes: 0, parallel: 2 });
  t.is(store.kind, 'file');
  const spill = (await readdir(dir)).find((f) => f.includes('.spill.tmp-'))!;
  t.truthy(spill, 'spill file beside the output');
  t.regex(spill, new RegExp(`^out\\.jpg\\.spill\\.tmp-${process.pid}-`));
  // A dead writer's spill is a leftover; ours is not.
  t.false(isLeftover(spill, '', Date.now(), { pid: process.pid, startedAt: 0, now: Date.now() }));
  t.true(isLeftover(spill.replace(`tmp-${process.pid}-`, 'tmp-999999999-'), '', Date.now(), { pid: process.pid, startedAt: 0, now: Date.now() }));
  const t1: Affine = [0.998, 0.01, 1.3, -0.012, 1.001, -0.7];
  for (const bits of [32, 64] as const) {
    for (const tile of [{ x: 0, y: 0, w: 80, h: 60 }, { x: 0, y: 17, w: 80, h: 23 }]) {
      const a = await readAlignedTile(infos[1]!, t1, tile, bits);
      const b = await readAlignedTile(infos[1]!, t1, tile, bits, (r) => store.region(1, r, bits));
      t.deepEqual(Array.from(b.data), Array.from(a.data));
    }
  }
  await store.close();
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
});

test('a corrupt frame fails the spill pass naming the file, and leaves no spill behind', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 3, 64, 48);
  const png = await readFile(files[1]!);
  await writeFile(files[1]!, png.subarray(0, png.length - 200));
  await t.throwsAsync(stackFiles(files, join(dir, 'x.png'), { ...DEFAULT_STACK, align: false, bandRows: 16, frameStore: 'file' }), { message: /f1\.png/ });
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
});

test('with threads to spare the frames decode while the bracket aligns: the same stack as on one thread; a corrupt frame still fails naming it, no spill left', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 4, 128, 96);
  const outs: Buffer[] = [];
  for (const threads of [1, 2]) {
    const r = await stackFiles(files, join(dir, `t${threads}.png`), { ...DEFAULT_STACK, bandRows: 32, frameStore: 'file', threads });
    t.is(r.frameStore, 'file');
    t.is(r.spillBytes, 4 * 128 * 96 * 3);
    outs.push(await readFile(r.outputs[0]!));
  }
  t.true(outs[0]!.equals(outs[1]!), 'decoding beside the alignment changed the stack');
  const png = await readFile(files[2]!);
  await writeFile(files[2]!, png.subarray(0, png.length - 200));
  for (const algorithm of ['pyramid', 'depthmap'] as const) {
    await t.throwsAsync(stackFiles(files, join(dir, `x-${algorithm}.png`), { ...DEFAULT_STACK, algorithm, bandRows: 32, frameStore: 'file', threads: 2 }), { message: /f2\.png/ });
  }
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
});
