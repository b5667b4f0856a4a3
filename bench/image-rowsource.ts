// Decode a 6000×4000 frame by rows (openRowSource) vs whole through sharp; time and peak RSS per mode,
// each mode in its own process under bench/run-with-rss.sh so the RSS figure is that mode's alone
// (peak RSS is the larger of node and its decoder child). Modes: baseline (modules loaded, no decode),
// rows (openRowSource, 64-row strips), rows-into (the same, decoding into one reused buffer),
// rows-x3/rows-x9 (3 or 9 sources of the JPEG open at once, read in lockstep like a bracket), rows-pngtopam (the netpbm decoder the native PNG reader
// replaced), sharp-raw (one raw buffer at source depth), readImage (whole frame as Float32).
//   npx tsx bench/image-rowsource.ts              generate frames (bench/out/) and run every mode
//   node --import tsx bench/image-rowsource.ts --mode rows|sharp-raw|readImage FILE   one measurement
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openRowSink, openRowSource } from '../pipeline/image/rows.js';
import { readImage } from '../pipeline/image/read.js';
import { openDecoderSource } from '../pipeline/image/decoder-source.js';
import { PNGTOPAM } from '../pipeline/image/row-source.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, 'out');
const W = Number(process.env.BENCH_W ?? 6000);
const H = Number(process.env.BENCH_H ?? 4000);

/** Textured synthetic frame (gradients + hashed noise), so JPEG/PNG entropy is camera-like, not trivial. */
function fillRows(y0: number, rows: number, channels: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const y = y0 + r;
    for (let x = 0; x < W; x++) {
      let h = (x * 374761393 + y * 668265263) >>> 0;
      h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
      const noise = ((h & 0xffff) / 0xffff - 0.5) * 0.08;
      for (let c = 0; c < channels; c++) {
        const v = 0.45 + 0.3 * Math.sin(x / (300 + 80 * c)) * Math.cos(y / 250) + 0.15 * Math.sin((x + y) / 23) + noise;
        out[(r * W + x) * channels + c] = v;
      }
    }
  }
}

async function generate(path: string, format: 'jpeg' | 'png16'): Promise<void> {
  if (existsSync(path)) return;
  const t0 = performance.now();
  const sink = await openRowSink(path, { width: W, height: H, channels: 3, format, quality: 90 });
  const strip = new Float32Array(W * 64 * 3);
  for (let y = 0; y < H; y += 64) {
    const rows = Math.min(64, H - y);
    fillRows(y, rows, 3, strip);
    await sink.writeRows(strip, rows);
  }
  await sink.finish();
  console.log(`generated ${path} (${format}) by row sink in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function measure(mode: string, file: string): Promise<void> {
  const t0 = performance.now();
  let sum = 0;
  let px = 0;
  if (mode === 'baseline') {
    // modules loaded, nothing decoded: the floor every other figure sits on
    px = 0;
  } else if (mode === 'rows' || mode === 'rows-into' || mode === 'rows-pngtopam') {
    const src = mode === 'rows-pngtopam' ? await openDecoderSource(file, PNGTOPAM(file)) : await openRowSource(file);
    const into = mode === 'rows-into' ? new Float32Array(64 * src.width * src.channels) : undefined;
    for (;;) {
      const b = await src.readRows(64, into);
      if (!b) break;
      for (let i = 0; i < b.data.length; i += 97) sum += b.data[i]!;
      px += b.rows * src.width;
    }
    await src.close();
  } else if (mode === 'rows-x3' || mode === 'rows-x9') {
    // a bracket: N sources open at once, read in lockstep (what an HDR merge does)
    const n = mode === 'rows-x3' ? 3 : 9;
    const srcs = await Promise.all(Array.from({ length: n }, () => openRowSource(file)));
    const into = srcs.map((s) => new Float32Array(64 * s.width * s.channels));
    for (;;) {
      const bs = await Promise.all(srcs.map((s, k) => s.readRows(64, into[k])));
      if (!bs[0]) break;
      for (const b of bs) for (let i = 0; i < b!.data.length; i += 97) sum += b!.data[i]!;
      px += bs[0].rows * srcs[0]!.width;
    }
    await Promise.all(srcs.map((s) => s.close()));
  } else if (mode === 'sharp-raw') {
    // the minimum sharp can do: one raw buffer of the whole frame in the source depth
    const meta = await sharp(file).metadata();
    const is16 = meta.depth === 'ushort';
    const s = is16 ? sharp(file, { limitInputPixels: false }).toColourspace('rgb16') : sharp(file, { limitInputPixels: false });
    const { data, info } = await s.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    for (let i = 0; i < data.length; i += 97) sum += data[i]!;
    px = info.width * info.height;
  } else if (mode === 'readImage') {
    const img = await readImage(file); // whole frame as Float32 (what a naive pipeline holds)
    for (let i = 0; i < img.data.length; i += 97) sum += img.data[i]!;
    px = img.width * img.height;
  } else throw new Error(`unknown mode ${mode}`);
  const s = (performance.now() - t0) / 1000;
  console.log(`${mode.padEnd(13)} ${file.split('/').pop()!.padEnd(12)} ${(px / 1e6).toFixed(1)} MP  ${s.toFixed(2)} s  (${px ? (px / 1e6 / s).toFixed(1) : '-'} MP/s, checksum ${sum.toFixed(0)})`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--mode');
  if (i > 0) {
    await measure(process.argv[i + 1]!, process.argv[i + 2]!);
    return;
  }
  mkdirSync(outDir, { recursive: true });
  const jpg = join(outDir, `frame-${W}x${H}.jpg`);
  const png = join(outDir, `frame-${W}x${H}-16.png`);
  await generate(jpg, 'jpeg');
  await generate(png, 'png16');
  console.log(`machine: ${process.arch}, node ${process.version}`);
  const runs: [string, string][] = [[jpg, 'baseline']];
  for (const file of [jpg, png]) for (const mode of ['rows', 'rows-into', 'sharp-raw', 'readImage']) runs.push([file, mode]);
  runs.push([png, 'rows-pngtopam'], [jpg, 'rows-x3'], [jpg, 'rows-x9']);
  {
    for (const [file, mode] of runs) {
      const out = execFileSync('bash', [join(here, 'run-with-rss.sh'), process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--mode', mode, file], {
        encoding: 'utf8',
      });
      console.log(out.trim().split('\n').join('   '));
    }
  }
}

await main();
