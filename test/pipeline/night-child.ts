// Child process for the kill -9 test: adds the frames listed in argv[3] (JSON) to the night in argv[2]
// one after another (argv[4]: startrails.rewrite_every), then idles until killed.
import { readFile } from 'node:fs/promises';
import { NightProducts } from '../../pipeline/night/products.js';
import { silentLogger } from '../../lib/log.js';
import { config, frameInput } from './night-helpers.js';

const [out, list, rewrite] = process.argv.slice(2) as [string, string, string?];
const frames = JSON.parse(await readFile(list, 'utf8')) as { path: string; sky: number }[];
const np = await NightProducts.open(out, config({ timelapse: { enabled: false }, startrails: { rewrite_every: Number(rewrite ?? 1) } }), { log: silentLogger });
for (let i = np.framesAdded; i < frames.length; i++) await np.add(frameInput(frames[i]!.path, i, frames[i]!.sky));
process.stdout.write('done\n');
setInterval(() => {}, 1000);
