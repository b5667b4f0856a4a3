// Focus maps of many images: one at a time per worker, results saved as they come, so memory is
// that of one image per worker whatever the number of images.
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { focusMapFile, type FocusMapOptions, type FocusMapResult } from './map.js';

export async function focusMapBatch(
  files: string[],
  outDir: string,
  options: FocusMapOptions,
  workers: number,
  onDone: (r: FocusMapResult) => void,
): Promise<FocusMapResult[]> {
  const results: FocusMapResult[] = [];
  // Each image's kernels get the cores the image workers leave.
  const inParallel = Math.max(1, Math.min(workers, files.length));
  if (options.threads === undefined) options = { ...options, threads: Math.max(1, Math.floor(availableParallelism() / inParallel)) };
  if (workers <= 1 || files.length <= 1) {
    for (const f of files) {
      const r = await focusMapFile(f, outDir, options);
      results.push(r);
      onDone(r);
    }
    return results;
  }
  // Under tsx the sources are .ts; compiled they are .js.
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./map-worker${ext}`, import.meta.url);
  const queue = [...files];
  let failure: Error | null = null;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const w = ext === '.ts' ? tsWorker(url, { outDir, options }) : new Worker(url, { workerData: { outDir, options } });
      const next = () => {
        const file = failure ? undefined : queue.shift();
        if (file === undefined) {
          void w.terminate().then(() => resolve());
          return;
        }
        w.postMessage({ file });
      };
      w.on('message', (m: { ok: true; result: FocusMapResult } | { ok: false; file: string; message: string }) => {
        if (m.ok) {
          results.push(m.result);
          onDone(m.result);
        } else failure ??= new Error(m.message);
        next();
      });
      w.on('error', reject);
      next();
    });
  await Promise.all(Array.from({ length: Math.min(workers, files.length) }, run));
  if (failure) throw failure;
  return results;
}

/** A worker running TypeScript sources (development, tests): register tsx inside it first. */
function tsWorker(url: URL, workerData: unknown): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
