// The depth map's I/O off the critical path (pipeline/focus/stack.ts): the band leaves the kernels as
// the encoder's samples (writeEncoded, encoded while the next band is computed) and each frame's codes
// are read one ahead into a second code slot (pipeline/focus/codes-ahead.ts). Both give the bytes of
// the float path with reads in turn (`plainIO`), for every output format, both maps, the spill file
// and the memory store, at 1 and 2 threads, 8- and 16-bit brackets.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { codesAhead, type CodesRead } from '../../pipeline/focus/codes-ahead.js';
import { DEFAULT_STACK, OURS_DEPTHMAP, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
import { synthBracket, writeSynthBracket } from './focus-helpers.js';
import { tempDir } from '../helpers/tmp.js';

async function same(t: import('ava').ExecutionContext, dir: string, files: string[], name: string, ext: string, o: Partial<StackOptions>): Promise<void> {
  const outs: Buffer[][] = [];
  for (const plainIO of [true, false]) {
    const out = join(dir, `${name}-${plainIO ? 'plain' : 'encoded'}${ext}`);
    const depthMapPath = join(dir, `${name}-${plainIO ? 'plain' : 'encoded'}-depth.png`);
    const r = await stackFiles(files, out, { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, bandRows: 32, depthMapPath, plainIO, ...o });
    t.is(r.kernels, 'wasm', name);
    t.is(r.bands, Math.ceil(96 / 32), name);
    if (o.frameStore) t.is(r.frameStore, o.frameStore, name);
    outs.push([await readFile(r.outputs[0]!), await readFile(depthMapPath)]);
  }
  t.true(outs[0]![0]!.equals(outs[1]![0]!), `${name}: the kernels' samples differ from the float path`);
  t.true(outs[0]![1]!.equals(outs[1]![1]!), `${name}: the depth's samples differ from the float path`);
}

test('8-bit bracket: the encoded path and the read-ahead give the float path\'s bytes (JPEG, PNG, TIFF; both maps; spill and memory; 1 and 2 threads)', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeSynthBracket(dir, 4, 128, 96);
  for (const threads of [1, 2]) {
    await same(t, dir, files, `average-${threads}`, '.jpg', { threads, frameStore: 'file' });
    await same(t, dir, files, `max-${threads}`, '.jpg', { ...OURS_DEPTHMAP, threads, frameStore: 'file' });
  }
  await same(t, dir, files, 'average-memory', '.jpg', { threads: 2, frameStore: 'memory' });
  await same(t, dir, files, 'average-png', '.png', { threads: 2, frameStore: 'file' });
  await same(t, dir, files, 'average-tif', '.tif', { threads: 2, frameStore: 'file' });
  await same(t, dir, files, 'max-tif', '.tif', { ...OURS_DEPTHMAP, threads: 1, frameStore: 'file' });
  // The ours average map reads each frame once a band: the plan's one pass.
  await same(t, dir, files, 'ours-average', '.png', { ...OURS_DEPTHMAP, map: 'average', threads: 2, frameStore: 'file' });
  // Nothing left beside the outputs (spill files, encoder temp files).
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
});

test('a moved frame (resampled in JS) between frames read ahead as codes: the same bytes as reads in turn', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeSynthBracket(dir, 4, 128, 96);
  // Frame 2 shifted by (3, 2) px: alignment moves it, the others stay codes.
  const shifted = join(dir, 'f2-shifted.png');
  const wider = await sharp(files[2]!).extend({ top: 2, left: 3, extendWith: 'mirror' }).png().toBuffer();
  await sharp(wider).extract({ left: 0, top: 0, width: 128, height: 96 }).toFile(shifted);
  const moved = [files[0]!, files[1]!, shifted, files[3]!];
  const outs: Buffer[] = [];
  for (const plainIO of [true, false]) {
    const r = await stackFiles(moved, join(dir, `moved-${plainIO}.png`), { ...DEFAULT_STACK, algorithm: 'depthmap', align: true, bandRows: 32, threads: 2, frameStore: 'file', plainIO });
    t.true(r.transforms.some((m) => m[2] !== 0 || m[5] !== 0), 'alignment moved a frame');
    outs.push(await readFile(r.outputs[0]!));
  }
  t.true(outs[0]!.equals(outs[1]!));
});

test('16-bit bracket: PNG 16 and TIFF 16 from the kernels equal the float path (one code slot)', async (t) => {
  const dir = await tempDir(t);
  const b = synthBracket(128, 96, 4);
  const files: string[] = [];
  for (let k = 0; k < 4; k++) {
    const f = b.frames[k]!;
    // Fine 16-bit steps, so an 8-bit path would show.
    const u16 = Uint16Array.from(f, (v, i) => Math.min(65535, Math.max(0, Math.round(v * 65535) + ((i * 37) % 97) - 48)));
    const p = join(dir, `f${k}.png`);
    await sharp(u16, { raw: { width: 128, height: 96, channels: 3 } }).toColourspace('rgb16').png().toFile(p);
    files.push(p);
  }
  await same(t, dir, files, 'png16', '.png', { threads: 2, frameStore: 'file' });
  await same(t, dir, files, 'tif16', '.tif', { threads: 1, frameStore: 'file' });
  const meta = await sharp(join(dir, 'png16-encoded.png')).metadata();
  t.is(meta.depth, 'ushort');
});

test('codesAhead: the plan\'s next read goes into the other slot while this one is used; reads off the plan are read in place', async (t) => {
  const log: string[] = [];
  const plan: CodesRead[] = [0, 1, 2].map((k, i) => ({ b: 0, i, k, y: 0, h: 8 }));
  const ahead = codesAhead(
    async (r, slot) => {
      log.push(`read ${r.k}→${slot}`);
      await new Promise((res) => setTimeout(res, 5));
    },
    (r) => plan[r.i + 1] ?? null,
  );
  const s0 = await ahead.get(plan[0]!);
  const s1 = await ahead.get(plan[1]!);
  t.not(s0, s1);
  // Off the plan: frame 0 again, in place, into the slot not in use (frame 1's); the plan ends there.
  const s2 = await ahead.get({ b: 0, i: 2, k: 0, y: 0, h: 8 });
  t.not(s2, s1);
  await ahead.close();
  t.deepEqual(log, [`read 0→${s0}`, `read 1→${s1}`, `read 2→${s0}`, `read 0→${s2}`]);
  // A failed read fails the get that needs it.
  const failing = codesAhead(
    async (r) => {
      if (r.k === 1) throw new Error('spill.tmp: short read');
    },
    (r) => plan[r.i + 1] ?? null,
  );
  await failing.get(plan[0]!);
  await t.throwsAsync(failing.get(plan[1]!), { message: 'spill.tmp: short read' });
  await failing.close();
});
