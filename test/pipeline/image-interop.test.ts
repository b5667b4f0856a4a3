// Products other tools must read: .npy/.npz in numpy, .hdr and float TIFF in OpenCV (the system
// /usr/bin/python3 with python3-numpy and python3-opencv from apt).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openRowSink } from '../../pipeline/image/rows.js';
import { readNpy, readNpz, writeNpy, writeNpz, openNpyRowWriter } from '../../pipeline/image/npy.js';
import { readRadiance } from '../../pipeline/image/radiance.js';
import { tempDir } from '../helpers/tmp.js';

const PY = '/usr/bin/python3';

function python(code: string, args: string[] = []): string {
  if (!existsSync(PY)) throw new Error(`${PY} is required for this test: apt-get install -y python3 python3-numpy python3-opencv`);
  try {
    return execFileSync(PY, ['-c', code, ...args], { encoding: 'utf8' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    if (/No module named/.test(e.stderr ?? '')) throw new Error(`python module missing: apt-get install -y python3-numpy python3-opencv (${e.stderr!.trim().split('\n').pop()})`);
    throw new Error(`python failed: ${e.stderr ?? e.message}`);
  }
}

test('npy float32 and uint8 load in numpy with shape and values', async (t) => {
  const dir = await tempDir(t);
  const f = new Float32Array(3 * 4 * 2).map((_, i) => i * 0.5 - 3);
  await writeNpy(join(dir, 'f.npy'), f, [3, 4, 2]);
  await writeNpy(join(dir, 'u.npy'), new Uint8Array([0, 7, 255]), [3]);
  const out = python(
    `import numpy as np, sys, json
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
print(json.dumps([str(a.dtype), list(a.shape), float(a[2,3,1]), float(a.sum()), str(b.dtype), b.tolist()]))`,
    [join(dir, 'f.npy'), join(dir, 'u.npy')],
  );
  const [dtype, shape, last, sum, bd, bv] = JSON.parse(out) as [string, number[], number, number, string, number[]];
  t.is(dtype, 'float32');
  t.deepEqual(shape, [3, 4, 2]);
  t.is(last, f[23]!);
  t.is(sum, f.reduce((a, b) => a + b, 0));
  t.is(bd, 'uint8');
  t.deepEqual(bv, [0, 7, 255]);
  const back = await readNpy(join(dir, 'f.npy'));
  t.deepEqual(back.shape, [3, 4, 2]);
  t.deepEqual(Array.from(back.data as Float32Array), Array.from(f));
});

test('npz with a response array and a JSON metadata string loads like asi_core', async (t) => {
  const dir = await tempDir(t);
  const response = new Float32Array(256 * 3).map((_, i) => Math.log((i + 1) / 768));
  const metadata = JSON.stringify({ smoothness: 50, camera: 'ZWO ASI178MC', note: 'lnE ∈ [-3, 4]' });
  const p = join(dir, 'response.npz');
  await writeNpz(p, { response: { data: response, shape: [256, 3] }, metadata });
  const out = python(
    `import numpy as np, sys, json
f = np.load(sys.argv[1])
r = f['response']; m = json.loads(str(f['metadata']))
print(json.dumps([sorted(f.files), str(r.dtype), list(r.shape), float(r[255, 2]), m]))`,
    [p],
  );
  const [files, dtype, shape, v, meta] = JSON.parse(out) as [string[], string, number[], number, Record<string, unknown>];
  t.deepEqual(files, ['metadata', 'response']);
  t.is(dtype, 'float32');
  t.deepEqual(shape, [256, 3]);
  t.is(v, response[767]!);
  t.deepEqual(meta, JSON.parse(metadata));
  // and numpy's own compressed npz reads back here
  const q = join(dir, 'np.npz');
  python(`import numpy as np, sys; np.savez_compressed(sys.argv[1], a=np.arange(6, dtype=np.float32).reshape(2,3), s='hello')`, [q]);
  const z = await readNpz(q);
  t.deepEqual(z.a!.shape, [2, 3]);
  t.deepEqual(Array.from(z.a!.data as Float32Array), [0, 1, 2, 3, 4, 5]);
  t.deepEqual(z.s!.data, ['hello']);
  const mine = await readNpz(p);
  t.deepEqual(mine.metadata!.data, [metadata]);
});

test('npy row writer streams a 2-D map numpy reads', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'map.npy');
  const w = await openNpyRowWriter(p, [5, 7]);
  for (let y = 0; y < 5; y++) await w.writeRows(new Float32Array(7).fill(y + 0.25), 1);
  await w.finish();
  const out = python(`import numpy as np, sys; a=np.load(sys.argv[1]); print(a.shape, a[4,6], a.dtype)`, [p]);
  t.is(out.trim(), '(5, 7) 4.25 float32');
  const bad = await openNpyRowWriter(join(dir, 'bad.npy'), [5, 7]);
  await bad.writeRows(new Float32Array(7), 1);
  await t.throwsAsync(bad.finish(), { message: /bad\.npy: only 1 of 5 rows written/ });
  t.false(existsSync(join(dir, 'bad.npy')));
});

test('Radiance .hdr row sink reads in OpenCV (IMREAD_ANYDEPTH) and back here', async (t) => {
  const dir = await tempDir(t);
  const w = 53; // ≥ 8: new-style RLE scanlines
  const h = 9;
  const data = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    // flat runs (RLE) and varying values over several decades
    data[i * 3] = x < 20 ? 1.5 : 0.001 * (x + 1) * 10 ** (i % 3);
    data[i * 3 + 1] = x < 20 ? 1.5 : 0.5;
    data[i * 3 + 2] = x < 20 ? 0.25 : 200 * (i % 5);
  }
  const p = join(dir, 'r.hdr');
  const sink = await openRowSink(p, { width: w, height: h, channels: 3 });
  await sink.writeRows(data.subarray(0, w * 3 * 4), 4);
  await sink.writeRows(data.subarray(w * 3 * 4), 5);
  await sink.finish();
  const back = await readRadiance(p);
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-9);
  // RGBE: 8-bit mantissa of the brightest channel; dimmer channels keep less relative precision
  for (let i = 0; i < w * h; i++) {
    const m = Math.max(data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!);
    for (let c = 0; c < 3; c++) t.true(Math.abs(back.data[i * 3 + c]! - data[i * 3 + c]!) <= m / 128, `px ${i} c ${c}`);
  }
  const out = python(
    `import cv2, sys, json
a = cv2.imread(sys.argv[1], cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
print(json.dumps([str(a.dtype), list(a.shape), a[:, :, ::-1].reshape(-1).tolist()]))`,
    [p],
  );
  const [dtype, shape, values] = JSON.parse(out) as [string, number[], number[]];
  t.is(dtype, 'float32');
  t.deepEqual(shape, [h, w, 3]);
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    const m = Math.max(data[Math.floor(i / 3) * 3]!, data[Math.floor(i / 3) * 3 + 1]!, data[Math.floor(i / 3) * 3 + 2]!);
    worst = Math.max(worst, Math.abs(values[i]! - data[i]!) / m);
  }
  t.true(worst <= 1 / 128, `OpenCV worst relative error ${worst}`);
  t.true(rel(values[0]!, 1.5) < 0.01);
});

test('float32 TIFF row sink reads in OpenCV with exact values (mono and RGB)', async (t) => {
  const dir = await tempDir(t);
  for (const channels of [1, 3]) {
    const w = 300; // several strips at ~64 KB each with h=80
    const h = 80;
    const data = new Float32Array(w * h * channels).map((_, i) => (i % 977) * 0.37 - 12.5);
    const p = join(dir, `t${channels}.tif`);
    const sink = await openRowSink(p, { width: w, height: h, channels, format: 'tiff-f32' });
    for (let y = 0; y < h; y += 13) {
      const rows = Math.min(13, h - y);
      await sink.writeRows(data.subarray(y * w * channels, (y + rows) * w * channels), rows);
    }
    await sink.finish();
    const out = python(
      `import cv2, sys, json, numpy as np
a = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
if a.ndim == 3: a = a[:, :, ::-1]
print(json.dumps([str(a.dtype), list(a.shape), float(np.asarray(a, np.float64).sum()), float(a.reshape(-1)[12345])]))`,
      [p],
    );
    const [dtype, shape, sum, v] = JSON.parse(out) as [string, number[], number, number];
    t.is(dtype, 'float32');
    t.deepEqual(shape, channels === 1 ? [h, w] : [h, w, channels]);
    t.is(v, data[12345]!);
    t.true(Math.abs(sum - data.reduce((a, b) => a + b, 0)) < 1e-3 * w * h);
  }
});

test("OpenCV's float TIFFs: uncompressed reads natively, LogLuv (its default) is refused in one line", async (t) => {
  const dir = await tempDir(t);
  const plain = join(dir, 'plain.tif');
  const logluv = join(dir, 'logluv.tif');
  python(
    `import cv2, numpy as np, sys
a = np.zeros((12, 20, 3), np.float32); a[:, :, 2] = 0.5; a[:, :, 1] = 0.25; a[:, :, 0] = 2.0
cv2.imwrite(sys.argv[1], a, [cv2.IMWRITE_TIFF_COMPRESSION, 1]); cv2.imwrite(sys.argv[2], a)`,
    [plain, logluv],
  );
  const { openRowSource } = await import('../../pipeline/image/rows.js');
  const { readImage } = await import('../../pipeline/image/read.js');
  const src = await openRowSource(plain);
  t.is(src.bitDepth, 32);
  const b = await src.readRows(100);
  await src.close();
  t.is(b!.rows, 12);
  t.deepEqual(Array.from(b!.data.subarray(0, 3)), [0.5, 0.25, 2]); // OpenCV writes BGR arrays as RGB
  for (const open of [() => openRowSource(logluv), () => readImage(logluv)]) {
    const err = await t.throwsAsync(open());
    t.regex(err!.message, /logluv\.tif: LogLuv \(SGILog\) TIFF is not supported/);
  }
});

test('.hdr row source streams a file bigger than its window, equal to readRadiance; truncation is an error', async (t) => {
  const { openRowSource } = await import('../../pipeline/image/rows.js');
  const dir = await tempDir(t);
  const w = 3000;
  const h = 120;
  const data = new Float32Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 100 + (i % 7 === 0 ? 0 : 0.5);
  const p = join(dir, 'big.hdr');
  const sink = await openRowSink(p, { width: w, height: h, channels: 3 });
  await sink.writeRows(data, h);
  await sink.finish();
  const whole = await readRadiance(p);
  const src = await openRowSource(p);
  const got = new Float32Array(w * h * 3);
  for (let b = await src.readRows(7); b; b = await src.readRows(7)) got.set(b.data, b.y0 * w * 3);
  await src.close();
  let mismatches = 0; // counted by hand: deepEqual on a million-element array takes seconds
  for (let i = 0; i < got.length; i++) if (got[i] !== whole.data[i]) mismatches++;
  t.is(mismatches, 0);
  const { readFile, writeFile, stat } = await import('node:fs/promises');
  t.true((await stat(p)).size > 1 << 20, 'file larger than the 1 MB window');
  await writeFile(p, (await readFile(p)).subarray(0, 700000));
  const cut = await openRowSource(p);
  const err = await t.throwsAsync(async () => {
    for (let b = await cut.readRows(16); b; b = await cut.readRows(16));
  });
  await cut.close();
  t.regex(err!.message, /big\.hdr: truncated Radiance data/);
});
