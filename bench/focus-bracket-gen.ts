// Writes a synthetic RGB focus bracket of any size for the focus benches: a noise texture with a
// depth ramp across the frame; frame k is sharp in the k-th vertical stripe and blurred elsewhere in
// proportion to the stripe distance (libvips blurs, so generating 6000×4000 frames stays fast).
//   npx tsx bench/focus-bracket-gen.ts OUTDIR FRAMES [WIDTH HEIGHT]
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export async function writeBracket(dir: string, frames: number, width: number, height: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const base = await sharp({ create: { width, height, channels: 3, background: { r: 128, g: 120, b: 110 }, noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
    .blur(0.7)
    .png({ compressionLevel: 1 })
    .toBuffer();
  const stripe = Math.ceil(width / frames);
  const levels = new Map<number, Buffer>();
  const blurred = async (d: number): Promise<Buffer> => {
    if (!levels.has(d)) levels.set(d, d === 0 ? base : await sharp(base).blur(Math.min(20, 1.5 * d)).png({ compressionLevel: 1 }).toBuffer());
    return levels.get(d)!;
  };
  const out: string[] = [];
  for (let k = 0; k < frames; k++) {
    const parts: sharp.OverlayOptions[] = [];
    for (let s = 0; s < frames; s++) {
      const left = s * stripe;
      const w = Math.min(stripe, width - left);
      if (w <= 0) continue;
      const src = await blurred(Math.abs(s - k));
      parts.push({ input: await sharp(src).extract({ left, top: 0, width: w, height }).png({ compressionLevel: 1 }).toBuffer(), left, top: 0 });
    }
    const p = join(dir, `frame_${String(k).padStart(3, '0')}.jpg`);
    await sharp(base).composite(parts).jpeg({ quality: 92 }).toFile(p);
    out.push(p);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, n, w, h] = process.argv.slice(2);
  if (!dir || !n) {
    console.error('usage: bench/focus-bracket-gen.ts OUTDIR FRAMES [WIDTH HEIGHT]');
    process.exit(2);
  }
  const files = await writeBracket(dir, Number(n), Number(w ?? 6000), Number(h ?? 4000));
  console.log(`${files.length} frames in ${dir}`);
}
