// Worker thread for `focus map --workers N`: maps the files it is sent, one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { focusMapFile, type FocusMapOptions } from './map.js';

const { outDir, options } = workerData as { outDir: string; options: FocusMapOptions };
parentPort!.on('message', (msg: { file: string } | null) => {
  if (msg === null) {
    process.exit(0);
  }
  focusMapFile(msg.file, outDir, options).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (err: Error) => parentPort!.postMessage({ ok: false, file: msg.file, message: err.message }),
  );
});
